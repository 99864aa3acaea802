// Package postgres is the store backend for replicated deployments: several
// server instances share one PostgreSQL database (pgx/v5). Migrations take a
// session advisory lock, so instances may migrate at startup concurrently.
package postgres
