package aipfilter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Term is one `field = value` comparison.
type Term struct {
	Field string
	Value string
}

// MaxTerms bounds the work one filter can cause.
const MaxTerms = 32

// Parse returns the terms of expr in order. An empty or blank expr has none.
func Parse(expr string) ([]Term, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	var terms []Term
	for i := 0; i < len(toks); {
		if len(terms) > 0 {
			if toks[i].kind != tokAnd {
				return nil, fmt.Errorf("expected AND at %q", toks[i].text)
			}
			i++
		}
		if i+3 > len(toks) {
			return nil, errors.New("incomplete term: want field = value")
		}
		f, op, v := toks[i], toks[i+1], toks[i+2]
		if f.kind != tokIdent {
			return nil, fmt.Errorf("expected a field name at %q", f.text)
		}
		if op.kind != tokEq {
			return nil, fmt.Errorf("expected = after %q (only equality is supported)", f.text)
		}
		if v.kind != tokIdent && v.kind != tokString {
			return nil, fmt.Errorf("expected a value after %q =", f.text)
		}
		if len(terms) == MaxTerms {
			return nil, fmt.Errorf("more than %d terms", MaxTerms)
		}
		terms = append(terms, Term{Field: f.text, Value: v.text})
		i += 3
	}
	return terms, nil
}

type tokKind int

const (
	tokIdent tokKind = iota
	tokString
	tokEq
	tokAnd
)

type token struct {
	kind tokKind
	text string
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '=':
			toks = append(toks, token{tokEq, "="})
			i++
		case c == '"':
			end := i + 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, errors.New("unterminated string")
			}
			v, err := strconv.Unquote(s[i : end+1])
			if err != nil {
				return nil, fmt.Errorf("bad string %s", s[i:end+1])
			}
			toks = append(toks, token{tokString, v})
			i = end + 1
		case isIdentByte(c):
			end := i
			for end < len(s) && isIdentByte(s[end]) {
				end++
			}
			word := s[i:end]
			if word == "AND" {
				toks = append(toks, token{tokAnd, word})
			} else {
				if strings.HasPrefix(word, ".") || strings.HasSuffix(word, ".") || strings.Contains(word, "..") {
					return nil, fmt.Errorf("bad name %q", word)
				}
				toks = append(toks, token{tokIdent, word})
			}
			i = end
		default:
			r := []rune(s[i:])[0]
			if unicode.IsPrint(r) {
				return nil, fmt.Errorf("unexpected character %q", r)
			}
			return nil, fmt.Errorf("unexpected character %U", r)
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// Enum resolves an enum value written with or without its prefix, in any
// case (ONBOARDED, onboarded or STATE_ONBOARDED), to its full name; false
// for an unknown value or the enum's zero value.
func Enum(prefix, v string, values map[string]int32) (string, bool) {
	v = strings.ToUpper(v)
	if !strings.HasPrefix(v, prefix) {
		v = prefix + v
	}
	n, ok := values[v]
	return v, ok && n != 0
}
