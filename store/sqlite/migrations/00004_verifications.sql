-- +goose Up
-- The verdict of the tenant's last verification ('' before any), for the
-- tenants list's filter.
ALTER TABLE tenants ADD COLUMN verdict TEXT NOT NULL DEFAULT '';
-- Serves verdict filters in id (keyset) order.
CREATE INDEX tenants_verdict_id ON tenants (verdict, id);

-- Ingestion reports. Deleting a tenant deletes its reports.
CREATE TABLE verifications (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    operation_id TEXT NOT NULL, -- '' for none
    verdict      TEXT NOT NULL,
    body         BLOB NOT NULL,
    create_time  TEXT NOT NULL, -- as tenants', but the caller's (the report's time)
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- Serves ListVerifications, newest first, and the pruning of the oldest.
CREATE INDEX verifications_tenant_time ON verifications (tenant_id, create_time, id);

-- +goose Down
DROP TABLE verifications;
DROP INDEX tenants_verdict_id;
ALTER TABLE tenants DROP COLUMN verdict;
