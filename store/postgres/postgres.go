package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool           *pgxpool.Pool
	db             *sql.DB // the pool seen through database/sql, for goose only
	*schema.Schema         // Migrate and Ready
}

var _ store.Store = (*Store)(nil)

// New connects to the database at dsn (a postgres:// URL or key=value
// string). It does not migrate; see Migrate.
func New(ctx context.Context, dsn string) (*Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// Instances migrating at once wait for each other (retry every 1s, 5 min).
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	dir, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{pool: pool, db: db, Schema: schema.New("postgres", p)}, nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

const columns = "id, state, labels, body, etag, create_time, update_time"

func (s *Store) CreateTenant(ctx context.Context, t *store.Tenant) (*store.Tenant, error) {
	out := store.NewRecord(t)
	_, err := s.pool.Exec(ctx, `INSERT INTO tenants (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $6)`,
		out.ID, out.State, labels(out.Labels), body(out.Body), out.Etag, out.CreateTime)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return nil, store.ErrAlreadyExists
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: create tenant: %w", err)
	}
	return out, nil
}

func (s *Store) GetTenant(ctx context.Context, id string) (*store.Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get tenant: %w", err)
	}
	return t, nil
}

func (s *Store) ListTenants(ctx context.Context, q store.TenantQuery) (*store.TenantPage, error) {
	return store.Paginate(q, func(after string, limit int) ([]*store.Tenant, error) {
		query := `SELECT ` + columns + ` FROM tenants WHERE id > @after`
		args := pgx.NamedArgs{"after": after, "limit": limit}
		if q.State != "" {
			query += ` AND state = @state`
			args["state"] = q.State
		}
		if len(q.Labels) > 0 {
			query += ` AND labels @> @labels::jsonb`
			args["labels"] = q.Labels
		}
		rows, err := s.pool.Query(ctx, query+` ORDER BY id LIMIT @limit`, args)
		if err != nil {
			return nil, fmt.Errorf("postgres: list tenants: %w", err)
		}
		ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Tenant, error) { return scanTenant(r) })
		if err != nil {
			return nil, fmt.Errorf("postgres: list tenants: %w", err)
		}
		return ts, nil
	})
}

func (s *Store) UpdateTenant(ctx context.Context, t *store.Tenant, expectedEtag string) (*store.Tenant, error) {
	out := store.NewRecord(t)
	err := s.pool.QueryRow(ctx, `UPDATE tenants SET state = $2, labels = $3, body = $4, etag = $5, update_time = $6
		WHERE id = $1 AND ($7 = '' OR etag = $7) RETURNING create_time`,
		out.ID, out.State, labels(out.Labels), body(out.Body), out.Etag, out.UpdateTime, expectedEtag).Scan(&out.CreateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.missOrMismatch(ctx, t.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: update tenant: %w", err)
	}
	out.CreateTime = out.CreateTime.UTC()
	return out, nil
}

func (s *Store) DeleteTenant(ctx context.Context, id, expectedEtag string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tenants WHERE id = $1 AND ($2 = '' OR etag = $2)`, id, expectedEtag)
	if err != nil {
		return fmt.Errorf("postgres: delete tenant: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return s.missOrMismatch(ctx, id)
	}
	return nil
}

// missOrMismatch explains a conditional write that matched no row.
func (s *Store) missOrMismatch(ctx context.Context, id string) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !exists {
		return store.ErrNotFound
	}
	return store.ErrEtagMismatch
}

func scanTenant(row pgx.Row) (*store.Tenant, error) {
	var t store.Tenant
	if err := row.Scan(&t.ID, &t.State, &t.Labels, &t.Body, &t.Etag, &t.CreateTime, &t.UpdateTime); err != nil {
		return nil, err
	}
	t.CreateTime, t.UpdateTime = t.CreateTime.UTC(), t.UpdateTime.UTC()
	if len(t.Labels) == 0 {
		t.Labels = nil // as store.NewRecord
	}
	if len(t.Body) == 0 {
		t.Body = nil
	}
	return &t, nil
}

// labels binds m as a JSON object: nil would bind as JSON null.
func labels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// body binds b to the NOT NULL column: nil would bind as NULL.
func body(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
