package postgres

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/internal/jobs"
	"github.com/xdrlink/xdrlink/store/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	queries        // tenant and operation SQL, on the pool
	pool           *pgxpool.Pool
	db             *sql.DB // the pool seen through database/sql, for goose only
	*schema.Schema         // Migrate and Ready
	jobs           jobs.Client[pgx.Tx]
}

var _ store.Store = (*Store)(nil)

// Options tunes the connection pool.
type Options struct {
	// MaxConns caps the pool, shared by the API and River (whose client
	// holds one connection to listen for notifications and uses more to
	// fetch and complete jobs). 0 keeps pgxpool's default: the DSN's
	// pool_max_conns, else the greater of 4 and the number of CPUs.
	MaxConns int32
	// PageTokenKey signs the page tokens of lists; empty is
	// store.DefaultPageTokenKey, which is public. A server passes its own.
	PageTokenKey []byte
}

// New connects to the database at dsn (a postgres:// URL or key=value
// string). It does not migrate; see Migrate.
func New(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	fail := func(err error) (*Store, error) {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Instances migrating at once wait for each other (retry every 1s, 5 min).
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fail(err)
	}
	dir, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fail(err)
	}
	rv, err := schema.River(riverpgxv5.New(pool), func(ctx context.Context, fn func() error) error {
		return withLock(ctx, pool.Config().ConnConfig, fn)
	})
	if err != nil {
		return fail(err)
	}
	return &Store{queries: queries{db: pool, tokens: store.NewPageTokens(opts.PageTokenKey)}, pool: pool, db: db, Schema: schema.New("postgres", p, rv)}, nil
}

// riverMigrateLock is the advisory lock key ("xdrlrivr") that serialises
// River's migrations across instances; goose uses its own key.
const riverMigrateLock = 0x7864726c72697672

// withLock runs fn holding riverMigrateLock, on a connection of its own so
// that fn may use every connection of the pool (even a pool of one).
// Closing the connection releases the lock, even if the unlock is never sent.
func withLock(ctx context.Context, cfg *pgx.ConnConfig, fn func() error) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(riverMigrateLock)); err != nil {
		return err
	}
	return fn()
}

// Close closes the connection pool. Stop the Jobs first.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// OpenJobs creates the River client on the pool.
func (s *Store) OpenJobs(cfg *river.Config) (store.Jobs, error) {
	j, err := s.jobs.Open(riverpgxv5.New(s.pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return j, nil
}

// InTx runs fn in a read-committed transaction on one pooled connection.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(t pgx.Tx) error {
		return fn(&tx{queries: queries{db: t, tokens: s.tokens}, tx: t, jobs: &s.jobs})
	})
}

// tx is a store.Tx: the same queries, on the transaction.
type tx struct {
	queries
	tx   pgx.Tx
	jobs *jobs.Client[pgx.Tx]
}

func (t *tx) InsertJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	return t.jobs.InsertTx(ctx, t.tx, args, opts)
}

// querier is the pool or one transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queries holds the SQL once for the store and its transactions.
type queries struct {
	db querier
	// tokens signs and checks page tokens (nil: store.DefaultPageTokenKey).
	tokens *store.PageTokens
}

const tenantColumns = "id, state, labels, body, workspace_key, status, etag, create_time, update_time, verdict, access_group"

// tenantRules are the uniqueness rules a tenant insert may break, the id's
// first.
func tenantRules(t *store.Tenant) []store.UniqueRule {
	return []store.UniqueRule{
		store.Unique(`SELECT id FROM tenants WHERE id = $1`, t.ID, store.AlreadyExists),
		store.Unique(`SELECT id FROM tenants WHERE workspace_key = $1 AND workspace_key <> ''`, t.WorkspaceKey, store.Conflict(store.ConflictWorkspace)),
	}
}

func (q queries) CreateTenant(ctx context.Context, t *store.Tenant) (*store.Tenant, error) {
	out := store.NewRecord(t)
	err := q.insert(ctx, func() (pgconn.CommandTag, error) {
		return q.db.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, '', $6, $7, $7, '', $8)
			ON CONFLICT DO NOTHING`,
			out.ID, out.State, labels(out.Labels), body(out.Body), out.WorkspaceKey, out.Etag, out.CreateTime, out.AccessGroup)
	}, tenantRules(out)...)
	if err != nil {
		return nil, fmt.Errorf("postgres: create tenant: %w", err)
	}
	return out, nil
}

// insertTenants inserts a batch in one statement, so in one round trip
// however many rows: unnest turns one array per column into rows, in the
// batch's order (ORDER BY the ordinality), so that of two rows that collide
// the earlier one is stored. ON CONFLICT DO NOTHING leaves the transaction
// usable to look up what a skipped row collided with; RETURNING the etags,
// unique per record, tells which rows were stored.
const insertTenants = `INSERT INTO tenants (` + tenantColumns + `)
	SELECT id, state, labels::jsonb, body, workspace_key, '', etag, $7, $7, '', access_group
	FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[], $8::text[])
		WITH ORDINALITY AS r(id, state, labels, body, workspace_key, etag, access_group, n)
	ORDER BY n
	ON CONFLICT DO NOTHING
	RETURNING etag`

// errCollisionGone: a row was skipped, but what it collided with was gone
// when looked up (deleted meanwhile by another transaction).
var errCollisionGone = fmt.Errorf("the colliding row went away: %w", store.ErrConflict)

// createTenantsAttempts bounds the retries of a batch that lost a deadlock
// to another batch or whose collision could not be explained.
const createTenantsAttempts = 3

func (s *Store) CreateTenants(ctx context.Context, ts []*store.Tenant) ([]*store.Tenant, error) {
	out := store.NewRecords(ts)
	if len(out) == 0 {
		return out, nil
	}
	n := len(out)
	ids, states, lbls, keys, etags, groups := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	bodies := make([][]byte, n)
	for i, t := range out {
		lb, err := json.Marshal(labels(t.Labels))
		if err != nil {
			return nil, fmt.Errorf("postgres: create tenants: %w", err)
		}
		ids[i], states[i], lbls[i], keys[i], etags[i], bodies[i] = t.ID, t.State, string(lb), t.WorkspaceKey, t.Etag, body(t.Body)
		groups[i] = t.AccessGroup
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, insertTenants, ids, states, lbls, bodies, keys, etags, out[0].CreateTime, groups)
			if err != nil {
				return err
			}
			stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil || len(stored) == n {
				return err
			}
			inserted := make(map[string]bool, len(stored))
			for _, e := range stored {
				inserted[e] = true
			}
			for i, t := range out {
				if inserted[t.Etag] {
					continue
				}
				err := (queries{db: tx, tokens: s.tokens}).explain(ctx, tenantRules(t)...)
				if err == nil {
					err = errCollisionGone
				}
				return store.NewItemError(i, err) // rolls back: nothing is stored
			}
			return fmt.Errorf("stored %d of %d rows", len(stored), n) // unreachable; rolls back
		})
		// Two batches inserting the same ids or workspaces in different
		// orders can wait for each other: PostgreSQL aborts one, which
		// retries and then sees the other's rows.
		var pgErr *pgconn.PgError
		retry := errors.Is(err, errCollisionGone) || (errors.As(err, &pgErr) && pgErr.Code == "40P01")
		if !retry || attempt == createTenantsAttempts {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: create tenants: %w", err)
	}
	return out, nil
}

func (q queries) GetTenant(ctx context.Context, id string) (*store.Tenant, error) {
	t, err := scanTenant(q.db.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get tenant: %w", err)
	}
	return t, nil
}

func (q queries) ListTenants(ctx context.Context, tq store.TenantQuery) (*store.TenantPage, error) {
	return q.tokens.Paginate(tq, func(after string, limit int) ([]*store.Tenant, error) {
		query := `SELECT ` + tenantColumns + ` FROM tenants WHERE id > @after`
		args := pgx.NamedArgs{"after": after, "limit": limit}
		if tq.State != "" {
			query += ` AND state = @state`
			args["state"] = tq.State
		}
		if tq.Verdict != "" {
			query += ` AND verdict = @verdict`
			args["verdict"] = tq.Verdict
		}
		if len(tq.Labels) > 0 {
			query += ` AND labels @> @labels::jsonb`
			args["labels"] = tq.Labels
		}
		if tq.Scope != nil {
			query += ` AND access_group = ANY(@groups::text[])`
			args["groups"] = store.ScopeGroups(tq.Scope)
		}
		rows, err := q.db.Query(ctx, query+` ORDER BY id LIMIT @limit`, args)
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

// UpdateTenant runs in a transaction, so that the tenant's operations move
// with it to its new access group (see queries.UpdateTenant).
func (s *Store) UpdateTenant(ctx context.Context, t *store.Tenant, expectedEtag string) (*store.Tenant, error) {
	var out *store.Tenant
	err := s.InTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.UpdateTenant(ctx, t, expectedEtag)
		return err
	})
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Rule == store.ConflictWorkspace && ce.With == "" {
		// The violation aborted the transaction: name the holder from
		// outside it. If it went away meanwhile, the conflict stands unnamed.
		if named := s.explain(ctx, workspaceRule(t.WorkspaceKey)); named != nil {
			return nil, named
		}
	}
	return out, err
}

func workspaceRule(key string) store.UniqueRule {
	return store.Unique(`SELECT id FROM tenants WHERE workspace_key = $1 AND workspace_key <> ''`, key, store.Conflict(store.ConflictWorkspace))
}

// UpdateTenant also sets the access group of the tenant's operations,
// which must run in the same transaction (Store.UpdateTenant starts one).
// A taken WorkspaceKey aborts the transaction, so the *ConflictError cannot
// name the holder (With is empty); Store.UpdateTenant names it.
func (q queries) UpdateTenant(ctx context.Context, t *store.Tenant, expectedEtag string) (*store.Tenant, error) {
	out := store.NewRecord(t)
	// Lock the tenant first, waiting for an update in progress to commit:
	// the statements that follow then see the group and the operations as
	// it left them. (A single statement would decide which operations to
	// move from a snapshot taken before that wait, and could leave some in
	// the group the other update moved them to.)
	var old string
	err := q.db.QueryRow(ctx, `SELECT access_group FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, t.ID).Scan(&old)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: update tenant: %w", err)
	}
	err = q.db.QueryRow(ctx, `UPDATE tenants SET labels = $2, body = $3, workspace_key = $4, access_group = $5, etag = $6, update_time = $7
		WHERE id = $1 AND ($8 = '' OR etag = $8) AND ($9 = '' OR state = $9) RETURNING state, status, verdict, create_time`,
		out.ID, labels(out.Labels), body(out.Body), out.WorkspaceKey, out.AccessGroup, out.Etag, out.UpdateTime, expectedEtag, t.RequireState).
		Scan(&out.State, &out.Status, &out.Verdict, &out.CreateTime)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, q.missOrMismatch(ctx, "tenants", t.ID)
	case errors.As(err, &pgErr) && pgErr.ConstraintName == "tenants_workspace_key":
		return nil, &store.ConflictError{Rule: store.ConflictWorkspace}
	case err != nil:
		return nil, fmt.Errorf("postgres: update tenant: %w", err)
	}
	out.CreateTime = out.CreateTime.UTC()
	out.Status = nilIfEmpty(out.Status) // as scanTenant
	if old != out.AccessGroup {
		// Neither Version nor UpdateTime changes: the group is not part of
		// what watchers compare, and a worker's update by Version must not
		// fail because the tenant moved.
		if _, err := q.db.Exec(ctx, `UPDATE operations SET access_group = $2 WHERE tenant = $1 AND access_group <> $2`,
			out.ID, out.AccessGroup); err != nil {
			return nil, fmt.Errorf("postgres: update tenant: operations: %w", err)
		}
	}
	return out, nil
}

// DeleteTenant also deletes the tenant's verifications (ON DELETE CASCADE).
func (q queries) DeleteTenant(ctx context.Context, id, expectedEtag string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM tenants WHERE id = $1 AND ($2 = '' OR etag = $2)`, id, expectedEtag)
	if err != nil {
		return fmt.Errorf("postgres: delete tenant: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return q.missOrMismatch(ctx, "tenants", id)
	}
	return nil
}

func (q queries) UpdateTenantStatus(ctx context.Context, id, state string, status []byte) error {
	tag, err := q.db.Exec(ctx, `UPDATE tenants SET state = $2, status = $3 WHERE id = $1`, id, state, body(status))
	return mustAffect(tag, err, "update tenant status")
}

const verificationColumns = "tenant_id, id, operation_id, verdict, body, create_time"

// CreateVerification runs in a transaction, so that the report, the
// tenant's verdict and the pruning are written together.
func (s *Store) CreateVerification(ctx context.Context, v *store.Verification, keep int) error {
	return s.InTx(ctx, func(tx store.Tx) error { return tx.CreateVerification(ctx, v, keep) })
}

// CreateVerification writes nothing before it knows it will succeed, so
// that ErrNotFound and ErrAlreadyExists leave a caller's transaction usable
// and as it was.
func (q queries) CreateVerification(ctx context.Context, v *store.Verification, keep int) error {
	rec := store.NewVerification(v)
	// Lock the tenant's row first, as strongly as the verdict's update will:
	// taking it in two steps (the insert's foreign key check, then the
	// update) deadlocks with a concurrent DeleteTenant. The lock also keeps
	// the tenant until the transaction ends, and serializes the creates for
	// one tenant, so that each prunes what the ones before it inserted.
	var one int
	err := q.db.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE`, rec.Tenant).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: create verification: %w", err)
	}
	tag, err := q.db.Exec(ctx, `INSERT INTO verifications (`+verificationColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`, rec.Tenant, rec.ID, rec.Operation, rec.Verdict, body(rec.Body), rec.CreateTime)
	if err != nil {
		return fmt.Errorf("postgres: create verification: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrAlreadyExists
	}
	if _, err := q.db.Exec(ctx, `UPDATE tenants SET verdict = $2 WHERE id = $1`, rec.Tenant, rec.Verdict); err != nil {
		return fmt.Errorf("postgres: create verification: %w", err)
	}
	if keep > 0 {
		// Everything older than the keep-th newest (nothing when there are
		// fewer: the comparison with no row is NULL).
		if _, err := q.db.Exec(ctx, `DELETE FROM verifications WHERE tenant_id = $1 AND (create_time, id) < (
			SELECT create_time, id FROM verifications WHERE tenant_id = $1
			ORDER BY create_time DESC, id DESC LIMIT 1 OFFSET $2)`, rec.Tenant, keep-1); err != nil {
			return fmt.Errorf("postgres: create verification: prune: %w", err)
		}
	}
	return nil
}

func (q queries) GetVerification(ctx context.Context, tenant, id string) (*store.Verification, error) {
	v, err := scanVerification(q.db.QueryRow(ctx, `SELECT `+verificationColumns+` FROM verifications
		WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get verification: %w", err)
	}
	return v, nil
}

func (q queries) ListVerifications(ctx context.Context, vq store.VerificationQuery) (*store.VerificationPage, error) {
	return q.tokens.PaginateVerifications(vq, func(after *store.Cursor, limit int) ([]*store.Verification, error) {
		query := `SELECT ` + verificationColumns + ` FROM verifications WHERE tenant_id = @tenant`
		args := pgx.NamedArgs{"tenant": vq.Tenant, "limit": limit}
		if after != nil {
			query += ` AND (create_time, id) < (@after_time, @after_id)`
			args["after_time"], args["after_id"] = after.CreateTime, after.ID
		}
		rows, err := q.db.Query(ctx, query+` ORDER BY create_time DESC, id DESC LIMIT @limit`, args)
		if err != nil {
			return nil, fmt.Errorf("postgres: list verifications: %w", err)
		}
		vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Verification, error) { return scanVerification(r) })
		if err != nil {
			return nil, fmt.Errorf("postgres: list verifications: %w", err)
		}
		return vs, nil
	})
}

const opColumns = "id, tenant, kind, state, parent, exclusive, request_key, request_hash, job_id, done, body, version, create_time, update_time, end_time, " +
	"access_group, caller"

func (q queries) CreateOperation(ctx context.Context, op *store.Operation) (*store.Operation, error) {
	out := store.NewOperation(op)
	rules := []store.UniqueRule{
		store.Unique(`SELECT id FROM operations WHERE id = $1`, out.ID, store.AlreadyExists),
		store.Unique(`SELECT id FROM operations WHERE request_key = $1 AND request_key <> ''`, out.RequestKey, store.Conflict(store.ConflictRequestKey)),
	}
	if out.Exclusive && !out.Done {
		rules = append(rules, store.Unique(`SELECT id FROM operations WHERE tenant = $1 AND exclusive AND NOT done`, out.Tenant, store.Conflict(store.ConflictActiveOperation)))
	}
	err := q.insert(ctx, func() (pgconn.CommandTag, error) {
		// The access group is the tenant's, read under FOR SHARE: a move
		// of the tenant (UpdateTenant locks it FOR NO KEY UPDATE) waits for
		// this insert and then moves the new operation too, or this insert
		// waits for the move and reads the new group.
		return q.db.Exec(ctx, `INSERT INTO operations (`+opColumns+`)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, $13,
				COALESCE((SELECT access_group FROM tenants WHERE id = $2 FOR SHARE), $14), $15
			ON CONFLICT DO NOTHING`,
			out.ID, out.Tenant, out.Kind, out.State, out.Parent, out.Exclusive, out.RequestKey, body(out.RequestHash),
			out.JobID, out.Done, body(out.Body), out.CreateTime, endTime(out.EndTime), out.AccessGroup, out.Caller)
	}, rules...)
	if err != nil {
		return nil, fmt.Errorf("postgres: create operation: %w", err)
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
	op, err := scanOperation(q.db.QueryRow(ctx, `SELECT `+opColumns+` FROM operations WHERE `+column+` = $1`, value))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get operation: %w", err)
	}
	return op, nil
}

func (q queries) ListOperations(ctx context.Context, oq store.OperationQuery) (*store.OperationPage, error) {
	return q.tokens.PaginateOperations(oq, func(after *store.OperationCursor, limit int) ([]*store.Operation, error) {
		query := `SELECT ` + opColumns + ` FROM operations WHERE true`
		args := pgx.NamedArgs{"limit": limit}
		for _, f := range []struct{ column, value string }{
			{"tenant", oq.Tenant}, {"kind", oq.Kind}, {"state", oq.State}, {"parent", oq.Parent},
		} {
			if f.value != "" {
				query += ` AND ` + f.column + ` = @` + f.column
				args[f.column] = f.value
			}
		}
		if oq.Scope != nil {
			scope := `access_group = ANY(@groups::text[])`
			args["groups"] = store.ScopeGroups(oq.Scope)
			if oq.Scope.Caller != "" {
				scope += ` OR caller = @caller`
				args["caller"] = oq.Scope.Caller
			}
			query += ` AND (` + scope + `)`
		}
		if after != nil {
			query += ` AND (create_time, id) < (@after_time, @after_id)`
			args["after_time"], args["after_id"] = after.CreateTime, after.ID
		}
		rows, err := q.db.Query(ctx, query+` ORDER BY create_time DESC, id DESC LIMIT @limit`, args)
		if err != nil {
			return nil, fmt.Errorf("postgres: list operations: %w", err)
		}
		ops, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Operation, error) { return scanOperation(r) })
		if err != nil {
			return nil, fmt.Errorf("postgres: list operations: %w", err)
		}
		return ops, nil
	})
}

func (q queries) UpdateOperation(ctx context.Context, op *store.Operation) (*store.Operation, error) {
	out, err := scanOperation(q.db.QueryRow(ctx, `UPDATE operations
		SET state = $3, done = $4, body = $5, version = version + 1, update_time = $6,
			end_time = CASE WHEN $4 THEN coalesce(end_time, $6) END,
			job_id = CASE WHEN $7::bigint <> 0 THEN $7 ELSE job_id END
		WHERE id = $1 AND version = $2 RETURNING `+opColumns,
		op.ID, op.Version, op.State, op.Done, body(op.Body), store.Now(), op.JobID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, q.missOrMismatch(ctx, "operations", op.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: update operation: %w", err)
	}
	return out, nil
}

func (q queries) CountChildren(ctx context.Context, parent string) (store.ChildCounts, error) {
	c := store.ChildCounts{ByState: map[string]int{}}
	rows, err := q.db.Query(ctx, `SELECT state, job_id = 0 AND NOT done, count(*) FROM operations
		WHERE parent = $1 AND parent <> '' GROUP BY 1, 2`, parent)
	if err != nil {
		return c, fmt.Errorf("postgres: count children: %w", err)
	}
	var (
		state  string
		queued bool
		n      int
	)
	_, err = pgx.ForEachRow(rows, []any{&state, &queued, &n}, func() error {
		c.ByState[state] += n
		c.Total += n
		if queued {
			c.Queued += n
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("postgres: count children: %w", err)
	}
	return c, nil
}

func (q queries) LockBatch(ctx context.Context, parent, idle string) (int, error) {
	var one int
	err := q.db.QueryRow(ctx, `SELECT 1 FROM operations WHERE id = $1 FOR UPDATE`, parent).Scan(&one)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("postgres: lock batch: %w", err)
	}
	var active int
	if err := q.db.QueryRow(ctx, `SELECT count(*) FROM operations
		WHERE parent = $1 AND parent <> '' AND NOT done AND job_id <> 0 AND state <> $2`, parent, idle).Scan(&active); err != nil {
		return 0, fmt.Errorf("postgres: lock batch: %w", err)
	}
	return active, nil
}

func (q queries) ClaimChildren(ctx context.Context, parent string, n int) ([]*store.Operation, error) {
	if n == 0 {
		return nil, nil
	}
	rows, err := q.db.Query(ctx, `SELECT `+opColumns+` FROM operations
		WHERE parent = $1 AND job_id = 0 AND NOT done AND parent <> '' ORDER BY id
		LIMIT CASE WHEN $2::bigint < 0 THEN NULL ELSE $2 END`, parent, n)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim children: %w", err)
	}
	ops, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Operation, error) { return scanOperation(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: claim children: %w", err)
	}
	return ops, nil
}

func (s *Store) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	now := store.Now()
	tag, err := s.pool.Exec(ctx, `INSERT INTO leases (key, holder, expire_time) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expire_time = excluded.expire_time
		WHERE leases.holder = excluded.holder OR leases.expire_time <= $4`, key, holder, now.Add(ttl), now)
	if err != nil {
		return false, fmt.Errorf("postgres: acquire lease: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (s *Store) ReleaseLease(ctx context.Context, key, holder string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE key = $1 AND holder = $2`, key, holder); err != nil {
		return fmt.Errorf("postgres: release lease: %w", err)
	}
	return nil
}

func (q queries) CountLeases(ctx context.Context, prefix string) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM leases WHERE starts_with(key, $1) AND expire_time > $2`, prefix, store.Now()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count leases: %w", err)
	}
	return n, nil
}

func (q queries) DeleteOperation(ctx context.Context, id string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM operations WHERE id = $1 AND done`, id)
	err = mustAffect(tag, err, "delete operation")
	if errors.Is(err, store.ErrNotFound) {
		var exists bool
		if q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM operations WHERE id = $1)`, id).Scan(&exists) == nil && exists {
			return fmt.Errorf("operation %q is not done: %w", id, store.ErrConflict)
		}
	}
	return err
}

func (q queries) PutOperationSecret(ctx context.Context, id string, sealed []byte) error {
	// Selecting the operation makes a missing one insert nothing (ErrNotFound).
	tag, err := q.db.Exec(ctx, `INSERT INTO operation_secrets (operation_id, sealed, update_time)
		SELECT id, $2, $3 FROM operations WHERE id = $1
		ON CONFLICT (operation_id) DO UPDATE SET sealed = excluded.sealed, update_time = excluded.update_time`,
		id, body(sealed), store.Now())
	return mustAffect(tag, err, "put operation secret")
}

func (q queries) GetOperationSecret(ctx context.Context, id string) ([]byte, error) {
	var sealed []byte
	err := q.db.QueryRow(ctx, `SELECT sealed FROM operation_secrets WHERE operation_id = $1`, id).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get operation secret: %w", err)
	}
	return sealed, nil
}

func (q queries) DeleteOperationSecret(ctx context.Context, id string) error {
	if _, err := q.db.Exec(ctx, `DELETE FROM operation_secrets WHERE operation_id = $1`, id); err != nil {
		return fmt.Errorf("postgres: delete operation secret: %w", err)
	}
	return nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING (a unique violation would
// abort an enclosing transaction; this leaves it usable) and, when it
// inserted nothing, returns the error of the first rule whose colliding row
// is found. If none is (the row went away meanwhile), it tries again.
func (q queries) insert(ctx context.Context, exec func() (pgconn.CommandTag, error), rules ...store.UniqueRule) error {
	for range 3 {
		tag, err := exec()
		if err != nil || tag.RowsAffected() == 1 {
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
		err := q.db.QueryRow(ctx, r.Query+` LIMIT 1`, r.Arg).Scan(&with)
		if errors.Is(err, pgx.ErrNoRows) {
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
func mustAffect(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// missOrMismatch explains a conditional write that matched no row.
func (q queries) missOrMismatch(ctx context.Context, table, id string) error {
	var exists bool
	if err := q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !exists {
		return store.ErrNotFound
	}
	return store.ErrEtagMismatch
}

func scanTenant(row pgx.Row) (*store.Tenant, error) {
	var t store.Tenant
	if err := row.Scan(&t.ID, &t.State, &t.Labels, &t.Body, &t.WorkspaceKey, &t.Status, &t.Etag, &t.CreateTime, &t.UpdateTime, &t.Verdict, &t.AccessGroup); err != nil {
		return nil, err
	}
	t.CreateTime, t.UpdateTime = t.CreateTime.UTC(), t.UpdateTime.UTC()
	if len(t.Labels) == 0 {
		t.Labels = nil // as store.NewRecord
	}
	t.Body, t.Status = nilIfEmpty(t.Body), nilIfEmpty(t.Status)
	return &t, nil
}

func scanOperation(row pgx.Row) (*store.Operation, error) {
	var (
		op    store.Operation
		ended *time.Time
	)
	if err := row.Scan(&op.ID, &op.Tenant, &op.Kind, &op.State, &op.Parent, &op.Exclusive, &op.RequestKey,
		&op.RequestHash, &op.JobID, &op.Done, &op.Body, &op.Version, &op.CreateTime, &op.UpdateTime, &ended, &op.AccessGroup, &op.Caller); err != nil {
		return nil, err
	}
	op.CreateTime, op.UpdateTime = op.CreateTime.UTC(), op.UpdateTime.UTC()
	if ended != nil {
		op.EndTime = ended.UTC()
	}
	op.RequestHash, op.Body = nilIfEmpty(op.RequestHash), nilIfEmpty(op.Body)
	return &op, nil
}

func scanVerification(row pgx.Row) (*store.Verification, error) {
	var v store.Verification
	if err := row.Scan(&v.Tenant, &v.ID, &v.Operation, &v.Verdict, &v.Body, &v.CreateTime); err != nil {
		return nil, err
	}
	v.CreateTime = v.CreateTime.UTC()
	v.Body = nilIfEmpty(v.Body)
	return &v, nil
}

// endTime binds a zero time as NULL.
func endTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// labels binds m as a JSON object: nil would bind as JSON null.
func labels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
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
