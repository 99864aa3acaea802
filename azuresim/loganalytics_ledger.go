package azuresim

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// ingestLedger records, per workspace and table, the sim-clock spans during
// which data flowed, and since when a table has been silent. Writers: the
// streaming family (entries on/off), the Log Analytics family (MTP
// connector state), the world's history and SilenceTable. Reader: the query
// data source, which synthesizes rows only inside these spans.
type ingestLedger struct {
	workspaces sync.Map // lower customerId -> *workspaceLedger
}

// span is one connected period; a zero to means still connected.
type span struct {
	from, to time.Time
}

type workspaceLedger struct {
	mu     sync.Mutex
	tables map[string][]span
	// silentSince: the product stopped sending the table's data at that
	// instant (sensors offboarded, say) whatever the connection says; rows
	// stop there even though the span stays open.
	silentSince map[string]time.Time
}

func (l *ingestLedger) workspace(customerID string) *workspaceLedger {
	key := strings.ToLower(customerID)
	if v, ok := l.workspaces.Load(key); ok {
		return v.(*workspaceLedger)
	}
	v, _ := l.workspaces.LoadOrStore(key, &workspaceLedger{tables: map[string][]span{}, silentSince: map[string]time.Time{}})
	return v.(*workspaceLedger)
}

// set turns a table's flow on or off at t; repeating the current state is a
// no-op, so callers may report the full state every time.
func (w *workspaceLedger) set(table string, on bool, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	spans := w.tables[table]
	open := len(spans) > 0 && spans[len(spans)-1].to.IsZero()
	switch {
	case on && !open:
		w.tables[table] = append(spans, span{from: t})
	case !on && open:
		spans[len(spans)-1].to = t
	}
}

// silence makes the table silent from t on; an earlier silence stands.
func (w *workspaceLedger) silence(table string, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.silentSince[table]; !ok || t.Before(cur) {
		w.silentSince[table] = t
	}
}

// table returns a copy of the table's spans (nil when never connected) and
// since when it is silent (zero when it is not).
func (w *workspaceLedger) table(table string) ([]span, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.tables[table]), w.silentSince[table]
}

// TableIngestion is one table's connected periods, for tests and the admin API.
type TableIngestion struct {
	Table string          `json:"table"`
	Spans []IngestionSpan `json:"spans"`
	// SilentSince is when the table's data stopped arriving although it may
	// still be connected (Sim.SilenceTable, WorkspaceHistory.Silent).
	SilentSince *time.Time `json:"silentSince,omitempty"`
}

// IngestionSpan is a connected period; To is nil while still connected.
type IngestionSpan struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to"`
}

// Ingestion returns, for a workspace (by customerId), every table that has
// ever been connected or silenced, and when, sorted by table name.
func (s *Sim) Ingestion(customerID string) []TableIngestion {
	v, ok := s.xdr().ledger.workspaces.Load(strings.ToLower(customerID))
	if !ok {
		return []TableIngestion{}
	}
	w := v.(*workspaceLedger)
	w.mu.Lock()
	defer w.mu.Unlock()
	byTable := map[string]*TableIngestion{}
	entry := func(table string) *TableIngestion {
		if byTable[table] == nil {
			byTable[table] = &TableIngestion{Table: table, Spans: []IngestionSpan{}}
		}
		return byTable[table]
	}
	for table, spans := range w.tables {
		ti := entry(table)
		for _, sp := range spans {
			is := IngestionSpan{From: sp.from}
			if !sp.to.IsZero() {
				to := sp.to
				is.To = &to
			}
			ti.Spans = append(ti.Spans, is)
		}
	}
	for table, since := range w.silentSince {
		entry(table).SilentSince = &since
	}
	out := make([]TableIngestion, 0, len(byTable))
	for _, ti := range byTable {
		out = append(out, *ti)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}
