package kql

import "iter"

// MemTable is an in-memory table.
type MemTable struct {
	Columns []Column
	Rows    []Row
}

// MemDB is an in-memory Database keyed by table name, for tests and for
// small fixed data sets. It ignores the pushdown window (that is allowed).
type MemDB map[string]*MemTable

// Columns implements Catalog.
func (m MemDB) Columns(table string) ([]Column, bool) {
	t, ok := m[table]
	if !ok {
		return nil, false
	}
	return t.Columns, true
}

// Rows implements Source.
func (m MemDB) Rows(table string, _ Window) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		t, ok := m[table]
		if !ok {
			return
		}
		for _, r := range t.Rows {
			if !yield(r) {
				return
			}
		}
	}
}
