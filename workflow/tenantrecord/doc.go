// Package tenantrecord converts between a stored tenant row (store.Tenant)
// and the API's Tenant. The row keeps the spec (what callers set; the etag
// covers it) apart from the status (what operations write), so the
// workflow's progress never makes a caller's etag stale.
package tenantrecord
