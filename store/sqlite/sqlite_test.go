package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := New(t.Context(), path)
	if err != nil {
		t.Fatalf("New(%q): %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "sub", "dir", "xdrlink.db") // parents are created
		s := open(t, path)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s, func() store.Store { return open(t, path) }
	})
}

func TestConformanceInMemory(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) (store.Store, func() store.Store) {
		s := open(t, Memory)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s, nil
	})
}

func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "x.db"))
	defer s.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "10000",
		"foreign_keys": "1",
		"synchronous":  "1", // NORMAL
	} {
		var got string
		if err := s.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestMigrateAndReady(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s := open(t, path)
	defer s.Close()
	if err := s.Ready(t.Context()); !errors.Is(err, store.ErrMigrationsPending) {
		t.Errorf("Ready before Migrate = %v, want %v", err, store.ErrMigrationsPending)
	}
	for range 2 { // idempotent
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if err := s.Ready(t.Context()); err != nil {
			t.Errorf("Ready after Migrate: %v", err)
		}
	}
	// A second instance on the same file sees the migrated schema.
	s2 := open(t, path)
	defer s2.Close()
	if err := s2.Ready(t.Context()); err != nil {
		t.Errorf("Ready on a reopened migrated database: %v", err)
	}
	// River's schema counts too.
	if _, err := s.db.ExecContext(t.Context(), `DELETE FROM river_migration WHERE version = (SELECT max(version) FROM river_migration)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); !errors.Is(err, store.ErrMigrationsPending) {
		t.Errorf("Ready with a River migration missing = %v, want %v", err, store.ErrMigrationsPending)
	}
}

// The single connection is enough for GetTenant's statement prepared on the
// database, used before, between and after transactions.
func TestPreparedGetAndTx(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "x.db"))
	defer s.Close()
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTenant(ctx, &store.Tenant{ID: "t", State: "S"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.GetTenant(ctx, "t"); err != nil {
			t.Fatalf("GetTenant: %v", err)
		}
		err := s.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.GetTenant(ctx, "t")
			return err
		})
		if err != nil {
			t.Fatalf("InTx GetTenant: %v", err)
		}
	}
	if n := s.db.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", n)
	}
}

func TestReadyAfterClose(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "x.db"))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Ready(t.Context()); err == nil {
		t.Error("Ready on a closed store = nil, want an error")
	}
}

// TestReadsDoNotWaitForTheWriter: while a transaction holds the single
// writer connection (River's, or a step's save), the API's reads answer.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "x.db"))
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTenant(ctx, store.NewRecord(&store.Tenant{ID: "a", State: "STATE_REGISTERED"})); err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.UpdateTenantStatus(ctx, "a", "STATE_ONBOARDING", nil); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := s.GetTenant(rctx, "a")
	if err != nil || got.State != "STATE_REGISTERED" { // the uncommitted write is not seen
		t.Errorf("GetTenant during a write transaction: %+v, %v", got, err)
	}
	if _, err := s.ListTenants(rctx, store.TenantQuery{}); err != nil {
		t.Errorf("ListTenants during a write transaction: %v", err)
	}
	if _, err := s.ListOperations(rctx, store.OperationQuery{}); err != nil {
		t.Errorf("ListOperations during a write transaction: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetTenant(ctx, "a"); err != nil || got.State != "STATE_ONBOARDING" {
		t.Errorf("after commit: %+v, %v", got, err)
	}
}

// TestMigrateDownAndUp: see storetest.RunMigrateDownAndUp.
func TestMigrateDownAndUp(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "x.db"))
	defer s.Close()
	storetest.RunMigrateDownAndUp(t, s, func(ctx context.Context) error {
		dir, _ := fs.Sub(migrations, "migrations")
		p, err := goose.NewProvider(goose.DialectSQLite3, s.db, dir, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			return err
		}
		_, err = p.DownTo(ctx, 0)
		return err
	})
}
