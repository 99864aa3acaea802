// Package authz decides what an authenticated caller may do: the role each
// RPC needs (one table, every method in it), and the tenants a caller
// scoped to access groups may see and change. Authentication (package
// authn) puts a Principal in the request context; the services ask this
// package for the store scope of their lists and check each tenant or
// operation they touch.
package authz
