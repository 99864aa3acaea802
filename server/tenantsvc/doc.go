// Package tenantsvc implements xdrlink.v1.TenantService, the registry of
// customer tenants, on top of store.TenantStore. Field formats are checked by
// the validation interceptor (protovalidate); this package checks what
// depends on the method: which fields a create needs, which paths an update
// mask may name, and the filter of a list.
package tenantsvc
