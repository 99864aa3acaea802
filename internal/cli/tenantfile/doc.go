// Package tenantfile reads a file of customer tenants to register (CSV with
// a header row, or a YAML list), checks every row before anything is sent,
// turns the rows into BatchCreateTenants requests in chunks, and maps the
// server's per-item errors back to the file's rows and columns.
package tenantfile
