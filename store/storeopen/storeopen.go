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
	// PageTokenKey signs the page tokens of lists (any length; 32 random
	// bytes is right); empty is store.DefaultPageTokenKey, which is public:
	// a server always passes its own.
	PageTokenKey []byte
}

// Open opens the backend named by dsn: a postgres:// or postgresql:// URL, or
// a key=value connection string ("host=db user=xdrlink dbname=xdrlink"),
// selects PostgreSQL; any other scheme:// is an error (a mistyped URL must not
// become a file name); anything else is a SQLite file path (sqlite.Memory for
// an in-memory database). Open does not migrate: call Migrate on the result
// to migrate at startup, or run the migrate command; until then Ready fails.
// Errors never hold the DSN's password.
func Open(ctx context.Context, dsn string, opts Options) (Backend, error) {
	// Explicit nil checks: a nil *Store must not become a non-nil Backend.
	scheme, _, isURL := strings.Cut(dsn, "://")
	if isURL && !isPostgresURL(scheme) {
		return nil, fmt.Errorf("store: unsupported DSN scheme %q (want postgres:// or a SQLite file path)", scheme)
	}
	if isURL || isKeyValueDSN(dsn) {
		s, err := postgres.New(ctx, dsn, postgres.Options{MaxConns: opts.PostgresMaxConns, PageTokenKey: opts.PageTokenKey})
		if err != nil {
			return nil, redactErr(err, dsn)
		}
		return s, nil
	}
	s, err := sqlite.NewWithOptions(ctx, dsn, sqlite.Options{PageTokenKey: opts.PageTokenKey})
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

// redactErr makes sure err's text does not hold dsn's password, whatever the
// driver put in it.
func redactErr(err error, dsn string) error {
	msg := err.Error()
	if red := Redacted(dsn); red != dsn && strings.Contains(msg, dsn) {
		msg = strings.ReplaceAll(msg, dsn, red)
	}
	for _, pw := range passwords(dsn) {
		if len(pw) >= 4 { // shorter ones would mangle the message, and are no secret
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError keeps the cause for errors.Is and errors.As, with a text
// that has no password.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
