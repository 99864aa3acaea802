package verification

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// severity orders verdicts from best (1) to worst.
var severity = map[xdrlinkv1.Verdict]int{
	xdrlinkv1.Verdict_VERDICT_HEALTHY:              1,
	xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD:  2,
	xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED: 3,
	xdrlinkv1.Verdict_VERDICT_NOT_ENABLED:          4,
	xdrlinkv1.Verdict_VERDICT_STALE:                5,
	xdrlinkv1.Verdict_VERDICT_NO_DATA:              6,
	xdrlinkv1.Verdict_VERDICT_ERROR:                7,
}

// Overall is the report's verdict: the worst verdict among the desired
// signals; NOT_ENABLED when no signal is desired. A desired signal without
// a known verdict counts as ERROR, so a bug cannot pass for health.
func Overall(signals []*xdrlinkv1.SignalReport) xdrlinkv1.Verdict {
	worst, desired := xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, false
	for _, s := range signals {
		if !s.GetDesired() {
			continue
		}
		v := s.GetVerdict()
		if severity[v] == 0 {
			v = xdrlinkv1.Verdict_VERDICT_ERROR
		}
		if !desired || severity[v] > severity[worst] {
			worst = v
		}
		desired = true
	}
	return worst
}

// Healthy says whether a connected tenant whose last verification is s is
// ONBOARDED (true) or DEGRADED: data arrives, or is not due yet (within its
// grace period, or waiting for a portal step a person has been told to
// do), and every configuration check is ok.
func Healthy(s *xdrlinkv1.VerificationSummary) bool {
	switch s.GetVerdict() {
	case xdrlinkv1.Verdict_VERDICT_HEALTHY, xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED:
		return s.GetConfigurationDrift() == 0
	}
	return false
}

// Summary is the short form kept on the tenant: the report's name, time and
// verdict, its desired signals per verdict and its failed configuration
// checks.
func Summary(r *xdrlinkv1.IngestionReport) *xdrlinkv1.VerificationSummary {
	s := &xdrlinkv1.VerificationSummary{
		Verification:       r.GetName(),
		Verdict:            r.GetVerdict(),
		SignalVerdicts:     map[string]int32{},
		ConfigurationDrift: drift(r),
	}
	if t := r.GetVerifyTime(); t != nil {
		s.VerifyTime = timestamppb.New(t.AsTime()) // a copy: the summary outlives the report
	}
	for _, sig := range r.GetSignals() {
		if sig.GetDesired() {
			s.SignalVerdicts[sig.GetVerdict().String()]++
		}
	}
	return s
}

// drift counts the failed configuration checks.
func drift(r *xdrlinkv1.IngestionReport) int32 {
	var n int32
	for _, c := range r.GetConfiguration() {
		if !c.GetOk() {
			n++
		}
	}
	return n
}
