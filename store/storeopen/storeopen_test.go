package storeopen

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSQLite(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "data", "xdrlink.db")
	b, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := b.Ready(t.Context()); !errors.Is(err, store.ErrMigrationsPending) {
		t.Errorf("Ready after Open = %v, want %v (Open must not migrate)", err, store.ErrMigrationsPending)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(t.Context(), dsn); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	b, err = Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	if err := b.Ready(t.Context()); err != nil {
		t.Errorf("Ready after Migrate: %v", err)
	}
}

func TestPostgresDispatch(t *testing.T) {
	// Nothing listens on port 1: the error shows which backend was tried.
	for _, dsn := range []string{"postgres://127.0.0.1:1/x?connect_timeout=1", "PostgreSQL://127.0.0.1:1/x?connect_timeout=1"} {
		b, err := Open(t.Context(), dsn, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), "postgres:") || b != nil {
			t.Errorf("Open(%q) = %v, %v; want a nil Backend and a postgres error", dsn, b, err)
		}
	}
}

func TestUnknownScheme(t *testing.T) {
	for _, dsn := range []string{"postgress://u:secret@host/db", "mysql://host/db", "sqlite:///tmp/x.db"} {
		if b, err := Open(t.Context(), dsn, Options{}); err == nil || b != nil {
			t.Errorf("Open(%q) = %v, %v; want an error", dsn, b, err)
		}
	}
}
