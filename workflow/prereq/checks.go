package prereq

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/xdrlink/xdrlink/azure/authz"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/graph"
	"github.com/xdrlink/xdrlink/azure/resources"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

type checks = []*xdrlinkv1.PrerequisiteCheck

// rbacRemedy is how a missing workspace permission is fixed (docs/azure.md §8.1).
const rbacRemedy = "assign the app's service principal Microsoft Sentinel Contributor (or Contributor) on the workspace's resource group"

// checkWorkspace: GET the workspace (ARM).
func checkWorkspace(ctx context.Context, c *clients) checks {
	ws := c.tenant.Workspace
	got, err := c.workspaces.Get(ctx, ws)
	if err != nil {
		return checks{callFailed(IDWorkspace, catWorkspace, err, verdicts{
			azerr.NotFound:  fmt.Sprintf("create workspace %s or correct the tenant's workspace (subscription %s, resource group %s)", ws.Name, ws.SubscriptionID, ws.ResourceGroup),
			azerr.Forbidden: rbacRemedy,
		})}
	}
	return checks{passed(IDWorkspace, catWorkspace, fmt.Sprintf("workspace %s found (customerId %s)", got.Name, got.Properties.CustomerID))}
}

// checkProviders: GET each required resource provider's registration in
// the workspace's subscription (ARM, Microsoft.Resources).
func checkProviders(ctx context.Context, c *clients) checks {
	sub := c.tenant.Workspace.SubscriptionID
	out := make(checks, len(resources.RequiredProviders))
	var wg sync.WaitGroup
	for i, ns := range resources.RequiredProviders {
		wg.Go(func() {
			id := ProviderID(ns)
			register := fmt.Sprintf("register %s in subscription %s (az provider register --namespace %s --subscription %s)", ns, sub, ns, sub)
			p, err := c.resources.GetProvider(ctx, ns)
			switch {
			case err != nil:
				out[i] = callFailed(id, catProviders, err, verdicts{azerr.NotFound: register, azerr.Forbidden: rbacRemedy})
			case p.Registered():
				out[i] = passed(id, catProviders, ns+" is registered")
			default:
				out[i] = failed(id, catProviders, fmt.Sprintf("%s is %s", ns, p.RegistrationState), register)
			}
		})
	}
	wg.Wait()
	return out
}

// checkRBAC: the caller's effective permissions on the workspace
// (Microsoft.Authorization/permissions), one check per required action.
func checkRBAC(ctx context.Context, c *clients) checks {
	perms, err := c.authz.WorkspacePermissions(ctx, c.tenant.Workspace)
	out := make(checks, 0, len(authz.WorkspaceActions))
	for _, a := range authz.WorkspaceActions {
		id := RBACID(a.Action)
		switch {
		case err != nil:
			out = append(out, callFailed(id, catRBAC, err, verdicts{
				azerr.NotFound:  "fix the workspace first (see " + IDWorkspace + ")",
				azerr.Forbidden: rbacRemedy,
			}))
		case perms.Allowed(a.Action):
			out = append(out, passed(id, catRBAC, a.Action+" allowed"))
		default:
			out = append(out, failed(id, catRBAC,
				fmt.Sprintf("%s is not allowed on the workspace; it is needed to %s", a.Action, a.For), rbacRemedy))
		}
	}
	return out
}

// checkEntraRoles: the Entra role assignments of the app's service principal
// (Graph roleManagement/directory/roleAssignments).
func checkEntraRoles(ctx context.Context, c *clients) checks {
	if c.principalID == "" {
		return checks{callFailed(IDEntraRoles, catEntraRoles, errNoPrincipal, nil)}
	}
	assignments, err := c.graph.RoleAssignments(ctx, c.principalID)
	if err != nil {
		return checks{callFailed(IDEntraRoles, catEntraRoles, err, verdicts{
			azerr.Forbidden: "grant the app " + graph.PermissionRoles + " (application) in the customer tenant",
		})}
	}
	for _, a := range assignments {
		if strings.EqualFold(a.RoleDefinitionID, graph.RoleSecurityAdministrator) || strings.EqualFold(a.RoleDefinitionID, graph.RoleGlobalAdministrator) {
			return checks{passed(IDEntraRoles, catEntraRoles, "the app's service principal holds Security Administrator or Global Administrator")}
		}
	}
	// Not a failure: the connector wants a member Security Administrator,
	// whose delegated sign-in is verified at the CONNECT step, not here.
	return checks{warning(IDEntraRoles, catEntraRoles,
		"the app's service principal holds neither Security Administrator nor Global Administrator; the delegated Security Administrator sign-in is verified at the CONNECT step",
		"have a member (not guest) Security Administrator of the customer tenant ready to sign in at the CONNECT step")}
}

// checkLicenses: the tenant's subscribed SKUs (Graph subscribedSkus) must
// carry the Defender XDR (MTP) service plan.
func checkLicenses(ctx context.Context, c *clients) checks {
	skus, err := c.graph.SubscribedSkus(ctx)
	if err != nil {
		return checks{callFailed(IDLicenseMTP, catLicenses, err, verdicts{
			azerr.Forbidden: "grant the app " + graph.PermissionSkus + " (application) in the customer tenant",
		})}
	}
	if !graph.HasServicePlan(skus, graph.PlanMTP) {
		return checks{failed(IDLicenseMTP, catLicenses,
			"no active SKU carries the Microsoft Defender XDR (MTP) service plan",
			"assign the tenant a licence that includes Microsoft Defender XDR (for example Microsoft 365 E5)")}
	}
	return checks{passed(IDLicenseMTP, catLicenses, "an active SKU carries the Microsoft Defender XDR (MTP) service plan")}
}

// checkConnectorRequirements: dataConnectorsCheckRequirements for the MTP
// connector (ARM, docs/azure.md §2.1). It is also the only read that may
// reveal the unified-portal lockout, so it answers that check too.
func checkConnectorRequirements(ctx context.Context, c *clients) checks {
	req, err := c.sentinel.CheckMTPRequirements(ctx, c.tenant.EntraTenantID)
	if err != nil {
		v := verdicts{
			azerr.Forbidden:            rbacRemedy,
			azerr.NotFound:             "fix the workspace first (see " + IDWorkspace + ")",
			azerr.InvalidLicense:       "assign the tenant a licence that includes Microsoft Defender XDR",
			azerr.UnifiedPortalLockout: "see " + IDUnifiedPortal,
		}
		return checks{
			callFailed(IDConnectorLicense, catConnector, err, v),
			callFailed(IDConnectorAuthorized, catConnector, err, v),
			unifiedPortal(err),
		}
	}
	var out checks
	switch req.LicenseState {
	case "Valid":
		out = append(out, passed(IDConnectorLicense, catConnector, "licenseState Valid"))
	case "Invalid":
		out = append(out, failed(IDConnectorLicense, catConnector, "licenseState Invalid",
			"assign the tenant a licence that includes Microsoft Defender XDR"))
	default:
		out = append(out, warning(IDConnectorLicense, catConnector, "licenseState "+req.LicenseState,
			"confirm the tenant's Defender XDR licence in the Microsoft 365 admin center"))
	}
	if req.AuthorizationState == "Valid" {
		out = append(out, passed(IDConnectorAuthorized, catConnector, "authorizationState Valid"))
	} else {
		out = append(out, failed(IDConnectorAuthorized, catConnector, "authorizationState "+req.AuthorizationState,
			rbacRemedy+", and make sure the tenant's entra_tenant_id is the workspace's tenant"))
	}
	return append(out, unifiedPortal(nil))
}

// unifiedPortal reports the lockout when a read revealed it. Otherwise the
// check is SKIPPED: only the connector write shows the lockout, and a
// preflight does not write (docs/azure.md §2.5).
func unifiedPortal(err error) *xdrlinkv1.PrerequisiteCheck {
	if azerr.Is(err, azerr.UnifiedPortalLockout) {
		return failed(IDUnifiedPortal, catUnifiedPort,
			"the workspace is managed from the Defender (unified) portal; the connector cannot be changed through Azure Resource Manager",
			"configure the Defender XDR connector in the Microsoft Defender portal, or take the workspace out of the unified portal")
	}
	return skipped(IDUnifiedPortal, catUnifiedPort,
		"not detectable without a write: no read-only API reveals the lockout; if present it is reported at the CONNECT step")
}

// checkDefenderForIdentity: the tenant's MDI sensors (Graph
// security/identities/sensors). Only entity sync needs them.
func checkDefenderForIdentity(ctx context.Context, c *clients) checks {
	sensors, err := c.graph.MDISensors(ctx)
	if err != nil {
		if !c.tenant.EntitySync {
			return checks{skipped(IDMDISensors, catMDI, "entity sync is off; could not check: "+string(kindOf(err)))}
		}
		return checks{callFailed(IDMDISensors, catMDI, err, verdicts{
			azerr.Forbidden: "grant the app " + graph.PermissionSensors + " (application) in the customer tenant",
		})}
	}
	switch {
	case len(sensors) > 0:
		return checks{passed(IDMDISensors, catMDI, fmt.Sprintf("%d Defender for Identity sensor(s)", len(sensors)))}
	case c.tenant.EntitySync:
		return checks{warning(IDMDISensors, catMDI,
			"no Defender for Identity sensors: entity sync from Active Directory will not work",
			"deploy Microsoft Defender for Identity sensors on the domain controllers, or turn entity sync off")}
	default:
		return checks{skipped(IDMDISensors, catMDI, "no Defender for Identity sensors; not needed while entity sync is off")}
	}
}
