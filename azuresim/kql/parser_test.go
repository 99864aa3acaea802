package kql

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAccepts(t *testing.T) {
	for _, q := range []string{
		incidentsQuery, alertsQuery, volumeQuery, dailyQuery, lastLogQuery, connectedQuery,
		"T",
		"T | take 10",
		"T | limit 0",
		"T | where A == 'x' and B != @\"y\\z\" or C =~ \"Q\"",
		"T | where A !in~ ('a', 'b') and B in (1, 2.5) and C !in (\"x\")",
		"T | where TimeGenerated >= datetime(2024-01-02) and TimeGenerated < datetime(2024-01-03T04:05:06.5Z)",
		"T | where TimeGenerated > now() - 1h and not(isempty(A)) and isnotempty(B)",
		"T | where X > 1e3 and Y < 30m and Z >= 100ms and W <= 10microsecond and V > 5tick",
		"T | extend D = bin(TimeGenerated, 1h) | project D, A",
		"T | summarize by A",
		"T | summarize sum(N), min(N), arg_min(TimeGenerated, A, B) by A",
		"T | order by A asc, B desc | sort by C",
		"// leading comment\nT // trailing comment\n| take 1",
		"union T1 , T2",
		"union isfuzzy=false withsource=S T1",
	} {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%q) = %v, want nil", q, err)
		}
	}
	start, end := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 2, 13, 35, 123456700, time.UTC)
	for _, q := range []string{dailyIncidentsQuery, dailyAlertsQuery, dailyTablesQuery, lastIncidentQuery, lastAlertsQuery, lastTablesQuery} {
		if _, err := Parse(verificationQuery(q, start, end)); err != nil {
			t.Errorf("Parse(%q) = %v, want nil", q, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		query, msg, token string
		line, col         int
	}{
		{"", "expected a table name", "", 1, 1},
		{"T |", "expected an operator", "", 1, 4},
		{"T | join U on A", `unsupported operator "join"`, "join", 1, 5},
		{"T | mv-expand A", `unsupported operator "mv"`, "mv", 1, 5},
		{"T | parse A with *", `unsupported operator "parse"`, "parse", 1, 5},
		{"T\n| where A has 'x'", "expected '|' or end of query", "has", 2, 11},
		{"T | where A contains 'x'", "expected '|' or end of query", "contains", 1, 13},
		{"T | where tolower(A) == 'x'", `unsupported function "tolower"`, "tolower", 1, 11},
		{"T | where count() > 1", "only allowed in summarize", "count", 1, 11},
		{"T | summarize dcount(A)", "expected an aggregation function", "dcount", 1, 15},
		{"T | summarize", "needs an aggregation or 'by'", "", 1, 14},
		{"T | where A == 'x", "unterminated string", "'x", 1, 16},
		{"T | where A == \"\\q\"", "unsupported escape", "\\q", 1, 17},
		{"T | where A > 7y", "invalid number or timespan unit", "7y", 1, 15},
		{"T | where A > datetime(yesterday)", "invalid datetime", "datetime(yesterday)", 1, 15},
		{"T | where A > ago(7d", `expected ")"`, "", 1, 21},
		{"T | where ago(1d, 2d)", "ago() takes 1 argument", "ago", 1, 11},
		{"T | where A.b == 1", "unexpected character", ".", 1, 12},
		{"T | take A", "expected a long literal", "A", 1, 10},
		{"T | order A", "expected 'by'", "A", 1, 11},
		{"let x = 1; T", "unexpected character", ";", 1, 10},
		{"T;", "unexpected character", ";", 1, 2},
		{"T | where A == 1 | ", "expected an operator", "", 1, 20},
		{"union withsource=and T", "expected a column name", "and", 1, 18},
		{"union isfuzzy=maybe T", "expected true or false", "maybe", 1, 15},
		{"union T1, (T2 | where A == 1)", "expected a table name", "(", 1, 11},
		{"T | where and == 1", `unexpected keyword "and"`, "and", 1, 11},
		{"T | project A = ", "expected an expression", "", 1, 17},
		{"T | where A == 99999999999999999999", "out of range", "99999999999999999999", 1, 16},
		{"T | summarize arg_max(TimeGenerated)", `expected ","`, ")", 1, 36},
		{"T | where " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), "nested too deeply", "(", 1, 75},
		{"t | WHERE A == 1", `unsupported operator "WHERE"`, "WHERE", 1, 5},
		{"T | where A == 'é", "unterminated string", "'é", 1, 16},
		{"T | where A == é", "unexpected character", "\xc3", 1, 16},
	} {
		_, err := Parse(tc.query)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want *SyntaxError", tc.query, err)
			continue
		}
		if !strings.Contains(se.Msg, tc.msg) || se.Token != tc.token || se.Pos.Line != tc.line || se.Pos.Col != tc.col {
			t.Errorf("Parse(%q) = {%d:%d %q %q}, want {%d:%d %q ...%q...}", tc.query,
				se.Pos.Line, se.Pos.Col, se.Token, se.Msg, tc.line, tc.col, tc.token, tc.msg)
		}
	}
}

func TestParseRejectsOversizeQuery(t *testing.T) {
	_, err := Parse("T | where A == '" + strings.Repeat("x", MaxQueryLength) + "'")
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "longer than") {
		t.Fatalf("err = %v, want size SyntaxError", err)
	}
}
