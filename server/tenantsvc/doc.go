// Package tenantsvc implements xdrlink.v1.TenantService, the registry of
// customer tenants, on top of store.TenantStore. Field formats are checked by
// the validation interceptor (protovalidate); this package checks what
// depends on the method: which fields a create needs, which paths an update
// mask may name, and the filter of a list. A batch create checks each item as
// a create, and that no two items share an id or a workspace; these checks
// are also offered to the interceptor (server.RequestChecker), so that a
// request it refuses reports them too.
package tenantsvc
