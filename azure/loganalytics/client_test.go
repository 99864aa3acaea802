package loganalytics_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/streaming"
	"github.com/xdrlink/xdrlink/azuresim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const contosoCustomer = simtest.ContosoCustomerID

var (
	tables     = []string{"DeviceProcessEvents", "DeviceNetworkEvents", "IdentityLogonEvents", "EmailEvents"}
	contosoApp = simtest.App(simtest.ContosoTenant)
)

func newClient(t *testing.T, env *simtest.Env, as simtest.Principal) (*loganalytics.Client, *simtest.Recorder) {
	t.Helper()
	return simtest.NewClient(t, env, outbound.APILogAnalytics, loganalytics.NewClient, as)
}

// stream turns on Defender streaming for contoso through the real client,
// as a Security Administrator.
func stream(t *testing.T, env *simtest.Env, tables ...string) {
	t.Helper()
	c, _ := simtest.NewClient(t, env, outbound.APIDefenderStreaming, streaming.NewClient, simtest.User(simtest.ContosoTenant, simtest.ContosoAdmin))
	if _, err := c.Upsert(context.Background(), streaming.NewSentinelSetting(simtest.Contoso, streaming.Select(tables).Categories)); err != nil {
		t.Fatal(err)
	}
}

// connectMTP creates the MicrosoftThreatProtection connector through ARM.
func connectMTP(t *testing.T, env *simtest.Env) {
	t.Helper()
	c := env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub)
	status, err := c.DoJSON(context.Background(), armclient.Request{
		Method:     http.MethodPut,
		Path:       simtest.Contoso.Path() + "/providers/Microsoft.SecurityInsights/dataConnectors/7d0fc8a0-5a6e-4e0c-9f5e-2b8f3c1d2e4f",
		APIVersion: armclient.SecurityInsightsPreview,
		Body: map[string]any{"kind": "MicrosoftThreatProtection", "properties": map[string]any{
			"tenantId": simtest.ContosoTenant, "dataTypes": map[string]any{"incidents": map[string]any{"state": "Enabled"}, "alerts": map[string]any{"state": "Enabled"}},
		}},
		OK: []int{http.StatusCreated, http.StatusOK},
	}, nil)
	if err != nil {
		t.Fatalf("MTP connect: %d %v", status, err)
	}
}

func TestPartialErrorIsAnError(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	stream(t, env, "DeviceProcessEvents")
	env.Sim.AdvanceClock(6 * time.Hour) // past the emulator's delay before a streamed table's first rows
	env.Sim.SetQueryPartialError(contosoCustomer, &azuresim.QueryPartialError{Message: "Query execution has exceeded the allowed limits"})
	c, _ := newClient(t, env, contosoApp)
	q, err := loganalytics.TablesDailyQuery(loganalytics.NewWindow(env.Sim.Now(), 1), tables)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Daily(context.Background(), contosoCustomer, q)
	var pe *loganalytics.PartialError
	if !errors.As(err, &pe) || pe.Code != "PartialError" || len(pe.Tables) != 1 || azerr.Classify(err) != azerr.Unknown {
		t.Fatalf("err = %v, want a PartialError with its tables", err)
	}
	env.Sim.SetQueryPartialError(contosoCustomer, nil)
	if _, err := c.Daily(context.Background(), contosoCustomer, q); err != nil {
		t.Fatal(err)
	}
}

func TestQueryErrors(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	stream(t, env, "DeviceProcessEvents")
	ctx := context.Background()
	c, _ := newClient(t, env, contosoApp)
	_, err := c.Query(ctx, contosoCustomer, "DeviceProcessEvents | join (DeviceInfo) on DeviceId", "")
	var ae *azerr.Error
	if !errors.As(err, &ae) || ae.Kind != azerr.InvalidRequest || ae.Code != "BadArgumentError" || ae.StatusCode != http.StatusBadRequest {
		t.Fatalf("unsupported KQL: %v", err)
	}
	analyst, _ := newClient(t, env, simtest.User(simtest.ContosoTenant, simtest.ContosoAnalyst))
	if _, err := analyst.Query(ctx, contosoCustomer, "DeviceProcessEvents | take 1", ""); azerr.Classify(err) != azerr.Forbidden {
		t.Fatalf("analyst without query/read: %v", err)
	}
	fabrikam, _ := newClient(t, env, simtest.App(simtest.FabrikamTenant))
	if _, err := fabrikam.Query(ctx, contosoCustomer, "DeviceProcessEvents | take 1", ""); azerr.Classify(err) != azerr.Forbidden {
		t.Fatalf("other tenant: %v", err)
	}
	if _, err := c.Query(ctx, "00000000-0000-4000-8000-000000000000", "DeviceProcessEvents", ""); azerr.Classify(err) != azerr.NotFound {
		t.Fatalf("unknown workspace: %v", err)
	}
}
