package azuresim

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ARM template expressions, the subset Content Hub templates need for the
// resources the sim applies: parameters('x'), variables('x'), concat(...),
// and string literals. Anything else fails validation, like an invalid
// template does in ARM.

type templateEval struct {
	params map[string]any
	vars   map[string]any
	depth  int
	work   int // see templateWorkBudget
}

// templateWorkBudget bounds one template's evaluation: bytes of expression
// text parsed, JSON values copied and bytes concat() builds. A variable is
// evaluated again at every reference, so variables that reference each
// other several times would otherwise grow exponentially ("billion laughs").
// Real templates (at most 4 MB, like the request body) stay far below it.
const templateWorkBudget = 32 << 20

// maxExprDepth bounds function-call nesting within one expression.
const maxExprDepth = 64

var errTemplateTooLarge = errors.New("the template is too large once its expressions are evaluated")

func (e *templateEval) charge(n int) error {
	if e.work += n; e.work > templateWorkBudget {
		return errTemplateTooLarge
	}
	return nil
}

// evalValue evaluates expressions inside any JSON value.
func (e *templateEval) evalValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return e.evalString(x)
	case map[string]any:
		if err := e.charge(len(x)); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(x))
		for k, vv := range x {
			r, err := e.evalValue(vv)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		if err := e.charge(len(x)); err != nil {
			return nil, err
		}
		out := make([]any, len(x))
		for i, vv := range x {
			r, err := e.evalValue(vv)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func (e *templateEval) evalString(s string) (any, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return s, nil
	}
	if strings.HasPrefix(s, "[[") { // escaped literal
		return s[1:], nil
	}
	if err := e.charge(len(s)); err != nil {
		return nil, err
	}
	p := &exprParser{src: s[1 : len(s)-1]}
	v, err := p.parse(e)
	if errors.Is(err, errTemplateTooLarge) {
		return nil, err // not wrapped: the expression may be huge
	}
	if err != nil {
		return nil, fmt.Errorf("the template expression '%s' is not valid: %w", s, err)
	}
	return v, nil
}

type exprParser struct {
	src   string
	pos   int
	depth int
}

func (p *exprParser) skip() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *exprParser) parse(e *templateEval) (any, error) {
	v, err := p.expr(e)
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected '%s'", p.src[p.pos:])
	}
	return v, nil
}

func (p *exprParser) expr(e *templateEval) (any, error) {
	if p.depth++; p.depth > maxExprDepth {
		return nil, fmt.Errorf("expression nested too deeply")
	}
	defer func() { p.depth-- }()
	p.skip()
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	if p.src[p.pos] == '\'' {
		p.pos++
		var b strings.Builder
		for p.pos < len(p.src) {
			c := p.src[p.pos]
			p.pos++
			if c == '\'' {
				if p.pos < len(p.src) && p.src[p.pos] == '\'' { // '' escapes a quote
					b.WriteByte('\'')
					p.pos++
					continue
				}
				return b.String(), nil
			}
			b.WriteByte(c)
		}
		return nil, fmt.Errorf("unterminated string")
	}
	start := p.pos
	for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos]))) {
		p.pos++
	}
	name := strings.ToLower(p.src[start:p.pos])
	if name == "" {
		return nil, fmt.Errorf("unexpected '%c'", p.src[p.pos])
	}
	p.skip()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, fmt.Errorf("expected '(' after %s", name)
	}
	p.pos++
	var args []any
	for {
		p.skip()
		if p.pos < len(p.src) && p.src[p.pos] == ')' {
			p.pos++
			break
		}
		a, err := p.expr(e)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		p.skip()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
		}
	}
	return e.call(name, args)
}

func (e *templateEval) call(name string, args []any) (any, error) {
	switch name {
	case "parameters", "variables":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s() takes one argument", name)
		}
		key, _ := args[0].(string)
		src := e.params
		if name == "variables" {
			src = e.vars
		}
		v, ok := src[key]
		if !ok {
			return nil, fmt.Errorf("the %s '%s' is not defined in the template", strings.TrimSuffix(name, "s"), key)
		}
		if name == "variables" {
			if e.depth > 8 {
				return nil, fmt.Errorf("variables nest too deeply")
			}
			e.depth++
			defer func() { e.depth-- }()
			return e.evalValue(v)
		}
		return v, nil
	case "concat":
		var b strings.Builder
		for _, a := range args {
			fmt.Fprint(&b, a)
		}
		if err := e.charge(b.Len()); err != nil {
			return nil, err
		}
		return b.String(), nil
	}
	return nil, fmt.Errorf("the template function '%s' is not supported by azuresim", name)
}
