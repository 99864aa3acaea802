package kql

import (
	"context"
)

// Result is a query's output table. Rows hold Go values (see Type); use
// FormatValue to render them for JSON.
type Result struct {
	Columns []Column
	Rows    [][]any
	// Truncated is set when the result hit Env.MaxRows; the rows returned
	// are a prefix of the full result.
	Truncated bool
}

// Eval parses, compiles and runs text over db.
func Eval(ctx context.Context, text string, db Database, env Env) (*Result, error) {
	q, err := Parse(text)
	if err != nil {
		return nil, err
	}
	p, err := Compile(q, db)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx, db, env)
}
