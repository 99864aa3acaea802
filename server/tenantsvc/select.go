package tenantsvc

import (
	"context"
	"strconv"

	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// MaxSelected is the most tenants one batch operation takes, by name (the
// batch requests' max_items) or by filter.
const MaxSelected = 10000

// Select returns the tenants a batch operation (BatchOnboard, BatchVerify)
// acts on: those its request names, or those its filter selects, in id
// order. Exactly one of the two must be given; a filter must select at
// least one tenant and at most MaxSelected. Named tenants are not looked
// up here for unscoped callers: the engine refuses unregistered ones when
// it starts the batch. A scoped caller must be an operator of each named
// tenant; one outside its access groups is not found. A filter selects
// only the tenants the caller operates.
func Select(ctx context.Context, st store.TenantStore, tenants []string, filter string) ([]string, error) {
	switch {
	case len(tenants) == 0 && filter == "":
		return nil, apierr.InvalidArgument(apierr.Violation("tenants", "name the tenants, or select them with filter"))
	case len(tenants) > 0 && filter != "":
		return nil, apierr.InvalidArgument(apierr.Violation("filter", "give either tenants or filter, not both"))
	case len(tenants) > 0:
		if authz.TenantScope(ctx, authz.Operator) != nil {
			for _, name := range tenants {
				if _, err := LoadFor(ctx, st, name, authz.Operator); err != nil {
					return nil, err
				}
			}
		}
		return tenants, nil
	}
	q, err := ParseFilter(filter)
	if err != nil {
		return nil, err
	}
	q.PageSize = store.MaxPageSize
	q.Scope = authz.TenantScope(ctx, authz.Operator)
	var names []string
	for {
		page, err := st.ListTenants(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tenants {
			names = append(names, tenantrecord.NamePrefix+t.ID)
		}
		if len(names) > MaxSelected {
			return nil, apierr.InvalidArgument(apierr.Violation("filter",
				"selects more than "+strconv.Itoa(MaxSelected)+" tenants, the most one batch takes; narrow it, e.g. with a label"))
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	if len(names) == 0 {
		return nil, apierr.InvalidArgument(apierr.Violation("filter", "selects no tenant"))
	}
	return names, nil
}
