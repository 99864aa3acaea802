// Package schema runs a backend's embedded goose migrations and then River's,
// and reports whether any are pending, so Migrate and Ready mean the same on
// every backend.
package schema

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/xdrlink/xdrlink/store"
)

// Schema is one backend's migrations: its own (goose), then a second step.
type Schema struct {
	backend string
	goose   *goose.Provider
	next    Step
}

// Step is a schema migrated after the backend's own: River's.
type Step struct {
	// Migrate applies the step's pending migrations.
	Migrate func(ctx context.Context) error
	// Pending reports whether the step has migrations to apply.
	Pending func(ctx context.Context) (bool, error)
}

// New wraps a goose provider and the step that follows it; backend names the
// store in errors.
func New(backend string, p *goose.Provider, next Step) *Schema {
	return &Schema{backend: backend, goose: p, next: next}
}

// River returns the step that migrates River's schema through driver. lock,
// if not nil, runs its argument while holding a lock that keeps other
// instances' River migrations out: rivermigrate reads the applied versions
// before its per-version transactions, so two migrators can race.
func River[TTx any](driver riverdriver.Driver[TTx], lock func(ctx context.Context, fn func() error) error) (Step, error) {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return Step{}, err
	}
	if lock == nil {
		lock = func(_ context.Context, fn func() error) error { return fn() }
	}
	return Step{
		Migrate: func(ctx context.Context) error {
			return lock(ctx, func() error {
				_, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
				return err
			})
		},
		Pending: func(ctx context.Context) (bool, error) {
			res, err := m.Validate(ctx, nil)
			if err != nil {
				return false, err
			}
			return !res.OK, nil
		},
	}, nil
}

// Migrate applies pending migrations; it is a no-op on an up-to-date database.
func (s *Schema) Migrate(ctx context.Context) error {
	if _, err := s.goose.Up(ctx); err != nil {
		return fmt.Errorf("%s: migrate: %w", s.backend, err)
	}
	if err := s.next.Migrate(ctx); err != nil {
		return fmt.Errorf("%s: migrate river: %w", s.backend, err)
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
	if !pending {
		if pending, err = s.next.Pending(ctx); err != nil {
			return fmt.Errorf("%s: river schema: %w", s.backend, err)
		}
	}
	if pending {
		return store.ErrMigrationsPending
	}
	return nil
}
