// Package auditsvc implements AuditService: the audit log, newest first,
// filtered by principal, resource, method or outcome.
package auditsvc
