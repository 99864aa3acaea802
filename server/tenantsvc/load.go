package tenantsvc

import (
	"context"
	"strings"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// Load reads the tenant named name ("tenants/{id}") from st, for services
// that act on a registered tenant. A missing tenant is store.ErrNotFound,
// wrapped; callers map it with apierr.ForResource.
func Load(ctx context.Context, st store.TenantStore, name string) (*xdrlinkv1.Tenant, error) {
	rec, err := st.GetTenant(ctx, strings.TrimPrefix(name, namePrefix))
	if err != nil {
		return nil, err
	}
	return tenantrecord.Decode(rec)
}

// LoadFor is Load for ctx's caller, which needs role need over the
// tenant: a tenant outside the caller's access groups is not found, as if
// it did not exist (authz.CheckTenant). Errors are mapped for the API.
func LoadFor(ctx context.Context, st store.TenantStore, name string, need authz.Role) (*xdrlinkv1.Tenant, error) {
	t, err := Load(ctx, st, name)
	if err != nil {
		return nil, apierr.ForResource(err, name)
	}
	if err := authz.CheckTenant(ctx, name, t.GetAccessGroup(), need); err != nil {
		return nil, err
	}
	return t, nil
}
