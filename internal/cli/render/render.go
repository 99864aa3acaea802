package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// Format is an --output value.
type Format string

// The output formats.
const (
	Table Format = "table"
	JSON  Format = "json"
	YAML  Format = "yaml"
)

// ParseFormat checks an --output value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Table, JSON, YAML:
		return f, nil
	}
	return "", fmt.Errorf("unknown output %q: want table, json or yaml", s)
}

// Printer writes to Out in Format.
type Printer struct {
	Out    io.Writer
	Format Format
	// Color allows ANSI colours (a terminal, and neither --no-color nor
	// NO_COLOR).
	Color bool
}

// Structured reports whether the output is for programs (json or yaml).
func (p Printer) Structured() bool { return p.Format == JSON || p.Format == YAML }

// Message prints m as protojson or YAML. Zero values are included so a
// script sees every field.
func (p Printer) Message(m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	if p.Format == YAML {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = p.Out.Write(b)
		return err
	}
	_, err = fmt.Fprintf(p.Out, "%s\n", b)
	return err
}

// JSONLine prints m as one line of protojson (for streams).
func (p Printer) JSONLine(m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.Out, "%s\n", b)
	return err
}

// Rows prints an aligned table with a header row.
func (p Printer) Rows(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// ANSI colours.
const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	reset  = "\x1b[0m"
)

// Tone is how good a value is, which picks its colour.
type Tone int

// Tones.
const (
	Neutral Tone = iota
	Good
	Warn
	Bad
)

// Paint colours s by tone when colours are allowed.
func (p Printer) Paint(s string, t Tone) string {
	if !p.Color {
		return s
	}
	switch t {
	case Good:
		return green + s + reset
	case Warn:
		return yellow + s + reset
	case Bad:
		return red + s + reset
	}
	return s
}

// Sparkline draws counts as unicode blocks, one per value, scaled to the
// largest; a zero is a space-like low dot so a gap stays visible.
func Sparkline(counts []int64) string {
	blocks := []rune("▁▂▃▄▅▆▇█")
	var maxv int64
	for _, c := range counts {
		maxv = max(maxv, c)
	}
	var b strings.Builder
	for _, c := range counts {
		switch {
		case c <= 0:
			b.WriteRune('·')
		case maxv == 0:
			b.WriteRune(blocks[0])
		default:
			b.WriteRune(blocks[int((c*int64(len(blocks)-1)+maxv-1)/maxv)])
		}
	}
	return b.String()
}
