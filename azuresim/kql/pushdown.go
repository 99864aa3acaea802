package kql

import "time"

// timeBound is one conjunct "TimeGenerated <op> constant" of a leading where
// clause; window turns it into a Window at run time (ago() needs Env.Now).
type timeBound struct {
	op  string // the comparison, normalized so TimeGenerated is on the left
	val cexpr
}

func (b timeBound) window(c *evalCtx) Window {
	t, ok := b.val.eval(c, nil).(time.Time)
	if !ok {
		return Window{}
	}
	switch b.op {
	case ">", ">=":
		return Window{From: t}
	case "<", "<=":
		return Window{To: t}
	case "==":
		return Window{From: t, To: t}
	}
	return Window{}
}

// mirror flips a comparison for "constant <op> TimeGenerated".
var mirror = map[string]string{">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "=="}

// timeBounds extracts the TimeGenerated bounds from pred's top-level
// conjunction. Anything it does not recognize is simply not pushed down.
func timeBounds(pred expr, s schema) []timeBound {
	b, ok := pred.(binaryExpr)
	if !ok {
		return nil
	}
	if b.op == "and" {
		return append(timeBounds(b.l, s), timeBounds(b.r, s)...)
	}
	op, okOp := mirror[b.op]
	if !okOp {
		return nil
	}
	if isTimeColumn(b.l, s) {
		op = b.op
		return boundFrom(op, b.r, s)
	}
	if isTimeColumn(b.r, s) {
		return boundFrom(op, b.l, s)
	}
	return nil
}

func isTimeColumn(e expr, s schema) bool {
	id, ok := e.(identExpr)
	if !ok || id.name != TimeColumn {
		return false
	}
	i := s.index(TimeColumn)
	return i >= 0 && s[i].Type == TypeDatetime
}

func boundFrom(op string, e expr, s schema) []timeBound {
	v, err := bindExpr(e, s)
	if err != nil || !v.constant || v.typ != TypeDatetime {
		return nil
	}
	return []timeBound{{op: op, val: v}}
}
