package kql

import (
	"context"
	"strings"
	"time"
)

// evalCtx is what a running expression may look at besides its row.
type evalCtx struct {
	now time.Time
	ctx context.Context
	err error // first error that stopped the run (cancellation, row cap)
	n   int   // rows seen, for periodic cancellation checks

	consts map[*byte]any // values of constant expressions, computed once per run
}

// cexpr is a bound, type-checked expression.
type cexpr struct {
	typ      Type
	constant bool // no column references: may be evaluated once per run
	eval     func(c *evalCtx, row []any) any
}

// schema is the column list at one point of the pipeline.
type schema []Column

func (s schema) index(name string) int {
	for i, c := range s {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// bindExpr resolves columns against s and type-checks e. Constant
// subexpressions such as ago(7d) are evaluated once per run, not per row.
func bindExpr(e expr, s schema) (cexpr, error) {
	ce, err := bindNode(e, s)
	if err != nil || !ce.constant {
		return ce, err
	}
	if _, literal := e.(literalExpr); literal {
		return ce, nil
	}
	key, inner := new(byte), ce.eval
	ce.eval = func(c *evalCtx, row []any) any {
		if v, ok := c.consts[key]; ok {
			return v
		}
		v := inner(c, row)
		if c.consts == nil {
			c.consts = map[*byte]any{}
		}
		c.consts[key] = v
		return v
	}
	return ce, nil
}

func bindNode(e expr, s schema) (cexpr, error) {
	switch x := e.(type) {
	case literalExpr:
		v := x.val
		return cexpr{typ: x.typ, constant: true, eval: func(*evalCtx, []any) any { return v }}, nil
	case identExpr:
		i := s.index(x.name)
		if i < 0 {
			return cexpr{}, semErr("Failed to resolve scalar expression named '%s'", x.name)
		}
		return cexpr{typ: s[i].Type, eval: func(_ *evalCtx, row []any) any { return row[i] }}, nil
	case binaryExpr:
		return bindBinary(x, s)
	case inExpr:
		return bindIn(x, s)
	case callExpr:
		return bindCall(x, s)
	}
	return cexpr{}, semErr("unsupported expression")
}

func bindBinary(x binaryExpr, s schema) (cexpr, error) {
	l, err := bindExpr(x.l, s)
	if err != nil {
		return cexpr{}, err
	}
	r, err := bindExpr(x.r, s)
	if err != nil {
		return cexpr{}, err
	}
	constant := l.constant && r.constant
	switch x.op {
	case "and", "or":
		if l.typ != TypeBool || r.typ != TypeBool {
			return cexpr{}, semErr("'%s' needs bool operands, got %s and %s", x.op, l.typ, r.typ)
		}
		isAnd := x.op == "and"
		return cexpr{typ: TypeBool, constant: constant, eval: func(c *evalCtx, row []any) any {
			lv := l.eval(c, row) == true
			if isAnd != lv { // and: false short-circuits; or: true does
				return lv
			}
			return r.eval(c, row) == true
		}}, nil
	case "+", "-":
		return bindArith(x.op, l, r)
	}
	return bindCompare(x.op, l, r)
}

func bindCompare(op string, l, r cexpr) (cexpr, error) {
	lf, rf := l.typ.family(), r.typ.family()
	if lf != rf || lf == famDynamic {
		return cexpr{}, semErr("Cannot compare values of types %s and %s. Try adding explicit casts", l.typ, r.typ)
	}
	fold := op == "=~" || op == "!~"
	if fold && lf != famString {
		return cexpr{}, semErr("operator %s needs string operands, got %s", op, l.typ)
	}
	if lf == famBool && op != "==" && op != "!=" {
		return cexpr{}, semErr("operator %s is not defined for bool", op)
	}
	test := cmpTest(op)
	return cexpr{typ: TypeBool, constant: l.constant && r.constant, eval: func(c *evalCtx, row []any) any {
		a, b := l.eval(c, row), r.eval(c, row)
		if a == nil || b == nil {
			return false
		}
		if fold {
			a, b = lower(a), lower(b)
		}
		n, ok := compareValues(a, b)
		return ok && test(n)
	}}, nil
}

func cmpTest(op string) func(int) bool {
	switch op {
	case "==", "=~":
		return func(n int) bool { return n == 0 }
	case "!=", "!~":
		return func(n int) bool { return n != 0 }
	case "<":
		return func(n int) bool { return n < 0 }
	case "<=":
		return func(n int) bool { return n <= 0 }
	case ">":
		return func(n int) bool { return n > 0 }
	}
	return func(n int) bool { return n >= 0 }
}

func bindIn(x inExpr, s schema) (cexpr, error) {
	l, err := bindExpr(x.l, s)
	if err != nil {
		return cexpr{}, err
	}
	lf := l.typ.family()
	if lf == famDynamic {
		return cexpr{}, semErr("operator in is not defined for dynamic")
	}
	if x.fold && lf != famString {
		return cexpr{}, semErr("operator in~ needs a string operand, got %s", l.typ)
	}
	vals := make([]cexpr, len(x.values))
	constant := l.constant
	for i, v := range x.values {
		cv, err := bindExpr(v, s)
		if err != nil {
			return cexpr{}, err
		}
		if cv.typ.family() != lf {
			return cexpr{}, semErr("in: element of type %s does not match %s", cv.typ, l.typ)
		}
		constant = constant && cv.constant
		vals[i] = cv
	}
	not, fold := x.not, x.fold
	return cexpr{typ: TypeBool, constant: constant, eval: func(c *evalCtx, row []any) any {
		a := l.eval(c, row)
		if a == nil {
			return false
		}
		if fold {
			a = lower(a)
		}
		for _, v := range vals {
			b := v.eval(c, row)
			if b == nil {
				continue
			}
			if fold {
				b = lower(b)
			}
			if n, ok := compareValues(a, b); ok && n == 0 {
				return !not
			}
		}
		return not
	}}, nil
}

func bindArith(op string, l, r cexpr) (cexpr, error) {
	sub := op == "-"
	lf, rf := l.typ.family(), r.typ.family()
	out := cexpr{constant: l.constant && r.constant}
	switch {
	case lf == famTime && rf == famSpan:
		out.typ = TypeDatetime
	case lf == famSpan && rf == famTime && !sub:
		out.typ = TypeDatetime
	case lf == famTime && rf == famTime && sub:
		out.typ = TypeTimespan
	case lf == famSpan && rf == famSpan:
		out.typ = TypeTimespan
	case lf == famNumber && rf == famNumber:
		out.typ = TypeLong
		if l.typ == TypeReal || r.typ == TypeReal {
			out.typ = TypeReal
		}
	default:
		return cexpr{}, semErr("operator %s is not defined for %s and %s", op, l.typ, r.typ)
	}
	out.eval = func(c *evalCtx, row []any) any {
		a, b := l.eval(c, row), r.eval(c, row)
		if a == nil || b == nil {
			return nil
		}
		return arith(sub, a, b)
	}
	return out, nil
}

// arith applies + or - to type-checked operands; overflow yields null.
func arith(sub bool, a, b any) any {
	switch x := a.(type) {
	case time.Time:
		switch y := b.(type) {
		case time.Duration:
			if sub {
				y = -y
			}
			return x.Add(y)
		case time.Time:
			return x.Sub(y)
		}
	case time.Duration:
		switch y := b.(type) {
		case time.Time:
			return y.Add(x)
		case time.Duration:
			if sub {
				y = -y
			}
			if s := x + y; (s > x) == (y > 0) {
				return s
			}
			return nil
		}
	case int64:
		switch y := b.(type) {
		case int64:
			if sub {
				if s := x - y; (s < x) == (y > 0) {
					return s
				}
				return nil
			}
			if s := x + y; (s > x) == (y > 0) {
				return s
			}
			return nil
		case float64:
			return arithFloat(sub, float64(x), y)
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return arithFloat(sub, x, float64(y))
		case float64:
			return arithFloat(sub, x, y)
		}
	}
	return nil
}

func arithFloat(sub bool, a, b float64) any {
	if sub {
		return a - b
	}
	return a + b
}

// lower folds a string value; other values (a Source that broke its schema)
// pass through and then fail to compare instead of panicking.
func lower(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return v
}
