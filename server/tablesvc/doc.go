// Package tablesvc implements xdrlink.v1.TableService. ListTables serves the
// advanced-hunting table catalog of azure/streaming (which tables exist,
// their product, and whether the streaming API or only a portal can turn
// them on). GetTableSettings shows a tenant's desired tables against what
// xdrlink observed (workflow/tablestate); UpdateTableSettings checks the new
// desired tables against the catalog and the tenant's state, and hands the
// change to the engine, which stores it with the operation that applies it.
package tablesvc
