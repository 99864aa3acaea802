package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestServeFlagsInReadme: every serve flag (and the root's) has a row in
// the README's Configuration table, so a new flag is never undocumented,
// and every row names a real flag, so none is documented but missing.
func TestServeFlagsInReadme(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	check := func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		if !strings.Contains(readme, "| `--"+f.Name+"` |") {
			t.Errorf("--%s has no row in README.md's Configuration table", f.Name)
		}
	}
	serve, root := newServeCommand().Flags(), newRootCommand().PersistentFlags()
	serve.VisitAll(check)
	root.VisitAll(check)
	_, table, _ := strings.Cut(readme, "\n## Configuration\n")
	table, _, _ = strings.Cut(table, "\n## ")
	for _, line := range strings.Split(table, "\n") {
		name, ok := strings.CutPrefix(line, "| `--")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, "`")
		if serve.Lookup(name) == nil && root.Lookup(name) == nil {
			t.Errorf("README.md documents --%s, which serve does not have", name)
		}
	}
}
