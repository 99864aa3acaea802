package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/storetest"
)

// envDSN names a PostgreSQL server to test against, as a postgres:// URL of a
// role that may create databases. Each test creates and drops its own database.
const envDSN = "XDRLINK_TEST_POSTGRES_DSN"

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func baseDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", envDSN)
	}
	return dsn
}

// newDatabase creates an empty database for t, dropped on cleanup, and
// returns its DSN.
func newDatabase(t *testing.T) string {
	t.Helper()
	base := baseDSN(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", envDSN)
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
	if err := admin(t.Context(), "CREATE DATABASE "+ident+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"); err != nil {
		if err := admin(t.Context(), "CREATE DATABASE "+ident); err != nil {
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

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := New(t.Context(), dsn)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	baseDSN(t)
	storetest.RunConformance(t, func(t *testing.T) (store.Store, func() store.Store) {
		dsn := newDatabase(t)
		s := open(t, dsn)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s, func() store.Store { return open(t, dsn) }
	})
}

func TestMigrateAndReady(t *testing.T) {
	dsn := newDatabase(t)
	s := open(t, dsn)
	defer s.Close()
	if err := s.Ready(t.Context()); !errors.Is(err, store.ErrMigrationsPending) {
		t.Errorf("Ready before Migrate = %v, want %v", err, store.ErrMigrationsPending)
	}
	// Instances migrating at startup together: both succeed, in turn.
	others := []*Store{s, open(t, dsn), open(t, dsn)}
	defer others[1].Close()
	defer others[2].Close()
	var wg sync.WaitGroup
	for _, o := range others {
		wg.Go(func() {
			if err := o.Migrate(t.Context()); err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		})
	}
	wg.Wait()
	for _, o := range others {
		if err := o.Migrate(t.Context()); err != nil { // idempotent
			t.Errorf("second Migrate: %v", err)
		}
		if err := o.Ready(t.Context()); err != nil {
			t.Errorf("Ready after Migrate: %v", err)
		}
	}
}

func TestReadyUnreachable(t *testing.T) {
	dsn := newDatabase(t)
	s := open(t, dsn)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Ready(t.Context()); err == nil {
		t.Error("Ready on a closed store = nil, want an error")
	}
}
