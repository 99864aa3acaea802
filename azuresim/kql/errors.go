package kql

import "fmt"

// Pos is a position in the query text: Line and Col are 1-based, Offset is
// the byte offset.
type Pos struct {
	Offset, Line, Col int
}

// SyntaxError reports query text outside the grammar in doc.go, including
// valid Kusto that the subset does not support.
type SyntaxError struct {
	Pos   Pos
	Token string // the offending token text, "" at end of input
	Msg   string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at line %d, column %d near %q: %s", e.Pos.Line, e.Pos.Col, e.Token, e.Msg)
}

// SemanticError reports a query that parses but cannot be bound: an unknown
// table or column, a type mismatch, a duplicate output column.
type SemanticError struct {
	Msg string
}

func (e *SemanticError) Error() string { return "semantic error: " + e.Msg }

func semErr(format string, args ...any) error {
	return &SemanticError{Msg: fmt.Sprintf(format, args...)}
}
