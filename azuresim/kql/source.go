package kql

import (
	"iter"
	"time"
)

// Catalog names the tables a query may use and their columns. The emulator
// supplies it per workspace, so "which tables exist" is world data, not
// something this package decides.
type Catalog interface {
	// Columns returns the schema of table, or ok=false if the workspace has
	// no such table.
	Columns(table string) (cols []Column, ok bool)
}

// Source yields the rows of a table. Values are in the order of the columns
// the Catalog returned for that table.
type Source interface {
	// Rows yields the rows of table. Rows whose TimeGenerated lies outside
	// w may be omitted (w is a pushdown hint); rows inside must be yielded.
	Rows(table string, w Window) iter.Seq[Row]
}

// Database is a Catalog and Source in one, which is what the emulator has.
type Database interface {
	Catalog
	Source
}

// Row is one row of values. Weight > 1 means the row stands for Weight
// identical events (an ingestion batch); 0 is read as 1.
type Row struct {
	Values []any
	Weight int64
}

func (r Row) weight() int64 {
	if r.Weight <= 0 {
		return 1
	}
	return r.Weight
}

// Window bounds TimeGenerated: From <= t <= To. A zero bound is open.
type Window struct {
	From, To time.Time
}

// Contains reports whether t lies within the window.
func (w Window) Contains(t time.Time) bool {
	if !w.From.IsZero() && t.Before(w.From) {
		return false
	}
	if !w.To.IsZero() && t.After(w.To) {
		return false
	}
	return true
}

// intersect narrows w by o.
func (w Window) intersect(o Window) Window {
	if !o.From.IsZero() && (w.From.IsZero() || o.From.After(w.From)) {
		w.From = o.From
	}
	if !o.To.IsZero() && (w.To.IsZero() || o.To.Before(w.To)) {
		w.To = o.To
	}
	return w
}

// TimeColumn is the column the request timespan and the pushdown window
// apply to, as in Log Analytics.
const TimeColumn = "TimeGenerated"
