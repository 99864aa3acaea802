package kql

import (
	"iter"
)

type summarizeStage struct {
	keys []cexpr
	aggs []boundAgg
}

func bindSummarize(o summarizeOp, in schema) (stage, schema, error) {
	var s summarizeStage
	var out schema
	keyNames := map[string]bool{}
	for _, k := range o.by {
		e, err := bindExpr(k.e, in)
		if err != nil {
			return nil, nil, err
		}
		name := k.name
		if name == "" {
			name = keyName(k.e)
		}
		if name == "" {
			return nil, nil, semErr("'summarize': name the group expression (Name = expression)")
		}
		if e.typ.family() == famDynamic {
			return nil, nil, semErr("'summarize': cannot group by '%s' of type dynamic", name)
		}
		keyNames[name] = true
		out = append(out, Column{Name: name, Type: e.typ})
		s.keys = append(s.keys, e)
	}
	for _, a := range o.aggs {
		b, err := bindAgg(a, in, keyNames)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, b.cols...)
		s.aggs = append(s.aggs, b)
	}
	seen := map[string]bool{}
	for _, c := range out {
		if seen[c.Name] {
			return nil, nil, semErr("'summarize': column '%s' is produced twice; name the results", c.Name)
		}
		seen[c.Name] = true
	}
	return s, out, nil
}

// keyName is the default name of a group key: the column, or the column
// inside bin(column, size).
func keyName(e expr) string {
	switch x := e.(type) {
	case identExpr:
		return x.name
	case callExpr:
		if x.name == "bin" {
			if id, ok := x.args[0].(identExpr); ok {
				return id.name
			}
		}
	}
	return ""
}

type group struct {
	key    []any
	states []aggState
}

func (s summarizeStage) newGroup(key []any) *group {
	g := &group{key: key, states: make([]aggState, len(s.aggs))}
	for i, a := range s.aggs {
		g.states[i] = a.newState()
	}
	return g
}

func (s summarizeStage) run(c *evalCtx, in iter.Seq[Row]) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		var order []*group
		groups := map[string]*group{}
		if len(s.keys) == 0 { // without by: exactly one row, even over no input
			g := s.newGroup(nil)
			groups[""] = g
			order = append(order, g)
		}
		var buf []byte
		key := make([]any, len(s.keys)) // reused; copied only for a new group
		for r := range in {
			buf = buf[:0]
			for i, k := range s.keys {
				key[i] = k.eval(c, r.Values)
				buf = appendKey(buf, key[i])
			}
			g, ok := groups[string(buf)]
			if !ok {
				g = s.newGroup(append([]any(nil), key...))
				groups[string(buf)] = g
				order = append(order, g)
			}
			for _, st := range g.states {
				st.add(c, r.Values, r.weight())
			}
		}
		for _, g := range order {
			vals := append([]any(nil), g.key...)
			for _, st := range g.states {
				vals = append(vals, st.result()...)
			}
			if !yield(Row{Values: vals, Weight: 1}) {
				return
			}
		}
	}
}
