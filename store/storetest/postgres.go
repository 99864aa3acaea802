package storetest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names a PostgreSQL server for tests, as a postgres:// URL of a
// role that may create databases. CI sets it; tests that need it skip
// without it.
const PostgresEnv = "XDRLINK_TEST_POSTGRES_DSN"

// PostgresDSN returns the server DSN from PostgresEnv, or skips t.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", PostgresEnv)
	}
	return dsn
}

// NewPostgresDatabase creates an empty database for t on the PostgresEnv
// server, dropped when t ends, and returns its DSN. Tests in parallel
// packages never share one.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	base := PostgresDSN(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", PostgresEnv)
	}
	name := "xdrlink_test_" + strings.ToLower(rand.Text())
	ident := pgx.Identifier{name}.Sanitize()
	admin := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, sql)
		return err
	}
	// A locale-aware default collation (where the server has ICU) proves ids
	// still sort bytewise, like SQLite.
	if err := admin(context.Background(), "CREATE DATABASE "+ident+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"); err != nil {
		if err := admin(context.Background(), "CREATE DATABASE "+ident); err != nil {
			t.Fatalf("CREATE DATABASE: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("DROP DATABASE: %v", err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
