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
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/internal/jobs"
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
	queries // tenant and operation SQL, on the database
	db      *sql.DB
	// read serves the API's reads from a pool of read-only connections: in
	// WAL mode they run beside the single writer connection instead of
	// queueing for it behind River. The same as queries for Memory.
	read           queries
	rdb            *sql.DB
	*schema.Schema // Migrate and Ready
	// get is the prepared GetTenant query, the hottest statement: parsing
	// it on every call cost as much as running it. Prepared on first use,
	// since the table may not exist before Migrate.
	get  atomic.Pointer[sql.Stmt]
	jobs jobs.Client[*sql.Tx]
}

var _ store.Store = (*Store)(nil)

// New opens (creating if missing) the database file at path, or a private
// in-memory database for Memory. It does not migrate; see Migrate.
//
// The database has a single writer connection, as River's SQLite driver
// requires (its concurrent transactions would otherwise fail with
// SQLITE_BUSY): every write, the API's and River's, waits its turn for it,
// and a transaction (InTx) holds it until it ends. Reads outside a
// transaction use a separate pool of read-only connections.
func New(ctx context.Context, path string) (*Store, error) {
	return NewWithOptions(ctx, path, Options{})
}

// Options tunes a Store; the zero value keeps the defaults.
type Options struct {
	// PageTokenKey signs the page tokens of lists; empty is
	// store.DefaultPageTokenKey, which is public. A server passes its own.
	PageTokenKey []byte
}

// NewWithOptions is New with opts.
func NewWithOptions(ctx context.Context, path string, opts Options) (*Store, error) {
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
	// Also needed for Memory: each connection would get its own database.
	db.SetMaxOpenConns(1)
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
	// One connection serialises River's migrator with everything else.
	rv, err := schema.River(riversqlite.New(db), nil)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	rdb := db
	if path != Memory {
		if rdb, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		rdb.SetMaxOpenConns(readConns)
		rdb.SetMaxIdleConns(readConns)
	}
	tokens := store.NewPageTokens(opts.PageTokenKey)
	return &Store{queries: queries{db: db, tokens: tokens}, db: db, read: queries{db: rdb, tokens: tokens}, rdb: rdb,
		Schema: schema.New("sqlite", p, rv)}, nil
}

// readConns bounds the read pool: a few per core serve the API's reads.
const readConns = 8

// The API's reads, on the read pool.

func (s *Store) ListTenants(ctx context.Context, q store.TenantQuery) (*store.TenantPage, error) {
	return s.read.ListTenants(ctx, q)
}

func (s *Store) GetOperation(ctx context.Context, id string) (*store.Operation, error) {
	return s.read.GetOperation(ctx, id)
}

func (s *Store) GetOperationByRequestKey(ctx context.Context, key string) (*store.Operation, error) {
	return s.read.GetOperationByRequestKey(ctx, key)
}

func (s *Store) ListOperations(ctx context.Context, q store.OperationQuery) (*store.OperationPage, error) {
	return s.read.ListOperations(ctx, q)
}

func (s *Store) GetOperationSecret(ctx context.Context, id string) ([]byte, error) {
	return s.read.GetOperationSecret(ctx, id)
}

func (s *Store) CountChildren(ctx context.Context, parent string) (store.ChildCounts, error) {
	return s.read.CountChildren(ctx, parent)
}

func (s *Store) GetVerification(ctx context.Context, tenant, id string) (*store.Verification, error) {
	return s.read.GetVerification(ctx, tenant, id)
}

func (s *Store) ListVerifications(ctx context.Context, q store.VerificationQuery) (*store.VerificationPage, error) {
	return s.read.ListVerifications(ctx, q)
}

func (s *Store) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	return s.read.GetAPIKey(ctx, id)
}

func (s *Store) ListAPIKeys(ctx context.Context, q store.APIKeyQuery) (*store.APIKeyPage, error) {
	return s.read.ListAPIKeys(ctx, q)
}

func (s *Store) ListAuditEvents(ctx context.Context, q store.AuditQuery) (*store.AuditPage, error) {
	return s.read.ListAuditEvents(ctx, q)
}

// Close closes the database. Stop the Jobs first.
func (s *Store) Close() error {
	if st := s.get.Load(); st != nil {
		_ = st.Close()
	}
	var err error
	if s.rdb != s.db {
		err = s.rdb.Close()
	}
	return errors.Join(err, s.db.Close())
}

// OpenJobs creates the River client on the database.
func (s *Store) OpenJobs(cfg *river.Config) (store.Jobs, error) {
	j, err := s.jobs.Open(riversqlite.New(s.db), cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return j, nil
}

// InTx runs fn in a BEGIN IMMEDIATE transaction. fn must not use the Store
// itself: the transaction holds the only connection.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer t.Rollback() // a no-op after Commit
	if err := fn(&tx{queries: queries{db: t, tokens: s.tokens}, tx: t, jobs: &s.jobs}); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// tx is a store.Tx: the same queries, on the transaction.
type tx struct {
	queries
	tx   *sql.Tx
	jobs *jobs.Client[*sql.Tx]
}

func (t *tx) InsertJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	return t.jobs.InsertTx(ctx, t.tx, args, opts)
}

// GetTenant uses the prepared statement; in a transaction, tx.GetTenant
// runs the plain query on the transaction's connection.
func (s *Store) GetTenant(ctx context.Context, id string) (*store.Tenant, error) {
	stmt, err := s.getStmt(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get tenant: %w", err)
	}
	return getTenant(stmt.QueryRowContext(ctx, id))
}

func (s *Store) getStmt(ctx context.Context) (*sql.Stmt, error) {
	if st := s.get.Load(); st != nil {
		return st, nil
	}
	st, err := s.rdb.PrepareContext(ctx, getTenantQuery)
	if err != nil {
		return nil, err
	}
	if !s.get.CompareAndSwap(nil, st) { // another caller won the race
		_ = st.Close()
		return s.get.Load(), nil
	}
	return st, nil
}

// querier is the database or one transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries holds the SQL once for the store and its transactions.
type queries struct {
	db querier
	// tokens signs and checks page tokens (nil: store.DefaultPageTokenKey).
	tokens *store.PageTokens
}

const tenantColumns = "id, state, labels, body, workspace_key, status, etag, create_time, update_time, verdict, access_group"

const getTenantQuery = `SELECT ` + tenantColumns + ` FROM tenants WHERE id = ?`

const insertTenantQuery = `INSERT INTO tenants (` + tenantColumns + `) VALUES (?, ?, ?, ?, ?, x'', ?, ?, ?, '', ?)
	ON CONFLICT DO NOTHING`

// insertTenantArgs are insertTenantQuery's arguments for the record t.
func insertTenantArgs(t *store.Tenant) []any {
	now := t.CreateTime.Format(timeLayout)
	return []any{t.ID, t.State, encodeLabels(t.Labels), body(t.Body), t.WorkspaceKey, t.Etag, now, now, t.AccessGroup}
}

// tenantRules are the uniqueness rules a tenant insert may break, the id's
// first.
func tenantRules(t *store.Tenant) []store.UniqueRule {
	return []store.UniqueRule{
		store.Unique(`SELECT id FROM tenants WHERE id = ?`, t.ID, store.AlreadyExists),
		store.Unique(`SELECT id FROM tenants WHERE workspace_key = ? AND workspace_key <> ''`, t.WorkspaceKey, store.Conflict(store.ConflictWorkspace)),
	}
}

func (q queries) CreateTenant(ctx context.Context, t *store.Tenant) (*store.Tenant, error) {
	out := store.NewRecord(t)
	err := q.insert(ctx, func() (sql.Result, error) {
		return q.db.ExecContext(ctx, insertTenantQuery, insertTenantArgs(out)...)
	}, tenantRules(out)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create tenant: %w", err)
	}
	return out, nil
}

// CreateTenants inserts ts with one prepared statement in one transaction
// on the writer connection. The transaction (BEGIN IMMEDIATE) holds the
// only writer, so the rows a conflict collided with cannot change before
// they are looked up.
func (s *Store) CreateTenants(ctx context.Context, ts []*store.Tenant) ([]*store.Tenant, error) {
	out := store.NewRecords(ts)
	if len(out) == 0 {
		return out, nil
	}
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create tenants: begin: %w", err)
	}
	defer t.Rollback() // a no-op after Commit
	stmt, err := t.PrepareContext(ctx, insertTenantQuery)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create tenants: %w", err)
	}
	defer stmt.Close()
	q := queries{db: t, tokens: s.tokens}
	for i, rec := range out {
		res, err := stmt.ExecContext(ctx, insertTenantArgs(rec)...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: create tenants: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("sqlite: create tenants: %w", err)
		} else if n == 1 {
			continue
		}
		err = q.explain(ctx, tenantRules(rec)...)
		if err == nil {
			err = store.ErrConflict // unreachable while the transaction holds the writer
		}
		return nil, fmt.Errorf("sqlite: create tenants: %w", store.NewItemError(i, err))
	}
	if err := t.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: create tenants: commit: %w", err)
	}
	return out, nil
}

// GetTenant reads without the prepared statement (see Store.GetTenant).
func (q queries) GetTenant(ctx context.Context, id string) (*store.Tenant, error) {
	return getTenant(q.db.QueryRowContext(ctx, getTenantQuery, id))
}

func getTenant(row scanner) (*store.Tenant, error) {
	t, err := scanTenant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get tenant: %w", err)
	}
	return t, nil
}

func (q queries) ListTenants(ctx context.Context, tq store.TenantQuery) (*store.TenantPage, error) {
	return q.tokens.Paginate(tq, func(after string, limit int) ([]*store.Tenant, error) {
		query := `SELECT ` + tenantColumns + ` FROM tenants WHERE id > @after`
		args := []any{sql.Named("after", after), sql.Named("limit", limit)}
		if tq.State != "" {
			query += ` AND state = @state`
			args = append(args, sql.Named("state", tq.State))
		}
		if tq.Verdict != "" {
			query += ` AND verdict = @verdict`
			args = append(args, sql.Named("verdict", tq.Verdict))
		}
		if len(tq.Labels) > 0 {
			// Every pair of the filter object is in the tenant's labels.
			query += ` AND NOT EXISTS (SELECT 1 FROM json_each(@labels) AS f WHERE NOT EXISTS (
				SELECT 1 FROM json_each(tenants.labels) AS l WHERE l.key = f.key AND l.value = f.value))`
			args = append(args, sql.Named("labels", encodeLabels(tq.Labels)))
		}
		if tq.Scope != nil {
			query += ` AND access_group IN (SELECT value FROM json_each(@groups))`
			args = append(args, sql.Named("groups", encodeList(store.ScopeGroups(tq.Scope))))
		}
		rows, err := q.db.QueryContext(ctx, query+` ORDER BY id LIMIT @limit`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tenants: %w", err)
		}
		ts, err := collect(rows, scanTenant)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tenants: %w", err)
		}
		return ts, nil
	})
}

// UpdateTenant runs in a transaction, so that the tenant's operations move
// with it to its new access group (see queries.UpdateTenant).
func (s *Store) UpdateTenant(ctx context.Context, t *store.Tenant, expectedEtag string) (*store.Tenant, error) {
	var out *store.Tenant
	err := s.InTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.UpdateTenant(ctx, t, expectedEtag)
		return err
	})
	return out, err
}

// UpdateTenant also sets the access group of the tenant's operations,
// which must run in the same transaction (Store.UpdateTenant starts one).
func (q queries) UpdateTenant(ctx context.Context, t *store.Tenant, expectedEtag string) (*store.Tenant, error) {
	out := store.NewRecord(t)
	var created string
	err := q.db.QueryRowContext(ctx, `UPDATE tenants SET labels = ?, body = ?, workspace_key = ?, access_group = ?, etag = ?, update_time = ?
		WHERE id = ? AND (? = '' OR etag = ?) AND (? = '' OR state = ?) RETURNING state, status, verdict, create_time`,
		encodeLabels(out.Labels), body(out.Body), out.WorkspaceKey, out.AccessGroup, out.Etag, out.UpdateTime.Format(timeLayout),
		out.ID, expectedEtag, expectedEtag, t.RequireState, t.RequireState).Scan(&out.State, &out.Status, &out.Verdict, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, q.missOrMismatch(ctx, "tenants", t.ID)
	case sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE: // the only unique column it sets
		return nil, q.explain(ctx, store.Unique(`SELECT id FROM tenants WHERE workspace_key = ?`, out.WorkspaceKey, store.Conflict(store.ConflictWorkspace)))
	case err != nil:
		return nil, fmt.Errorf("sqlite: update tenant: %w", err)
	}
	out.Status = nilIfEmpty(out.Status) // as scanTenant
	if out.CreateTime, err = time.Parse(timeLayout, created); err != nil {
		return nil, fmt.Errorf("sqlite: update tenant: %w", err)
	}
	// The operations follow their tenant's group. Those already in it are
	// left alone, so an update that keeps the group writes none. Neither
	// Version nor UpdateTime changes: the group is not part of what
	// watchers compare, and a worker's update by Version must not fail
	// because the tenant moved.
	if _, err := q.db.ExecContext(ctx, `UPDATE operations SET access_group = ? WHERE tenant = ? AND access_group <> ?`,
		out.AccessGroup, out.ID, out.AccessGroup); err != nil {
		return nil, fmt.Errorf("sqlite: update tenant: operations: %w", err)
	}
	return out, nil
}

// DeleteTenant also deletes the tenant's verifications (ON DELETE CASCADE).
func (q queries) DeleteTenant(ctx context.Context, id, expectedEtag string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM tenants WHERE id = ? AND (? = '' OR etag = ?)`,
		id, expectedEtag, expectedEtag)
	if err != nil {
		return fmt.Errorf("sqlite: delete tenant: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete tenant: %w", err)
	} else if n == 0 {
		return q.missOrMismatch(ctx, "tenants", id)
	}
	return nil
}

func (q queries) UpdateTenantStatus(ctx context.Context, id, state string, status []byte) error {
	res, err := q.db.ExecContext(ctx, `UPDATE tenants SET state = ?, status = ? WHERE id = ?`, state, body(status), id)
	return q.mustAffect(res, err, "update tenant status")
}

const verificationColumns = "tenant_id, id, operation_id, verdict, body, create_time"

// CreateVerification runs in a transaction, so that the report, the
// tenant's verdict and the pruning are written together.
func (s *Store) CreateVerification(ctx context.Context, v *store.Verification, keep int) error {
	return s.InTx(ctx, func(tx store.Tx) error { return tx.CreateVerification(ctx, v, keep) })
}

// CreateVerification writes nothing before it knows it will succeed, so
// that ErrNotFound and ErrAlreadyExists leave a caller's transaction as it
// was. Its transaction holds the only writer: the tenant cannot go away
// before it ends.
func (q queries) CreateVerification(ctx context.Context, v *store.Verification, keep int) error {
	rec := store.NewVerification(v)
	var one int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, rec.Tenant).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlite: create verification: %w", err)
	}
	res, err := q.db.ExecContext(ctx, `INSERT INTO verifications (`+verificationColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, rec.Tenant, rec.ID, rec.Operation, rec.Verdict, body(rec.Body), rec.CreateTime.Format(timeLayout))
	if err != nil {
		return fmt.Errorf("sqlite: create verification: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: create verification: %w", err)
	} else if n == 0 {
		return store.ErrAlreadyExists
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE tenants SET verdict = ? WHERE id = ?`, rec.Verdict, rec.Tenant); err != nil {
		return fmt.Errorf("sqlite: create verification: %w", err)
	}
	if keep > 0 {
		// Everything older than the keep-th newest (nothing when there are
		// fewer: the comparison with no row is NULL).
		if _, err := q.db.ExecContext(ctx, `DELETE FROM verifications WHERE tenant_id = ?1 AND (create_time, id) < (
			SELECT create_time, id FROM verifications WHERE tenant_id = ?1
			ORDER BY create_time DESC, id DESC LIMIT 1 OFFSET ?2)`, rec.Tenant, keep-1); err != nil {
			return fmt.Errorf("sqlite: create verification: prune: %w", err)
		}
	}
	return nil
}

func (q queries) GetVerification(ctx context.Context, tenant, id string) (*store.Verification, error) {
	v, err := scanVerification(q.db.QueryRowContext(ctx, `SELECT `+verificationColumns+` FROM verifications
		WHERE tenant_id = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get verification: %w", err)
	}
	return v, nil
}

func (q queries) ListVerifications(ctx context.Context, vq store.VerificationQuery) (*store.VerificationPage, error) {
	return q.tokens.PaginateVerifications(vq, func(after *store.Cursor, limit int) ([]*store.Verification, error) {
		query := `SELECT ` + verificationColumns + ` FROM verifications WHERE tenant_id = @tenant`
		args := []any{sql.Named("tenant", vq.Tenant), sql.Named("limit", limit)}
		if after != nil {
			query += ` AND (create_time, id) < (@after_time, @after_id)`
			args = append(args, sql.Named("after_time", after.CreateTime.Format(timeLayout)), sql.Named("after_id", after.ID))
		}
		rows, err := q.db.QueryContext(ctx, query+` ORDER BY create_time DESC, id DESC LIMIT @limit`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list verifications: %w", err)
		}
		vs, err := collect(rows, scanVerification)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list verifications: %w", err)
		}
		return vs, nil
	})
}

const opColumns = "id, tenant, kind, state, parent, exclusive, request_key, request_hash, job_id, done, body, version, create_time, update_time, end_time, " +
	"access_group, caller"

func (q queries) CreateOperation(ctx context.Context, op *store.Operation) (*store.Operation, error) {
	out := store.NewOperation(op)
	now := out.CreateTime.Format(timeLayout)
	rules := []store.UniqueRule{
		store.Unique(`SELECT id FROM operations WHERE id = ?`, out.ID, store.AlreadyExists),
		store.Unique(`SELECT id FROM operations WHERE request_key = ? AND request_key <> ''`, out.RequestKey, store.Conflict(store.ConflictRequestKey)),
	}
	if out.Exclusive && !out.Done {
		rules = append(rules, store.Unique(`SELECT id FROM operations WHERE tenant = ? AND exclusive AND NOT done`, out.Tenant, store.Conflict(store.ConflictActiveOperation)))
	}
	err := q.insert(ctx, func() (sql.Result, error) {
		// The access group is the tenant's as this (only) writer sees it,
		// so a move of the tenant cannot slip between.
		return q.db.ExecContext(ctx, `INSERT INTO operations (`+opColumns+`)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, COALESCE((SELECT access_group FROM tenants WHERE id = ?), ?), ?
			WHERE true ON CONFLICT DO NOTHING`,
			out.ID, out.Tenant, out.Kind, out.State, out.Parent, out.Exclusive, out.RequestKey, body(out.RequestHash),
			out.JobID, out.Done, body(out.Body), now, now, endTime(out.EndTime), out.Tenant, out.AccessGroup, out.Caller)
	}, rules...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create operation: %w", err)
	}
	return out, nil
}

func (q queries) GetOperation(ctx context.Context, id string) (*store.Operation, error) {
	return q.getOperation(ctx, `id`, id)
}

func (q queries) GetOperationByRequestKey(ctx context.Context, key string) (*store.Operation, error) {
	if key == "" {
		return nil, store.ErrNotFound // '' means "no key"
	}
	return q.getOperation(ctx, `request_key`, key)
}

func (q queries) getOperation(ctx context.Context, column, value string) (*store.Operation, error) {
	op, err := scanOperation(q.db.QueryRowContext(ctx, `SELECT `+opColumns+` FROM operations WHERE `+column+` = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get operation: %w", err)
	}
	return op, nil
}

func (q queries) ListOperations(ctx context.Context, oq store.OperationQuery) (*store.OperationPage, error) {
	return q.tokens.PaginateOperations(oq, func(after *store.OperationCursor, limit int) ([]*store.Operation, error) {
		query := `SELECT ` + opColumns + ` FROM operations WHERE true`
		args := []any{sql.Named("limit", limit)}
		for _, f := range []struct{ column, value string }{
			{"tenant", oq.Tenant}, {"kind", oq.Kind}, {"state", oq.State}, {"parent", oq.Parent},
		} {
			if f.value != "" {
				query += ` AND ` + f.column + ` = @` + f.column
				args = append(args, sql.Named(f.column, f.value))
			}
		}
		if oq.Scope != nil {
			scope := `access_group IN (SELECT value FROM json_each(@groups))`
			args = append(args, sql.Named("groups", encodeList(store.ScopeGroups(oq.Scope))))
			if oq.Scope.Caller != "" {
				scope += ` OR caller = @caller`
				args = append(args, sql.Named("caller", oq.Scope.Caller))
			}
			query += ` AND (` + scope + `)`
		}
		if after != nil {
			query += ` AND (create_time, id) < (@after_time, @after_id)`
			args = append(args, sql.Named("after_time", after.CreateTime.Format(timeLayout)), sql.Named("after_id", after.ID))
		}
		rows, err := q.db.QueryContext(ctx, query+` ORDER BY create_time DESC, id DESC LIMIT @limit`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list operations: %w", err)
		}
		ops, err := collect(rows, scanOperation)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list operations: %w", err)
		}
		return ops, nil
	})
}

func (q queries) UpdateOperation(ctx context.Context, op *store.Operation) (*store.Operation, error) {
	now := store.Now().Format(timeLayout)
	out, err := scanOperation(q.db.QueryRowContext(ctx, `UPDATE operations
		SET state = ?, done = ?, body = ?, version = version + 1, update_time = ?,
			end_time = CASE WHEN ? THEN coalesce(end_time, ?) END,
			job_id = CASE WHEN ? <> 0 THEN ? ELSE job_id END
		WHERE id = ? AND version = ? RETURNING `+opColumns,
		op.State, op.Done, body(op.Body), now, op.Done, now, op.JobID, op.JobID, op.ID, op.Version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, q.missOrMismatch(ctx, "operations", op.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: update operation: %w", err)
	}
	return out, nil
}

func (q queries) CountChildren(ctx context.Context, parent string) (store.ChildCounts, error) {
	c := store.ChildCounts{ByState: map[string]int{}}
	rows, err := q.db.QueryContext(ctx, `SELECT state, job_id = 0 AND NOT done, count(*) FROM operations
		WHERE parent = ? AND parent <> '' GROUP BY 1, 2`, parent)
	if err != nil {
		return c, fmt.Errorf("sqlite: count children: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			state  string
			queued bool
			n      int
		)
		if err := rows.Scan(&state, &queued, &n); err != nil {
			return c, fmt.Errorf("sqlite: count children: %w", err)
		}
		c.ByState[state] += n
		c.Total += n
		if queued {
			c.Queued += n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("sqlite: count children: %w", err)
	}
	return c, nil
}

// LockBatch needs no lock: the transaction holds the only writer
// connection, so no other transaction starts children meanwhile.
func (q queries) LockBatch(ctx context.Context, parent, idle string) (int, error) {
	var active int
	if err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM operations
		WHERE parent = ? AND parent <> '' AND NOT done AND job_id <> 0 AND state <> ?`, parent, idle).Scan(&active); err != nil {
		return 0, fmt.Errorf("sqlite: lock batch: %w", err)
	}
	return active, nil
}

func (q queries) ClaimChildren(ctx context.Context, parent string, n int) ([]*store.Operation, error) {
	if n == 0 {
		return nil, nil
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+opColumns+` FROM operations
		WHERE parent = ? AND job_id = 0 AND NOT done AND parent <> '' ORDER BY id LIMIT ?`, parent, max(n, -1))
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim children: %w", err)
	}
	ops, err := collect(rows, scanOperation)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim children: %w", err)
	}
	return ops, nil
}

func (s *Store) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	now := store.Now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO leases (key, holder, expire_time) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expire_time = excluded.expire_time
		WHERE leases.holder = excluded.holder OR leases.expire_time <= ?`,
		key, holder, now.Add(ttl).Format(timeLayout), now.Format(timeLayout))
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease: %w", err)
	}
	return n == 1, nil
}

func (s *Store) ReleaseLease(ctx context.Context, key, holder string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE key = ? AND holder = ?`, key, holder); err != nil {
		return fmt.Errorf("sqlite: release lease: %w", err)
	}
	return nil
}

func (s *Store) CountLeases(ctx context.Context, prefix string) (int, error) {
	return s.read.CountLeases(ctx, prefix)
}

func (q queries) CountLeases(ctx context.Context, prefix string) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM leases WHERE substr(key, 1, ?) = ? AND expire_time > ?`,
		len(prefix), prefix, store.Now().Format(timeLayout)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count leases: %w", err)
	}
	return n, nil
}

func (q queries) DeleteOperation(ctx context.Context, id string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM operations WHERE id = ? AND done`, id)
	err = q.mustAffect(res, err, "delete operation")
	if errors.Is(err, store.ErrNotFound) {
		var one int
		if err := q.db.QueryRowContext(ctx, `SELECT 1 FROM operations WHERE id = ?`, id).Scan(&one); err == nil {
			return fmt.Errorf("operation %q is not done: %w", id, store.ErrConflict)
		}
	}
	return err
}

func (q queries) PutOperationSecret(ctx context.Context, id string, sealed []byte) error {
	// Selecting the operation makes a missing one insert nothing (ErrNotFound).
	res, err := q.db.ExecContext(ctx, `INSERT INTO operation_secrets (operation_id, sealed, update_time)
		SELECT id, ?, ? FROM operations WHERE id = ?
		ON CONFLICT (operation_id) DO UPDATE SET sealed = excluded.sealed, update_time = excluded.update_time`,
		body(sealed), store.Now().Format(timeLayout), id)
	return q.mustAffect(res, err, "put operation secret")
}

func (q queries) GetOperationSecret(ctx context.Context, id string) ([]byte, error) {
	var sealed []byte
	err := q.db.QueryRowContext(ctx, `SELECT sealed FROM operation_secrets WHERE operation_id = ?`, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get operation secret: %w", err)
	}
	return sealed, nil
}

func (q queries) DeleteOperationSecret(ctx context.Context, id string) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM operation_secrets WHERE operation_id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: delete operation secret: %w", err)
	}
	return nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING (so a conflict leaves a
// transaction usable) and, when it inserted nothing, returns the error of
// the first rule whose colliding row is found. If none is (the row went
// away meanwhile), it tries again.
func (q queries) insert(ctx context.Context, exec func() (sql.Result, error), rules ...store.UniqueRule) error {
	for range 3 {
		res, err := exec()
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		if err := q.explain(ctx, rules...); err != nil {
			return err
		}
	}
	return store.ErrConflict
}

// explain returns the error of the first rule whose row exists, or nil.
func (q queries) explain(ctx context.Context, rules ...store.UniqueRule) error {
	for _, r := range rules {
		var with string
		err := q.db.QueryRowContext(ctx, r.Query+` LIMIT 1`, r.Arg).Scan(&with)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		return r.Err(with)
	}
	return nil
}

// mustAffect turns an Exec that matched no row into ErrNotFound.
func (q queries) mustAffect(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// missOrMismatch explains a conditional write that matched no row.
func (q queries) missOrMismatch(ctx context.Context, table, id string) error {
	var one int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqlite: %w", err)
	}
	return store.ErrEtagMismatch
}

type scanner interface{ Scan(...any) error }

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanTenant(row scanner) (*store.Tenant, error) {
	var (
		t                store.Tenant
		labels           string
		created, updated string
	)
	if err := row.Scan(&t.ID, &t.State, &labels, &t.Body, &t.WorkspaceKey, &t.Status, &t.Etag, &created, &updated, &t.Verdict, &t.AccessGroup); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(labels), &t.Labels); err != nil {
		return nil, fmt.Errorf("labels of %q: %w", t.ID, err)
	}
	if len(t.Labels) == 0 {
		t.Labels = nil // as store.NewRecord
	}
	t.Body, t.Status = nilIfEmpty(t.Body), nilIfEmpty(t.Status)
	var err1, err2 error
	t.CreateTime, err1 = time.Parse(timeLayout, created)
	t.UpdateTime, err2 = time.Parse(timeLayout, updated)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("times of %q: %w", t.ID, err)
	}
	return &t, nil
}

func scanOperation(row scanner) (*store.Operation, error) {
	var (
		op               store.Operation
		created, updated string
		ended            sql.NullString
	)
	if err := row.Scan(&op.ID, &op.Tenant, &op.Kind, &op.State, &op.Parent, &op.Exclusive, &op.RequestKey,
		&op.RequestHash, &op.JobID, &op.Done, &op.Body, &op.Version, &created, &updated, &ended, &op.AccessGroup, &op.Caller); err != nil {
		return nil, err
	}
	op.RequestHash, op.Body = nilIfEmpty(op.RequestHash), nilIfEmpty(op.Body)
	var err1, err2, err3 error
	op.CreateTime, err1 = time.Parse(timeLayout, created)
	op.UpdateTime, err2 = time.Parse(timeLayout, updated)
	if ended.Valid {
		op.EndTime, err3 = time.Parse(timeLayout, ended.String)
	}
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("times of %q: %w", op.ID, err)
	}
	return &op, nil
}

func scanVerification(row scanner) (*store.Verification, error) {
	var (
		v       store.Verification
		created string
	)
	if err := row.Scan(&v.Tenant, &v.ID, &v.Operation, &v.Verdict, &v.Body, &created); err != nil {
		return nil, err
	}
	v.Body = nilIfEmpty(v.Body)
	var err error
	if v.CreateTime, err = time.Parse(timeLayout, created); err != nil {
		return nil, fmt.Errorf("time of verification %q of %q: %w", v.ID, v.Tenant, err)
	}
	return &v, nil
}

// endTime binds a zero time as NULL.
func endTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(timeLayout)
}

// encodeLabels returns m as a JSON object ({} when empty).
func encodeLabels(m map[string]string) string {
	if m == nil {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

// encodeList returns l as a JSON array, for json_each.
func encodeList(l []string) string {
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// body binds b to a NOT NULL column: nil would bind as NULL.
func body(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nilIfEmpty makes empty bytes read back nil, as the store.New* helpers
// write them.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
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
