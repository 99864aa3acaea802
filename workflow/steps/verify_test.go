package steps

import (
	"context"
	"strings"
	"testing"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
)

// verifyOnce runs the VERIFY step with what the earlier steps observed.
func (e *env) verifyOnce(t *testing.T, tg Target, observed map[string]*xdrlinkv1.TableObservation) *xdrlinkv1.IngestionReport {
	t.Helper()
	tg.Observed, tg.Operation = observed, "op-verify"
	res, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_VERIFY, tg, &Applied{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report == nil {
		t.Fatal("VERIFY returned no report")
	}
	return res.Report
}

func checks(r *xdrlinkv1.IngestionReport) map[xdrlinkv1.ConfigurationCheck_Aspect]*xdrlinkv1.ConfigurationCheck {
	out := map[xdrlinkv1.ConfigurationCheck_Aspect]*xdrlinkv1.ConfigurationCheck{}
	for _, c := range r.GetConfiguration() {
		out[c.GetAspect()] = c
	}
	return out
}

// After onboarding, the configuration is as desired; after Azure is
// changed behind xdrlink's back, each check says what differs.
func TestVerifyComparesConfiguration(t *testing.T) {
	e := start(t, nil)
	tn := e.world.Tenants[1]
	tg := target(tn)
	user := e.signIn(t, tn)
	var a Applied
	observed := map[string]*xdrlinkv1.TableObservation{}
	for k, res := range e.run(t, false, OnboardSteps[:len(OnboardSteps)-1], tg, &a, user, false) {
		if k == xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS && res.Observations["DeviceProcessEvents"].GetState() != xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED {
			t.Fatalf("CONNECT_EVENTS observations %v", res.Observations)
		}
		observed = tablestate.Merge(observed, res.Observations)
	}

	r := e.verifyOnce(t, tg, observed)
	for aspect, c := range checks(r) {
		if !c.GetOk() {
			t.Errorf("right after onboarding, %v: %s / %s: %s", aspect, c.GetDesired(), c.GetObserved(), c.GetMessage())
		}
	}
	if len(checks(r)) != 4 || len(r.GetQueries()) < 3 || r.GetWindowDays() != DefaultWindowDays || r.GetName() != "tenants/x/verifications/op-verify" {
		t.Fatalf("report %v", r)
	}
	verdicts := map[string]xdrlinkv1.Verdict{}
	for _, s := range r.GetSignals() {
		if len(s.GetDaily()) != DefaultWindowDays+1 {
			t.Errorf("%s: %d daily counts", s.GetTable(), len(s.GetDaily()))
		}
		if s.GetKind() == xdrlinkv1.SignalReport_KIND_TABLE {
			verdicts[s.GetTable()] = s.GetVerdict()
		}
	}
	// The streamed tables' first rows are not due yet; EmailEvents waits for a person.
	if verdicts["DeviceProcessEvents"] != xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD ||
		verdicts["IdentityLogonEvents"] != xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD ||
		verdicts["EmailEvents"] != xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED {
		t.Errorf("table verdicts %v", verdicts)
	}

	// Behind xdrlink's back: the rules on again, entities and the connector gone.
	undo := a
	e.run(t, true, []xdrlinkv1.StepKind{
		xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_ENTITIES,
		xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_INCIDENTS_AND_ALERTS,
		xdrlinkv1.StepKind_STEP_KIND_RESTORE_INCIDENT_CREATION_RULES,
	}, tg, &undo, user, false)
	r = e.verifyOnce(t, tg, observed)
	got := checks(r)
	for aspect, says := range map[xdrlinkv1.ConfigurationCheck_Aspect]string{
		xdrlinkv1.ConfigurationCheck_ASPECT_CONNECTOR:               "no Microsoft Defender XDR",
		xdrlinkv1.ConfigurationCheck_ASPECT_INCIDENT_CREATION_RULES: "enabled:",
		xdrlinkv1.ConfigurationCheck_ASPECT_ENTITY_ANALYTICS:        "entity provider",
	} {
		if c := got[aspect]; c.GetOk() || !strings.Contains(c.GetObserved(), says) || c.GetMessage() == "" {
			t.Errorf("%v after the change: %v", aspect, c)
		}
	}
	if !got[xdrlinkv1.ConfigurationCheck_ASPECT_STREAMING].GetOk() {
		t.Errorf("streaming was not changed: %v", got[xdrlinkv1.ConfigurationCheck_ASPECT_STREAMING])
	}
}
