package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/prereq"
)

// checkPrerequisites runs the read-only preflight; plan mode runs it too.
// Any FAILED check fails the step; checks that could not be run (UNKNOWN)
// make it try again later; warnings pass and are listed.
func (r *Runner) checkPrerequisites(ctx context.Context, s *session) (Result, error) {
	rep := r.checker.Check(ctx, prereq.Tenant{Name: s.t.Name, EntraTenantID: s.t.EntraTenantID, Workspace: s.t.Workspace,
		Profile: s.t.Profile, EntitySync: s.t.EntitySync})
	var failed, unknown, warned []*xdrlinkv1.PrerequisiteCheck
	passed := 0
	for _, c := range rep.GetChecks() {
		switch c.GetResult() {
		case xdrlinkv1.PrerequisiteCheck_RESULT_FAILED:
			failed = append(failed, c)
		case xdrlinkv1.PrerequisiteCheck_RESULT_UNKNOWN:
			unknown = append(unknown, c)
		case xdrlinkv1.PrerequisiteCheck_RESULT_WARNING:
			warned = append(warned, c)
		case xdrlinkv1.PrerequisiteCheck_RESULT_PASSED:
			passed++
		}
	}
	if len(failed) == 0 && len(unknown) == 0 {
		msg := fmt.Sprintf("%d of %d checks passed", passed, len(rep.GetChecks()))
		if len(warned) > 0 {
			msg += "; warnings: " + describeChecks(warned)
		}
		return Result{Message: msg}, nil
	}
	if len(failed) == 0 {
		// Reads that failed for a passing reason (throttled, 5xx): worth
		// trying again without a human.
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR, Transient: true,
			Message: "prerequisites could not be checked: " + describeChecks(unknown), Remedy: "retry"}
	}
	f := &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR, Message: "prerequisites not met: " + describeChecks(failed)}
	var remedies []string
	for _, c := range failed {
		if reason := checkReason(c); rank(reason) < rank(f.Reason) {
			f.Reason = reason
		}
		if rem := c.GetRemediation(); rem != "" && !slices.Contains(remedies, rem) {
			remedies = append(remedies, rem)
		}
	}
	f.Remedy = strings.Join(remedies, "; ")
	return Result{}, f
}

// checkReason is the ErrorReason a failed check stands for.
func checkReason(c *xdrlinkv1.PrerequisiteCheck) xdrlinkv1.ErrorReason {
	if strings.HasPrefix(c.GetMessage(), "could not check") {
		return xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR
	}
	switch c.GetId() {
	case prereq.IDConnectorLicense:
		return xdrlinkv1.ErrorReason_ERROR_REASON_LICENSE_MISSING
	case prereq.IDConnectorAuthorized:
		return xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_MISSING
	}
	switch c.GetCategory() {
	case xdrlinkv1.PrerequisiteCheck_CATEGORY_LICENSES:
		return xdrlinkv1.ErrorReason_ERROR_REASON_LICENSE_MISSING
	case xdrlinkv1.PrerequisiteCheck_CATEGORY_RBAC, xdrlinkv1.PrerequisiteCheck_CATEGORY_ENTRA_ROLES,
		// An unregistered provider needs someone with register rights on
		// the subscription; the check's remedy names the provider.
		xdrlinkv1.PrerequisiteCheck_CATEGORY_RESOURCE_PROVIDERS:
		return xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_MISSING
	case xdrlinkv1.PrerequisiteCheck_CATEGORY_UNIFIED_PORTAL:
		return xdrlinkv1.ErrorReason_ERROR_REASON_UNIFIED_PORTAL_LOCKOUT
	}
	return xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR
}

// rank orders reasons when several checks fail: the one that blocks
// hardest, and whose fix makes other checks pass, wins. Permissions come
// before licences: without RBAC or a registered provider the connector's
// licence check cannot even be read, and fails too.
func rank(r xdrlinkv1.ErrorReason) int {
	switch r {
	case xdrlinkv1.ErrorReason_ERROR_REASON_UNIFIED_PORTAL_LOCKOUT:
		return 0
	case xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_MISSING:
		return 1
	case xdrlinkv1.ErrorReason_ERROR_REASON_LICENSE_MISSING:
		return 2
	}
	return 3
}

func describeChecks(cs []*xdrlinkv1.PrerequisiteCheck) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.GetId() + ": " + c.GetMessage()
	}
	return strings.Join(parts, "; ")
}
