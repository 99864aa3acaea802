package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasAnExample keeps --help useful as commands are added.
func TestEveryCommandHasAnExample(t *testing.T) {
	a := &app{io: IO{Getenv: noEnv(t)}}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || strings.HasPrefix(c.CommandPath(), "xdrlink completion") {
			return
		}
		if c.Example == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(a.rootCommand())
}

func TestCompletionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"completion", "bash"}, {"completion", "zsh"}, {"onboard", "--help"}} {
		var out, errOut bytes.Buffer
		code := Run(args, IO{Out: &out, Err: &errOut, Getenv: noEnv(t)})
		if code != 0 || out.Len() == 0 {
			t.Errorf("%v: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	Run([]string{"onboard", "--help"}, IO{Out: &out, Err: &out, Getenv: noEnv(t)})
	if !strings.Contains(out.String(), "Examples:") || !strings.Contains(out.String(), "--max-concurrency") {
		t.Errorf("onboard --help:\n%s", out.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"onboard"}, {"onboard", "a", "--all"}, {"tenants", "list", "-o", "xml"}, {"tenants", "update", "x"}} {
		var out, errOut bytes.Buffer
		if code := Run(append([]string{"--addr", "127.0.0.1:1"}, args...), IO{Out: &out, Err: &errOut, Getenv: noEnv(t)}); code != ExitError {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitError, errOut.String())
		}
	}
}

// noEnv is an empty environment whose configuration file is the test's own.
func noEnv(t *testing.T) func(string) string {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	return func(k string) string {
		if k == "XDRLINK_CONFIG" {
			return cfg
		}
		return ""
	}
}
