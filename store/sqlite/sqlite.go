package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Memory is the path of a private in-memory database, lost on Close.
const Memory = ":memory:"

// dsnParams: WAL so readers don't block the writer; busy_timeout so writers
// wait for each other; BEGIN IMMEDIATE so a transaction never has to upgrade a
// read lock (which fails with SQLITE_BUSY instead of waiting).
const dsnParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)&_txlock=immediate"

// timeLayout stores times as fixed-width text, so they sort and read back exactly.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Store is a store.Store on a SQLite database.
type Store struct {
	db             *sql.DB
	*schema.Schema // Migrate and Ready
	// get is the prepared GetTenant query, the hottest statement: parsing
	// it on every call cost as much as running it. Prepared on first use,
	// since the table may not exist before Migrate.
	get atomic.Pointer[sql.Stmt]
}

var _ store.Store = (*Store)(nil)

// New opens (creating if missing) the database file at path, or a private
// in-memory database for Memory. It does not migrate; see Migrate.
func New(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + dsnParams
	if path != Memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if path == Memory {
		// Each connection would get its own empty database.
		db.SetMaxOpenConns(1)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	dir, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &Store{db: db, Schema: schema.New("sqlite", p)}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if st := s.get.Load(); st != nil {
		_ = st.Close()
	}
	return s.db.Close()
}

const columns = "id, state, labels, body, etag, create_time, update_time"

func (s *Store) CreateTenant(ctx context.Context, t *store.Tenant) (*store.Tenant, error) {
	out := store.NewRecord(t)
	now := out.CreateTime.Format(timeLayout)
	_, err := s.db.ExecContext(ctx, `INSERT INTO tenants (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		out.ID, out.State, encodeLabels(out.Labels), body(out.Body), out.Etag, now, now)
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return nil, store.ErrAlreadyExists
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: create tenant: %w", err)
	}
	return out, nil
}

func (s *Store) GetTenant(ctx context.Context, id string) (*store.Tenant, error) {
	stmt, err := s.getStmt(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get tenant: %w", err)
	}
	t, err := scanTenant(stmt.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get tenant: %w", err)
	}
	return t, nil
}

func (s *Store) getStmt(ctx context.Context) (*sql.Stmt, error) {
	if st := s.get.Load(); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, `SELECT `+columns+` FROM tenants WHERE id = ?`)
	if err != nil {
		return nil, err
	}
	if !s.get.CompareAndSwap(nil, st) { // another caller won the race
		_ = st.Close()
		return s.get.Load(), nil
	}
	return st, nil
}

func (s *Store) ListTenants(ctx context.Context, q store.TenantQuery) (*store.TenantPage, error) {
	return store.Paginate(q, func(after string, limit int) ([]*store.Tenant, error) {
		query := `SELECT ` + columns + ` FROM tenants WHERE id > @after`
		args := []any{sql.Named("after", after), sql.Named("limit", limit)}
		if q.State != "" {
			query += ` AND state = @state`
			args = append(args, sql.Named("state", q.State))
		}
		if len(q.Labels) > 0 {
			// Every pair of the filter object is in the tenant's labels.
			query += ` AND NOT EXISTS (SELECT 1 FROM json_each(@labels) AS f WHERE NOT EXISTS (
				SELECT 1 FROM json_each(tenants.labels) AS l WHERE l.key = f.key AND l.value = f.value))`
			args = append(args, sql.Named("labels", encodeLabels(q.Labels)))
		}
		rows, err := s.db.QueryContext(ctx, query+` ORDER BY id LIMIT @limit`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tenants: %w", err)
		}
		defer rows.Close()
		var ts []*store.Tenant
		for rows.Next() {
			t, err := scanTenant(rows)
			if err != nil {
				return nil, fmt.Errorf("sqlite: list tenants: %w", err)
			}
			ts = append(ts, t)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: list tenants: %w", err)
		}
		return ts, nil
	})
}

func (s *Store) UpdateTenant(ctx context.Context, t *store.Tenant, expectedEtag string) (*store.Tenant, error) {
	out := store.NewRecord(t)
	var created string
	err := s.db.QueryRowContext(ctx, `UPDATE tenants SET state = ?, labels = ?, body = ?, etag = ?, update_time = ?
		WHERE id = ? AND (? = '' OR etag = ?) RETURNING create_time`,
		out.State, encodeLabels(out.Labels), body(out.Body), out.Etag, out.UpdateTime.Format(timeLayout),
		out.ID, expectedEtag, expectedEtag).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.missOrMismatch(ctx, t.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: update tenant: %w", err)
	}
	if out.CreateTime, err = time.Parse(timeLayout, created); err != nil {
		return nil, fmt.Errorf("sqlite: update tenant: %w", err)
	}
	return out, nil
}

func (s *Store) DeleteTenant(ctx context.Context, id, expectedEtag string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tenants WHERE id = ? AND (? = '' OR etag = ?)`,
		id, expectedEtag, expectedEtag)
	if err != nil {
		return fmt.Errorf("sqlite: delete tenant: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete tenant: %w", err)
	} else if n == 0 {
		return s.missOrMismatch(ctx, id)
	}
	return nil
}

// missOrMismatch explains a conditional write that matched no row.
func (s *Store) missOrMismatch(ctx context.Context, id string) error {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqlite: %w", err)
	}
	return store.ErrEtagMismatch
}

func scanTenant(row interface{ Scan(...any) error }) (*store.Tenant, error) {
	var (
		t                store.Tenant
		labels           string
		created, updated string
	)
	if err := row.Scan(&t.ID, &t.State, &labels, &t.Body, &t.Etag, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(labels), &t.Labels); err != nil {
		return nil, fmt.Errorf("labels of %q: %w", t.ID, err)
	}
	if len(t.Labels) == 0 {
		t.Labels = nil // as store.NewRecord
	}
	if len(t.Body) == 0 {
		t.Body = nil
	}
	var err1, err2 error
	t.CreateTime, err1 = time.Parse(timeLayout, created)
	t.UpdateTime, err2 = time.Parse(timeLayout, updated)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("times of %q: %w", t.ID, err)
	}
	return &t, nil
}

// encodeLabels returns m as a JSON object ({} when empty).
func encodeLabels(m map[string]string) string {
	if m == nil {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

// body binds b to the NOT NULL column: nil would bind as NULL.
func body(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}
