package loganalytics

import "time"

// tick is Kusto's datetime resolution (100 ns). Instants are cut to it so
// the window a report shows is exactly the one its queries used.
const tick = 100 * time.Nanosecond

// Window is the span of a verification's daily counts: Days whole UTC days
// before the day of End, then that day up to End (exclusive).
type Window struct {
	Start, End time.Time
	Days       int
}

// NewWindow is the window ending at end (in UTC, cut to Kusto's 100 ns
// resolution) that starts at 00:00 UTC days days before end's day. A
// negative days is read as 0 (today only).
func NewWindow(end time.Time, days int) Window {
	end = end.UTC().Truncate(tick)
	days = max(days, 0)
	return Window{Start: midnight(end).AddDate(0, 0, -days), End: end, Days: days}
}

// DayStarts are the Days+1 UTC midnights the window's days start at, oldest
// first; the last one is End's day, counted only up to End.
func (w Window) DayStarts() []time.Time {
	out := make([]time.Time, w.Days+1)
	for i := range out {
		out[i] = w.Start.AddDate(0, 0, i)
	}
	return out
}

// timespan is the request's ISO 8601 interval "START/END".
func (w Window) timespan() string { return instant(w.Start) + "/" + instant(w.End) }

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// instant renders t as RFC 3339 in UTC with at most 7 fractional digits.
func instant(t time.Time) string { return t.UTC().Truncate(tick).Format(time.RFC3339Nano) }

// datetime is t as a Kusto datetime literal.
func datetime(t time.Time) string { return "datetime(" + instant(t) + ")" }
