package postgres

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/schema"
	"github.com/xdrlink/xdrlink/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newDatabase(t *testing.T) string { return storetest.NewPostgresDatabase(t) }

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := New(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.PostgresDSN(t)
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
	// River's schema counts too.
	if _, err := s.pool.Exec(t.Context(), `DELETE FROM river_migration WHERE version = (SELECT max(version) FROM river_migration)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); !errors.Is(err, store.ErrMigrationsPending) {
		t.Errorf("Ready with a River migration missing = %v, want %v", err, store.ErrMigrationsPending)
	}
}

// River's migrator reads the applied versions before migrating, so
// concurrent migrators collide unless the lock serialises them (goose's own
// lock, polled every second, tends to stagger them and hide it).
func TestRiverMigrateConcurrent(t *testing.T) {
	dsn := newDatabase(t)
	var wg sync.WaitGroup
	for range 4 {
		pool, err := pgxpool.New(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		step, err := schema.River(riverpgxv5.New(pool), func(ctx context.Context, fn func() error) error {
			return withLock(ctx, pool.Config().ConnConfig, fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := step.Migrate(t.Context()); err != nil {
				t.Errorf("concurrent River migrate: %v", err)
			}
		})
	}
	wg.Wait()
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

// TestMigrateDownAndUp: see storetest.RunMigrateDownAndUp.
func TestMigrateDownAndUp(t *testing.T) {
	s := open(t, newDatabase(t))
	defer s.Close()
	storetest.RunMigrateDownAndUp(t, s, func(ctx context.Context) error {
		dir, _ := fs.Sub(migrations, "migrations")
		p, err := goose.NewProvider(goose.DialectPostgres, s.db, dir, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			return err
		}
		_, err = p.DownTo(ctx, 0)
		return err
	})
}
