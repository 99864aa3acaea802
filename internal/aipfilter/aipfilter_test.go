package aipfilter

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []Term
	}{
		{"", nil},
		{"   ", nil},
		{"state = ONBOARDED", []Term{{"state", "ONBOARDED"}}},
		{"state=STATE_FAILED", []Term{{"state", "STATE_FAILED"}}},
		{`labels.tier = "gold" AND state = ONBOARDED`, []Term{{"labels.tier", "gold"}, {"state", "ONBOARDED"}}},
		{`labels.region-x = "eu \"west\""`, []Term{{"labels.region-x", `eu "west"`}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"state", "state =", "= x", "state != x", "state = x OR state = y", "state = x AND",
		"state = x state = y", `labels.a = "open`, "labels..a = b", ".a = b", "a. = b",
		"state = (x)", "state = x; DROP TABLE tenants", "state = \x00",
	} {
		if terms, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, terms)
		}
	}
}

func TestParseBoundsTerms(t *testing.T) {
	expr := "a = b"
	for range MaxTerms {
		expr += " AND a = b"
	}
	if _, err := Parse(expr); err == nil {
		t.Fatalf("Parse accepted %d terms, want at most %d", MaxTerms+1, MaxTerms)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"state = ONBOARDED", `labels.a = "b" AND state = X`, `"`, "a = \"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := Parse(s)
		if err == nil && len(terms) > MaxTerms {
			t.Fatalf("%d terms", len(terms))
		}
	})
}

func TestEnum(t *testing.T) {
	values := map[string]int32{"STATE_UNSPECIFIED": 0, "STATE_ONBOARDED": 4}
	for in, want := range map[string]bool{"ONBOARDED": true, "onboarded": true, "STATE_ONBOARDED": true,
		"UNSPECIFIED": false, "STATE_UNSPECIFIED": false, "GONE": false, "": false} {
		got, ok := Enum("STATE_", in, values)
		if ok != want || (ok && got != "STATE_ONBOARDED") {
			t.Errorf("Enum(%q) = %q, %v; want ok %v", in, got, ok, want)
		}
	}
}
