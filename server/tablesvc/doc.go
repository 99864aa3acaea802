// Package tablesvc implements xdrlink.v1.TableService. ListTables serves the
// advanced-hunting table catalog of azure/streaming (which tables exist,
// their product, and whether the streaming API or only a portal can turn
// them on). The per-tenant settings methods come with the table-management
// workflow.
package tablesvc
