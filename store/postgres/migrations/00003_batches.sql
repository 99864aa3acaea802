-- +goose Up
-- A batch's queue: its children without a job yet, in request (id) order.
CREATE INDEX operations_queue ON operations (parent, id) WHERE job_id = 0 AND NOT done AND parent <> '';
-- Count a batch's children by state from the index alone.
CREATE INDEX operations_children ON operations (parent, state, done, job_id) WHERE parent <> '';

-- Leases coordinate replicas: one writer per customer tenant of the
-- streaming settings, and the count of live replicas.
CREATE TABLE leases (
    key         TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT NOT NULL,
    expire_time TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP INDEX operations_children;
DROP INDEX operations_queue;
