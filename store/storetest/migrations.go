package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/xdrlink/xdrlink/store"
)

// Migrator is a backend that migrates itself.
type Migrator interface {
	store.Store
	Migrate(ctx context.Context) error
}

// RunMigrateDownAndUp checks that every migration's Down section undoes its
// Up on a database holding rows, so that a rollback and a second Up both
// work: s is migrated, given rows, taken down by down (all the way), and
// migrated again; Ready must fail in between and pass after.
func RunMigrateDownAndUp(t *testing.T, s Migrator, down func(context.Context) error) {
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTenant(ctx, &store.Tenant{ID: "t", State: "S", AccessGroup: "g"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOperation(ctx, &store.Operation{ID: "op", Tenant: "t", Kind: "K", State: "S", AccessGroup: "g", Caller: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, &store.APIKey{ID: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := s.Ready(ctx); !errors.Is(err, store.ErrMigrationsPending) {
		t.Errorf("Ready after down = %v, want %v", err, store.ErrMigrationsPending)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready after up again: %v", err)
	}
}
