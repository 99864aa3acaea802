package guid

import (
	"regexp"
	"testing"
)

// The pattern each package used to compile for itself; Valid must agree with it.
var pattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"20000000-0000-4000-8000-0000000000c1", true},
		{"6B0AC3E2-4D84-4EE5-A2A6-1F8A3B8A0C11", true},
		{"6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c1", false},
		{"6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c111", false},
		{"6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c1g", false},
		{"6b0ac3e2+4d84-4ee5-a2a6-1f8a3b8a0c11", false},
		{"6b0ac3e24d84-4ee5-a2a6-1f8a3b8a0c11-", false},
		{"{6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c1}", false},
		{"6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c11\n", false},
		{"not-a-guid", false},
		{"", false},
		{"6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0cé", false},
	} {
		if got := Valid(tc.s); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.s, got, tc.want)
		}
		if re := pattern.MatchString(tc.s); re != tc.want {
			t.Errorf("pattern disagrees on %q: %v", tc.s, re)
		}
	}
}

func FuzzValidMatchesPattern(f *testing.F) {
	f.Add("20000000-0000-4000-8000-0000000000c1")
	f.Add("20000000-0000-4000-8000-0000000000c")
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) != pattern.MatchString(s) {
			t.Fatalf("Valid(%q) = %v, pattern says %v", s, Valid(s), pattern.MatchString(s))
		}
	})
}
