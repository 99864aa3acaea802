package verification

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// worstFirst is the documented order of Overall.
var worstFirst = []xdrlinkv1.Verdict{
	xdrlinkv1.Verdict_VERDICT_ERROR,
	xdrlinkv1.Verdict_VERDICT_NO_DATA,
	xdrlinkv1.Verdict_VERDICT_STALE,
	xdrlinkv1.Verdict_VERDICT_NOT_ENABLED,
	xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED,
	xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD,
	xdrlinkv1.Verdict_VERDICT_HEALTHY,
}

func sig(v xdrlinkv1.Verdict, desired bool) *xdrlinkv1.SignalReport {
	return &xdrlinkv1.SignalReport{Verdict: v, Desired: desired}
}

func TestOverall(t *testing.T) {
	for i, worse := range worstFirst {
		for _, better := range worstFirst[i:] {
			for _, signals := range [][]*xdrlinkv1.SignalReport{
				{sig(better, true), sig(worse, true)},
				{sig(worse, true), sig(better, true), sig(better, true)},
			} {
				if got := Overall(signals); got != worse {
					t.Errorf("Overall(%s, %s) = %s", better, worse, got)
				}
			}
		}
	}
	for name, tc := range map[string]struct {
		signals []*xdrlinkv1.SignalReport
		want    xdrlinkv1.Verdict
	}{
		"none":               {nil, xdrlinkv1.Verdict_VERDICT_NOT_ENABLED},
		"none desired":       {[]*xdrlinkv1.SignalReport{sig(xdrlinkv1.Verdict_VERDICT_HEALTHY, false)}, xdrlinkv1.Verdict_VERDICT_NOT_ENABLED},
		"undesired ignored":  {[]*xdrlinkv1.SignalReport{sig(xdrlinkv1.Verdict_VERDICT_ERROR, false), sig(xdrlinkv1.Verdict_VERDICT_HEALTHY, true)}, xdrlinkv1.Verdict_VERDICT_HEALTHY},
		"grace over healthy": {[]*xdrlinkv1.SignalReport{sig(xdrlinkv1.Verdict_VERDICT_HEALTHY, true), sig(xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, true)}, xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD},
		"unknown verdict":    {[]*xdrlinkv1.SignalReport{sig(xdrlinkv1.Verdict_VERDICT_UNSPECIFIED, true), sig(xdrlinkv1.Verdict_VERDICT_HEALTHY, true)}, xdrlinkv1.Verdict_VERDICT_ERROR},
		"nil signal":         {[]*xdrlinkv1.SignalReport{nil, sig(xdrlinkv1.Verdict_VERDICT_STALE, true)}, xdrlinkv1.Verdict_VERDICT_STALE},
	} {
		if got := Overall(tc.signals); got != tc.want {
			t.Errorf("%s: Overall = %s, want %s", name, got, tc.want)
		}
	}
}

func check(ok bool) *xdrlinkv1.ConfigurationCheck { return &xdrlinkv1.ConfigurationCheck{Ok: ok} }

func TestHealthy(t *testing.T) {
	for _, tc := range []struct {
		verdict xdrlinkv1.Verdict
		checks  []*xdrlinkv1.ConfigurationCheck
		want    bool
	}{
		{xdrlinkv1.Verdict_VERDICT_HEALTHY, []*xdrlinkv1.ConfigurationCheck{check(true), check(true)}, true},
		{xdrlinkv1.Verdict_VERDICT_HEALTHY, nil, true},
		{xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, []*xdrlinkv1.ConfigurationCheck{check(true)}, true},
		{xdrlinkv1.Verdict_VERDICT_HEALTHY, []*xdrlinkv1.ConfigurationCheck{check(true), check(false)}, false},
		{xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, []*xdrlinkv1.ConfigurationCheck{check(false)}, false},
		{xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED, nil, true},
		{xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED, []*xdrlinkv1.ConfigurationCheck{check(false)}, false},
		{xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, nil, false},
		{xdrlinkv1.Verdict_VERDICT_STALE, nil, false},
		{xdrlinkv1.Verdict_VERDICT_NO_DATA, nil, false},
		{xdrlinkv1.Verdict_VERDICT_ERROR, nil, false},
		{xdrlinkv1.Verdict_VERDICT_UNSPECIFIED, nil, false},
	} {
		if got := Healthy(Summary(&xdrlinkv1.IngestionReport{Verdict: tc.verdict, Configuration: tc.checks})); got != tc.want {
			t.Errorf("Healthy(%s, %d checks) = %v", tc.verdict, len(tc.checks), got)
		}
	}
	if Healthy(nil) {
		t.Error("Healthy(nil)")
	}
}

func TestSummary(t *testing.T) {
	when := timestamppb.New(time.Date(2026, 11, 30, 2, 13, 35, 0, time.UTC))
	r := &xdrlinkv1.IngestionReport{
		Name:       "tenants/contoso/verifications/v1",
		VerifyTime: when,
		Verdict:    xdrlinkv1.Verdict_VERDICT_STALE,
		Signals: []*xdrlinkv1.SignalReport{
			sig(xdrlinkv1.Verdict_VERDICT_HEALTHY, true), sig(xdrlinkv1.Verdict_VERDICT_HEALTHY, true),
			sig(xdrlinkv1.Verdict_VERDICT_STALE, true), sig(xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, false),
		},
		Configuration: []*xdrlinkv1.ConfigurationCheck{check(true), check(false), check(false)},
	}
	want := &xdrlinkv1.VerificationSummary{
		Verification:       "tenants/contoso/verifications/v1",
		VerifyTime:         when,
		Verdict:            xdrlinkv1.Verdict_VERDICT_STALE,
		SignalVerdicts:     map[string]int32{"VERDICT_HEALTHY": 2, "VERDICT_STALE": 1},
		ConfigurationDrift: 2,
	}
	got := Summary(r)
	if !proto.Equal(got, want) {
		t.Errorf("Summary = %v\nwant %v", got, want)
	}
	if got.VerifyTime == r.VerifyTime {
		t.Error("the summary shares the report's timestamp")
	}
	if s := Summary(&xdrlinkv1.IngestionReport{}); s.VerifyTime != nil || len(s.SignalVerdicts) != 0 || s.ConfigurationDrift != 0 {
		t.Errorf("empty report: %v", s)
	}
}

func TestThresholds(t *testing.T) {
	d := DefaultThresholds()
	if d != (Thresholds{GracePeriod: 24 * time.Hour, TableStaleAfter: 24 * time.Hour, AlertsStaleAfter: 7 * 24 * time.Hour}) {
		t.Errorf("defaults = %+v", d)
	}
	want := &xdrlinkv1.VerdictThresholds{GracePeriod: durationpb.New(24 * time.Hour), TableStaleAfter: durationpb.New(24 * time.Hour), AlertsStaleAfter: durationpb.New(7 * 24 * time.Hour)}
	if got := d.Proto(); !proto.Equal(got, want) {
		t.Errorf("Proto = %v", got)
	}
	// Custom thresholds are used as given.
	custom := Thresholds{GracePeriod: time.Hour, TableStaleAfter: 2 * time.Hour, AlertsStaleAfter: 3 * time.Hour}
	if r := Signal(now, win, custom, Evidence{Kind: table, Desired: true, LastBefore: now.Add(-3 * time.Hour)}); r.GetVerdict() != xdrlinkv1.Verdict_VERDICT_STALE {
		t.Errorf("table 3h old with 2h threshold: %s", r.GetVerdict())
	}
	if r := Signal(now, win, custom, Evidence{Kind: alerts, Desired: true, LastBefore: now.Add(-3 * time.Hour)}); r.GetVerdict() != xdrlinkv1.Verdict_VERDICT_HEALTHY {
		t.Errorf("alerts 3h old with 3h threshold: %s", r.GetVerdict())
	}
	if r := Signal(now, win, custom, Evidence{Kind: incidents, Desired: true, EnableTime: now.Add(-61 * time.Minute)}); r.GetVerdict() != xdrlinkv1.Verdict_VERDICT_NO_DATA {
		t.Errorf("enabled 61m ago with 1h grace: %s", r.GetVerdict())
	}
}
