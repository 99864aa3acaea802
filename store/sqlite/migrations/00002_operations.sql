-- +goose Up
-- Existing tenants keep an empty workspace key until the service backfills
-- it from their body.
ALTER TABLE tenants ADD COLUMN workspace_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN status BLOB NOT NULL DEFAULT x'';
-- One tenant per workspace. SQLite names the column, tenants.workspace_key,
-- in the error.
CREATE UNIQUE INDEX tenants_workspace_key ON tenants (workspace_key) WHERE workspace_key <> '';

CREATE TABLE operations (
    id           TEXT NOT NULL PRIMARY KEY,
    tenant       TEXT NOT NULL, -- '' for none
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    parent       TEXT NOT NULL, -- '' for none
    exclusive    INTEGER NOT NULL CHECK (exclusive IN (0, 1)),
    request_key  TEXT NOT NULL, -- '' for none
    request_hash BLOB NOT NULL,
    job_id       INTEGER NOT NULL, -- River's; 0 for none
    done         INTEGER NOT NULL CHECK (done IN (0, 1)),
    body         BLOB NOT NULL,
    version      INTEGER NOT NULL,
    create_time  TEXT NOT NULL, -- as tenants'
    update_time  TEXT NOT NULL,
    end_time     TEXT           -- NULL until done
) STRICT;

CREATE UNIQUE INDEX operations_request_key ON operations (request_key) WHERE request_key <> '';
-- At most one unfinished exclusive (mutating) operation per tenant.
CREATE UNIQUE INDEX operations_active_exclusive ON operations (tenant) WHERE exclusive AND NOT done;
-- Serve ListOperations, newest first, unfiltered and by each filter.
CREATE INDEX operations_time ON operations (create_time, id);
CREATE INDEX operations_tenant_time ON operations (tenant, create_time, id);
CREATE INDEX operations_parent_time ON operations (parent, create_time, id);
CREATE INDEX operations_state_time ON operations (state, create_time, id);
CREATE INDEX operations_kind_time ON operations (kind, create_time, id);

CREATE TABLE operation_secrets (
    operation_id TEXT NOT NULL PRIMARY KEY REFERENCES operations (id) ON DELETE CASCADE,
    sealed       BLOB NOT NULL,
    update_time  TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE operation_secrets;
DROP TABLE operations;
DROP INDEX tenants_workspace_key;
ALTER TABLE tenants DROP COLUMN status;
ALTER TABLE tenants DROP COLUMN workspace_key;
