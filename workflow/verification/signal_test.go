package verification

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azure/loganalytics"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

var (
	now = time.Date(2026, 11, 30, 2, 13, 35, 0, time.UTC)
	win = loganalytics.NewWindow(now, 14)
	th  = DefaultThresholds()
)

const (
	table     = xdrlinkv1.SignalReport_KIND_TABLE
	incidents = xdrlinkv1.SignalReport_KIND_INCIDENTS
	alerts    = xdrlinkv1.SignalReport_KIND_ALERTS

	enabled    = xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED
	notEnabled = xdrlinkv1.ObservedState_OBSERVED_STATE_NOT_ENABLED
	unknown    = xdrlinkv1.ObservedState_OBSERVED_STATE_UNKNOWN
)

// rowAt is one daily row whose newest row is at last.
func rowAt(last time.Time, n int64) loganalytics.DailyRows {
	return loganalytics.DailyRows{Day: last.Truncate(24 * time.Hour), Rows: n, Last: last}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Each verdict rule and its boundaries. want is the whole message when it
// has no "…", else its prefix up to there.
func TestVerdicts(t *testing.T) {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	fail := errors.New("loganalytics: partial error PartialError: limits")
	for _, tc := range []struct {
		name    string
		ev      Evidence
		verdict xdrlinkv1.Verdict
		want    string
	}{
		{"error", Evidence{Kind: table, Table: "DeviceProcessEvents", Observed: enabled, Err: fail, Rows: []loganalytics.DailyRows{rowAt(ago(time.Hour), 5)}},
			xdrlinkv1.Verdict_VERDICT_ERROR, fail.Error()},

		{"table healthy", Evidence{Kind: table, Observed: enabled, Rows: []loganalytics.DailyRows{rowAt(ago(90*time.Minute), 10), rowAt(ago(26*time.Hour), 5)}},
			xdrlinkv1.Verdict_VERDICT_HEALTHY, "15 rows in the window; last at 2026-11-30T00:43:35Z (1h30m ago)"},
		{"table exactly at the stale threshold", Evidence{Kind: table, Observed: enabled, Rows: []loganalytics.DailyRows{rowAt(ago(day), 1)}},
			xdrlinkv1.Verdict_VERDICT_HEALTHY, "1 row in the window; last at 2026-11-29T02:13:35Z (1d ago)"},
		{"table just past the stale threshold", Evidence{Kind: table, Observed: enabled, Rows: []loganalytics.DailyRows{rowAt(ago(day+time.Second), 1)}},
			xdrlinkv1.Verdict_VERDICT_STALE, "no rows for 1d; last at 2026-11-29T02:13:34Z"},
		{"clock skew: last after now", Evidence{Kind: table, Rows: []loganalytics.DailyRows{rowAt(now.Add(time.Minute), 1)}},
			xdrlinkv1.Verdict_VERDICT_HEALTHY, "1 row in the window; last at 2026-11-30T02:14:35Z (0s ago)"},
		{"alerts within a week", Evidence{Kind: alerts, Product: "Azure Advanced Threat Protection", Rows: []loganalytics.DailyRows{rowAt(ago(6*day), 2)}},
			xdrlinkv1.Verdict_VERDICT_HEALTHY, "2 rows in the window; …"},
		{"alerts exactly a week old", Evidence{Kind: alerts, Rows: []loganalytics.DailyRows{rowAt(ago(7*day), 2)}},
			xdrlinkv1.Verdict_VERDICT_HEALTHY, "2 rows in the window; last at 2026-11-23T02:13:35Z (7d ago)"},
		{"incidents just over a week old", Evidence{Kind: incidents, Rows: []loganalytics.DailyRows{rowAt(ago(7*day+time.Second), 2)}},
			xdrlinkv1.Verdict_VERDICT_STALE, "no rows for 7d; last at 2026-11-23T02:13:34Z"},
		{"stale, last before the window", Evidence{Kind: table, Observed: enabled, LastBefore: at("2026-11-01T00:00:00Z")},
			xdrlinkv1.Verdict_VERDICT_STALE, "no rows for 29d2h; last at 2026-11-01T00:00:00Z"},
		{"stale", Evidence{Kind: table, Observed: unknown, Rows: []loganalytics.DailyRows{rowAt(at("2026-11-27T01:00:00Z"), 3)}},
			xdrlinkv1.Verdict_VERDICT_STALE, "no rows for 3d1h; last at 2026-11-27T01:00:00Z"},
		{"incidents stale, last before the window", Evidence{Kind: incidents, LastBefore: win.Start.Add(-time.Hour)},
			xdrlinkv1.Verdict_VERDICT_STALE, "no rows for 14d3h; last at 2026-11-15T23:00:00Z"},
		{"alerts healthy, last from the last-received query", Evidence{Kind: alerts, LastBefore: ago(3 * day)},
			xdrlinkv1.Verdict_VERDICT_HEALTHY, "0 rows in the window; last at 2026-11-27T02:13:35Z (3d ago)"},

		{"table off in Azure", Evidence{Kind: table, Table: "DeviceNetworkEvents", Observed: notEnabled, EnableTime: ago(time.Hour)},
			xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, "desired but not enabled in Azure: the Defender streaming entry does not include DeviceNetworkEvents"},
		{"incidents off in Azure", Evidence{Kind: incidents, Table: "SecurityIncident", Observed: notEnabled},
			xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, "desired but not enabled in Azure: the Microsoft Defender XDR connector does not deliver incidents"},
		{"alerts off in Azure, old rows", Evidence{Kind: alerts, Table: "SecurityAlert", Observed: notEnabled, LastBefore: at("2026-11-01T00:00:00Z")},
			xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, "desired but not enabled in Azure: the Microsoft Defender XDR connector does not deliver alerts; last row at 2026-11-01T00:00:00Z"},
		{"off in Azure but rows arriving", Evidence{Kind: table, Observed: notEnabled, Rows: []loganalytics.DailyRows{rowAt(ago(time.Minute), 1)}},
			xdrlinkv1.Verdict_VERDICT_HEALTHY, "1 row in the window; …"},

		{"portal only, nothing yet", Evidence{Kind: table, Table: "DeviceTvmSoftwareInventory", PortalOnly: true, Observed: unknown, EnableTime: ago(time.Hour)},
			xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED, "no rows yet: only the Microsoft Defender portal can turn on streaming of DeviceTvmSoftwareInventory to Microsoft Sentinel"},
		{"portal only, stale", Evidence{Kind: table, PortalOnly: true, LastBefore: at("2026-11-01T00:00:00Z")},
			xdrlinkv1.Verdict_VERDICT_STALE, "no rows for 29d2h; …"},
		{"portal only, off in Azure", Evidence{Kind: table, Table: "T", PortalOnly: true, Observed: notEnabled},
			xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED, "no rows yet: only the Microsoft Defender portal can turn on streaming of T to Microsoft Sentinel"},
		{"portal only, off in Azure after rows", Evidence{Kind: table, Table: "T", PortalOnly: true, Observed: notEnabled, LastBefore: at("2026-11-01T00:00:00Z")},
			xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, "desired but not enabled in Azure: …"},

		{"within grace", Evidence{Kind: table, Observed: enabled, EnableTime: at("2026-11-29T03:00:00Z")},
			xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, "no rows yet; enabled at 2026-11-29T03:00:00Z, within the grace period until 2026-11-30T03:00:00Z"},
		{"grace ends exactly now", Evidence{Kind: table, Observed: enabled, EnableTime: ago(day)},
			xdrlinkv1.Verdict_VERDICT_NO_DATA, "no rows since it was enabled at 2026-11-29T02:13:35Z (1d ago)"},
		{"enabled in the future: within grace", Evidence{Kind: incidents, Observed: enabled, EnableTime: now.Add(time.Minute)},
			xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, "no rows yet; …"},
		{"no data, enable time unknown", Evidence{Kind: table, Observed: enabled},
			xdrlinkv1.Verdict_VERDICT_NO_DATA, "no rows received, and when it was enabled is unknown"},
		{"no data, streaming unknown", Evidence{Kind: table, Observed: unknown, EnableTime: at("2026-11-27T00:00:00Z")},
			xdrlinkv1.Verdict_VERDICT_NO_DATA, "no rows since it was enabled at 2026-11-27T00:00:00Z (3d2h ago); whether the Defender streaming entry includes the table is unknown (reading it needs a delegated sign-in)"},
		{"no data, connector unknown", Evidence{Kind: alerts, Observed: unknown},
			xdrlinkv1.Verdict_VERDICT_NO_DATA, "no rows received, and when it was enabled is unknown; whether the Microsoft Defender XDR connector delivers them is unknown"},
	} {
		tc.ev.Desired = true
		r := Signal(now, win, th, tc.ev)
		want, prefix := strings.CutSuffix(tc.want, "…")
		if r.GetVerdict() != tc.verdict || (prefix && !strings.HasPrefix(r.GetMessage(), want)) || (!prefix && r.GetMessage() != want) {
			t.Errorf("%s: %s %q\nwant %s %q", tc.name, r.GetVerdict(), r.GetMessage(), tc.verdict, tc.want)
		}
		if r.GetKind() != tc.ev.Kind || r.GetTable() != tc.ev.Table || r.GetProduct() != tc.ev.Product || !r.GetDesired() {
			t.Errorf("%s: identity not copied: %v", tc.name, r)
		}
	}
}

// A signal the desired settings do not ask for is NOT_ENABLED whatever the
// data says; its counts are still reported.
func TestNotDesired(t *testing.T) {
	r := Signal(now, win, th, Evidence{Kind: table, Table: "EmailEvents", Observed: enabled,
		Rows: []loganalytics.DailyRows{rowAt(now.Add(-time.Hour), 7)}})
	if r.GetVerdict() != xdrlinkv1.Verdict_VERDICT_NOT_ENABLED || r.GetMessage() != "not requested in the desired settings" || r.GetDesired() ||
		r.GetTotal() != 7 || len(r.GetDaily()) != 15 || !r.GetLastReceivedTime().AsTime().Equal(now.Add(-time.Hour)) {
		t.Errorf("not desired: %v", r)
	}
	r = Signal(now, win, th, Evidence{Kind: table, Err: errors.New("boom")})
	if r.GetVerdict() != xdrlinkv1.Verdict_VERDICT_NOT_ENABLED || r.GetMessage() != "not requested in the desired settings; its query failed: boom" || r.GetDaily() != nil {
		t.Errorf("not desired, failed: %v", r)
	}
}

// A failed query leaves the counts unknown, not zero.
func TestErrorHasNoCounts(t *testing.T) {
	r := Signal(now, win, th, Evidence{Kind: table, Desired: true, Err: errors.New("boom"),
		Rows: []loganalytics.DailyRows{rowAt(now.Add(-time.Hour), 7)}, LastBefore: now.Add(-30 * 24 * time.Hour)})
	if r.GetDaily() != nil || r.GetTotal() != 0 || r.GetLastReceivedTime() != nil || r.GetVerdict() != xdrlinkv1.Verdict_VERDICT_ERROR {
		t.Errorf("error: %v", r)
	}
}

func TestDailyCounts(t *testing.T) {
	d := func(day int) time.Time { return time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC) }
	t.Run("no rows: 15 zero days for 14", func(t *testing.T) {
		r := Signal(now, win, th, Evidence{Kind: table, Desired: true})
		if len(r.GetDaily()) != 15 || r.GetTotal() != 0 || r.GetLastReceivedTime() != nil {
			t.Fatalf("%v", r)
		}
		for i, c := range r.GetDaily() {
			if !c.GetDay().AsTime().Equal(d(16+i)) || c.GetCount() != 0 || c.GetPartial() != (i == 14) {
				t.Errorf("day %d: %v", i, c)
			}
		}
	})
	t.Run("outside days ignored, duplicates summed", func(t *testing.T) {
		r := Signal(now, win, th, Evidence{Kind: table, Desired: true, Rows: []loganalytics.DailyRows{
			{Day: d(15), Rows: 100, Last: d(15).Add(time.Hour)},                   // before the window
			{Day: d(16), Rows: 1, Last: d(16).Add(time.Hour)},                     // first day
			{Day: d(20), Rows: 2, Last: d(20).Add(time.Hour)},                     // same day twice
			{Day: d(20), Rows: 3, Last: d(20).Add(2 * time.Hour)},                 //
			{Day: d(30), Rows: 4, Last: d(30).Add(time.Hour)},                     // today, partial
			{Day: d(21).Add(time.Hour), Rows: 50, Last: d(21).Add(time.Hour)},     // not a day start
			{Day: d(30).AddDate(0, 0, 1), Rows: 60, Last: d(30).AddDate(0, 0, 1)}, // after the window: its Last is not counted either
		}})
		want := map[int]int64{0: 1, 4: 5, 14: 4}
		for i, c := range r.GetDaily() {
			if c.GetCount() != want[i] {
				t.Errorf("day %d (%v): %d, want %d", i, c.GetDay().AsTime(), c.GetCount(), want[i])
			}
		}
		if len(r.GetDaily()) != 15 || r.GetTotal() != 10 || !r.GetLastReceivedTime().AsTime().Equal(d(30).Add(time.Hour)) {
			t.Errorf("%v", r)
		}
	})
	t.Run("one day", func(t *testing.T) {
		w := loganalytics.NewWindow(now, 1)
		r := Signal(now, w, th, Evidence{Kind: incidents, Desired: true, Rows: []loganalytics.DailyRows{{Day: d(29), Rows: 2, Last: d(29)}}})
		if len(r.GetDaily()) != 2 || r.GetDaily()[0].GetPartial() || !r.GetDaily()[1].GetPartial() || r.GetDaily()[0].GetCount() != 2 || r.GetTotal() != 2 {
			t.Errorf("%v", r)
		}
	})
	t.Run("end at midnight: today present and empty", func(t *testing.T) {
		w := loganalytics.NewWindow(d(30), 14)
		r := Signal(d(30), w, th, Evidence{Kind: table, Desired: true, Rows: []loganalytics.DailyRows{{Day: d(29), Rows: 2, Last: d(29).Add(time.Hour)}}})
		last := r.GetDaily()[14]
		if len(r.GetDaily()) != 15 || !last.GetDay().AsTime().Equal(d(30)) || last.GetCount() != 0 || !last.GetPartial() || r.GetDaily()[13].GetCount() != 2 {
			t.Errorf("%v", r)
		}
	})
	t.Run("last before the window counts when newer", func(t *testing.T) {
		r := Signal(now, win, th, Evidence{Kind: table, Desired: true, LastBefore: d(10)})
		if !r.GetLastReceivedTime().AsTime().Equal(d(10)) || r.GetTotal() != 0 {
			t.Errorf("%v", r)
		}
	})
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		74 * time.Hour:                        "3d2h",
		72*time.Hour + 59*time.Minute:         "3d",
		5*time.Hour + 30*time.Minute + 9:      "5h30m",
		18 * time.Minute:                      "18m",
		65 * time.Second:                      "1m5s",
		40*time.Second + 900*time.Millisecond: "40s",
		-time.Hour:                            "0s",
	} {
		if got := span(d); got != want {
			t.Errorf("span(%v) = %s, want %s", d, got, want)
		}
	}
}
