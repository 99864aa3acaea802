package onboardingsvc

import (
	"context"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/storeopen"
	"github.com/xdrlink/xdrlink/workflow/prereq"
)

// fakeChecker records the tenant it was asked about.
type fakeChecker struct{ got *prereq.Tenant }

func (f *fakeChecker) Check(_ context.Context, t prereq.Tenant) *xdrlinkv1.PrerequisiteReport {
	f.got = &t
	return &xdrlinkv1.PrerequisiteReport{Tenant: t.Name, Ready: true}
}

func openStore(t *testing.T) storeopen.Backend {
	t.Helper()
	ctx := context.Background()
	st, err := storeopen.Open(ctx, filepath.Join(t.TempDir(), "x.db"), storeopen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCheckPrerequisites(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	body, err := proto.Marshal(&xdrlinkv1.Tenant{
		EntraTenantId: "20000000-0000-4000-8000-000000000000",
		Workspace:     &xdrlinkv1.Workspace{SubscriptionId: "sub", ResourceGroup: "rg", Name: "ws"},
		Connector:     &xdrlinkv1.ConnectorSettings{EntitySync: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTenant(ctx, store.NewRecord(&store.Tenant{ID: "contoso", State: "REGISTERED", Body: body})); err != nil {
		t.Fatal(err)
	}
	fc := &fakeChecker{}
	svc := New(st, fc, nil, "default-profile")

	r, err := svc.CheckPrerequisites(ctx, &xdrlinkv1.CheckPrerequisitesRequest{Name: "tenants/contoso"})
	if err != nil {
		t.Fatal(err)
	}
	want := prereq.Tenant{Name: "tenants/contoso", EntraTenantID: "20000000-0000-4000-8000-000000000000",
		Profile: "default-profile", EntitySync: true}
	want.Workspace.SubscriptionID, want.Workspace.ResourceGroup, want.Workspace.Name = "sub", "rg", "ws"
	if fc.got == nil || *fc.got != want {
		t.Errorf("checked %+v, want %+v", fc.got, want)
	}
	if r.GetTenant() != "tenants/contoso" {
		t.Errorf("report tenant %q", r.GetTenant())
	}

	_, err = svc.CheckPrerequisites(ctx, &xdrlinkv1.CheckPrerequisitesRequest{Name: "tenants/nobody"})
	if code := apierr.Status(err).Code(); code != codes.NotFound {
		t.Errorf("unknown tenant: %v (%v), want NotFound", code, err)
	}
}
