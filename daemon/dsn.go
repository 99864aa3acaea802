package daemon

import "github.com/xdrlink/xdrlink/store/storeopen"

// redactDSN hides passwords in a PostgreSQL DSN (URL or key=value) before it
// is logged.
func redactDSN(dsn string) string { return storeopen.Redacted(dsn) }
