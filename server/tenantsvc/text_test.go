package tenantsvc

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

func TestTextViolation(t *testing.T) {
	for _, s := range []string{"Contoso", "Contoso Ltd.", "Müller & Söhne", "株式会社", "شركة", "עברית", "🚀 Rocket", "a\uFFFDb", "Zero\u200Bwidth"} {
		if v := textViolation("f", s); v != nil {
			t.Errorf("%q refused: %v", s, v)
		}
	}
	for s, says := range map[string]string{
		"a\x00b":            "U+0000",
		"line\nbreak":       "U+000A",
		"tab\there":         "U+0009",
		"del\x7f":           "U+007F",
		"c1\u0085":          "U+0085",
		"c1\u009f":          "U+009F",
		"evil\u202Egnp.exe": "U+202E",
		"\u202Aembed":       "U+202A",
		"\u2066isolate":     "U+2066",
		"\u2069":            "U+2069",
		"lrm\u200E":         "U+200E",
		"rlm\u200F":         "U+200F",
		"bad\xffutf8":       "not valid UTF-8 (at byte 3)",
		"cut\xe2\x80":       "not valid UTF-8",
	} {
		v := textViolation("tenant.display_name", s)
		if v == nil || v.GetField() != "tenant.display_name" || !strings.Contains(v.GetDescription(), says) {
			t.Errorf("%q: %v, want a violation saying %q", s, v, says)
		}
	}
}

// TestDisplayNameChecks: every method that takes a display_name refuses
// control and bidirectional formatting characters under its own path, with
// the service's other violations; an update leaves alone what its mask does
// not name.
func TestDisplayNameChecks(t *testing.T) {
	s := New(nil, nil)
	bad := func() *xdrlinkv1.Tenant {
		tn := withTables()
		tn.DisplayName = "Contoso\u202Egnp"
		return tn
	}
	named := func(tn *xdrlinkv1.Tenant) *xdrlinkv1.Tenant { tn.Name = "tenants/a"; return tn }
	mask := func(p ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: p} }
	for _, tt := range []struct {
		name   string
		req    any
		fields []string
	}{
		{"create", &xdrlinkv1.CreateTenantRequest{TenantId: "a", Tenant: bad()}, []string{"tenant.display_name"}},
		{"create, also incomplete", &xdrlinkv1.CreateTenantRequest{TenantId: "a", Tenant: &xdrlinkv1.Tenant{DisplayName: "a\nb", EntraTenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47"}},
			[]string{"tenant.display_name", "tenant.workspace.subscription_id", "tenant.workspace.resource_group", "tenant.workspace.name"}},
		{"batch", &xdrlinkv1.BatchCreateTenantsRequest{Requests: []*xdrlinkv1.CreateTenantRequest{
			{TenantId: "a", Tenant: withTables()},
			{TenantId: "b", Tenant: func() *xdrlinkv1.Tenant { tn := bad(); tn.Workspace.Name = "other"; return tn }()},
		}}, []string{"requests[1].tenant.display_name"}},
		{"update display_name", &xdrlinkv1.UpdateTenantRequest{Tenant: named(bad()), UpdateMask: mask("display_name")}, []string{"tenant.display_name"}},
		{"update *", &xdrlinkv1.UpdateTenantRequest{Tenant: named(bad()), UpdateMask: mask("*")}, []string{"tenant.display_name"}},
		{"update without mask", &xdrlinkv1.UpdateTenantRequest{Tenant: named(bad())}, []string{"tenant.display_name"}},
		{"update labels", &xdrlinkv1.UpdateTenantRequest{Tenant: named(bad()), UpdateMask: mask("labels")}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var fields []string
			for _, v := range s.CheckRequest(tt.req) {
				fields = append(fields, v.GetField())
			}
			slices.Sort(fields)
			want := slices.Clone(tt.fields)
			slices.Sort(want)
			if !slices.Equal(fields, want) {
				t.Errorf("violations %q, want %q", fields, want)
			}
		})
	}
}
