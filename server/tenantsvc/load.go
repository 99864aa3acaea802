package tenantsvc

import (
	"context"
	"strings"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
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
