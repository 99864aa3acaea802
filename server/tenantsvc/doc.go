// Package tenantsvc implements xdrlink.v1.TenantService, the registry of
// customer tenants, on top of store.TenantStore. Field formats are checked by
// the validation interceptor (protovalidate); this package checks what
// depends on the method: which fields a create needs, which paths an update
// mask may name, which tables a connector may stream (the catalog, see
// workflow/tablestate), and the filter of a list. A batch create checks each
// item as a create, and that no two items share an id or a workspace; these
// checks are also offered to the interceptor (server.RequestChecker), so
// that a request it refuses reports them too.
//
// It also holds what the other services share about tenants: Load,
// ParseFilter, the tenant selection of batch operations (Select) and the
// table check (CheckTables).
package tenantsvc
