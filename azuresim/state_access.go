package azuresim

import (
	"fmt"
	"sort"
	"strings"
)

// Go accessors for tests and the admin API. Every one returns copies.

// WorkspaceSnapshot is a workspace's Sentinel state at one moment.
type WorkspaceSnapshot struct {
	ResourceID      string      `json:"resourceId"`
	CustomerID      string      `json:"customerId"`
	TenantID        string      `json:"tenantId"`
	OnboardingState *Resource   `json:"onboardingState"`
	DataConnectors  []*Resource `json:"dataConnectors"`
	AlertRules      []*Resource `json:"alertRules"`
	Settings        []*Resource `json:"settings"`
	ContentPackages []*Resource `json:"contentPackages"`
}

// Snapshot copies the workspace's Sentinel state.
func (w *WorkspaceState) Snapshot() WorkspaceSnapshot {
	t := w.Tenant
	t.mu.Lock()
	defer t.mu.Unlock()
	return WorkspaceSnapshot{
		ResourceID:      w.Spec.ResourceID(),
		CustomerID:      w.Spec.CustomerID,
		TenantID:        t.Spec.ID,
		OnboardingState: w.onboarded.clone(),
		DataConnectors:  sortedResources(w.connectors),
		AlertRules:      sortedResources(w.alertRules),
		Settings:        sortedResources(w.settings),
		ContentPackages: sortedResources(w.packages),
	}
}

// ConnectedMTP reports whether the workspace has a MicrosoftThreatProtection
// connector and which of its data types are enabled ("incidents", "alerts").
// The Log Analytics family uses it to decide what data exists.
func (w *WorkspaceState) ConnectedMTP() (connected bool, dataTypes map[string]bool) {
	t := w.Tenant
	t.mu.Lock()
	defer t.mu.Unlock()
	return w.connectedMTPLocked()
}

// connectedMTPLocked is ConnectedMTP for a caller holding w.Tenant.mu.
func (w *WorkspaceState) connectedMTPLocked() (connected bool, dataTypes map[string]bool) {
	dataTypes = map[string]bool{}
	for _, c := range w.connectors {
		if !strings.EqualFold(c.Kind, kindMTP) {
			continue
		}
		connected = true
		dts, _ := c.Properties["dataTypes"].(map[string]any)
		for name, v := range dts {
			st, _ := v.(map[string]any)
			if s, _ := st["state"].(string); strings.EqualFold(s, "Enabled") {
				dataTypes[strings.ToLower(name)] = true
			}
		}
	}
	return connected, dataTypes
}

// InstalledPackageVersion returns the installed version of a Content Hub
// package by contentId, or "".
func (w *WorkspaceState) InstalledPackageVersion(contentID string) string {
	t := w.Tenant
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range w.packages {
		if cid, _ := p.Properties["contentId"].(string); strings.EqualFold(cid, contentID) {
			v, _ := p.Properties["installedVersion"].(string)
			if v == "" {
				v, _ = p.Properties["version"].(string)
			}
			return v
		}
	}
	return ""
}

// WorkspaceSnapshot finds a workspace and copies its state.
func (s *Sim) WorkspaceSnapshot(sub, rg, name string) (WorkspaceSnapshot, error) {
	w := s.world.workspace(sub, rg, name)
	if w == nil {
		return WorkspaceSnapshot{}, fmt.Errorf("azuresim: workspace %s/%s/%s not found", sub, rg, name)
	}
	return w.Snapshot(), nil
}

// TenantFlags are the tenant switches tests and the admin API flip.
type TenantFlags struct {
	// ConsentNeeded: app-only MTP connects get 401 "Missing consent" until a
	// delegated connect. Setting it true also forgets an earlier delegated connect.
	ConsentNeeded *bool `json:"consentNeeded,omitempty"`
	// UnifiedPortal locks every workspace of the tenant (connector edits refused).
	UnifiedPortal *bool `json:"unifiedPortal,omitempty"`
}

// TenantFlagState is the current value of the flags.
type TenantFlagState struct {
	ConsentNeeded  bool `json:"consentNeeded"`
	ConsentGranted bool `json:"consentGranted"`
	UnifiedPortal  bool `json:"unifiedPortal"`
}

// SetTenantFlags changes a tenant's flags; nil fields are left alone.
func (s *Sim) SetTenantFlags(tenantID string, f TenantFlags) (TenantFlagState, error) {
	t := s.world.tenant(tenantID)
	if t == nil {
		return TenantFlagState{}, fmt.Errorf("azuresim: tenant %s not found", tenantID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if f.ConsentNeeded != nil {
		t.consentNeeded = *f.ConsentNeeded
		if *f.ConsentNeeded {
			t.consentGranted = false
		}
	}
	if f.UnifiedPortal != nil {
		t.unifiedPortal = *f.UnifiedPortal
	}
	return TenantFlagState{ConsentNeeded: t.consentNeeded, ConsentGranted: t.consentGranted, UnifiedPortal: t.unifiedPortal}, nil
}

// TenantFlagsOf reads a tenant's flags.
func (s *Sim) TenantFlagsOf(tenantID string) (TenantFlagState, error) {
	return s.SetTenantFlags(tenantID, TenantFlags{})
}

// StreamingEntries returns copies of a tenant's Defender streaming API entries, by id.
func (s *Sim) StreamingEntries(tenantID string) ([]StreamingExportSetting, error) {
	t := s.world.tenant(tenantID)
	if t == nil {
		return nil, fmt.Errorf("azuresim: tenant %s not found", tenantID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]StreamingExportSetting, 0, len(t.streaming))
	for _, e := range t.streaming {
		c := *e
		c.Logs = append([]StreamingLogCategory(nil), e.Logs...)
		if e.WorkspaceProperties != nil {
			wp := *e.WorkspaceProperties
			c.WorkspaceProperties = &wp
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
