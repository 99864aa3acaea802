package azuresim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// worldState is the live emulated world: the read-only spec, indexed, plus
// the mutable state of every tenant. Index maps are guarded by mu (written
// only when tenants are added); everything a request changes lives in a
// TenantState guarded by that tenant's own mutex, so tenants never contend.
type worldState struct {
	mu            sync.RWMutex
	tenants       map[string]*TenantState // lower tenant id and lower domains
	tenantList    []*TenantState
	subscriptions map[string]*TenantState    // lower subscription id -> owner
	workspaces    map[string]*WorkspaceState // workspaceKey -> state
	byCustomerID  map[string]*WorkspaceState // lower customerId -> state
	apps          map[string]*AppRegistration
	roleDefs      map[string]*RoleDefinition // lower name and lower GUID
}

// TenantState is one tenant's live state. Spec is read-only. The unexported
// fields are guarded by mu; code in this package (any API family) takes mu
// for the shortest possible section and never holds two tenants' locks.
type TenantState struct {
	Spec *Tenant

	users       map[string]*User             // lower oid and lower upn
	sps         map[string]*ServicePrincipal // lower appId
	assignments map[string][]*RoleAssignment // lower principal id
	workspaces  []*WorkspaceState

	mu             sync.Mutex
	consentNeeded  bool
	unifiedPortal  bool
	consentGranted bool                                 // a delegated MTP connect cleared the consent state
	providers      map[string]map[string]*providerState // lower sub -> lower namespace
	deployments    map[string]*deployment               // lower "sub/rg/name"
	// streaming holds Defender streaming API (dataExportSettings) entries by
	// lower id; the streaming API family (streaming*.go) owns its semantics.
	streaming map[string]*StreamingExportSetting
}

// WorkspaceState is one workspace's live Sentinel state, guarded by Tenant.mu.
type WorkspaceState struct {
	Spec   *Workspace
	Tenant *TenantState

	onboarded  *armResource            // onboardingStates/default, nil when absent
	connectors map[string]*armResource // lower name
	alertRules map[string]*armResource
	settings   map[string]*armResource
	packages   map[string]*armResource // contentPackages (installed), lower name
}

// StreamingExportSetting is one Defender streaming API entry
// (GET/POST /api/dataExportSettings), stored as documented in docs/azure.md §3.1.
type StreamingExportSetting struct {
	ID                       string                        `json:"id"`
	DesignatedTenantID       *string                       `json:"designatedTenantId"`
	EventHubProperties       any                           `json:"eventHubProperties"`
	StorageAccountProperties any                           `json:"storageAccountProperties"`
	WorkspaceProperties      *StreamingWorkspaceProperties `json:"workspaceProperties"`
	Logs                     []StreamingLogCategory        `json:"logs"`
	// LastModified is sim-clock time of the last write (not part of the wire shape).
	LastModified time.Time `json:"-"`
}

// StreamingWorkspaceProperties points a streaming entry at a workspace.
type StreamingWorkspaceProperties struct {
	WorkspaceResourceID string `json:"workspaceResourceId"`
	SubscriptionID      string `json:"subscriptionId,omitempty"`
	ResourceGroup       string `json:"resourceGroup,omitempty"`
	Name                string `json:"name,omitempty"`
}

// StreamingLogCategory is one streamed category, e.g. AdvancedHunting-DeviceInfo.
type StreamingLogCategory struct {
	Category string `json:"category"`
	Enabled  bool   `json:"enabled"`
}

type providerState struct {
	registered    bool
	registeringAt time.Time // zero when not registering
}

func workspaceKey(sub, rg, name string) string {
	return strings.ToLower(sub + "/" + rg + "/" + name)
}

func newWorldState(w *World, now time.Time) (*worldState, error) {
	ws, err := indexWorld(w)
	if err != nil {
		return nil, err
	}
	for _, t := range ws.tenantList {
		for _, wk := range t.workspaces {
			seedWorkspace(wk, now)
		}
	}
	return ws, nil
}

// indexWorld validates the spec and builds lookup maps and empty live state.
func indexWorld(w *World) (*worldState, error) {
	ws := &worldState{
		tenants:       make(map[string]*TenantState, len(w.Tenants)*2),
		subscriptions: make(map[string]*TenantState, len(w.Tenants)),
		workspaces:    make(map[string]*WorkspaceState, len(w.Tenants)),
		byCustomerID:  make(map[string]*WorkspaceState, len(w.Tenants)),
		apps:          make(map[string]*AppRegistration, len(w.Apps)),
		roleDefs:      make(map[string]*RoleDefinition),
	}
	for _, rd := range builtinRoleDefinitions {
		ws.roleDefs[strings.ToLower(rd.Name)] = rd
		ws.roleDefs[strings.ToLower(rd.ID)] = rd
	}
	for _, rd := range w.RoleDefinitions {
		if rd.Name == "" || !isGUID(rd.ID) {
			return nil, fmt.Errorf("azuresim: role definition %q needs roleName and a GUID id", rd.Name)
		}
		ws.roleDefs[strings.ToLower(rd.Name)] = rd
		ws.roleDefs[strings.ToLower(rd.ID)] = rd
	}
	for _, a := range w.Apps {
		if !isGUID(a.ClientID) {
			return nil, fmt.Errorf("azuresim: app %q: clientId must be a GUID", a.DisplayName)
		}
		ws.apps[strings.ToLower(a.ClientID)] = a
	}
	for _, t := range w.Tenants {
		if err := ws.addTenantLocked(t); err != nil {
			return nil, err
		}
	}
	return ws, nil
}

func (ws *worldState) addTenantLocked(t *Tenant) error {
	if !isGUID(t.ID) {
		return fmt.Errorf("azuresim: tenant id %q is not a GUID", t.ID)
	}
	if _, dup := ws.tenants[strings.ToLower(t.ID)]; dup {
		return fmt.Errorf("azuresim: duplicate tenant %s", t.ID)
	}
	ts := &TenantState{
		Spec:          t,
		users:         make(map[string]*User, len(t.Users)*2),
		sps:           make(map[string]*ServicePrincipal, len(t.ServicePrincipals)),
		assignments:   make(map[string][]*RoleAssignment, len(t.RoleAssignments)),
		consentNeeded: t.ConsentNeeded,
		unifiedPortal: t.UnifiedPortal,
		providers:     make(map[string]map[string]*providerState, len(t.Subscriptions)),
		deployments:   map[string]*deployment{},
		streaming:     map[string]*StreamingExportSetting{},
	}
	for _, u := range t.Users {
		if !isGUID(u.ID) || u.UserPrincipalName == "" {
			return fmt.Errorf("azuresim: tenant %s: user %q needs a GUID id and a userPrincipalName", t.ID, u.UserPrincipalName)
		}
		if err := ws.checkAppRoles(u.AppRoles, "User"); err != nil {
			return fmt.Errorf("azuresim: tenant %s: user %s: %w", t.ID, u.UserPrincipalName, err)
		}
		ts.users[strings.ToLower(u.ID)] = u
		ts.users[strings.ToLower(u.UserPrincipalName)] = u
	}
	for _, sp := range t.ServicePrincipals {
		if !isGUID(sp.ID) || !isGUID(sp.AppID) {
			return fmt.Errorf("azuresim: tenant %s: service principal %q needs GUID id and appId", t.ID, sp.DisplayName)
		}
		if err := ws.checkAppRoles(sp.AppRoles, "Application"); err != nil {
			return fmt.Errorf("azuresim: tenant %s: service principal %s: %w", t.ID, sp.AppID, err)
		}
		ts.sps[strings.ToLower(sp.AppID)] = sp
	}
	for _, ra := range t.RoleAssignments {
		if _, ok := ws.roleDefs[strings.ToLower(ra.RoleDefinition)]; !ok {
			return fmt.Errorf("azuresim: tenant %s: unknown role definition %q", t.ID, ra.RoleDefinition)
		}
		if !strings.HasPrefix(strings.ToLower(ra.Scope), "/subscriptions/") {
			return fmt.Errorf("azuresim: tenant %s: role assignment scope %q must start with /subscriptions/", t.ID, ra.Scope)
		}
		k := strings.ToLower(ra.PrincipalID)
		ts.assignments[k] = append(ts.assignments[k], ra)
	}
	for _, s := range t.Subscriptions {
		if !isGUID(s.ID) {
			return fmt.Errorf("azuresim: tenant %s: subscription id %q is not a GUID", t.ID, s.ID)
		}
		if _, dup := ws.subscriptions[strings.ToLower(s.ID)]; dup {
			return fmt.Errorf("azuresim: subscription %s owned by two tenants", s.ID)
		}
		ws.subscriptions[strings.ToLower(s.ID)] = ts
		provs := make(map[string]*providerState, len(s.RegisteredProviders))
		for _, ns := range s.RegisteredProviders {
			provs[strings.ToLower(ns)] = &providerState{registered: true}
		}
		ts.providers[strings.ToLower(s.ID)] = provs
	}
	for _, w := range t.Workspaces {
		if ws.subscriptions[strings.ToLower(w.SubscriptionID)] != ts {
			return fmt.Errorf("azuresim: workspace %s: subscription %s is not owned by tenant %s", w.Name, w.SubscriptionID, t.ID)
		}
		if w.ResourceGroup == "" || w.Name == "" || !isGUID(w.CustomerID) {
			return fmt.Errorf("azuresim: workspace %q needs resourceGroup, name and a GUID customerId", w.Name)
		}
		if w.Location == "" {
			w.Location = "westeurope"
		}
		if err := w.History.validate(t, w); err != nil {
			return err
		}
		for i, raw := range w.AlertRules {
			var r armResource
			if err := json.Unmarshal(raw, &r); err != nil || r.Kind == "" {
				return fmt.Errorf("azuresim: workspace %s: alertRules[%d] needs a kind (and name/properties): %v", w.Name, i, err)
			}
		}
		k := workspaceKey(w.SubscriptionID, w.ResourceGroup, w.Name)
		if _, dup := ws.workspaces[k]; dup {
			return fmt.Errorf("azuresim: duplicate workspace %s", k)
		}
		wst := &WorkspaceState{
			Spec:       w,
			Tenant:     ts,
			connectors: map[string]*armResource{},
			alertRules: map[string]*armResource{},
			settings:   map[string]*armResource{},
			packages:   map[string]*armResource{},
		}
		ws.workspaces[k] = wst
		ws.byCustomerID[strings.ToLower(w.CustomerID)] = wst
		ts.workspaces = append(ts.workspaces, wst)
	}
	ws.tenants[strings.ToLower(t.ID)] = ts
	for _, d := range t.Domains {
		ws.tenants[strings.ToLower(d)] = ts
	}
	ws.tenantList = append(ws.tenantList, ts)
	return nil
}

// checkAppRoles checks assignments to registered apps that define app
// roles: each value must be a role of the app open to memberType. Other
// keys (Graph and the like) are not checked.
func (ws *worldState) checkAppRoles(assigned map[string][]string, memberType string) error {
	for res, values := range assigned {
		app := ws.apps[strings.ToLower(strings.TrimPrefix(strings.ToLower(res), "api://"))]
		if app == nil || len(app.AppRoles) == 0 {
			continue
		}
		for _, v := range values {
			i := slices.IndexFunc(app.AppRoles, func(r AppRole) bool { return r.Value == v })
			if i < 0 || (len(app.AppRoles[i].AllowedMemberTypes) > 0 && !slices.Contains(app.AppRoles[i].AllowedMemberTypes, memberType)) {
				return fmt.Errorf("app %s defines no role %q for %s members", app.ClientID, v, memberType)
			}
		}
	}
	return nil
}

func (ws *worldState) tenant(idOrDomain string) *TenantState {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.tenants[strings.ToLower(idOrDomain)]
}

func (ws *worldState) subscriptionOwner(sub string) *TenantState {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.subscriptions[strings.ToLower(sub)]
}

func (ws *worldState) workspace(sub, rg, name string) *WorkspaceState {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.workspaces[workspaceKey(sub, rg, name)]
}

func (ws *worldState) app(clientID string) *AppRegistration {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.apps[strings.ToLower(clientID)]
}

func (ws *worldState) roleDefinition(nameOrID string) *RoleDefinition {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.roleDefs[strings.ToLower(nameOrID)]
}

// user finds a user by object id or UPN.
func (t *TenantState) user(idOrUPN string) *User { return t.users[strings.ToLower(idOrUPN)] }

// servicePrincipal finds the tenant's service principal for an app.
func (t *TenantState) servicePrincipal(appID string) *ServicePrincipal {
	return t.sps[strings.ToLower(appID)]
}

// workspace finds one of the tenant's workspaces by subscription, resource
// group and name (case-insensitive), or nil. It reads only the fixed
// workspace list, so it needs no lock.
func (t *TenantState) workspace(sub, rg, name string) *WorkspaceState {
	for _, w := range t.workspaces {
		if strings.EqualFold(w.Spec.SubscriptionID, sub) && strings.EqualFold(w.Spec.ResourceGroup, rg) && strings.EqualFold(w.Spec.Name, name) {
			return w
		}
	}
	return nil
}

// Lookups for other API families (read-only spec data; no lock needed).

// User returns the tenant's user by object id or UPN.
func (t *TenantState) User(idOrUPN string) (*User, bool) { u := t.user(idOrUPN); return u, u != nil }

// Workspaces returns the tenant's workspaces.
func (t *TenantState) Workspaces() []*WorkspaceState { return t.workspaces }

// HasServicePlan reports whether any licence carries an enabled service plan
// with that name (e.g. "MTP", "ATA").
func (t *TenantState) HasServicePlan(name string) bool { return hasServicePlan(t.Spec, name) }

// hasServicePlan is HasServicePlan on the spec, for world validation.
func hasServicePlan(t *Tenant, name string) bool {
	for _, l := range t.Licenses {
		for _, p := range l.ServicePlans {
			if strings.EqualFold(p.ServicePlanName, name) &&
				(p.ProvisioningStatus == "" || strings.EqualFold(p.ProvisioningStatus, "Success")) {
				return true
			}
		}
	}
	return false
}

// Flags returns the tenant's current consent-needed and unified-portal flags.
func (t *TenantState) Flags() (consentNeeded, unifiedPortal bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.consentNeeded && !t.consentGranted, t.unifiedPortal
}
