package kql

import (
	"iter"
	"slices"
)

// stage is one bound pipeline operator.
type stage interface {
	run(c *evalCtx, in iter.Seq[Row]) iter.Seq[Row]
}

// bindOperator binds op to its input schema and returns the stage and its
// output schema.
func bindOperator(op operator, in schema) (stage, schema, error) {
	switch o := op.(type) {
	case whereOp:
		pred, err := bindExpr(o.pred, in)
		if err != nil {
			return nil, nil, err
		}
		if pred.typ != TypeBool {
			return nil, nil, semErr("'where' expects a bool predicate, got %s", pred.typ)
		}
		return whereStage{pred: pred}, in, nil
	case projectOp:
		return bindProject(o, in)
	case takeOp:
		return takeStage{n: o.n}, in, nil
	case orderOp:
		return bindOrder(o, in)
	case summarizeOp:
		return bindSummarize(o, in)
	}
	return nil, nil, semErr("unsupported operator %s", op.opName())
}

type whereStage struct{ pred cexpr }

func (s whereStage) run(c *evalCtx, in iter.Seq[Row]) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for r := range in {
			if s.pred.eval(c, r.Values) == true && !yield(r) {
				return
			}
		}
	}
}

// projectStage computes out[i] = exprs[i](row) (extend: appended to or
// replacing input columns, which bindProject folds into exprs).
type projectStage struct{ exprs []cexpr }

func bindProject(o projectOp, in schema) (stage, schema, error) {
	var out schema
	var exprs []cexpr
	if o.extend {
		out = slices.Clone(in)
		for i, col := range in {
			exprs = append(exprs, cexpr{typ: col.Type, eval: column(i)})
		}
	}
	seen := map[string]bool{}
	for _, ne := range o.cols {
		e, err := bindExpr(ne.e, in)
		if err != nil {
			return nil, nil, err
		}
		name := ne.name
		if name == "" {
			id, ok := ne.e.(identExpr)
			if !ok {
				return nil, nil, semErr("'%s': give the expression a name (Name = expression)", o.opName())
			}
			name = id.name
		}
		if seen[name] {
			return nil, nil, semErr("'%s': column '%s' is given twice", o.opName(), name)
		}
		seen[name] = true
		if i := out.index(name); i >= 0 { // extend replaces an existing column
			out[i].Type, exprs[i] = e.typ, e
			continue
		}
		out = append(out, Column{Name: name, Type: e.typ})
		exprs = append(exprs, e)
	}
	return projectStage{exprs: exprs}, out, nil
}

func column(i int) func(*evalCtx, []any) any {
	return func(_ *evalCtx, row []any) any { return row[i] }
}

func (s projectStage) run(c *evalCtx, in iter.Seq[Row]) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for r := range in {
			vals := make([]any, len(s.exprs))
			for i, e := range s.exprs {
				vals[i] = e.eval(c, r.Values)
			}
			if !yield(Row{Values: vals, Weight: r.Weight}) {
				return
			}
		}
	}
}

// takeStage passes the first n events, splitting a weighted row if needed.
type takeStage struct{ n int64 }

func (s takeStage) run(_ *evalCtx, in iter.Seq[Row]) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		left := s.n
		if left <= 0 {
			return
		}
		for r := range in {
			w := r.weight()
			if w > left {
				r.Weight, w = left, left
			}
			left -= w
			if !yield(r) || left == 0 {
				return
			}
		}
	}
}

type orderStage struct {
	idx  []int
	desc []bool
}

func bindOrder(o orderOp, in schema) (stage, schema, error) {
	var s orderStage
	for _, k := range o.keys {
		i := in.index(k.column)
		if i < 0 {
			return nil, nil, semErr("Failed to resolve scalar expression named '%s'", k.column)
		}
		if f := in[i].Type.family(); f == famDynamic {
			return nil, nil, semErr("'order': column '%s' of type %s cannot be ordered", k.column, in[i].Type)
		}
		s.idx, s.desc = append(s.idx, i), append(s.desc, k.desc)
	}
	return s, in, nil
}

// run sorts stably; nulls go last when descending and first when ascending,
// as Kusto does by default.
func (s orderStage) run(_ *evalCtx, in iter.Seq[Row]) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		rows := slices.Collect(in)
		slices.SortStableFunc(rows, func(a, b Row) int {
			for k, i := range s.idx {
				n := compareNullable(a.Values[i], b.Values[i])
				if s.desc[k] {
					n = -n
				}
				if n != 0 {
					return n
				}
			}
			return 0
		})
		for _, r := range rows {
			if !yield(r) {
				return
			}
		}
	}
}

// compareNullable orders null before every value.
func compareNullable(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	n, _ := compareValues(a, b)
	return n
}
