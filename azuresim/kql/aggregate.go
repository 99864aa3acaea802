package kql

// aggState accumulates one aggregation over one group.
type aggState interface {
	add(c *evalCtx, row []any, weight int64)
	result() []any
}

// boundAgg is an aggregation bound to its input schema.
type boundAgg struct {
	cols     []Column // output columns (arg_max may produce several)
	newState func() aggState
}

func bindAgg(a aggregation, in schema, keyNames map[string]bool) (boundAgg, error) {
	switch a.fn {
	case "count":
		return boundAgg{cols: []Column{{Name: nameOr(a.name, "count_"), Type: TypeLong}},
			newState: func() aggState { return &countState{} }}, nil
	case "sum":
		x, err := bindExpr(a.args[0], in)
		if err != nil {
			return boundAgg{}, err
		}
		if x.typ.family() != famNumber {
			return boundAgg{}, semErr("sum() expects a number, got %s", x.typ)
		}
		t := TypeLong
		if x.typ == TypeReal {
			t = TypeReal
		}
		return boundAgg{cols: []Column{{Name: nameOr(a.name, "sum_"+exprName(a.args[0])), Type: t}},
			newState: func() aggState { return &sumState{x: x, real: t == TypeReal} }}, nil
	case "min", "max":
		x, err := bindExpr(a.args[0], in)
		if err != nil {
			return boundAgg{}, err
		}
		if f := x.typ.family(); f == famDynamic || f == famBool {
			return boundAgg{}, semErr("%s() is not defined for %s", a.fn, x.typ)
		}
		sign := 1
		if a.fn == "min" {
			sign = -1
		}
		return boundAgg{cols: []Column{{Name: nameOr(a.name, a.fn+"_"+exprName(a.args[0])), Type: x.typ}},
			newState: func() aggState { return &extremeState{x: x, sign: sign} }}, nil
	}
	return bindArgExtreme(a, in, keyNames)
}

// bindArgExtreme binds arg_max/arg_min: the first argument must be a column
// (the subset does not name expression results), the rest are columns or *.
func bindArgExtreme(a aggregation, in schema, keyNames map[string]bool) (boundAgg, error) {
	first, ok := a.args[0].(identExpr)
	if !ok {
		return boundAgg{}, semErr("%s(): the first argument must be a column in this subset", a.fn)
	}
	x, err := bindExpr(first, in)
	if err != nil {
		return boundAgg{}, err
	}
	if f := x.typ.family(); f == famDynamic || f == famBool {
		return boundAgg{}, semErr("%s() is not defined for %s", a.fn, x.typ)
	}
	cols := []Column{{Name: nameOr(a.name, first.name), Type: x.typ}}
	var idx []int
	if a.star {
		for i, c := range in {
			if c.Name != first.name && !keyNames[c.Name] {
				idx = append(idx, i)
				cols = append(cols, c)
			}
		}
	} else {
		for _, e := range a.args[1:] {
			name := e.(identExpr).name
			i := in.index(name)
			if i < 0 {
				return boundAgg{}, semErr("Failed to resolve scalar expression named '%s'", name)
			}
			idx = append(idx, i)
			cols = append(cols, in[i])
		}
	}
	sign := 1
	if a.fn == "arg_min" {
		sign = -1
	}
	return boundAgg{cols: cols, newState: func() aggState { return &argExtremeState{x: x, sign: sign, idx: idx} }}, nil
}

func nameOr(name, def string) string {
	if name != "" {
		return name
	}
	return def
}

// exprName is Kusto's default-name suffix: the column name for a column,
// "expr" otherwise (rare in the subset; callers should name such results).
func exprName(e expr) string {
	if id, ok := e.(identExpr); ok {
		return id.name
	}
	return "expr"
}

type countState struct{ n int64 }

func (s *countState) add(_ *evalCtx, _ []any, w int64) { s.n += w }
func (s *countState) result() []any                    { return []any{s.n} }

type sumState struct {
	x    cexpr
	real bool
	i    int64
	f    float64
	any  bool
}

func (s *sumState) add(c *evalCtx, row []any, w int64) {
	switch v := s.x.eval(c, row).(type) {
	case int64:
		s.i += v * w
		s.f += float64(v) * float64(w)
		s.any = true
	case float64:
		s.f += v * float64(w)
		s.any = true
	}
}

func (s *sumState) result() []any {
	if !s.any {
		return []any{nil}
	}
	if s.real {
		return []any{s.f}
	}
	return []any{s.i}
}

// extremeState is max (sign 1) or min (sign -1); nulls are skipped.
type extremeState struct {
	x    cexpr
	sign int
	best any
}

func (s *extremeState) add(c *evalCtx, row []any, _ int64) {
	v := s.x.eval(c, row)
	if v == nil {
		return
	}
	if s.best == nil {
		s.best = v
		return
	}
	if n, ok := compareValues(v, s.best); ok && n*s.sign > 0 {
		s.best = v
	}
}

func (s *extremeState) result() []any { return []any{s.best} }

// argExtremeState keeps the row with the largest (or smallest) x; on ties
// the first row seen wins.
type argExtremeState struct {
	x    cexpr
	sign int
	idx  []int
	best any
	row  []any
}

func (s *argExtremeState) add(c *evalCtx, row []any, _ int64) {
	v := s.x.eval(c, row)
	if v == nil {
		return
	}
	if s.best != nil {
		if n, ok := compareValues(v, s.best); !ok || n*s.sign <= 0 {
			return
		}
	}
	s.best, s.row = v, row
}

func (s *argExtremeState) result() []any {
	out := make([]any, 1+len(s.idx))
	out[0] = s.best
	if s.row != nil {
		for j, i := range s.idx {
			out[1+j] = s.row[i]
		}
	}
	return out
}
