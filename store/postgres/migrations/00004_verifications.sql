-- +goose Up
-- The verdict of the tenant's last verification ('' before any), for the
-- tenants list's filter.
ALTER TABLE tenants ADD COLUMN verdict TEXT NOT NULL DEFAULT '';
-- Serves verdict filters in id (keyset) order.
CREATE INDEX tenants_verdict_id ON tenants (verdict, id);

-- Ingestion reports. Deleting a tenant deletes its reports.
CREATE TABLE verifications (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- "C" orders ids bytewise, as SQLite does (the list's tie-break).
    id           TEXT COLLATE "C" NOT NULL,
    operation_id TEXT COLLATE "C" NOT NULL, -- '' for none
    verdict      TEXT NOT NULL,
    body         BYTEA NOT NULL,
    create_time  TIMESTAMPTZ NOT NULL, -- the caller's (the report's time)
    PRIMARY KEY (tenant_id, id)
);

-- Serves ListVerifications, newest first, and the pruning of the oldest.
CREATE INDEX verifications_tenant_time ON verifications (tenant_id, create_time, id);

-- +goose Down
DROP TABLE verifications;
DROP INDEX tenants_verdict_id;
ALTER TABLE tenants DROP COLUMN verdict;
