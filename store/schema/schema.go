// Package schema runs a backend's embedded goose migrations and reports
// whether any are pending, so Migrate and Ready mean the same on every
// backend.
package schema

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/xdrlink/xdrlink/store"
)

// Schema is one backend's migrations.
type Schema struct {
	backend string
	goose   *goose.Provider
}

// New wraps a goose provider; backend names the store in errors.
func New(backend string, p *goose.Provider) *Schema { return &Schema{backend: backend, goose: p} }

// Migrate applies pending migrations; it is a no-op on an up-to-date database.
func (s *Schema) Migrate(ctx context.Context) error {
	if _, err := s.goose.Up(ctx); err != nil {
		return fmt.Errorf("%s: migrate: %w", s.backend, err)
	}
	return nil
}

// Ready returns nil if the database answers and has no pending migrations,
// and store.ErrMigrationsPending if it has.
func (s *Schema) Ready(ctx context.Context) error {
	pending, err := s.goose.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.backend, err)
	}
	if pending {
		return store.ErrMigrationsPending
	}
	return nil
}
