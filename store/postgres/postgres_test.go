package postgres

import (
	"errors"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newDatabase(t *testing.T) string { return storetest.NewPostgresDatabase(t) }

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := New(t.Context(), dsn)
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
