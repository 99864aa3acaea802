package verification

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/azure/loganalytics"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Evidence is what is known about one signal.
type Evidence struct {
	Kind           xdrlinkv1.SignalReport_Kind
	Table, Product string
	// Desired: the desired settings ask for it.
	Desired bool
	// Observed is whether Azure is known to deliver it (the connector's
	// data type is on, the streaming entry includes the table); UNKNOWN
	// when nobody could read it.
	Observed xdrlinkv1.ObservedState
	// EnableTime is when it was turned on or first seen on, where the grace
	// period starts; zero when unknown.
	EnableTime time.Time
	// PortalOnly: a table only the portal can turn on.
	PortalOnly bool
	// Rows are this signal's groups from the daily query.
	Rows []loganalytics.DailyRows
	// LastBefore is the newest row before the window (a last-received
	// query); zero when there is none or it was not asked.
	LastBefore time.Time
	// Err: the signal's query failed (a table the workspace does not have
	// yet is no rows, not an error).
	Err error
}

// Signal builds the signal's report: daily counts for every day of w, the
// total, last_received_time, verdict and message (see the package doc).
func Signal(now time.Time, w loganalytics.Window, th Thresholds, ev Evidence) *xdrlinkv1.SignalReport {
	r := &xdrlinkv1.SignalReport{Kind: ev.Kind, Table: ev.Table, Product: ev.Product, Desired: ev.Desired}
	var last time.Time
	if ev.Err == nil {
		r.Daily, r.Total, last = dailyCounts(w, ev.Rows)
		if ev.LastBefore.After(last) {
			last = ev.LastBefore
		}
		if !last.IsZero() {
			r.LastReceivedTime = timestamppb.New(last)
		}
	}
	r.Verdict, r.Message = judge(now, th, ev, r.Total, last)
	return r
}

// dailyCounts buckets rows into the window's days and returns the counts,
// their sum and the newest row among them.
func dailyCounts(w loganalytics.Window, rows []loganalytics.DailyRows) (daily []*xdrlinkv1.DailyCount, total int64, last time.Time) {
	starts := w.DayStarts()
	index := make(map[int64]int, len(starts))
	daily = make([]*xdrlinkv1.DailyCount, len(starts))
	for i, d := range starts {
		index[d.UnixNano()] = i
		daily[i] = &xdrlinkv1.DailyCount{Day: timestamppb.New(d)}
	}
	daily[len(daily)-1].Partial = true
	for _, r := range rows {
		i, ok := index[r.Day.UnixNano()]
		if !ok {
			continue
		}
		daily[i].Count += r.Rows
		total += r.Rows
		if r.Last.After(last) {
			last = r.Last
		}
	}
	return daily, total, last
}
