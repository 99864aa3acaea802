package storeopen

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/postgres"
	"github.com/xdrlink/xdrlink/store/sqlite"
)

// Backend is an open store that can also migrate its schema.
type Backend interface {
	store.Store
	// Migrate applies pending migrations; a no-op when up to date.
	Migrate(ctx context.Context) error
}

var (
	_ Backend = (*sqlite.Store)(nil)
	_ Backend = (*postgres.Store)(nil)
)

// Options tunes the backend Open picks; the zero value keeps the defaults.
type Options struct {
	// PostgresMaxConns caps the PostgreSQL connection pool (see
	// postgres.Options.MaxConns); 0 is pgxpool's default. SQLite always
	// has one connection.
	PostgresMaxConns int32
}

// Open opens the backend named by dsn: a postgres:// or postgresql:// URL
// selects PostgreSQL; any other scheme:// is an error (a mistyped URL must not
// become a file name); anything else is a SQLite file path (sqlite.Memory for
// an in-memory database). Open does not migrate: call Migrate on the result
// to migrate at startup, or run the migrate command; until then Ready fails.
func Open(ctx context.Context, dsn string, opts Options) (Backend, error) {
	// Explicit nil checks: a nil *Store must not become a non-nil Backend.
	if scheme, _, ok := strings.Cut(dsn, "://"); ok {
		if !strings.EqualFold(scheme, "postgres") && !strings.EqualFold(scheme, "postgresql") {
			return nil, fmt.Errorf("store: unsupported DSN scheme %q (want postgres:// or a SQLite file path)", scheme)
		}
		s, err := postgres.New(ctx, dsn, postgres.Options{MaxConns: opts.PostgresMaxConns})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Migrate opens dsn, applies pending migrations and closes it.
func Migrate(ctx context.Context, dsn string) error {
	b, err := Open(ctx, dsn, Options{})
	if err != nil {
		return err
	}
	return errors.Join(b.Migrate(ctx), b.Close())
}
