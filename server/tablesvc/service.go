package tablesvc

import (
	"context"
	"slices"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	"github.com/xdrlink/xdrlink/azure/streaming"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/engine"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
)

// Operations starts long-running operations; *engine.Engine implements it.
type Operations interface {
	Submit(ctx context.Context, req engine.Request) (*longrunningpb.Operation, error)
}

// Service implements xdrlinkv1.TableServiceServer.
type Service struct {
	xdrlinkv1.UnimplementedTableServiceServer
	tables []*xdrlinkv1.Table // sorted by name
	store  store.TenantStore
	ops    Operations
}

// New returns the service over the streaming catalog and the tenants of
// st; ops runs UpdateTableSettings.
func New(st store.TenantStore, ops Operations) *Service {
	var tables []*xdrlinkv1.Table
	for _, t := range streaming.Catalog() {
		tables = append(tables, &xdrlinkv1.Table{
			Name:              t.Name,
			Product:           products[t.Product],
			Enablement:        tablestate.Enablement(t.Name),
			StreamingCategory: t.Category,
		})
	}
	slices.SortFunc(tables, func(a, b *xdrlinkv1.Table) int { return strings.Compare(a.GetName(), b.GetName()) })
	return &Service{tables: tables, store: st, ops: ops}
}

var products = map[streaming.Product]xdrlinkv1.Product{
	streaming.ProductEndpoint:    xdrlinkv1.Product_PRODUCT_DEFENDER_FOR_ENDPOINT,
	streaming.ProductOffice:      xdrlinkv1.Product_PRODUCT_DEFENDER_FOR_OFFICE_365,
	streaming.ProductIdentity:    xdrlinkv1.Product_PRODUCT_DEFENDER_FOR_IDENTITY,
	streaming.ProductCloudApps:   xdrlinkv1.Product_PRODUCT_DEFENDER_FOR_CLOUD_APPS,
	streaming.ProductXDR:         xdrlinkv1.Product_PRODUCT_DEFENDER_XDR,
	streaming.ProductVulnerables: xdrlinkv1.Product_PRODUCT_DEFENDER_FOR_ENDPOINT, // DeviceTvm* belong to MDE
	streaming.ProductBehaviors:   xdrlinkv1.Product_PRODUCT_DEFENDER_XDR,          // Behavior* are XDR-wide
}

// ListTables returns the catalog in name order. The page token is the last
// name of the previous page, so it stays valid as long as the catalog does.
func (s *Service) ListTables(_ context.Context, req *xdrlinkv1.ListTablesRequest) (*xdrlinkv1.ListTablesResponse, error) {
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		i, found := slices.BinarySearchFunc(s.tables, tok, func(t *xdrlinkv1.Table, name string) int { return strings.Compare(t.GetName(), name) })
		if !found {
			return nil, store.ErrInvalidPageToken // mapped like every list's bad token
		}
		start = i + 1
	}
	end := len(s.tables)
	if n := int(req.GetPageSize()); n > 0 && start+n < end {
		end = start + n
	}
	resp := &xdrlinkv1.ListTablesResponse{Tables: s.tables[start:end]}
	if end < len(s.tables) {
		resp.NextPageToken = s.tables[end-1].GetName()
	}
	return resp, nil
}
