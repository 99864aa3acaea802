package authz

import (
	"context"
	"slices"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Role aliases the API's enum; its values are ordered, each role
// including the ones below it.
type Role = xdrlinkv1.Role

// The roles, lowest first.
const (
	Viewer   = xdrlinkv1.Role_ROLE_VIEWER
	Operator = xdrlinkv1.Role_ROLE_OPERATOR
	Admin    = xdrlinkv1.Role_ROLE_ADMIN
)

// Grant is one role over one access group, or over every tenant when
// AccessGroup is "".
type Grant struct {
	Role        Role
	AccessGroup string
}

// Principal is an authenticated caller.
type Principal struct {
	// ID is stable across calls: it scopes request ids, names the creator
	// of operations and API keys, and the caller in the audit log.
	ID          string
	DisplayName string
	Method      xdrlinkv1.AuthMethod
	Grants      []Grant
}

// RoleFor is the caller's highest role over a tenant of access group
// group; tenants without a group ("") are reached only by unscoped grants.
func (p *Principal) RoleFor(group string) Role {
	var best Role
	for _, g := range p.Grants {
		if (g.AccessGroup == "" || (group != "" && g.AccessGroup == group)) && g.Role > best {
			best = g.Role
		}
	}
	return best
}

// MaxRole is the caller's highest role over any tenant.
func (p *Principal) MaxRole() Role {
	var best Role
	for _, g := range p.Grants {
		best = max(best, g.Role)
	}
	return best
}

// Scoped says whether every grant is limited to an access group.
func (p *Principal) Scoped() bool {
	return !slices.ContainsFunc(p.Grants, func(g Grant) bool { return g.AccessGroup == "" })
}

// groups returns whether the caller holds at least role min over every
// tenant, and otherwise the access groups where it does, sorted.
func (p *Principal) groups(min Role) (all bool, groups []string) {
	for _, g := range p.Grants {
		if g.Role < min {
			continue
		}
		if g.AccessGroup == "" {
			return true, nil
		}
		if !slices.Contains(groups, g.AccessGroup) {
			groups = append(groups, g.AccessGroup)
		}
	}
	slices.Sort(groups)
	return false, groups
}

// Proto is the caller as the API shows it.
func (p *Principal) Proto() *xdrlinkv1.Caller {
	c := &xdrlinkv1.Caller{Principal: p.ID, DisplayName: p.DisplayName, AuthMethod: p.Method, Scoped: p.Scoped()}
	for _, g := range p.Grants {
		c.Grants = append(c.Grants, &xdrlinkv1.Grant{Role: g.Role, AccessGroup: g.AccessGroup})
	}
	return c
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller of ctx, or nil for the server's own work
// (the engine, the scheduler), which is not limited. Every RPC goes through
// authentication, which always sets one.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
