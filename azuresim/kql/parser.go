package kql

import "fmt"

// MaxQueryLength bounds the text Parse accepts, so a hostile body cannot make
// the emulator lex megabytes.
const MaxQueryLength = 64 << 10

// maxDepth bounds expression nesting, so "((((…" cannot exhaust the stack.
const maxDepth = 64

// scalarFuncs are the functions usable in expressions, with their arity.
var scalarFuncs = map[string]int{"ago": 1, "now": 0, "bin": 2, "not": 1, "isempty": 1, "isnotempty": 1}

// aggFuncs are the aggregation functions usable in summarize.
var aggFuncs = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "arg_max": true, "arg_min": true}

// reserved words cannot be column names in the subset.
var reserved = map[string]bool{"in": true, "and": true, "or": true, "by": true, "asc": true, "desc": true, "true": true, "false": true}

type parser struct {
	toks  []token
	i     int
	depth int
}

// Parse parses text against the grammar in doc.go. Errors are *SyntaxError.
func Parse(text string) (*Query, error) {
	if len(text) > MaxQueryLength {
		return nil, &SyntaxError{Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("query longer than %d bytes", MaxQueryLength)}
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	q.text = text
	return q, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) nextTok() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isOp(text string) bool {
	t := p.peek()
	return t.kind == tokOp && t.text == text
}

func (p *parser) isWord(text string) bool {
	t := p.peek()
	return t.kind == tokIdent && t.text == text
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return &SyntaxError{Pos: t.pos, Token: t.text, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expectOp(text string) (token, error) {
	t := p.nextTok()
	if t.kind != tokOp || t.text != text {
		return t, p.errorf(t, "expected %q", text)
	}
	return t, nil
}

func (p *parser) expectIdent(what string) (token, error) {
	t := p.nextTok()
	if t.kind != tokIdent || reserved[t.text] {
		return t, p.errorf(t, "expected %s", what)
	}
	return t, nil
}

func (p *parser) query() (*Query, error) {
	src, err := p.source()
	if err != nil {
		return nil, err
	}
	q := &Query{source: src}
	for p.isOp("|") {
		p.nextTok()
		op, err := p.operator()
		if err != nil {
			return nil, err
		}
		q.ops = append(q.ops, op)
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "expected '|' or end of query")
	}
	return q, nil
}

func (p *parser) source() (sourceExpr, error) {
	t := p.peek()
	if t.kind != tokIdent || reserved[t.text] {
		return sourceExpr{}, p.errorf(t, "expected a table name or 'union'")
	}
	if t.text != "union" {
		p.nextTok()
		return sourceExpr{pos: t.pos, tables: []tableRef{{name: t.text, pos: t.pos}}}, nil
	}
	p.nextTok()
	src := sourceExpr{pos: t.pos, union: true}
	for {
		param := p.peek()
		if param.kind != tokIdent || (param.text != "withsource" && param.text != "isfuzzy") || !p.isOpAt(1, "=") {
			break
		}
		p.nextTok()
		p.nextTok()
		switch param.text {
		case "withsource":
			if src.withSource != "" {
				return src, p.errorf(param, "withsource given twice")
			}
			name, err := p.expectIdent("a column name after withsource=")
			if err != nil {
				return src, err
			}
			src.withSource = name.text
		case "isfuzzy":
			v := p.nextTok()
			if v.kind != tokIdent || (v.text != "true" && v.text != "false") {
				return src, p.errorf(v, "expected true or false after isfuzzy=")
			}
			src.isFuzzy = v.text == "true"
		}
	}
	for {
		name, err := p.expectIdent("a table name")
		if err != nil {
			return src, err
		}
		src.tables = append(src.tables, tableRef{name: name.text, pos: name.pos})
		if !p.isOp(",") {
			return src, nil
		}
		p.nextTok()
	}
}

func (p *parser) isOpAt(n int, text string) bool {
	t := p.peekN(n)
	return t.kind == tokOp && t.text == text
}

func (p *parser) operator() (operator, error) {
	t := p.nextTok()
	if t.kind != tokIdent {
		return nil, p.errorf(t, "expected an operator after '|'")
	}
	switch t.text {
	case "where":
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return whereOp{pos: t.pos, pred: e}, nil
	case "summarize":
		return p.summarize(t)
	case "project", "extend":
		cols, err := p.namedExprs()
		if err != nil {
			return nil, err
		}
		return projectOp{pos: t.pos, extend: t.text == "extend", cols: cols}, nil
	case "take", "limit":
		n := p.nextTok()
		if n.kind != tokLong {
			return nil, p.errorf(n, "expected a long literal after %s", t.text)
		}
		return takeOp{pos: t.pos, n: n.val.(int64)}, nil
	case "order", "sort":
		if by := p.nextTok(); by.kind != tokIdent || by.text != "by" {
			return nil, p.errorf(by, "expected 'by' after %s", t.text)
		}
		return p.order(t)
	}
	return nil, p.errorf(t, "unsupported operator %q", t.text)
}

func (p *parser) summarize(t token) (operator, error) {
	op := summarizeOp{pos: t.pos}
	if p.peek().kind == tokEOF || p.isOp("|") {
		return nil, p.errorf(p.peek(), "summarize needs an aggregation or 'by'")
	}
	if !p.isWord("by") {
		for {
			a, err := p.aggregation()
			if err != nil {
				return nil, err
			}
			op.aggs = append(op.aggs, a)
			if !p.isOp(",") {
				break
			}
			p.nextTok()
		}
	}
	if p.isWord("by") {
		p.nextTok()
		by, err := p.namedExprs()
		if err != nil {
			return nil, err
		}
		op.by = by
	}
	return op, nil
}

func (p *parser) aggregation() (aggregation, error) {
	var a aggregation
	if t := p.peek(); t.kind == tokIdent && p.isOpAt(1, "=") {
		if reserved[t.text] {
			return a, p.errorf(t, "expected a column name")
		}
		a.name = t.text
		p.nextTok()
		p.nextTok()
	}
	fn := p.nextTok()
	a.pos = fn.pos
	if fn.kind != tokIdent || !aggFuncs[fn.text] {
		return a, p.errorf(fn, "expected an aggregation function (count, sum, min, max, arg_max, arg_min)")
	}
	a.fn = fn.text
	if _, err := p.expectOp("("); err != nil {
		return a, err
	}
	switch fn.text {
	case "count":
	case "sum", "min", "max":
		e, err := p.expr()
		if err != nil {
			return a, err
		}
		a.args = []expr{e}
	case "arg_max", "arg_min":
		e, err := p.expr()
		if err != nil {
			return a, err
		}
		a.args = []expr{e}
		if _, err := p.expectOp(","); err != nil {
			return a, err
		}
		if p.isOp("*") {
			p.nextTok()
			a.star = true
			break
		}
		for {
			c, err := p.expectIdent("a column name or '*'")
			if err != nil {
				return a, err
			}
			a.args = append(a.args, identExpr{pos: c.pos, name: c.text})
			if !p.isOp(",") {
				break
			}
			p.nextTok()
		}
	}
	if _, err := p.expectOp(")"); err != nil {
		return a, err
	}
	return a, nil
}

func (p *parser) namedExprs() ([]namedExpr, error) {
	var out []namedExpr
	for {
		var ne namedExpr
		if t := p.peek(); t.kind == tokIdent && !reserved[t.text] && p.isOpAt(1, "=") {
			ne.name = t.text
			p.nextTok()
			p.nextTok()
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		ne.e = e
		out = append(out, ne)
		if !p.isOp(",") {
			return out, nil
		}
		p.nextTok()
	}
}

func (p *parser) order(t token) (operator, error) {
	op := orderOp{pos: t.pos}
	for {
		c, err := p.expectIdent("a column name")
		if err != nil {
			return nil, err
		}
		k := orderKey{pos: c.pos, column: c.text, desc: true}
		if p.isWord("asc") || p.isWord("desc") {
			k.desc = p.nextTok().text == "desc"
		}
		op.keys = append(op.keys, k)
		if !p.isOp(",") {
			return op, nil
		}
		p.nextTok()
	}
}

func (p *parser) expr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errorf(p.peek(), "expression nested too deeply")
	}
	return p.orExpr()
}

func (p *parser) orExpr() (expr, error) {
	return p.leftAssoc(p.andExpr, "or")
}

func (p *parser) andExpr() (expr, error) {
	return p.leftAssoc(p.cmpExpr, "and")
}

// leftAssoc parses operand { word operand } for the keyword operators.
func (p *parser) leftAssoc(operand func() (expr, error), word string) (expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.isWord(word) {
		t := p.nextTok()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = binaryExpr{pos: t.pos, op: word, l: l, r: r}
	}
	return l, nil
}

var cmpOps = map[string]bool{"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true, "=~": true, "!~": true}

func (p *parser) cmpExpr() (expr, error) {
	l, err := p.addExpr()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.kind == tokOp && cmpOps[t.text]:
		p.nextTok()
		r, err := p.addExpr()
		if err != nil {
			return nil, err
		}
		return binaryExpr{pos: t.pos, op: t.text, l: l, r: r}, nil
	case t.kind == tokIdent && t.text == "in", t.kind == tokOp && (t.text == "in~" || t.text == "!in" || t.text == "!in~"):
		p.nextTok()
		if _, err := p.expectOp("("); err != nil {
			return nil, err
		}
		in := inExpr{pos: t.pos, l: l, not: t.text[0] == '!', fold: t.text[len(t.text)-1] == '~'}
		for {
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			in.values = append(in.values, v)
			if !p.isOp(",") {
				break
			}
			p.nextTok()
		}
		if _, err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return in, nil
	}
	return l, nil
}

func (p *parser) addExpr() (expr, error) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		t := p.nextTok()
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		l = binaryExpr{pos: t.pos, op: t.text, l: l, r: r}
	}
	return l, nil
}

func (p *parser) primary() (expr, error) {
	t := p.nextTok()
	switch t.kind {
	case tokString:
		return literalExpr{pos: t.pos, typ: TypeString, val: t.val}, nil
	case tokLong:
		return literalExpr{pos: t.pos, typ: TypeLong, val: t.val}, nil
	case tokReal:
		return literalExpr{pos: t.pos, typ: TypeReal, val: t.val}, nil
	case tokTimespan:
		return literalExpr{pos: t.pos, typ: TypeTimespan, val: t.val}, nil
	case tokDatetime:
		return literalExpr{pos: t.pos, typ: TypeDatetime, val: t.val}, nil
	case tokOp:
		if t.text == "(" {
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		}
	case tokIdent:
		switch {
		case t.text == "true" || t.text == "false":
			return literalExpr{pos: t.pos, typ: TypeBool, val: t.text == "true"}, nil
		case p.isOp("("):
			return p.call(t)
		case reserved[t.text]:
			return nil, p.errorf(t, "unexpected keyword %q", t.text)
		}
		return identExpr{pos: t.pos, name: t.text}, nil
	}
	return nil, p.errorf(t, "expected an expression")
}

func (p *parser) call(name token) (expr, error) {
	arity, ok := scalarFuncs[name.text]
	if !ok {
		if aggFuncs[name.text] {
			return nil, p.errorf(name, "aggregation %q is only allowed in summarize", name.text)
		}
		return nil, p.errorf(name, "unsupported function %q", name.text)
	}
	p.nextTok() // (
	c := callExpr{pos: name.pos, name: name.text}
	if !p.isOp(")") {
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			if !p.isOp(",") {
				break
			}
			p.nextTok()
		}
	}
	if _, err := p.expectOp(")"); err != nil {
		return nil, err
	}
	if len(c.args) != arity {
		return nil, p.errorf(name, "%s() takes %d argument(s), got %d", name.text, arity, len(c.args))
	}
	return c, nil
}
