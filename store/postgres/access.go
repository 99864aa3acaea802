package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xdrlink/xdrlink/store"
)

const apiKeyColumns = "id, secret_hash, body, revoked, create_time, revoke_time"

func (q queries) CreateAPIKey(ctx context.Context, k *store.APIKey) (*store.APIKey, error) {
	out := store.NewAPIKey(k)
	err := q.insert(ctx, func() (pgconn.CommandTag, error) {
		return q.db.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, false, $4, NULL)
			ON CONFLICT DO NOTHING`, out.ID, body(out.SecretHash), body(out.Body), out.CreateTime)
	}, store.Unique(`SELECT id FROM api_keys WHERE id = $1`, out.ID, store.AlreadyExists))
	if err != nil {
		return nil, fmt.Errorf("postgres: create api key: %w", err)
	}
	return out, nil
}

func (q queries) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	k, err := scanAPIKey(q.db.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get api key: %w", err)
	}
	return k, nil
}

func (q queries) ListAPIKeys(ctx context.Context, kq store.APIKeyQuery) (*store.APIKeyPage, error) {
	return q.tokens.PaginateAPIKeys(kq, func(after *store.Cursor, limit int) ([]*store.APIKey, error) {
		query := `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE true`
		args := pgx.NamedArgs{"limit": limit}
		if !kq.ShowRevoked {
			query += ` AND NOT revoked`
		}
		if after != nil {
			query += ` AND (create_time, id) < (@after_time, @after_id)`
			args["after_time"], args["after_id"] = after.CreateTime, after.ID
		}
		rows, err := q.db.Query(ctx, query+` ORDER BY create_time DESC, id DESC LIMIT @limit`, args)
		if err != nil {
			return nil, fmt.Errorf("postgres: list api keys: %w", err)
		}
		ks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.APIKey, error) { return scanAPIKey(r) })
		if err != nil {
			return nil, fmt.Errorf("postgres: list api keys: %w", err)
		}
		return ks, nil
	})
}

// RevokeAPIKey revokes only a key not revoked yet; when that matches no
// row, the key is either missing or already revoked, and a revoked key
// never changes again, so reading it back returns it as it is.
func (q queries) RevokeAPIKey(ctx context.Context, id string, b []byte) (*store.APIKey, error) {
	k, err := scanAPIKey(q.db.QueryRow(ctx, `UPDATE api_keys SET revoked = true, revoke_time = $2, body = $3
		WHERE id = $1 AND NOT revoked RETURNING `+apiKeyColumns, id, store.Now(), body(b)))
	if errors.Is(err, pgx.ErrNoRows) {
		return q.GetAPIKey(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: revoke api key: %w", err)
	}
	return k, nil
}

const auditColumns = "id, time, principal, method, resource, code, body"

func (q queries) AppendAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	rec := store.NewAuditEvent(e)
	err := q.insert(ctx, func() (pgconn.CommandTag, error) {
		return q.db.Exec(ctx, `INSERT INTO audit_events (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT DO NOTHING`, rec.ID, rec.Time, rec.Principal, rec.Method, rec.Resource, rec.Code, body(rec.Body))
	}, store.Unique(`SELECT id FROM audit_events WHERE id = $1`, rec.ID, store.AlreadyExists))
	if err != nil {
		return fmt.Errorf("postgres: append audit event: %w", err)
	}
	return nil
}

func (q queries) ListAuditEvents(ctx context.Context, aq store.AuditQuery) (*store.AuditPage, error) {
	return q.tokens.PaginateAuditEvents(aq, func(after *store.Cursor, limit int) ([]*store.AuditEvent, error) {
		query := `SELECT ` + auditColumns + ` FROM audit_events WHERE true`
		args := pgx.NamedArgs{"limit": limit}
		for _, f := range []struct{ column, value string }{
			{"principal", aq.Principal}, {"method", aq.Method}, {"resource", aq.Resource}, {"code", aq.Code},
		} {
			if f.value != "" {
				query += ` AND ` + f.column + ` = @` + f.column
				args[f.column] = f.value
			}
		}
		if after != nil {
			query += ` AND (time, id) < (@after_time, @after_id)`
			args["after_time"], args["after_id"] = after.CreateTime, after.ID
		}
		rows, err := q.db.Query(ctx, query+` ORDER BY time DESC, id DESC LIMIT @limit`, args)
		if err != nil {
			return nil, fmt.Errorf("postgres: list audit events: %w", err)
		}
		es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.AuditEvent, error) { return scanAuditEvent(r) })
		if err != nil {
			return nil, fmt.Errorf("postgres: list audit events: %w", err)
		}
		return es, nil
	})
}

func (q queries) PruneAuditEvents(ctx context.Context, before time.Time) (int, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM audit_events WHERE time < $1`, store.PruneBound(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func scanAPIKey(row pgx.Row) (*store.APIKey, error) {
	var (
		k       store.APIKey
		revoked *time.Time
	)
	if err := row.Scan(&k.ID, &k.SecretHash, &k.Body, &k.Revoked, &k.CreateTime, &revoked); err != nil {
		return nil, err
	}
	k.CreateTime = k.CreateTime.UTC()
	if revoked != nil {
		k.RevokeTime = revoked.UTC()
	}
	k.SecretHash, k.Body = nilIfEmpty(k.SecretHash), nilIfEmpty(k.Body)
	return &k, nil
}

func scanAuditEvent(row pgx.Row) (*store.AuditEvent, error) {
	var e store.AuditEvent
	if err := row.Scan(&e.ID, &e.Time, &e.Principal, &e.Method, &e.Resource, &e.Code, &e.Body); err != nil {
		return nil, err
	}
	e.Time = e.Time.UTC()
	e.Body = nilIfEmpty(e.Body)
	return &e, nil
}
