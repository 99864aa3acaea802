package render

import "testing"

func TestSparkline(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want string
	}{
		{nil, ""},
		{[]int64{0, 0}, "··"},
		{[]int64{1, 8, 0, 4}, "▂█·▅"},
		{[]int64{5, 5}, "██"},
	} {
		if got := Sparkline(tc.in); got != tc.want {
			t.Errorf("Sparkline(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPaint(t *testing.T) {
	if got := (Printer{}).Paint("x", Bad); got != "x" {
		t.Errorf("no colour: %q", got)
	}
	if got := (Printer{Color: true}).Paint("x", Good); got != "\x1b[32mx\x1b[0m" {
		t.Errorf("colour: %q", got)
	}
}
