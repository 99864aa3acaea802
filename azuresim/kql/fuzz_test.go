package kql

import (
	"context"
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	incidentsQuery, alertsQuery, volumeQuery, dailyQuery, lastLogQuery, connectedQuery,
	"T | where A in~ ('a') | take 5 | order by A asc",
	"DeviceInfo | where TimeGenerated > datetime(2026-01-01 10:00) - 1.5h | extend B = bin(TimeGenerated, 1tick)",
	"union withsource=S isfuzzy=true DeviceInfo, Nope | summarize arg_min(TimeGenerated, *) by S",
	"DeviceInfo | summarize sum(1), min(DeviceName) by bin(TimeGenerated, 0s)",
	"T | where X == @'v' and Y != \"\\\"\" // c",
}

// FuzzParse checks that Parse never panics and that every failure is a
// *SyntaxError with a position inside the text.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		_, err := Parse(text)
		if err == nil {
			return
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q) returned %T, want *SyntaxError", text, err)
		}
		if se.Pos.Offset < 0 || se.Pos.Offset > len(text) || se.Pos.Line < 1 || se.Pos.Col < 1 {
			t.Fatalf("Parse(%q): position %+v outside the text", text, se.Pos)
		}
	})
}

// FuzzEval checks that whatever parses also compiles or fails with a
// *SemanticError, and runs without panicking.
func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	db := testDB()
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse(text)
		if err != nil {
			return
		}
		p, err := Compile(q, db)
		if err != nil {
			var se *SemanticError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) returned %T, want *SemanticError", text, err)
			}
			return
		}
		if _, err := p.Run(context.Background(), db, Env{Now: now, MaxRows: 1000}); err != nil {
			t.Fatalf("Run(%q): %v", text, err)
		}
	})
}
