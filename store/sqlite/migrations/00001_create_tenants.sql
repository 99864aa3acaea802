-- +goose Up
CREATE TABLE tenants (
    id          TEXT NOT NULL PRIMARY KEY,
    state       TEXT NOT NULL,
    labels      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
    body        BLOB NOT NULL,
    etag        TEXT NOT NULL,
    create_time TEXT NOT NULL, -- RFC 3339, UTC, microseconds
    update_time TEXT NOT NULL
) STRICT;

-- Serves state filters in id (keyset) order.
CREATE INDEX tenants_state_id ON tenants (state, id);

-- +goose Down
DROP TABLE tenants;
