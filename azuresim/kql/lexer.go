package kql

import (
	"strconv"
	"strings"
	"time"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokLong
	tokReal
	tokTimespan
	tokDatetime
	tokOp // punctuation and operators, including "!in", "in~", "!in~"
)

var tokNames = [...]string{"end of query", "identifier", "string", "long", "real", "timespan", "datetime", "operator"}

func (k tokKind) String() string { return tokNames[k] }

type token struct {
	kind tokKind
	text string // source text (for idents and ops: the name)
	pos  Pos
	val  any // literal value for string/long/real/timespan/datetime
}

// lexer turns query text into tokens. It is written for the subset: it knows
// only the operators the grammar uses and rejects every other character.
type lexer struct {
	src  string
	off  int
	line int
	col  int
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1, col: 1}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
	}
}

func (l *lexer) pos() Pos { return Pos{Offset: l.off, Line: l.line, Col: l.col} }

func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead < len(l.src) {
		return l.src[l.off+ahead]
	}
	return 0
}

func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); i++ {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.off++
	}
}

func (l *lexer) errAt(p Pos, tokText, msg string) error {
	return &SyntaxError{Pos: p, Token: tokText, Msg: msg}
}

func (l *lexer) skipSpaceAndComments() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.advance(1)
		case c == '/' && l.peekByte(1) == '/':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
		default:
			return
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// ops lists multi-character operators before their prefixes.
var ops = []string{"==", "!=", "<=", ">=", "=~", "!~", "|", ",", "(", ")", "=", "<", ">", "+", "-", "*"}

func (l *lexer) next() (token, error) {
	l.skipSpaceAndComments()
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case isLetter(c):
		return l.ident(p)
	case isDigit(c):
		return l.number(p)
	case c == '"' || c == '\'':
		return l.quoted(p)
	case c == '@' && (l.peekByte(1) == '"' || l.peekByte(1) == '\''):
		return l.verbatim(p)
	case c == '!' && strings.HasPrefix(l.src[l.off:], "!in") && !isIdentByte(l.peekByte(3)):
		l.advance(3)
		text := "!in"
		if l.peekByte(0) == '~' {
			l.advance(1)
			text = "!in~"
		}
		return token{kind: tokOp, text: text, pos: p}, nil
	}
	for _, op := range ops {
		if strings.HasPrefix(l.src[l.off:], op) {
			l.advance(len(op))
			return token{kind: tokOp, text: op, pos: p}, nil
		}
	}
	return token{}, l.errAt(p, string(l.src[l.off:l.off+1]), "unexpected character")
}

func isIdentByte(c byte) bool { return isLetter(c) || isDigit(c) }

func (l *lexer) ident(p Pos) (token, error) {
	start := l.off
	for l.off < len(l.src) && isIdentByte(l.src[l.off]) {
		l.advance(1)
	}
	name := l.src[start:l.off]
	if name == "in" && l.peekByte(0) == '~' {
		l.advance(1)
		return token{kind: tokOp, text: "in~", pos: p}, nil
	}
	if name == "datetime" {
		return l.datetime(p)
	}
	return token{kind: tokIdent, text: name, pos: p}, nil
}

// datetime reads datetime(<raw>): Kusto's datetime literal is not a string,
// so its contents are read raw up to the closing parenthesis.
func (l *lexer) datetime(p Pos) (token, error) {
	save := *l
	l.skipSpaceAndComments()
	if l.peekByte(0) != '(' {
		*l = save
		return token{kind: tokIdent, text: "datetime", pos: p}, nil
	}
	l.advance(1)
	start := l.off
	for l.off < len(l.src) && l.src[l.off] != ')' && l.src[l.off] != '\n' {
		l.advance(1)
	}
	if l.off >= len(l.src) || l.src[l.off] != ')' {
		return token{}, l.errAt(p, "datetime(", "unterminated datetime literal")
	}
	raw := strings.TrimSpace(l.src[start:l.off])
	l.advance(1)
	t, ok := parseDatetime(raw)
	if !ok {
		return token{}, l.errAt(p, "datetime("+raw+")", "invalid datetime literal")
	}
	return token{kind: tokDatetime, text: "datetime(" + raw + ")", pos: p, val: t}, nil
}

var datetimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

func parseDatetime(raw string) (time.Time, bool) {
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, raw); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// spanUnits are the timespan literal suffixes the subset accepts.
var spanUnits = map[string]time.Duration{
	"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second,
	"ms": time.Millisecond, "microsecond": time.Microsecond, "tick": 100 * time.Nanosecond,
}

func (l *lexer) number(p Pos) (token, error) {
	start := l.off
	for isDigit(l.peekByte(0)) {
		l.advance(1)
	}
	real := false
	if l.peekByte(0) == '.' && isDigit(l.peekByte(1)) {
		real = true
		l.advance(1)
		for isDigit(l.peekByte(0)) {
			l.advance(1)
		}
	}
	if c := l.peekByte(0); (c == 'e' || c == 'E') && (isDigit(l.peekByte(1)) || (l.peekByte(1) == '+' || l.peekByte(1) == '-') && isDigit(l.peekByte(2))) {
		real = true
		l.advance(2)
		for isDigit(l.peekByte(0)) {
			l.advance(1)
		}
	}
	num := l.src[start:l.off]
	if isLetter(l.peekByte(0)) {
		us := l.off
		for isIdentByte(l.peekByte(0)) {
			l.advance(1)
		}
		unit := l.src[us:l.off]
		mult, ok := spanUnits[unit]
		if !ok {
			return token{}, l.errAt(p, num+unit, "invalid number or timespan unit")
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f*float64(mult) > float64(maxSpan) {
			return token{}, l.errAt(p, num+unit, "timespan out of range")
		}
		return token{kind: tokTimespan, text: num + unit, pos: p, val: time.Duration(f * float64(mult))}, nil
	}
	if real {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return token{}, l.errAt(p, num, "invalid real literal")
		}
		return token{kind: tokReal, text: num, pos: p, val: f}, nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return token{}, l.errAt(p, num, "long literal out of range")
	}
	return token{kind: tokLong, text: num, pos: p, val: n}, nil
}

// maxSpan keeps timespan literals inside time.Duration.
const maxSpan = time.Duration(1<<63 - 1)

func (l *lexer) quoted(p Pos) (token, error) {
	q := l.src[l.off]
	l.advance(1)
	var b strings.Builder
	for {
		if l.off >= len(l.src) || l.src[l.off] == '\n' {
			return token{}, l.errAt(p, l.src[p.Offset:l.off], "unterminated string literal")
		}
		c := l.src[l.off]
		if c == q {
			l.advance(1)
			return token{kind: tokString, text: l.src[p.Offset:l.off], pos: p, val: b.String()}, nil
		}
		if c == '\\' {
			e := l.peekByte(1)
			var r byte
			switch e {
			case '\\', '"', '\'':
				r = e
			case 'n':
				r = '\n'
			case 't':
				r = '\t'
			case 'r':
				r = '\r'
			default:
				return token{}, l.errAt(l.pos(), l.src[l.off:min(l.off+2, len(l.src))], "unsupported escape sequence")
			}
			b.WriteByte(r)
			l.advance(2)
			continue
		}
		b.WriteByte(c)
		l.advance(1)
	}
}

func (l *lexer) verbatim(p Pos) (token, error) {
	q := l.src[l.off+1]
	l.advance(2)
	start := l.off
	for l.off < len(l.src) && l.src[l.off] != q && l.src[l.off] != '\n' {
		l.advance(1)
	}
	if l.off >= len(l.src) || l.src[l.off] != q {
		return token{}, l.errAt(p, l.src[p.Offset:l.off], "unterminated string literal")
	}
	s := l.src[start:l.off]
	l.advance(1)
	return token{kind: tokString, text: l.src[p.Offset:l.off], pos: p, val: s}, nil
}
