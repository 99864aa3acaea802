package kql

import "time"

// kustoEpochTicks is 1970-01-01 in 100 ns ticks since 0001-01-01, Kusto's
// origin for bin() on datetimes (so 7d bins start on Mondays, as in Kusto).
const kustoEpochTicks = 621355968000000000

func bindCall(x callExpr, s schema) (cexpr, error) {
	args := make([]cexpr, len(x.args))
	constant := true
	for i, a := range x.args {
		b, err := bindExpr(a, s)
		if err != nil {
			return cexpr{}, err
		}
		args[i] = b
		constant = constant && b.constant
	}
	switch x.name {
	case "now":
		return cexpr{typ: TypeDatetime, constant: true, eval: func(c *evalCtx, _ []any) any { return c.now }}, nil
	case "ago":
		if args[0].typ != TypeTimespan {
			return cexpr{}, semErr("ago() expects a timespan, got %s", args[0].typ)
		}
		a := args[0]
		return cexpr{typ: TypeDatetime, constant: constant, eval: func(c *evalCtx, row []any) any {
			d, ok := a.eval(c, row).(time.Duration)
			if !ok {
				return nil
			}
			return c.now.Add(-d)
		}}, nil
	case "not":
		if args[0].typ != TypeBool {
			return cexpr{}, semErr("not() expects a bool, got %s", args[0].typ)
		}
		a := args[0]
		return cexpr{typ: TypeBool, constant: constant, eval: func(c *evalCtx, row []any) any {
			return a.eval(c, row) != true
		}}, nil
	case "isempty", "isnotempty":
		a, want := args[0], x.name == "isempty"
		return cexpr{typ: TypeBool, constant: constant, eval: func(c *evalCtx, row []any) any {
			v := a.eval(c, row)
			return (v == nil || v == "") == want
		}}, nil
	case "bin":
		return bindBin(args, constant)
	}
	return cexpr{}, semErr("unsupported function %s()", x.name)
}

func bindBin(args []cexpr, constant bool) (cexpr, error) {
	v, size := args[0], args[1]
	var floor func(a, b any) any
	switch {
	case v.typ == TypeDatetime && size.typ == TypeTimespan:
		floor = func(a, b any) any {
			t, okT := a.(time.Time)
			d, okD := b.(time.Duration)
			if !okT || !okD {
				return nil
			}
			ticks, step := t.Unix()*1e7+int64(t.Nanosecond()/100)+kustoEpochTicks, int64(d/100)
			if step <= 0 {
				return nil
			}
			rel := floorDiv(ticks, step)*step - kustoEpochTicks
			return time.Unix(floorDiv(rel, 1e7), (rel-floorDiv(rel, 1e7)*1e7)*100).UTC()
		}
	case v.typ == TypeTimespan && size.typ == TypeTimespan:
		floor = func(a, b any) any {
			x, okX := a.(time.Duration)
			d, okD := b.(time.Duration)
			if !okX || !okD || d <= 0 {
				return nil
			}
			return time.Duration(floorDiv(int64(x), int64(d)) * int64(d))
		}
	case v.typ.family() == famNumber && size.typ.family() == famNumber && v.typ != TypeReal && size.typ != TypeReal:
		floor = func(a, b any) any {
			x, okX := a.(int64)
			d, okD := b.(int64)
			if !okX || !okD || d <= 0 {
				return nil
			}
			return floorDiv(x, d) * d
		}
	default:
		return cexpr{}, semErr("bin() is not defined for %s and %s", v.typ, size.typ)
	}
	return cexpr{typ: v.typ, constant: constant, eval: func(c *evalCtx, row []any) any {
		a, b := v.eval(c, row), size.eval(c, row)
		if a == nil || b == nil {
			return nil
		}
		return floor(a, b)
	}}, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
