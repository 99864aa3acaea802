// Package deploy holds the deployment checks: the Dockerfile (dockerfile_test.go)
// and the Helm chart in helm/xdrlink (chart_test.go), held against the
// xdrlinkd they run: its commands, flags and config loader. Docker and a
// cluster are not needed; helm runs as a tool of tools/go.mod.
package deploy

import (
	"bufio"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is where the Dockerfile's `COPY . .` starts: go test runs in deploy/.
const repoRoot = ".."

var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "xdrlink-deploy-test")
	if err != nil {
		panic(err)
	}
	workDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// recordInputs opens every directory of the repository (and reads the
// Dockerfile and the chart) in this process, so that `go test`'s result
// cache sees them: the binary and the manifests are built by subprocesses,
// whose reads the cache cannot see, and a cached pass after a change to
// the chart or to xdrlinkd's flags would be a lie.
var recordInputs = sync.OnceFunc(func() {
	_ = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "node_modules" || name == "bin" || name == "data" {
				return filepath.SkipDir
			}
			if f, err := os.Open(path); err == nil {
				_, _ = f.ReadDir(-1)
				_ = f.Close()
			}
			return nil
		}
		if strings.HasPrefix(path, filepath.Join(repoRoot, "deploy")) || d.Name() == "Dockerfile" ||
			d.Name() == "go.mod" || strings.HasPrefix(path, filepath.Join(repoRoot, "cmd", "xdrlinkd")) {
			_, _ = os.ReadFile(path)
		}
		return nil
	})
})

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildTime time.Duration
)

// xdrlinkd returns the binary built exactly as the Dockerfile builds it
// (its environment and flags, from the repository root), built once.
func xdrlinkd(t *testing.T) string {
	t.Helper()
	recordInputs()
	buildOnce.Do(func() {
		df, err := parseDockerfile(filepath.Join(repoRoot, "Dockerfile"))
		if err != nil {
			buildErr = err
			return
		}
		b, err := df.goBuild()
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(workDir, "xdrlinkd")
		args := b.argsWithOutput(binPath)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = repoRoot
		// The Dockerfile's variables last: exec keeps the last of duplicates.
		cmd.Env = append(os.Environ(), b.env...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		buildTime = time.Since(start)
		if err != nil {
			buildErr = &buildError{args: args, env: b.env, out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type buildError struct {
	args, env []string
	out       string
	err       error
}

func (e *buildError) Error() string {
	return "go " + strings.Join(e.args, " ") + " (env " + strings.Join(e.env, " ") + "): " + e.err.Error() + "\n" + e.out
}

// run runs the binary with a clean environment (env only, as in a
// container) in a fresh directory, and returns its exit code and output.
func run(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after 30s (it should have exited): %s", bin, strings.Join(args, " "), errb.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return 0, out.String(), errb.String()
}

var flagLine = regexp.MustCompile(`^\s+(?:-[A-Za-z], )?--([a-z0-9][a-z0-9-]*)`)

var (
	flagsMu    sync.Mutex
	flagsCache = map[string]map[string]bool{}
)

// commandFlags lists the flags a command of the built xdrlinkd accepts
// (its own and the global ones), read from its --help: the binary, not a
// copy of its flag list, is the authority.
func commandFlags(t *testing.T, command string) map[string]bool {
	t.Helper()
	flagsMu.Lock()
	defer flagsMu.Unlock()
	if f, ok := flagsCache[command]; ok {
		return f
	}
	code, out, errOut := run(t, xdrlinkd(t), nil, command, "--help")
	if code != 0 {
		t.Fatalf("xdrlinkd %s --help: exit %d: %s", command, code, errOut)
	}
	flags := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := flagLine.FindStringSubmatch(sc.Text()); m != nil && m[1] != "help" {
			flags[m[1]] = true
		}
	}
	if len(flags) == 0 {
		t.Fatalf("xdrlinkd %s --help lists no flags:\n%s", command, out)
	}
	flagsCache[command] = flags
	return flags
}

// envFlag is the flag an XDRLINK_* variable sets (bindEnv's rule reversed).
func envFlag(env string) (string, bool) {
	rest, ok := strings.CutPrefix(env, "XDRLINK_")
	if !ok {
		return "", false
	}
	return strings.ReplaceAll(strings.ToLower(rest), "_", "-"), true
}

// checkEnvNamesFlags fails for every XDRLINK_* variable that names no flag
// of the command: xdrlinkd ignores unknown variables, so a misspelt one
// would silently leave a setting at its default. Variables the Azure config
// names (credential secrets) are exempt.
func checkEnvNamesFlags(t *testing.T, where, command string, names []string, exempt map[string]bool) {
	t.Helper()
	flags := commandFlags(t, command)
	var bad []string
	for _, n := range names {
		f, ok := envFlag(n)
		if !ok || exempt[n] || flags[f] {
			continue
		}
		bad = append(bad, n)
	}
	if len(bad) > 0 {
		known := make([]string, 0, len(flags))
		for f := range flags {
			known = append(known, f)
		}
		sort.Strings(known)
		t.Errorf("%s: %v name no flag of xdrlinkd %s (flags: %v)", where, bad, command, known)
	}
}
