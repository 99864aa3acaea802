-- +goose Up
CREATE TABLE tenants (
    -- "C" orders ids bytewise, as SQLite does, whatever the database locale.
    id          TEXT COLLATE "C" PRIMARY KEY,
    state       TEXT NOT NULL,
    labels      JSONB NOT NULL DEFAULT '{}',
    body        BYTEA NOT NULL,
    etag        TEXT NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    update_time TIMESTAMPTZ NOT NULL
);

-- Serves state filters in id (keyset) order.
CREATE INDEX tenants_state_id ON tenants (state, id);
-- Serves label filters (labels @> '{"k":"v"}').
CREATE INDEX tenants_labels ON tenants USING GIN (labels jsonb_path_ops);

-- +goose Down
DROP TABLE tenants;
