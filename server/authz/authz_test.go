package authz

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
)

func TestParseGrant(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Grant
		ok   bool
	}{
		{"Admin", Grant{Role: Admin}, true},
		{"operator", Grant{Role: Operator}, true},
		{"VIEWER", Grant{Role: Viewer}, true},
		{"Operator.pod-east", Grant{Role: Operator, AccessGroup: "pod-east"}, true},
		{"Viewer.a1", Grant{Role: Viewer, AccessGroup: "a1"}, true},
		{"Admin.pod-east", Grant{}, false}, // admins are never scoped
		{"Operator.Pod-East", Grant{}, false},
		{"Operator.", Grant{}, false},
		{"Operator.-x", Grant{}, false},
		{"Owner", Grant{}, false},
		{"", Grant{}, false},
		{"Task.Read", Grant{}, false},
	} {
		got, ok := ParseGrant(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseGrant(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRoles(t *testing.T) {
	p := &Principal{ID: "p", Grants: []Grant{{Role: Operator, AccessGroup: "a"}, {Role: Viewer, AccessGroup: "b"}}}
	for group, want := range map[string]Role{"a": Operator, "b": Viewer, "c": 0, "": 0} {
		if got := p.RoleFor(group); got != want {
			t.Errorf("RoleFor(%q) = %v, want %v", group, got, want)
		}
	}
	if p.MaxRole() != Operator || !p.Scoped() {
		t.Errorf("MaxRole %v Scoped %v; want OPERATOR, true", p.MaxRole(), p.Scoped())
	}
	all := &Principal{Grants: []Grant{{Role: Viewer}, {Role: Operator, AccessGroup: "a"}}}
	if all.Scoped() || all.RoleFor("") != Viewer || all.RoleFor("a") != Operator || all.RoleFor("z") != Viewer {
		t.Errorf("unscoped viewer, operator of a: Scoped %v, RoleFor('') %v, a %v, z %v",
			all.Scoped(), all.RoleFor(""), all.RoleFor("a"), all.RoleFor("z"))
	}
}

func TestScopes(t *testing.T) {
	ctx := NewContext(context.Background(), &Principal{ID: "me", Grants: []Grant{
		{Role: Operator, AccessGroup: "b"}, {Role: Viewer, AccessGroup: "a"}, {Role: Viewer, AccessGroup: "b"},
	}})
	if diff := cmp.Diff(&store.Scope{AccessGroups: []string{"a", "b"}}, TenantScope(ctx, Viewer)); diff != "" {
		t.Errorf("viewer scope (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&store.Scope{AccessGroups: []string{"b"}}, TenantScope(ctx, Operator)); diff != "" {
		t.Errorf("operator scope (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&store.Scope{AccessGroups: []string{"a", "b"}, Caller: "me"}, OperationScope(ctx)); diff != "" {
		t.Errorf("operation scope (-want +got):\n%s", diff)
	}
	if s := TenantScope(ctx, Admin); s == nil || len(s.AccessGroups) != 0 {
		t.Errorf("admin scope of a scoped operator = %+v, want an empty scope (nothing)", s)
	}
	unscoped := NewContext(context.Background(), &Principal{Grants: []Grant{{Role: Viewer}}})
	if TenantScope(unscoped, Viewer) != nil || OperationScope(unscoped) != nil {
		t.Error("an unscoped viewer's read scope is not nil (everything)")
	}
	if TenantScope(context.Background(), Admin) != nil {
		t.Error("the server's own calls (no principal) are scoped")
	}
	if got := DefaultGroup(ctx, Operator); got != "b" {
		t.Errorf("DefaultGroup = %q, want b (the only operator group)", got)
	}
	if got := DefaultGroup(ctx, Viewer); got != "" {
		t.Errorf("DefaultGroup(viewer) = %q, want empty (two groups)", got)
	}
}

func TestChecks(t *testing.T) {
	ctx := NewContext(context.Background(), &Principal{ID: "me", Grants: []Grant{
		{Role: Operator, AccessGroup: "a"}, {Role: Viewer, AccessGroup: "b"},
	}})
	for _, tc := range []struct {
		group string
		need  Role
		want  codes.Code
	}{
		{"a", Operator, codes.OK},
		{"b", Viewer, codes.OK},
		{"b", Operator, codes.PermissionDenied},
		{"c", Viewer, codes.NotFound},
		{"", Viewer, codes.NotFound},
	} {
		if got := status.Code(statusErr(CheckTenant(ctx, "tenants/x", tc.group, tc.need))); got != tc.want {
			t.Errorf("CheckTenant(group %q, %v) = %v, want %v", tc.group, tc.need, got, tc.want)
		}
	}
	own := &store.Operation{AccessGroup: "", Caller: "me"}
	if err := CheckOperation(ctx, "operations/o", own, Operator); err != nil {
		t.Errorf("own mixed batch: %v", err)
	}
	other := &store.Operation{AccessGroup: "", Caller: "someone"}
	if got := status.Code(statusErr(CheckOperation(ctx, "operations/o", other, Viewer))); got != codes.NotFound {
		t.Errorf("someone else's mixed batch: %v, want NotFound", got)
	}
	if got := status.Code(statusErr(CheckGroup(ctx, "access_group", "b", Operator))); got != codes.PermissionDenied {
		t.Errorf("register in a viewer group: %v, want PermissionDenied", got)
	}
	if err := CheckGroup(ctx, "access_group", "a", Operator); err != nil {
		t.Errorf("register in own group: %v", err)
	}
	if got := status.Code(statusErr(CheckMove(ctx, "access_group"))); got != codes.PermissionDenied {
		t.Errorf("scoped move: %v, want PermissionDenied", got)
	}
	admin := NewContext(context.Background(), &Principal{Grants: []Grant{{Role: Admin}}})
	if err := CheckMove(admin, "access_group"); err != nil {
		t.Errorf("an unscoped admin's move: %v", err)
	}
}

// statusErr maps what the checks return as the server does.
func statusErr(err error) error { return apierr.Status(err).Err() }

func TestEveryRuleNamesAKnownRole(t *testing.T) {
	for m, r := range methods {
		if !slices.Contains([]Role{0, Viewer, Operator, Admin}, r.Role) {
			t.Errorf("%s: role %v", m, r.Role)
		}
		if r.Mutates && r.Role < Operator {
			t.Errorf("%s changes something but needs only %v", m, r.Role)
		}
	}
}
