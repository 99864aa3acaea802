package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/xdrlink/xdrlink/store"
)

const apiKeyColumns = "id, secret_hash, body, revoked, create_time, revoke_time"

func (q queries) CreateAPIKey(ctx context.Context, k *store.APIKey) (*store.APIKey, error) {
	out := store.NewAPIKey(k)
	err := q.insert(ctx, func() (sql.Result, error) {
		return q.db.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, 0, ?, NULL)
			ON CONFLICT DO NOTHING`, out.ID, body(out.SecretHash), body(out.Body), out.CreateTime.Format(timeLayout))
	}, store.Unique(`SELECT id FROM api_keys WHERE id = ?`, out.ID, store.AlreadyExists))
	if err != nil {
		return nil, fmt.Errorf("sqlite: create api key: %w", err)
	}
	return out, nil
}

func (q queries) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	k, err := scanAPIKey(q.db.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get api key: %w", err)
	}
	return k, nil
}

func (q queries) ListAPIKeys(ctx context.Context, kq store.APIKeyQuery) (*store.APIKeyPage, error) {
	return q.tokens.PaginateAPIKeys(kq, func(after *store.Cursor, limit int) ([]*store.APIKey, error) {
		query := `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE true`
		args := []any{sql.Named("limit", limit)}
		if !kq.ShowRevoked {
			query += ` AND NOT revoked`
		}
		if after != nil {
			query += ` AND (create_time, id) < (@after_time, @after_id)`
			args = append(args, sql.Named("after_time", after.CreateTime.Format(timeLayout)), sql.Named("after_id", after.ID))
		}
		rows, err := q.db.QueryContext(ctx, query+` ORDER BY create_time DESC, id DESC LIMIT @limit`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list api keys: %w", err)
		}
		ks, err := collect(rows, scanAPIKey)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list api keys: %w", err)
		}
		return ks, nil
	})
}

// RevokeAPIKey revokes only a key not revoked yet; when that matches no
// row, the key is either missing or already revoked, and a revoked key
// never changes again, so reading it back returns it as it is.
func (q queries) RevokeAPIKey(ctx context.Context, id string, b []byte) (*store.APIKey, error) {
	k, err := scanAPIKey(q.db.QueryRowContext(ctx, `UPDATE api_keys SET revoked = 1, revoke_time = ?, body = ?
		WHERE id = ? AND NOT revoked RETURNING `+apiKeyColumns, store.Now().Format(timeLayout), body(b), id))
	if errors.Is(err, sql.ErrNoRows) {
		return q.GetAPIKey(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: revoke api key: %w", err)
	}
	return k, nil
}

const auditColumns = "id, time, principal, method, resource, code, body"

func (q queries) AppendAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	rec := store.NewAuditEvent(e)
	err := q.insert(ctx, func() (sql.Result, error) {
		return q.db.ExecContext(ctx, `INSERT INTO audit_events (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, rec.ID, rec.Time.Format(timeLayout), rec.Principal, rec.Method, rec.Resource, rec.Code, body(rec.Body))
	}, store.Unique(`SELECT id FROM audit_events WHERE id = ?`, rec.ID, store.AlreadyExists))
	if err != nil {
		return fmt.Errorf("sqlite: append audit event: %w", err)
	}
	return nil
}

func (q queries) ListAuditEvents(ctx context.Context, aq store.AuditQuery) (*store.AuditPage, error) {
	return q.tokens.PaginateAuditEvents(aq, func(after *store.Cursor, limit int) ([]*store.AuditEvent, error) {
		query := `SELECT ` + auditColumns + ` FROM audit_events WHERE true`
		args := []any{sql.Named("limit", limit)}
		for _, f := range []struct{ column, value string }{
			{"principal", aq.Principal}, {"method", aq.Method}, {"resource", aq.Resource}, {"code", aq.Code},
		} {
			if f.value != "" {
				query += ` AND ` + f.column + ` = @` + f.column
				args = append(args, sql.Named(f.column, f.value))
			}
		}
		if after != nil {
			query += ` AND (time, id) < (@after_time, @after_id)`
			args = append(args, sql.Named("after_time", after.CreateTime.Format(timeLayout)), sql.Named("after_id", after.ID))
		}
		rows, err := q.db.QueryContext(ctx, query+` ORDER BY time DESC, id DESC LIMIT @limit`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list audit events: %w", err)
		}
		es, err := collect(rows, scanAuditEvent)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list audit events: %w", err)
		}
		return es, nil
	})
}

func (q queries) PruneAuditEvents(ctx context.Context, before time.Time) (int, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM audit_events WHERE time < ?`,
		store.PruneBound(before).Format(timeLayout))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit events: %w", err)
	}
	return int(n), nil
}

func scanAPIKey(row scanner) (*store.APIKey, error) {
	var (
		k       store.APIKey
		created string
		revoked sql.NullString
	)
	if err := row.Scan(&k.ID, &k.SecretHash, &k.Body, &k.Revoked, &created, &revoked); err != nil {
		return nil, err
	}
	k.SecretHash, k.Body = nilIfEmpty(k.SecretHash), nilIfEmpty(k.Body)
	var err1, err2 error
	k.CreateTime, err1 = time.Parse(timeLayout, created)
	if revoked.Valid {
		k.RevokeTime, err2 = time.Parse(timeLayout, revoked.String)
	}
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("times of api key %q: %w", k.ID, err)
	}
	return &k, nil
}

func scanAuditEvent(row scanner) (*store.AuditEvent, error) {
	var (
		e  store.AuditEvent
		at string
	)
	if err := row.Scan(&e.ID, &at, &e.Principal, &e.Method, &e.Resource, &e.Code, &e.Body); err != nil {
		return nil, err
	}
	e.Body = nilIfEmpty(e.Body)
	var err error
	if e.Time, err = time.Parse(timeLayout, at); err != nil {
		return nil, fmt.Errorf("time of audit event %q: %w", e.ID, err)
	}
	return &e, nil
}
