-- +goose Up
-- Access groups scope what an API key sees. A tenant's group is copied out
-- of its body ('' for none: unscoped callers only) so that scoped lists can
-- filter on it.
ALTER TABLE tenants ADD COLUMN access_group TEXT NOT NULL DEFAULT '';
-- Serves scoped tenant lists in id (keyset) order.
CREATE INDEX tenants_access_group_id ON tenants (access_group, id);

-- An operation carries its tenant's group (kept equal when the tenant's
-- changes) and the principal that created it ('' for the server's own), so
-- that a scoped list needs no join with tenants.
ALTER TABLE operations ADD COLUMN access_group TEXT NOT NULL DEFAULT '';
ALTER TABLE operations ADD COLUMN caller TEXT NOT NULL DEFAULT '';
-- Serve scoped operation lists, newest first: one range per group, and one
-- for the caller's own.
CREATE INDEX operations_access_group_time ON operations (access_group, create_time, id);
CREATE INDEX operations_caller_time ON operations (caller, create_time, id);

-- API keys. Only the secret's SHA-256 is stored.
CREATE TABLE api_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    body        BLOB NOT NULL,
    revoked     INTEGER NOT NULL CHECK (revoked IN (0, 1)),
    create_time TEXT NOT NULL, -- as tenants'
    revoke_time TEXT           -- NULL until revoked
) STRICT;

-- Serves ListAPIKeys, newest first.
CREATE INDEX api_keys_time ON api_keys (create_time, id);

-- The audit log. The filtered columns are copied out of the body.
CREATE TABLE audit_events (
    id        TEXT NOT NULL PRIMARY KEY,
    time      TEXT NOT NULL, -- as tenants', but the caller's
    principal TEXT NOT NULL,
    method    TEXT NOT NULL,
    resource  TEXT NOT NULL,
    code      TEXT NOT NULL,
    body      BLOB NOT NULL
) STRICT;

-- Serves ListAuditEvents newest first, and the pruning of the oldest.
CREATE INDEX audit_events_time ON audit_events (time, id);
-- Serve the selective filters: who did it, and to what. Method and code
-- have few distinct values, so a walk down the time index soon fills a page.
CREATE INDEX audit_events_principal_time ON audit_events (principal, time, id);
CREATE INDEX audit_events_resource_time ON audit_events (resource, time, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE api_keys;
-- SQLite cannot drop an indexed column: the indexes go first.
DROP INDEX operations_caller_time;
DROP INDEX operations_access_group_time;
ALTER TABLE operations DROP COLUMN caller;
ALTER TABLE operations DROP COLUMN access_group;
DROP INDEX tenants_access_group_id;
ALTER TABLE tenants DROP COLUMN access_group;
