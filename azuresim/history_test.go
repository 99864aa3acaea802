package azuresim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// contosoHistory is the history the tests give contoso's workspace: 10 days
// of incidents, alerts and three tables, then (4 days before start)
// DeviceFileEvents on and DeviceNetworkEvents off in the portal, and
// IdentityLogonEvents silent for the last 2 days.
func contosoHistory() *WorkspaceHistory {
	return &WorkspaceHistory{
		ConnectedAgo: Duration(10*day + 5*time.Hour),
		Tables:       []string{"DeviceProcessEvents", "DeviceNetworkEvents", "IdentityLogonEvents"},
		StreamingChanges: []StreamingChange{
			{Ago: Duration(4 * day), Enable: []string{"DeviceFileEvents"}, Disable: []string{"DeviceNetworkEvents"}},
		},
		Silent: map[string]Duration{"IdentityLogonEvents": Duration(2 * day)},
	}
}

// historyWorld is the test world with h as contoso's workspace history.
func historyWorld(t *testing.T, h *WorkspaceHistory) *World {
	t.Helper()
	w := loadTestWorld(t)
	w.Tenants[1].Workspaces[0].History = h
	w.Tenants[1].DataVolumes["DeviceFileEvents"] = 5000
	return w
}

// simStart is the instant the history is dated from: the MTP connector's
// ledger span starts ConnectedAgo before it.
func simStart(t *testing.T, s *Sim, h *WorkspaceHistory) time.Time {
	t.Helper()
	for _, ti := range s.Ingestion(contosoCustomer) {
		if ti.Table == tableSecurityIncident {
			return ti.Spans[0].From.Add(time.Duration(h.ConnectedAgo))
		}
	}
	t.Fatal("no SecurityIncident span")
	return time.Time{}
}

func TestHistoryBuildsTheLiveState(t *testing.T) {
	h := contosoHistory()
	w := historyWorld(t, h)
	before := time.Now()
	s := startSim(t, Options{World: w})
	start := simStart(t, s, h)
	connected := start.Add(-time.Duration(h.ConnectedAgo))
	if start.Before(before) || start.After(s.Now()) {
		t.Fatalf("history dated from %v, sim started between %v and %v", start, before, s.Now())
	}

	snap, err := s.WorkspaceSnapshot(contosoSub, contosoRG, contosoWS)
	if err != nil {
		t.Fatal(err)
	}
	if snap.OnboardingState == nil || snap.OnboardingState.SystemData.CreatedAt != connected.Format(time.RFC3339Nano) ||
		snap.OnboardingState.SystemData.CreatedBy != contosoAdmin {
		t.Fatalf("onboarding state %+v", snap.OnboardingState)
	}
	if len(snap.DataConnectors) != 1 {
		t.Fatalf("connectors %+v", snap.DataConnectors)
	}
	mtp := snap.DataConnectors[0]
	if !isGUID(mtp.Name) || mtp.Kind != kindMTP || mtp.SystemData.CreatedAt != connected.Format(time.RFC3339Nano) {
		t.Fatalf("MTP connector %+v", mtp)
	}
	if on, types := mustWS(t, s, contosoSub, contosoRG, contosoWS).ConnectedMTP(); !on || !types["incidents"] || !types["alerts"] {
		t.Fatalf("connector not connected for incidents and alerts: %v %v", on, types)
	}

	entries, _ := s.StreamingEntries(contosoTID)
	if len(entries) != 1 {
		t.Fatalf("streaming entries %+v", entries)
	}
	e := entries[0]
	wantLogs := "[{AdvancedHunting-DeviceProcessEvents true} {AdvancedHunting-DeviceNetworkEvents false} {IdentityLogonEvents true} {AdvancedHunting-DeviceFileEvents true}]"
	if e.ID != "SentinelExportSettings-ws-contoso" || fmt.Sprint(e.Logs) != wantLogs || e.DesignatedTenantID != nil ||
		*e.WorkspaceProperties != (StreamingWorkspaceProperties{WorkspaceResourceID: wsPath(contosoSub, contosoRG, contosoWS),
			SubscriptionID: contosoSub, ResourceGroup: contosoRG, Name: contosoWS}) || !e.LastModified.Equal(start.Add(-4*day)) {
		t.Fatalf("entry %+v %+v", e, e.WorkspaceProperties)
	}

	ago := func(d time.Duration) string { return start.Add(-d).Format(time.RFC3339) }
	var got []string
	for _, ti := range s.Ingestion(contosoCustomer) {
		line := ti.Table + ":"
		for _, sp := range ti.Spans {
			line += " " + sp.From.Format(time.RFC3339) + ".."
			if sp.To != nil {
				line += sp.To.Format(time.RFC3339)
			}
		}
		if ti.SilentSince != nil {
			line += " silent " + ti.SilentSince.Format(time.RFC3339)
		}
		got = append(got, line)
	}
	c := ago(time.Duration(h.ConnectedAgo))
	want := []string{
		"DeviceFileEvents: " + ago(4*day) + "..",
		"DeviceNetworkEvents: " + c + ".." + ago(4*day),
		"DeviceProcessEvents: " + c + "..",
		"IdentityLogonEvents: " + c + ".. silent " + ago(2*day),
		"SecurityAlert: " + c + "..",
		"SecurityIncident: " + c + "..",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("ingestion:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// After the history, xdrlink's writes meet existing resources: the
// connector is updated under its name with its etag (a second one is
// refused), and a POST of the same entry keeps the tables' spans.
func TestHistoryThenLiveWrites(t *testing.T) {
	h := contosoHistory()
	s := startSim(t, Options{World: historyWorld(t, h)})
	start := simStart(t, s, h)
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	list := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "dataConnectors"), previewAPI, nil)
	wantStatus(t, list, http.StatusOK)
	cur := list.body["value"].([]any)[0].(map[string]any)
	name, etag := cur["name"].(string), cur["etag"].(string)
	wantError(t, do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "m365d"), previewAPI, mtpBody(contosoTID, "")),
		duplicateMTPStatus, duplicateMTPCode)
	wantStatus(t, do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, name), previewAPI, mtpBody(contosoTID, etag)), http.StatusOK)

	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	entry := contosoEntry("SentinelExportSettings-ws-contoso", "AdvancedHunting-DeviceProcessEvents", "AdvancedHunting-DeviceRegistryEvents")
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, entry), streamingUpsertStatus)
	if es, _ := s.StreamingEntries(contosoTID); len(es) != 1 {
		t.Fatalf("entries %+v", es)
	}
	spans := map[string][]IngestionSpan{}
	for _, ti := range s.Ingestion(contosoCustomer) {
		spans[ti.Table] = ti.Spans
	}
	connected := start.Add(-time.Duration(h.ConnectedAgo))
	if dpe := spans["DeviceProcessEvents"]; len(dpe) != 1 || dpe[0].To != nil || !dpe[0].From.Equal(connected) {
		t.Errorf("DeviceProcessEvents %+v: the rewrite must keep the open span", dpe)
	}
	if sec := spans[tableSecurityIncident]; len(sec) != 1 || sec[0].To != nil || !sec[0].From.Equal(connected) {
		t.Errorf("SecurityIncident %+v: the connector update must keep the open span", sec)
	}
	if reg := spans["DeviceRegistryEvents"]; len(reg) != 1 || reg[0].From.Before(start) {
		t.Errorf("DeviceRegistryEvents %+v: want a span from now", reg)
	}
	if fe := spans["DeviceFileEvents"]; len(fe) != 1 || fe[0].To == nil {
		t.Errorf("DeviceFileEvents %+v: left out of the entry, want it closed", fe)
	}
}

// A history on a consent-needed tenant was made by its admin: app-only
// connector writes work from the start.
func TestHistoryClearsConsent(t *testing.T) {
	w := historyWorld(t, contosoHistory())
	w.Tenants[1].ConsentNeeded = true
	s := startSim(t, Options{World: w})
	if f, _ := s.TenantFlagsOf(contosoTID); !f.ConsentGranted {
		t.Fatalf("flags %+v: the history's delegated connect cleared consent", f)
	}
	name := stableUUID(contosoCustomer, "history", kindMTP)
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	wantStatus(t, do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, name), previewAPI, mtpBody(contosoTID, "")), http.StatusOK)
}

func TestHistoryValidation(t *testing.T) {
	ago := func(d time.Duration) Duration { return Duration(d) }
	for name, tc := range map[string]struct {
		edit func(w *World, h *WorkspaceHistory)
		msg  string
	}{
		"negative connect":      {func(_ *World, h *WorkspaceHistory) { h.ConnectedAgo = ago(-time.Hour) }, "negative"},
		"unknown table":         {func(_ *World, h *WorkspaceHistory) { h.Tables = append(h.Tables, "Nope") }, `"Nope" is not an advanced-hunting table`},
		"connector table":       {func(_ *World, h *WorkspaceHistory) { h.Tables = []string{"SecurityAlert"} }, `"SecurityAlert" is not`},
		"change before connect": {func(_ *World, h *WorkspaceHistory) { h.StreamingChanges[0].Ago = ago(11 * day) }, "oldest first"},
		"changes out of order": {func(_ *World, h *WorkspaceHistory) {
			h.StreamingChanges = append(h.StreamingChanges, StreamingChange{Ago: ago(5 * day), Enable: []string{"DeviceInfo"}})
		}, "oldest first"},
		"negative change":        {func(_ *World, h *WorkspaceHistory) { h.StreamingChanges[0].Ago = ago(-time.Minute) }, "must lie between"},
		"disable not streamed":   {func(_ *World, h *WorkspaceHistory) { h.StreamingChanges[0].Disable = []string{"DeviceInfo"} }, "disables DeviceInfo"},
		"enable streamed":        {func(_ *World, h *WorkspaceHistory) { h.StreamingChanges[0].Enable = []string{"DeviceProcessEvents"} }, "already streamed"},
		"silent never streamed":  {func(_ *World, h *WorkspaceHistory) { h.Silent["DeviceInfo"] = ago(day) }, "DeviceInfo is never streamed"},
		"silent before streamed": {func(_ *World, h *WorkspaceHistory) { h.Silent["DeviceFileEvents"] = ago(5 * day) }, "not between"},
		"no licence":             {func(w *World, _ *WorkspaceHistory) { w.Tenants[1].Licenses = nil }, "no Defender XDR licence"},
		"nobody to connect":      {func(w *World, _ *WorkspaceHistory) { w.Tenants[1].Users[0].DirectoryRoles = nil }, "no member Security Administrator"},
		"provider unregistered":  {func(w *World, _ *WorkspaceHistory) { w.Tenants[1].Subscriptions[0].RegisteredProviders = nil }, "Microsoft.SecurityInsights is not registered"},
	} {
		h := contosoHistory()
		w := historyWorld(t, h)
		tc.edit(w, h)
		_, err := Start(Options{World: w})
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "ws-contoso: history") {
			t.Errorf("%s: err = %v, want one containing %q", name, err, tc.msg)
		}
	}
}

// The history's JSON form, as testdata/README.md documents it.
func TestHistoryJSON(t *testing.T) {
	w := loadTestWorld(t)
	raw := `{"connectedAgo": "240h", "tables": ["DeviceProcessEvents", "EmailEvents"],
		"streamingChanges": [{"ago": "48h", "enable": ["DeviceRegistryEvents"], "disable": ["EmailEvents"]}],
		"silent": {"DeviceProcessEvents": "90m"}}`
	h := &WorkspaceHistory{}
	if err := json.Unmarshal([]byte(raw), h); err != nil {
		t.Fatal(err)
	}
	want := &WorkspaceHistory{ConnectedAgo: Duration(10 * day), Tables: []string{"DeviceProcessEvents", "EmailEvents"},
		StreamingChanges: []StreamingChange{{Ago: Duration(2 * day), Enable: []string{"DeviceRegistryEvents"}, Disable: []string{"EmailEvents"}}},
		Silent:           map[string]Duration{"DeviceProcessEvents": Duration(90 * time.Minute)}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("decoded %+v, want %+v", h, want)
	}
	w.Tenants[1].Workspaces[0].History = h
	b, _ := json.Marshal(w)
	if !strings.Contains(string(b), `"history":{"connectedAgo":"240h0m0s"`) {
		t.Fatalf("encoded %s", b)
	}
	if _, err := LoadWorld(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"connectedAgo": "soon"}`), h); err == nil {
		t.Fatal("a duration that is not one was accepted")
	}
}
