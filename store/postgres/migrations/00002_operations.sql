-- +goose Up
-- Existing tenants keep an empty workspace key until the service backfills
-- it from their body.
ALTER TABLE tenants
    ADD COLUMN workspace_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN status BYTEA NOT NULL DEFAULT '';
-- One tenant per workspace.
CREATE UNIQUE INDEX tenants_workspace_key ON tenants (workspace_key) WHERE workspace_key <> '';

CREATE TABLE operations (
    -- "C" orders ids bytewise, as SQLite does (the list's tie-break).
    id           TEXT COLLATE "C" PRIMARY KEY,
    tenant       TEXT COLLATE "C" NOT NULL, -- '' for none
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    parent       TEXT COLLATE "C" NOT NULL, -- '' for none
    exclusive    BOOLEAN NOT NULL,
    request_key  TEXT COLLATE "C" NOT NULL, -- '' for none
    request_hash BYTEA NOT NULL,
    job_id       BIGINT NOT NULL, -- River's; 0 for none
    done         BOOLEAN NOT NULL,
    body         BYTEA NOT NULL,
    version      BIGINT NOT NULL,
    create_time  TIMESTAMPTZ NOT NULL,
    update_time  TIMESTAMPTZ NOT NULL,
    end_time     TIMESTAMPTZ -- NULL until done
);

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
    operation_id TEXT COLLATE "C" PRIMARY KEY REFERENCES operations (id) ON DELETE CASCADE,
    sealed       BYTEA NOT NULL,
    update_time  TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE operation_secrets;
DROP TABLE operations;
DROP INDEX tenants_workspace_key;
ALTER TABLE tenants DROP COLUMN status, DROP COLUMN workspace_key;
