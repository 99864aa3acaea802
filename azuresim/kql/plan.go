package kql

import (
	"context"
	"iter"
	"time"
)

// Plan is a query bound to a Catalog: tables resolved, columns and types
// checked. It can be run many times against different Sources and Envs.
type Plan struct {
	query   *Query
	tables  []boundTable
	srcCols schema // schema after the source (union adds the withsource column)
	stages  []stage
	out     schema
	bounds  []timeBound // pushdown: TimeGenerated bounds from the leading where clauses
}

// boundTable is one source table and where its columns go in srcCols.
type boundTable struct {
	name    string
	cols    schema
	dest    []int // dest[i]: index in srcCols of the table's column i
	timeCol int   // index of TimeGenerated in cols, or -1
}

// Env is what a run depends on besides the data.
type Env struct {
	// Now is the instant now() and ago() are relative to (the emulator's
	// clock, not the wall clock).
	Now time.Time
	// Timespan is the request's timespan. Like Log Analytics it filters the
	// TimeGenerated column of every source table, in addition to the query.
	Timespan Window
	// MaxRows caps the expanded result; beyond it Result.Truncated is set.
	// Zero means DefaultMaxRows.
	MaxRows int
}

// DefaultMaxRows is the result-size limit of the Log Analytics query API
// (500,000 records), which the emulator reports as a partial error.
const DefaultMaxRows = 500000

// Compile binds q to the tables of cat. Errors are *SemanticError.
func Compile(q *Query, cat Catalog) (*Plan, error) {
	p := &Plan{query: q}
	if err := p.bindSource(q.source, cat); err != nil {
		return nil, err
	}
	cur := p.srcCols
	leading := true
	for _, op := range q.ops {
		st, next, err := bindOperator(op, cur)
		if err != nil {
			return nil, err
		}
		if w, ok := op.(whereOp); ok && leading {
			p.bounds = append(p.bounds, timeBounds(w.pred, cur)...)
		} else {
			leading = false
		}
		p.stages = append(p.stages, st)
		cur = next
	}
	p.out = cur
	return p, nil
}

func (p *Plan) bindSource(src sourceExpr, cat Catalog) error {
	if src.withSource != "" {
		p.srcCols = append(p.srcCols, Column{Name: src.withSource, Type: TypeString})
	}
	for _, t := range src.tables {
		cols, ok := cat.Columns(t.name)
		if !ok {
			if src.isFuzzy {
				continue
			}
			return semErr("Failed to resolve table expression named '%s'", t.name)
		}
		bt := boundTable{name: t.name, cols: cols, timeCol: -1}
		for i, c := range cols {
			if !c.Type.known() {
				return semErr("table '%s' column '%s' has unknown type %q", t.name, c.Name, c.Type)
			}
			if c.Name == TimeColumn {
				bt.timeCol = i
			}
			j := p.srcCols.index(c.Name)
			switch {
			case j < 0:
				j = len(p.srcCols)
				p.srcCols = append(p.srcCols, c)
			case c.Name == src.withSource:
				return semErr("union: withsource column '%s' clashes with a column of '%s'", c.Name, t.name)
			case p.srcCols[j].Type != c.Type:
				return semErr("union: column '%s' is %s in '%s' but %s elsewhere", c.Name, c.Type, t.name, p.srcCols[j].Type)
			}
			bt.dest = append(bt.dest, j)
		}
		p.tables = append(p.tables, bt)
	}
	if len(p.tables) == 0 {
		// Log Analytics names the first table, as for a single missing one,
		// so a caller can treat both as "no such table yet".
		return semErr("Failed to resolve table expression named '%s'", src.tables[0].name)
	}
	return nil
}

// Columns returns the result schema.
func (p *Plan) Columns() []Column { return append([]Column(nil), p.out...) }

// Tables returns the resolved source tables (fuzzy-skipped ones excluded).
func (p *Plan) Tables() []string {
	out := make([]string, len(p.tables))
	for i, t := range p.tables {
		out[i] = t.name
	}
	return out
}

// Window is the TimeGenerated window the plan passes to the Source under
// env: the request timespan narrowed by the leading where clauses.
func (p *Plan) Window(env Env) Window {
	c := &evalCtx{now: env.Now.UTC()}
	w := env.Timespan
	for _, b := range p.bounds {
		w = w.intersect(b.window(c))
	}
	return w
}

// Run evaluates the plan over src. It stops early, with ctx.Err(), when ctx
// is done.
func (p *Plan) Run(ctx context.Context, src Source, env Env) (*Result, error) {
	c := &evalCtx{now: env.Now.UTC(), ctx: ctx}
	rows := p.scan(c, src, p.Window(env), env.Timespan)
	for _, st := range p.stages {
		rows = st.run(c, rows)
	}
	max := env.MaxRows
	if max <= 0 {
		max = DefaultMaxRows
	}
	res := &Result{Columns: p.Columns(), Rows: [][]any{}}
	for r := range rows {
		for w := r.weight(); w > 0; w-- {
			if len(res.Rows) == max {
				res.Truncated = true
				break
			}
			res.Rows = append(res.Rows, r.Values)
		}
		if res.Truncated {
			break
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return res, nil
}

// scan yields the source rows in srcCols order, applying the request
// timespan (exactly) and checking for cancellation.
func (p *Plan) scan(c *evalCtx, src Source, w, timespan Window) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for ti, t := range p.tables {
			identity := len(p.tables) == 1 && len(p.srcCols) == len(t.cols)
			for r := range src.Rows(t.name, w) {
				if c.n++; c.n%4096 == 0 && c.ctx != nil && c.ctx.Err() != nil {
					c.err = c.ctx.Err()
					return
				}
				vals := p.convert(ti, r.Values, identity)
				if t.timeCol >= 0 {
					ts, _ := vals[t.dest[t.timeCol]].(time.Time)
					if (!timespan.From.IsZero() || !timespan.To.IsZero()) && (ts.IsZero() || !timespan.Contains(ts)) {
						continue
					}
				}
				if !yield(Row{Values: vals, Weight: r.Weight}) {
					return
				}
			}
		}
	}
}

// convert places a source row's values into srcCols order, normalizing Go
// types; a short row is padded with nulls.
func (p *Plan) convert(ti int, in []any, identity bool) []any {
	t := p.tables[ti]
	out := make([]any, len(p.srcCols))
	if identity {
		for i := range out {
			if i < len(in) {
				out[i] = normalize(t.cols[i].Type, in[i])
			}
		}
		return out
	}
	if p.query.source.withSource != "" {
		out[0] = t.name // bindSource put the withsource column first
	}
	for i, j := range t.dest {
		if i < len(in) {
			out[j] = normalize(t.cols[i].Type, in[i])
		}
	}
	return out
}
