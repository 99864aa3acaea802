package tenantsvc

import (
	"slices"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
)

// maxTables is the max_items of every list of desired tables
// (ConnectorSettings.tables, TableSettings.desired_tables).
const maxTables = 64

// CheckTables refuses desired tables that the catalog does not know or that
// never reach Sentinel, one violation per table under field[i]. A list over
// maxTables is refused as a whole by its protovalidate rule, so its items
// are not examined: one answer, not 65 more.
func CheckTables(field string, tables []string) []*errdetails.BadRequest_FieldViolation {
	if len(tables) > maxTables {
		return nil
	}
	return tablestate.Check(field, tables)
}

// connectorTables checks t's connector.tables when the update's mask
// paths replace them; prefix is the tenant's path in its request. Tables
// an update leaves alone are not checked again: a tenant registered before
// a table left the catalog can still change its labels.
func connectorTables(prefix string, t *xdrlinkv1.Tenant, paths []string) []*errdetails.BadRequest_FieldViolation {
	if !slices.Contains(paths, "connector") && !slices.Contains(paths, "connector.tables") {
		return nil
	}
	return CheckTables(prefix+"connector.tables", t.GetConnector().GetTables())
}
