package azuresim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// armRequest is one authenticated ARM request being served.
type armRequest struct {
	w          http.ResponseWriter
	r          *http.Request
	path       *armPath
	apiVersion string
	caller     *Caller
	tenant     *TenantState
	ws         *WorkspaceState // nil unless the path is under a workspace
	body       []byte
}

// armOp describes one ARM operation: its name (for counters), the RBAC
// action it needs ("" for none), the resource provider that must be
// registered, its api-versions, and its handler.
type armOp struct {
	api       string
	action    string
	provider  string
	versions  []string
	workspace bool // needs an existing workspace
	handle    func(s *Sim, rq *armRequest) error
}

var apiVersionRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$`)

func (s *Sim) serveARM(w http.ResponseWriter, r *http.Request) {
	SetRequestAPI(r, "arm")
	p, ok := parseARMPath(r.URL.Path)
	if !ok {
		WriteError(w, http.StatusNotFound, "InvalidResourceType", fmt.Sprintf("The resource type could not be found for path '%s'.", r.URL.Path))
		return
	}
	op, aerr := s.armRoute(r.Method, p)
	if aerr != nil {
		aerr.Write(w)
		return
	}
	SetRequestAPI(r, op.api)
	if err := s.serveARMOp(w, r, p, op); err != nil {
		WriteAPIError(w, err)
	}
}

func (s *Sim) serveARMOp(w http.ResponseWriter, r *http.Request, p *armPath, op *armOp) error {
	ver := r.URL.Query().Get("api-version")
	if ver == "" {
		return NewAPIError(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	if !apiVersionRe.MatchString(ver) {
		return NewAPIError(http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '%s' is invalid. The supported versions are '%s'.", ver, strings.Join(op.versions, ","))
	}
	if !slices.Contains(op.versions, ver) {
		return NewAPIError(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for location 'westeurope' and API version '%s' for type '%s'. The supported api-versions are '%s'. The supported locations are 'westeurope, northeurope, eastus, westus2, uksouth'.",
			ver, op.api, strings.Join(op.versions, ", "))
	}
	caller, err := s.RequireToken(r, AudienceARM, TokenAny)
	if err != nil {
		return err
	}
	t := s.world.subscriptionOwner(p.subscription)
	if t == nil {
		return NewAPIError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", p.subscription)
	}
	if err := caller.RequireTenant(s, t.Spec.ID); err != nil {
		return err
	}
	if op.action != "" && !s.allowed(t, caller.ObjectID, p.scope(), op.action) {
		who := caller.UPN
		if who == "" {
			who = caller.AppID
		}
		return NewAPIError(http.StatusForbidden, "AuthorizationFailed",
			"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
			who, caller.ObjectID, op.action, p.scope())
	}
	if op.provider != "" && !s.providerRegistered(t, p.subscription, op.provider) {
		return NewAPIError(http.StatusConflict, "MissingSubscriptionRegistration",
			"The subscription is not registered to use namespace '%s'. See https://aka.ms/rps-not-found for how to register subscriptions.", op.provider)
	}
	rq := &armRequest{w: w, r: r, path: p, apiVersion: ver, caller: caller, tenant: t}
	if op.workspace {
		rq.ws = s.world.workspace(p.subscription, p.resourceGroup, p.workspace)
		if rq.ws == nil {
			return NewAPIError(http.StatusNotFound, "ResourceNotFound",
				"The Resource 'Microsoft.OperationalInsights/workspaces/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", p.workspace, p.resourceGroup)
		}
	}
	if r.Body != nil && (r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodPatch) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			return errBadRequest("could not read the request body: %v", err)
		}
		rq.body = b
	}
	return op.handle(s, rq)
}

// decodeBody decodes the JSON body into v, answering like ARM when invalid.
func (rq *armRequest) decodeBody(v any) error {
	if len(strings.TrimSpace(string(rq.body))) == 0 {
		return NewAPIError(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'The request body is empty.'")
	}
	if err := json.Unmarshal(rq.body, v); err != nil {
		return NewAPIError(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%v'.", err)
	}
	return nil
}

// reply writes a JSON ARM response.
func (rq *armRequest) reply(status int, v any) error {
	WriteJSON(rq.w, status, v)
	return nil
}

// replyPut answers a PUT of a resource: 201 when it was created, else 200.
// Call it after releasing the tenant lock: writing may block on the client.
func (rq *armRequest) replyPut(created bool, v any) error {
	if created {
		return rq.reply(http.StatusCreated, v)
	}
	return rq.reply(http.StatusOK, v)
}

// armRoute picks the operation for a method and path.
func (s *Sim) armRoute(method string, p *armPath) (*armOp, *APIError) {
	// The refusals are built only when answered: most requests route.
	notFound := func() *APIError {
		return NewAPIError(http.StatusNotFound, "InvalidResourceType",
			"The resource type '%s' could not be found in the namespace '%s'.", strings.Join(slices.Concat(p.segs, p.extSegs), "/"), p.namespace)
	}
	badMethod := func() *APIError {
		return NewAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '%s' is not allowed for '%s'.", method, p.raw)
	}
	eq := strings.EqualFold
	switch {
	case p.providers:
		return providerOp(method, p)
	case eq(p.namespace, "Microsoft.Authorization") && len(p.segs) == 1 && eq(p.segs[0], "permissions") && p.ext == "":
		// resource group (or subscription) scope permissions
		if method != http.MethodGet {
			return nil, badMethod()
		}
		return &armOp{api: "arm.permissions", versions: apiVersionsPermissions, handle: (*Sim).armPermissions}, nil
	case eq(p.namespace, "Microsoft.Resources") && len(p.segs) >= 2 && eq(p.segs[0], "deployments") && p.resourceGroup != "":
		return deploymentOp(method, p)
	case p.workspace != "" && len(p.segs) == 2 && p.ext == "":
		if method != http.MethodGet {
			return nil, badMethod()
		}
		return &armOp{api: "arm.workspaces", action: "Microsoft.OperationalInsights/workspaces/read",
			provider: "Microsoft.OperationalInsights", versions: apiVersionsWorkspaces, workspace: true, handle: (*Sim).armGetWorkspace}, nil
	case p.workspace != "" && len(p.segs) == 2 && eq(p.ext, "Microsoft.Authorization") && len(p.extSegs) == 1 && eq(p.extSegs[0], "permissions"):
		if method != http.MethodGet {
			return nil, badMethod()
		}
		return &armOp{api: "arm.permissions", versions: apiVersionsPermissions, workspace: true, handle: (*Sim).armPermissions}, nil
	case p.workspace != "" && len(p.segs) == 2 && eq(p.ext, "Microsoft.SecurityInsights") && len(p.extSegs) >= 1:
		op, aerr := sentinelOp(method, p)
		if aerr == nil && op == nil {
			return nil, notFound()
		}
		return op, aerr
	}
	return nil, notFound()
}

func providerOp(method string, p *armPath) (*armOp, *APIError) {
	switch {
	case p.providerNS == "" && method == http.MethodGet:
		return &armOp{api: "arm.providers.list", versions: apiVersionsResources, handle: (*Sim).armListProviders}, nil
	case p.providerAction == "" && method == http.MethodGet:
		return &armOp{api: "arm.providers.get", versions: apiVersionsResources, handle: (*Sim).armGetProvider}, nil
	case p.providerAction == "register" && method == http.MethodPost:
		return &armOp{api: "arm.providers.register", action: p.providerNS + "/register/action", versions: apiVersionsResources, handle: (*Sim).armRegisterProvider}, nil
	case p.providerAction == "unregister" && method == http.MethodPost:
		return &armOp{api: "arm.providers.unregister", action: p.providerNS + "/unregister/action", versions: apiVersionsResources, handle: (*Sim).armUnregisterProvider}, nil
	}
	return nil, NewAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '%s' is not allowed.", method)
}

// apiVersionsSentinel is every SecurityInsights api-version.
var apiVersionsSentinel = slices.Concat(apiVersionsSentinelStable, apiVersionsSentinelPreview)

// sentinelOp routes .../providers/Microsoft.SecurityInsights/{type}[/{name}].
func sentinelOp(method string, p *armPath) (*armOp, *APIError) {
	typ := strings.ToLower(p.extSegs[0])
	named := len(p.extSegs) == 2
	if len(p.extSegs) > 2 {
		return nil, nil
	}
	verb := map[string]string{http.MethodGet: "read", http.MethodPut: "write", http.MethodDelete: "delete"}[method]
	mk := func(api, rbacType string, versions []string, h func(*Sim, *armRequest) error) (*armOp, *APIError) {
		if verb == "" {
			return nil, NewAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '%s' is not allowed for '%s'.", method, p.raw)
		}
		return &armOp{api: api, action: "Microsoft.SecurityInsights/" + rbacType + "/" + verb, provider: "Microsoft.SecurityInsights",
			versions: versions, workspace: true, handle: h}, nil
	}
	onlyGet := func() *APIError {
		if method != http.MethodGet {
			return NewAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '%s' is not allowed for '%s'.", method, p.raw)
		}
		return nil
	}
	switch {
	case typ == "onboardingstates" && named:
		return mk("arm.onboardingStates", "onboardingStates", apiVersionsSentinel, (*Sim).armOnboardingState)
	case typ == "onboardingstates":
		if e := onlyGet(); e != nil {
			return nil, e
		}
		return mk("arm.onboardingStates.list", "onboardingStates", apiVersionsSentinel, (*Sim).armOnboardingStateList)
	case typ == "dataconnectors" && named:
		return mk("arm.dataConnectors", "dataConnectors", apiVersionsSentinel, (*Sim).armDataConnector)
	case typ == "dataconnectors":
		if e := onlyGet(); e != nil {
			return nil, e
		}
		return mk("arm.dataConnectors.list", "dataConnectors", apiVersionsSentinel, (*Sim).armDataConnectorList)
	case typ == "dataconnectorscheckrequirements" && !named:
		if method != http.MethodPost {
			return nil, NewAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '%s' is not allowed for '%s'.", method, p.raw)
		}
		return &armOp{api: "arm.dataConnectorsCheckRequirements", action: "Microsoft.SecurityInsights/dataConnectorsCheckRequirements/action",
			provider: "Microsoft.SecurityInsights", versions: apiVersionsSentinel, workspace: true, handle: (*Sim).armCheckRequirements}, nil
	case typ == "alertrules" && named:
		return mk("arm.alertRules", "alertRules", apiVersionsSentinel, (*Sim).armAlertRule)
	case typ == "alertrules":
		if e := onlyGet(); e != nil {
			return nil, e
		}
		return mk("arm.alertRules.list", "alertRules", apiVersionsSentinel, (*Sim).armAlertRuleList)
	case typ == "settings" && named:
		return mk("arm.settings", "settings", apiVersionsSentinelPreview, (*Sim).armSetting)
	case typ == "settings":
		if e := onlyGet(); e != nil {
			return nil, e
		}
		return mk("arm.settings.list", "settings", apiVersionsSentinelPreview, (*Sim).armSettingList)
	case typ == "contentproductpackages":
		if e := onlyGet(); e != nil {
			return nil, e
		}
		if named {
			return mk("arm.contentProductPackages", "contentProductPackages", apiVersionsSentinel, (*Sim).armProductPackage)
		}
		return mk("arm.contentProductPackages.list", "contentProductPackages", apiVersionsSentinel, (*Sim).armProductPackageList)
	case typ == "contentpackages" && named:
		return mk("arm.contentPackages", "contentPackages", apiVersionsSentinel, (*Sim).armContentPackage)
	case typ == "contentpackages":
		if e := onlyGet(); e != nil {
			return nil, e
		}
		return mk("arm.contentPackages.list", "contentPackages", apiVersionsSentinel, (*Sim).armContentPackageList)
	}
	return nil, nil
}
