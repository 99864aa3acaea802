package loganalytics

import (
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestWindow(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name      string
		end       time.Time
		days      int
		start     time.Time
		wantEnd   time.Time
		buckets   int
		firstLast [2]time.Time
	}{
		{"14 days", time.Date(2026, 11, 30, 2, 13, 35, 0, time.UTC), 14, day(2026, 11, 16), time.Date(2026, 11, 30, 2, 13, 35, 0, time.UTC), 15, [2]time.Time{day(2026, 11, 16), day(2026, 11, 30)}},
		// End exactly at midnight: today's day is empty ([End, End)) but still a bucket.
		{"end at midnight", day(2026, 11, 30), 14, day(2026, 11, 16), day(2026, 11, 30), 15, [2]time.Time{day(2026, 11, 16), day(2026, 11, 30)}},
		{"one day", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), 1, day(2026, 2, 28), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), 2, [2]time.Time{day(2026, 2, 28), day(2026, 3, 1)}},
		{"today only", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), 0, day(2026, 3, 1), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), 1, [2]time.Time{day(2026, 3, 1), day(2026, 3, 1)}},
		{"negative days", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), -3, day(2026, 3, 1), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), 1, [2]time.Time{day(2026, 3, 1), day(2026, 3, 1)}},
		// The day is End's UTC day, whatever the zone end is given in; leap day included.
		{"other zone", time.Date(2028, 3, 1, 0, 30, 0, 0, paris), 2, day(2028, 2, 27), time.Date(2028, 2, 29, 23, 30, 0, 0, time.UTC), 3, [2]time.Time{day(2028, 2, 27), day(2028, 2, 29)}},
		// Cut to Kusto's 100 ns tick, so the report shows what the queries used.
		{"ticks", time.Date(2026, 11, 30, 2, 0, 0, 199, time.UTC), 1, day(2026, 11, 29), time.Date(2026, 11, 30, 2, 0, 0, 100, time.UTC), 2, [2]time.Time{day(2026, 11, 29), day(2026, 11, 30)}},
	} {
		w := NewWindow(tc.end, tc.days)
		starts := w.DayStarts()
		if !w.Start.Equal(tc.start) || w.Start.Location() != time.UTC || !w.End.Equal(tc.wantEnd) || w.End.Location() != time.UTC || w.Days != max(tc.days, 0) ||
			len(starts) != tc.buckets || !starts[0].Equal(tc.firstLast[0]) || !starts[len(starts)-1].Equal(tc.firstLast[1]) {
			t.Errorf("%s: NewWindow = %+v, day starts %v", tc.name, w, starts)
			continue
		}
		for i := 1; i < len(starts); i++ {
			if starts[i].Sub(starts[i-1]) != 24*time.Hour {
				t.Errorf("%s: day starts %v are not a day apart", tc.name, starts)
			}
		}
	}
	if got := NewWindow(time.Date(2026, 11, 30, 2, 13, 35, 123456789, time.UTC), 14).timespan(); got != "2026-11-16T00:00:00Z/2026-11-30T02:13:35.1234567Z" {
		t.Errorf("timespan = %s", got)
	}
}
