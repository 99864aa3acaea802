package azuresim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The Defender streaming API (docs/azure.md §3): GET/POST
// /api/dataExportSettings and DELETE /api/dataExportSettings/{id}. Entries
// live in TenantState.streaming; writing one "connects" its tables to the
// workspace in the ingest ledger from that sim-clock instant, which is what
// makes their rows appear in Log Analytics (laStreamingFirstDataDelay later).

func init() { registerAPIFamily(registerStreaming) }

func registerStreaming(s *Sim) {
	s.HandleFunc("GET /api/dataExportSettings", s.streamingList)
	s.HandleFunc("POST /api/dataExportSettings", s.streamingUpsert)
	s.HandleFunc("DELETE /api/dataExportSettings/{id}", s.streamingDelete)
}

// streamingCaller checks the token and the caller's standing in its tenant:
// delegated only, a role that allows the operation, a Defender licence.
func (s *Sim) streamingCaller(r *http.Request, write bool) (*Caller, *TenantState, error) {
	c, err := s.RequireToken(r, AudienceDefender, TokenAny)
	if err != nil {
		return nil, nil, err
	}
	if c.Kind != TokenDelegated {
		return nil, nil, NewAPIError(streamingAppOnlyStatus, streamingAppOnlyCode, "%s", streamingAppOnlyMessage)
	}
	t, ok := s.Tenant(c.TenantID)
	if !ok {
		return nil, nil, NewAPIError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Tenant '%s' does not exist.", c.TenantID)
	}
	roles := []string{RoleSecurityAdministrator, RoleGlobalAdministrator}
	if !write {
		roles = append(roles, RoleSecurityReader)
	}
	if u, found := t.User(c.ObjectID); !found || !hasAnyRole(u, roles...) {
		return nil, nil, NewAPIError(streamingRoleStatus, streamingRoleCode, streamingRoleMessage, c.UPN, t.Spec.ID)
	}
	if !t.HasServicePlan("MTP") {
		return nil, nil, NewAPIError(streamingNoLicenseStatus, streamingNoLicenseCode, streamingNoLicenseMessage, t.Spec.ID)
	}
	return c, t, nil
}

func (s *Sim) streamingList(w http.ResponseWriter, r *http.Request) {
	SetRequestAPI(r, "defender.dataExportSettings.list")
	_, t, err := s.streamingCaller(r, false)
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	t.mu.Lock()
	out := make([]StreamingExportSetting, 0, len(t.streaming))
	for _, e := range t.streaming {
		out = append(out, copyStreamingSetting(e))
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	WriteJSON(w, http.StatusOK, map[string]any{"value": out})
}

// streamingBody is the POST body; unknown fields are ignored, as most Azure
// data-plane APIs do.
type streamingBody struct {
	ID                       *string                       `json:"id"`
	DesignatedTenantID       *string                       `json:"designatedTenantId"`
	EventHubProperties       json.RawMessage               `json:"eventHubProperties"`
	StorageAccountProperties json.RawMessage               `json:"storageAccountProperties"`
	WorkspaceProperties      *StreamingWorkspaceProperties `json:"workspaceProperties"`
	Logs                     []StreamingLogCategory        `json:"logs"`
}

func (s *Sim) streamingUpsert(w http.ResponseWriter, r *http.Request) {
	SetRequestAPI(r, "defender.dataExportSettings.upsert")
	_, t, err := s.streamingCaller(r, true)
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	var in streamingBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", "The request body is not valid JSON: "+err.Error())
		return
	}
	entry, err := s.validateStreamingBody(t, &in)
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	key := strings.ToLower(entry.ID)
	t.mu.Lock()
	if _, exists := t.streaming[key]; !exists && len(t.streaming) >= streamingMaxEntries {
		t.mu.Unlock()
		WriteAPIError(w, NewAPIError(streamingLimitStatus, streamingLimitCode, streamingLimitMessage, streamingMaxEntries, entry.ID))
		return
	}
	entry.LastModified = s.Now()
	t.streaming[key] = entry
	s.syncStreamingLedger(t, entry.LastModified)
	out := copyStreamingSetting(entry)
	t.mu.Unlock() // before writing: the write may block on the client
	WriteJSON(w, streamingUpsertStatus, out)
}

// validateStreamingBody checks the entry against the documented rules and
// the world and returns what to store.
func (s *Sim) validateStreamingBody(t *TenantState, in *streamingBody) (*StreamingExportSetting, error) {
	if in.ID == nil || strings.TrimSpace(*in.ID) == "" {
		return nil, errBadRequest("The 'id' field is required.")
	}
	if !isJSONNull(in.EventHubProperties) || !isJSONNull(in.StorageAccountProperties) {
		// Event Hub and storage destinations exist in the real API but are
		// outside what the emulator models (xdrlink never writes them).
		return nil, errBadRequest("Only Log Analytics workspace destinations are supported by this emulator; eventHubProperties and storageAccountProperties must be null.")
	}
	wp := in.WorkspaceProperties
	if wp == nil || wp.WorkspaceResourceID == "" {
		return nil, errBadRequest("The 'workspaceProperties.workspaceResourceId' field is required.")
	}
	ws := tenantWorkspace(t, wp.WorkspaceResourceID)
	if ws == nil {
		return nil, NewAPIError(streamingWorkspaceStatus, streamingWorkspaceCode, streamingWorkspaceMessage, wp.WorkspaceResourceID, t.Spec.ID)
	}
	for _, f := range []struct{ got, want, name string }{
		{wp.SubscriptionID, ws.Spec.SubscriptionID, "subscriptionId"},
		{wp.ResourceGroup, ws.Spec.ResourceGroup, "resourceGroup"},
		{wp.Name, ws.Spec.Name, "name"},
	} {
		if f.got != "" && !strings.EqualFold(f.got, f.want) {
			return nil, errBadRequest("workspaceProperties.%s '%s' does not match workspaceResourceId '%s'.", f.name, f.got, wp.WorkspaceResourceID)
		}
	}
	logs := make([]StreamingLogCategory, 0, len(in.Logs))
	for _, l := range in.Logs {
		if _, ok := streamingCategoryTable(l.Category); !ok {
			return nil, NewAPIError(streamingCategoryStatus, streamingCategoryCode, streamingCategoryMessage, l.Category)
		}
		logs = append(logs, l)
	}
	wpCopy := *wp
	return &StreamingExportSetting{
		ID:                  *in.ID,
		DesignatedTenantID:  in.DesignatedTenantID,
		WorkspaceProperties: &wpCopy,
		Logs:                logs,
	}, nil
}

// tenantWorkspace finds one of t's workspaces by ARM resource id (nil when
// the id names no workspace of t). It reads only t's fixed workspace list,
// so it is safe under t.mu.
func tenantWorkspace(t *TenantState, resourceID string) *WorkspaceState {
	p, ok := parseARMPath(resourceID)
	if !ok || p.workspace == "" || p.ext != "" || len(p.segs) != 2 {
		return nil
	}
	return t.workspace(p.subscription, p.resourceGroup, p.workspace)
}

func (s *Sim) streamingDelete(w http.ResponseWriter, r *http.Request) {
	SetRequestAPI(r, "defender.dataExportSettings.delete")
	_, t, err := s.streamingCaller(r, true)
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	id := r.PathValue("id")
	t.mu.Lock()
	_, found := t.streaming[strings.ToLower(id)]
	if found {
		delete(t.streaming, strings.ToLower(id))
		s.syncStreamingLedger(t, s.Now())
	}
	t.mu.Unlock()
	if !found {
		WriteAPIError(w, NewAPIError(http.StatusNotFound, "NotFound", "Data export setting '%s' was not found.", id))
		return
	}
	w.WriteHeader(streamingDeleteStatus)
}

// syncStreamingLedger reports to the ingest ledger which tables of which
// workspace the tenant's entries stream from at (now, or a moment of the
// world's history) on. Caller holds t.mu (the ledger has its own locks and
// never takes a tenant's).
func (s *Sim) syncStreamingLedger(t *TenantState, at time.Time) {
	on := map[*WorkspaceState]map[string]bool{}
	for _, e := range t.streaming {
		ws := tenantWorkspace(t, e.WorkspaceProperties.WorkspaceResourceID)
		if ws == nil {
			continue
		}
		if on[ws] == nil {
			on[ws] = map[string]bool{}
		}
		for _, l := range e.Logs {
			if table, ok := streamingCategoryTable(l.Category); ok && l.Enabled {
				on[ws][table] = true
			}
		}
	}
	for _, ws := range t.workspaces {
		wl := s.xdr().ledger.workspace(ws.Spec.CustomerID)
		for _, table := range streamingTables() {
			wl.set(table, on[ws][table], at)
		}
	}
}

func copyStreamingSetting(e *StreamingExportSetting) StreamingExportSetting {
	c := *e
	c.Logs = append([]StreamingLogCategory{}, e.Logs...)
	if e.WorkspaceProperties != nil {
		wp := *e.WorkspaceProperties
		c.WorkspaceProperties = &wp
	}
	return c
}

func isJSONNull(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) == 0 || bytes.Equal(b, []byte("null"))
}
