package prereq

import (
	"errors"
	"fmt"

	"github.com/xdrlink/xdrlink/azure/authz"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/resources"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

type category = xdrlinkv1.PrerequisiteCheck_Category

const (
	catWorkspace   = xdrlinkv1.PrerequisiteCheck_CATEGORY_WORKSPACE
	catProviders   = xdrlinkv1.PrerequisiteCheck_CATEGORY_RESOURCE_PROVIDERS
	catRBAC        = xdrlinkv1.PrerequisiteCheck_CATEGORY_RBAC
	catEntraRoles  = xdrlinkv1.PrerequisiteCheck_CATEGORY_ENTRA_ROLES
	catLicenses    = xdrlinkv1.PrerequisiteCheck_CATEGORY_LICENSES
	catConnector   = xdrlinkv1.PrerequisiteCheck_CATEGORY_CONNECTOR_REQUIREMENTS
	catMDI         = xdrlinkv1.PrerequisiteCheck_CATEGORY_DEFENDER_FOR_IDENTITY
	catUnifiedPort = xdrlinkv1.PrerequisiteCheck_CATEGORY_UNIFIED_PORTAL
)

// Stable check ids: clients and runbooks key on them.
const (
	IDWorkspace           = "workspace.get"
	IDEntraRoles          = "entra_roles.service_principal"
	IDLicenseMTP          = "licenses.mtp"
	IDConnectorLicense    = "connector_requirements.license"
	IDConnectorAuthorized = "connector_requirements.authorization"
	IDMDISensors          = "defender_for_identity.sensors"
	IDUnifiedPortal       = "unified_portal.lockout"
)

// ProviderID is the id of the check of one resource provider's registration.
func ProviderID(namespace string) string { return "provider." + namespace }

// RBACID is the id of the check of one workspace action (authz.WorkspaceActions).
func RBACID(action string) string { return "rbac." + action }

type entry struct {
	id       string
	category category
}

// catalog lists every check in report order.
func catalog() []entry {
	out := []entry{{IDWorkspace, catWorkspace}}
	for _, ns := range resources.RequiredProviders {
		out = append(out, entry{ProviderID(ns), catProviders})
	}
	for _, a := range authz.WorkspaceActions {
		out = append(out, entry{RBACID(a.Action), catRBAC})
	}
	return append(out,
		entry{IDEntraRoles, catEntraRoles},
		entry{IDLicenseMTP, catLicenses},
		entry{IDConnectorLicense, catConnector},
		entry{IDConnectorAuthorized, catConnector},
		entry{IDUnifiedPortal, catUnifiedPort},
		entry{IDMDISensors, catMDI},
	)
}

func check(id string, cat category, r xdrlinkv1.PrerequisiteCheck_Result, msg, remedy string) *xdrlinkv1.PrerequisiteCheck {
	return &xdrlinkv1.PrerequisiteCheck{Id: id, Category: cat, Result: r, Message: msg, Remediation: remedy}
}

func passed(id string, cat category, msg string) *xdrlinkv1.PrerequisiteCheck {
	return check(id, cat, xdrlinkv1.PrerequisiteCheck_RESULT_PASSED, msg, "")
}

func failed(id string, cat category, msg, remedy string) *xdrlinkv1.PrerequisiteCheck {
	return check(id, cat, xdrlinkv1.PrerequisiteCheck_RESULT_FAILED, msg, remedy)
}

func warning(id string, cat category, msg, remedy string) *xdrlinkv1.PrerequisiteCheck {
	return check(id, cat, xdrlinkv1.PrerequisiteCheck_RESULT_WARNING, msg, remedy)
}

func skipped(id string, cat category, msg string) *xdrlinkv1.PrerequisiteCheck {
	return check(id, cat, xdrlinkv1.PrerequisiteCheck_RESULT_SKIPPED, msg, "")
}

// verdicts say, per check, what a refusal means and how to fix it; a kind
// not listed is no verdict on the prerequisite and becomes "could not check".
type verdicts map[azerr.Kind]string

// callFailed turns a failed call into the check's result.
func callFailed(id string, cat category, err error, v verdicts) *xdrlinkv1.PrerequisiteCheck {
	kind := kindOf(err)
	if remedy, ok := v[kind]; ok {
		return failed(id, cat, fmt.Sprintf("%s: %s", kind, detail(err)), remedy)
	}
	if code := codeOf(err); code == "MissingSubscriptionRegistration" || code == "SubscriptionNotRegistered" {
		// ARM names no Kind for it, but it is a verdict: the provider checks say which.
		return failed(id, cat, fmt.Sprintf("%s: %s", code, detail(err)),
			"register the subscription's resource providers (see the "+ProviderID("*")+" checks)")
	}
	switch kind {
	case azerr.Unauthenticated, azerr.MissingConsent, azerr.InteractionRequired:
		return failed(id, cat, fmt.Sprintf("could not check: %s: %s", kind, detail(err)),
			"grant admin consent to the app in the customer tenant, or fix the tenant's credential profile")
	}
	return check(id, cat, xdrlinkv1.PrerequisiteCheck_RESULT_UNKNOWN, fmt.Sprintf("could not check: %s: %s", kind, detail(err)), "retry")
}

// kindOf classifies err; errors from outside azure/... are Unknown.
func kindOf(err error) azerr.Kind {
	if k := azerr.Classify(err); k != "" {
		return k
	}
	return azerr.Unknown
}

// codeOf is the service error code, "" when there is none.
func codeOf(err error) string {
	var e *azerr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// detail is the service's message without the raw response dump, and the
// missing RBAC action when ARM named one.
func detail(err error) string {
	var e *azerr.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.MissingPermission != "" {
		return fmt.Sprintf("%s (missing %s)", e.Message, e.MissingPermission)
	}
	return e.Message
}
