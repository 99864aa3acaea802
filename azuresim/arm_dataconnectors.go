package azuresim

import (
	"net/http"
	"slices"
	"strings"
)

const (
	kindMTP              = "MicrosoftThreatProtection"
	kindIncidentCreation = "MicrosoftSecurityIncidentCreation"
)

// connectorKind is the canonical spelling of a DataConnectorKind the
// api-version knows (its enum is case-insensitive on the wire).
func connectorKind(kind, apiVersion string) (string, bool) {
	kinds := dataConnectorKindsStable
	if slices.Contains(apiVersionsSentinelPreview, apiVersion) {
		kinds = dataConnectorKindsPreview
	}
	for _, k := range kinds {
		if strings.EqualFold(k, kind) {
			return k, true
		}
	}
	return "", false
}

// mtpSupported reports whether an api-version knows the MTP connector kind:
// only previews do (docs/azure.md §2.2).
func mtpSupported(apiVersion string) bool {
	_, ok := connectorKind(kindMTP, apiVersion)
	return ok
}

func errKindNotSupported(kind, apiVersion string) *APIError {
	return errBadRequest("Connector kind '%s' is not supported in api-version: '%s'", kind, apiVersion)
}

// workspaceLocked: the unified (Defender) portal owns the workspace.
func (rq *armRequest) workspaceLocked() bool {
	rq.tenant.mu.Lock()
	defer rq.tenant.mu.Unlock()
	return rq.tenant.unifiedPortal || rq.ws.Spec.UnifiedPortal
}

// hasAnyRole reports whether the user holds any of the Entra role templates.
func hasAnyRole(u *User, roles ...string) bool {
	for _, r := range u.DirectoryRoles {
		for _, want := range roles {
			if strings.EqualFold(r, want) {
				return true
			}
		}
	}
	return false
}

func (s *Sim) armDataConnector(rq *armRequest) error {
	name := rq.path.extSegs[1]
	if rq.r.Method != http.MethodPut {
		return rq.getOrDeleteChild(rq.ws.connectors, strings.ToLower(name), "Data connector", name, childHooks{
			readable: func(cur *armResource) error {
				if strings.EqualFold(cur.Kind, kindMTP) && !mtpSupported(rq.apiVersion) {
					return errKindNotSupported(cur.Kind, rq.apiVersion)
				}
				return nil
			},
			deletable: func(cur *armResource) error {
				if strings.EqualFold(cur.Kind, kindMTP) && rq.workspaceLocked() {
					return &APIError{Status: unifiedPortalStatus, Code: unifiedPortalCode, Message: unifiedPortalMessage}
				}
				return nil
			},
			deletedLocked: func() { s.syncMTPLedgerLocked(rq.ws, s.Now()) }, // incident/alert data stops now
		})
	}
	return s.putDataConnector(rq, name)
}

// putDataConnector enforces, in order: body shape, the kind (in the
// api-version's enum), unified-portal lockout, tenant match, licence, one MTP
// connector per workspace, etag, and the consent rule; then creates (201) or
// updates (200).
func (s *Sim) putDataConnector(rq *armRequest, name string) error {
	var in putBody
	if err := rq.decodeBody(&in); err != nil {
		return err
	}
	if in.Kind == "" {
		return errBadRequest("The 'kind' property is required for data connector '%s'.", name)
	}
	if in.Properties == nil {
		return errBadRequest("The 'properties' object is required for data connector '%s'.", name)
	}
	kind, known := connectorKind(in.Kind, rq.apiVersion)
	if !known {
		return errKindNotSupported(in.Kind, rq.apiVersion)
	}
	isMTP := kind == kindMTP
	t := rq.tenant
	if isMTP {
		if err := validateMTPProperties(in.Properties); err != nil {
			return err
		}
		if rq.workspaceLocked() {
			return &APIError{Status: unifiedPortalStatus, Code: unifiedPortalCode, Message: unifiedPortalMessage}
		}
		tid, _ := in.Properties["tenantId"].(string)
		if !strings.EqualFold(tid, t.Spec.ID) {
			return NewAPIError(tenantMismatchStatus, tenantMismatchCode, tenantMismatchMessage, tid, t.Spec.ID)
		}
		if !t.HasServicePlan("MTP") {
			return &APIError{Status: noLicenseStatus, Code: noLicenseCode, Message: noLicenseMessage}
		}
		if rq.caller.Kind == TokenDelegated {
			u := t.user(rq.caller.ObjectID)
			switch {
			case u == nil || u.IsGuest():
				return NewAPIError(userNotEligibleStatus, userNotEligibleCode,
					"The user '%s' must be a member of tenant '%s' to change the Microsoft Defender XDR connector; guests and users of other tenants cannot.", rq.caller.UPN, t.Spec.ID)
			case !hasAnyRole(u, RoleSecurityAdministrator, RoleGlobalAdministrator):
				return NewAPIError(userNotEligibleStatus, userNotEligibleCode,
					"The user '%s' needs the Security Administrator or Global Administrator role in tenant '%s' to change the Microsoft Defender XDR connector.", rq.caller.UPN, t.Spec.ID)
			}
		}
	}

	key := strings.ToLower(name)
	// The store is one tenant-locked section; the reply is written after it.
	out, created, err := func() (*armResource, bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		existing := rq.ws.connectors[key]
		if existing != nil && existing.Kind != kind {
			return nil, false, errBadRequest("The kind of data connector '%s' cannot change from '%s' to '%s'.", name, existing.Kind, kind)
		}
		if isMTP {
			for _, c := range rq.ws.connectors {
				if strings.EqualFold(c.Kind, kindMTP) && !strings.EqualFold(c.Name, name) {
					return nil, false, NewAPIError(duplicateMTPStatus, duplicateMTPCode, duplicateMTPMessage, c.Name)
				}
			}
		}
		if err := rq.checkETag(in.Etag, existing, "data connector", name); err != nil {
			return nil, false, err
		}
		if isMTP && t.consentNeeded && !t.consentGranted {
			if rq.caller.Kind != TokenDelegated {
				return nil, false, &APIError{Status: missingConsentStatus, Code: missingConsentCode, Message: missingConsentMessage}
			}
			t.consentGranted = true // a member admin's connect clears the consent state
		}
		res := &armResource{
			ID: childID(rq.ws, "dataConnectors", name), Name: name, Type: "Microsoft.SecurityInsights/dataConnectors",
			Kind: kind, Etag: newETag(), Properties: in.Properties, SystemData: s.writtenNow(rq, existing),
		}
		if existing != nil {
			res.Name = existing.Name
			res.ID = existing.ID
		}
		rq.ws.connectors[key] = res
		s.syncMTPLedgerLocked(rq.ws, s.Now()) // incident/alert data starts (or stops) from this write
		return res.clone(), existing == nil, nil
	}()
	if err != nil {
		return err
	}
	return rq.replyPut(created, out)
}

// validateMTPProperties checks MTPDataConnectorProperties (docs/azure.md §2.3).
func validateMTPProperties(p map[string]any) error {
	if tid, _ := p["tenantId"].(string); tid == "" {
		return errBadRequest("The 'properties.tenantId' field is required.")
	}
	dts, ok := p["dataTypes"].(map[string]any)
	if !ok {
		return errBadRequest("The 'properties.dataTypes' field is required.")
	}
	if _, ok := dts["incidents"].(map[string]any); !ok {
		return errBadRequest("The 'properties.dataTypes.incidents' field is required.")
	}
	for name, v := range dts {
		st, ok := v.(map[string]any)
		state, _ := st["state"].(string)
		if !ok || (state != "Enabled" && state != "Disabled") {
			return errBadRequest("The 'properties.dataTypes.%s.state' must be 'Enabled' or 'Disabled'.", name)
		}
	}
	if fp, present := p["filteredProviders"]; present && fp != nil {
		m, ok := fp.(map[string]any)
		alerts, ok2 := m["alerts"].([]any)
		if !ok || !ok2 {
			return errBadRequest("The 'properties.filteredProviders.alerts' field is required when filteredProviders is present.")
		}
		for _, a := range alerts {
			if s, _ := a.(string); s != "microsoftDefenderForCloudApps" && s != "microsoftDefenderForIdentity" {
				return errBadRequest("The provider '%v' in 'properties.filteredProviders.alerts' is not supported.", a)
			}
		}
	}
	return nil
}

func (s *Sim) armDataConnectorList(rq *armRequest) error {
	items := rq.sortedChildren(rq.ws.connectors)
	if hideMTPAtOldAPIVersions && !mtpSupported(rq.apiVersion) {
		// An api-version without the MTP kind cannot describe it.
		items = slices.DeleteFunc(items, func(r *armResource) bool { return strings.EqualFold(r.Kind, kindMTP) })
	}
	return rq.page(s, items)
}

// armCheckRequirements answers dataConnectorsCheckRequirements from the
// world: licenseState from the tenant's service plans, authorizationState
// from the caller's RBAC on the workspace and the tenant match.
func (s *Sim) armCheckRequirements(rq *armRequest) error {
	var in putBody
	if err := rq.decodeBody(&in); err != nil {
		return err
	}
	if in.Kind == "" {
		return errBadRequest("The 'kind' property is required.")
	}
	license, auth := "Valid", "Valid"
	scope := rq.ws.Spec.ResourceID() + "/providers/Microsoft.SecurityInsights/dataConnectors"
	if !s.allowed(rq.tenant, rq.caller.ObjectID, scope, "Microsoft.SecurityInsights/dataConnectors/write") {
		auth = "Invalid"
	}
	if strings.EqualFold(in.Kind, kindMTP) {
		if !mtpSupported(rq.apiVersion) {
			return errKindNotSupported(in.Kind, rq.apiVersion)
		}
		if !rq.tenant.HasServicePlan("MTP") {
			license = "Invalid"
		}
		if tid, _ := in.Properties["tenantId"].(string); !strings.EqualFold(tid, rq.tenant.Spec.ID) {
			auth = "Invalid"
		}
	}
	return rq.reply(http.StatusOK, map[string]any{"authorizationState": auth, "licenseState": license})
}
