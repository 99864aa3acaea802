package loganalytics_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
)

// The verification's queries against the emulator, two days after
// DeviceProcessEvents, IdentityLogonEvents and the MTP connector were
// turned on: requests as built, rows per day, last received.
func TestDailyAndLastAgainstEmulator(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	stream(t, env, "DeviceProcessEvents", "IdentityLogonEvents")
	connectMTP(t, env)
	ctx := context.Background()
	{ // The family dates the MTP connect when it first sees it (see azuresim/loganalytics_mtp.go).
		c, _ := newClient(t, env, contosoApp)
		if got, err := c.Daily(ctx, contosoCustomer, loganalytics.IncidentsDailyQuery(loganalytics.NewWindow(env.Sim.Now(), 14))); err != nil || len(got) != 0 {
			t.Fatalf("incidents right after connect = %+v, %v", got, err)
		}
	}
	env.Sim.AdvanceClock(48 * time.Hour)
	env.Creds.Forget(simtest.Profile) // tokens expire on the sim clock: a fresh credential
	c, rec := newClient(t, env, contosoApp)
	now := env.Sim.Now()
	w := loganalytics.NewWindow(now, 14)

	// daily runs q, checks the request and the rows' days, and sums rows per key.
	daily := func(q loganalytics.Query) map[string]int64 {
		t.Helper()
		rows, err := c.Daily(ctx, contosoCustomer, q)
		if err != nil {
			t.Fatalf("%s: %v", q.Purpose, err)
		}
		wantBody(t, rec.Latest(t), q)
		sums := map[string]int64{}
		for _, r := range rows {
			if !slices.ContainsFunc(w.DayStarts(), r.Day.Equal) || r.Last.Before(r.Day) || !r.Last.Before(r.Day.Add(24*time.Hour)) || !r.Last.Before(w.End) {
				t.Errorf("%s: row %+v outside the window's days", q.Purpose, r)
			}
			sums[r.Key] += r.Rows
		}
		return sums
	}
	last := func(q loganalytics.Query) map[string]time.Time {
		t.Helper()
		got, err := c.Last(ctx, contosoCustomer, q)
		if err != nil {
			t.Fatalf("%s: %v", q.Purpose, err)
		}
		wantBody(t, rec.Latest(t), q)
		return got
	}

	// Volumes are the emulator's business (they vary by weekday, streamed
	// tables start late); what matters here is which keys have rows.
	if got := daily(loganalytics.IncidentsDailyQuery(w)); got[""] <= 0 || len(got) != 1 {
		t.Errorf("incident rows = %v", got)
	}
	if got := daily(loganalytics.AlertsDailyQuery(w)); got["Microsoft Defender Advanced Threat Protection"] <= 0 || got["Azure Advanced Threat Protection"] <= 0 || len(got) != 2 {
		t.Errorf("alert rows = %v, want MDE and MDI", got)
	}
	tq, err := loganalytics.TablesDailyQuery(w, tables)
	if err != nil {
		t.Fatal(err)
	}
	if got := daily(tq); got["DeviceProcessEvents"] <= 0 || got["IdentityLogonEvents"] <= 0 || len(got) != 2 {
		t.Errorf("table rows = %v", got)
	}

	// Nothing before the window: everything started two days ago.
	tl, _ := loganalytics.TablesLastQuery(w.Start, tables)
	for _, q := range []loganalytics.Query{loganalytics.IncidentsLastQuery(w.Start), loganalytics.AlertsLastQuery(w.Start), tl} {
		if got := last(q); len(got) != 0 {
			t.Errorf("%s: %v, want none", q.Purpose, got)
		}
	}
	// Before now: the newest rows.
	tl, _ = loganalytics.TablesLastQuery(now, tables)
	for _, tc := range []struct {
		q    loganalytics.Query
		keys []string
		age  time.Duration
	}{
		{loganalytics.IncidentsLastQuery(now), []string{""}, 6 * time.Hour},
		{loganalytics.AlertsLastQuery(now), []string{"Azure Advanced Threat Protection", "Microsoft Defender Advanced Threat Protection"}, 24 * time.Hour},
		{tl, []string{"DeviceProcessEvents", "IdentityLogonEvents"}, 5 * time.Minute},
	} {
		got := last(tc.q)
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range got {
				if !yield(k) {
					return
				}
			}
		})
		if !slices.Equal(keys, tc.keys) {
			t.Errorf("%s: keys %v, want %v", tc.q.Purpose, keys, tc.keys)
		}
		for k, l := range got {
			if !l.Before(now) || now.Sub(l) > tc.age {
				t.Errorf("%s: %q last %v (now %v)", tc.q.Purpose, k, l, now)
			}
		}
	}

	// DeviceNetworkEvents was never streamed: the workspace has no such
	// table, which is no rows, not an error.
	never := []string{"DeviceNetworkEvents"}
	nq, _ := loganalytics.TablesDailyQuery(w, never)
	if got, err := c.Daily(ctx, contosoCustomer, nq); err != nil || len(got) != 0 {
		t.Errorf("never-streamed table, daily: %v %v", got, err)
	}
	nl, _ := loganalytics.TablesLastQuery(now, never)
	if got, err := c.Last(ctx, contosoCustomer, nl); err != nil || len(got) != 0 {
		t.Errorf("never-streamed table, last: %v %v", got, err)
	}
}

// wantBody checks that the request carried q exactly: its text, and its
// timespan only when it has one.
func wantBody(t *testing.T, req simtest.Exchange, q loganalytics.Query) {
	t.Helper()
	body := map[string]any{"query": q.Text}
	if q.Timespan != "" {
		body["timespan"] = q.Timespan
	}
	want, _ := json.Marshal(body)
	if string(req.RequestBody) != string(want) {
		t.Errorf("%s: request body\n%s\nwant %s", q.Purpose, req.RequestBody, want)
	}
}
