package azuresim

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// ingestLedger records, per workspace and table, the sim-clock spans during
// which data flowed. Writers: the streaming family (entries on/off) and the
// Log Analytics family (MTP connector state). Reader: the query data source,
// which synthesizes rows only inside these spans.
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
}

func (l *ingestLedger) workspace(customerID string) *workspaceLedger {
	key := strings.ToLower(customerID)
	if v, ok := l.workspaces.Load(key); ok {
		return v.(*workspaceLedger)
	}
	v, _ := l.workspaces.LoadOrStore(key, &workspaceLedger{tables: map[string][]span{}})
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

// spans returns a copy of the table's spans (nil when never connected).
func (w *workspaceLedger) spans(table string) []span {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.tables[table])
}

// TableIngestion is one table's connected periods, for tests and the admin API.
type TableIngestion struct {
	Table string          `json:"table"`
	Spans []IngestionSpan `json:"spans"`
}

// IngestionSpan is a connected period; To is nil while still connected.
type IngestionSpan struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to"`
}

// Ingestion returns, for a workspace (by customerId), every table that has
// ever received data and when, sorted by table name.
func (s *Sim) Ingestion(customerID string) []TableIngestion {
	v, ok := s.xdr().ledger.workspaces.Load(strings.ToLower(customerID))
	if !ok {
		return []TableIngestion{}
	}
	w := v.(*workspaceLedger)
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]TableIngestion, 0, len(w.tables))
	for table, spans := range w.tables {
		ti := TableIngestion{Table: table}
		for _, sp := range spans {
			is := IngestionSpan{From: sp.from}
			if !sp.to.IsZero() {
				to := sp.to
				is.To = &to
			}
			ti.Spans = append(ti.Spans, is)
		}
		out = append(out, ti)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}
