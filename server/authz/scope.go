package authz

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/grpc"

	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
)

// TenantScope is the store scope of the tenants ctx's caller holds at
// least role min over; nil when that is every tenant.
func TenantScope(ctx context.Context, min Role) *store.Scope {
	p := FromContext(ctx)
	if p == nil {
		return nil
	}
	all, groups := p.groups(min)
	if all {
		return nil
	}
	return &store.Scope{AccessGroups: groups}
}

// OperationScope is the store scope of the operations ctx's caller may
// see: those of its tenants, and the batches it started itself.
func OperationScope(ctx context.Context) *store.Scope {
	s := TenantScope(ctx, Viewer)
	if s != nil {
		s.Caller = FromContext(ctx).ID
	}
	return s
}

// CheckTenant allows ctx's caller role need over tenant name of access
// group group. A tenant the caller cannot see at all is NOT_FOUND, as if
// it did not exist, so that scoped callers learn nothing of other
// customers; one it sees but may not change is PERMISSION_DENIED.
func CheckTenant(ctx context.Context, name, group string, need Role) error {
	p := FromContext(ctx)
	if p == nil {
		return nil
	}
	return check(ctx, name, p.RoleFor(group), need)
}

func check(ctx context.Context, name string, have, need Role) error {
	if have < Viewer {
		return apierr.ForResource(store.ErrNotFound, name)
	}
	if have < need {
		method, _ := grpc.Method(ctx)
		return apierr.PermissionDenied(method, need.String())
	}
	return nil
}

// CheckGroup allows ctx's caller to register a tenant in access group
// group: it needs role need over the group.
func CheckGroup(ctx context.Context, field, group string, need Role) error {
	p := FromContext(ctx)
	if p == nil || p.RoleFor(group) >= need {
		return nil
	}
	method, _ := grpc.Method(ctx)
	e := apierr.PermissionDenied(method, need.String())
	e.Message = fmt.Sprintf("permission denied: %s %q is not one of your access groups", field, group)
	if all, groups := p.groups(need); !all && len(groups) > 0 {
		e.Message += " (" + strings.Join(groups, ", ") + ")"
	}
	return e
}

// CheckMove allows ctx's caller to move a tenant to another access group:
// only an unscoped admin may, since a scoped caller could otherwise hand a
// tenant to a group it does not serve, or take one from it.
func CheckMove(ctx context.Context, field string) error {
	p := FromContext(ctx)
	if p == nil || p.RoleFor("") >= Admin {
		return nil
	}
	method, _ := grpc.Method(ctx)
	e := apierr.PermissionDenied(method, Admin.String())
	e.Message = "permission denied: only an admin over every tenant can change " + field
	return e
}

// DefaultGroup is the access group a tenant registered by ctx's caller
// without one gets: the caller's only group where it holds role need, or
// "" (unscoped callers, or callers with several groups, who must choose).
func DefaultGroup(ctx context.Context, need Role) string {
	p := FromContext(ctx)
	if p == nil {
		return ""
	}
	if all, groups := p.groups(need); !all && len(groups) == 1 {
		return groups[0]
	}
	return ""
}

// CheckOperation allows ctx's caller role need over operation op: over its
// tenant's access group, or, for an operation the caller started itself
// (a batch across groups), the role need over any tenant.
func CheckOperation(ctx context.Context, name string, op *store.Operation, need Role) error {
	p := FromContext(ctx)
	if p == nil {
		return nil
	}
	have := p.RoleFor(op.AccessGroup)
	if op.Caller != "" && op.Caller == p.ID {
		have = max(have, min(p.MaxRole(), Operator))
	}
	return check(ctx, name, have, need)
}

// accessGroup is the syntax of an access group, as Tenant.access_group.
var accessGroup = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ParseGrant reads a role value as identity providers and client
// certificates carry it: "Viewer", "Operator", "Admin" (every tenant), or
// "Viewer.{group}", "Operator.{group}" (one access group). The role is
// matched without regard to case. Anything else, scoped admins included,
// is not a grant.
func ParseGrant(v string) (Grant, bool) {
	name, group, scoped := strings.Cut(v, ".")
	var r Role
	switch strings.ToLower(name) {
	case "viewer":
		r = Viewer
	case "operator":
		r = Operator
	case "admin":
		r = Admin
	default:
		return Grant{}, false
	}
	if !scoped {
		return Grant{Role: r}, true
	}
	if r == Admin || !accessGroup.MatchString(group) {
		return Grant{}, false
	}
	return Grant{Role: r, AccessGroup: group}, true
}
