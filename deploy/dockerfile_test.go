package deploy

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"go/version"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dockerfile is the subset of a Dockerfile these checks read: stages and
// their instructions, line continuations joined, comments dropped.
type dockerfile struct {
	stages []*stage
}

type stage struct {
	from, name string
	instrs     []instr
}

type instr struct {
	cmd  string // upper case: RUN, COPY, ...
	args string // the rest, continuations joined
}

func parseDockerfile(path string) (*dockerfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	df := &dockerfile{}
	var cur strings.Builder
	flush := func() error {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instr{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := &stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			df.stages = append(df.stages, s)
			return nil
		}
		if len(df.stages) == 0 {
			return fmt.Errorf("%s: %s before FROM", path, in.cmd)
		}
		s := df.stages[len(df.stages)-1]
		s.instrs = append(s.instrs, in)
		return nil
	}
	for _, raw := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(raw)
		if strings.HasPrefix(t, "#") {
			continue // comments, also inside a continued instruction
		}
		if strings.HasSuffix(t, `\`) {
			cur.WriteString(strings.TrimSuffix(t, `\`) + " ")
			continue
		}
		cur.WriteString(t)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(df.stages) < 2 {
		return nil, fmt.Errorf("%s: want a build stage and a final stage, got %d stages", path, len(df.stages))
	}
	return df, nil
}

func (df *dockerfile) final() *stage { return df.stages[len(df.stages)-1] }

func (s *stage) all(cmd string) []instr {
	var out []instr
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s *stage) last(cmd string) (instr, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return instr{}, false
	}
	return all[len(all)-1], true
}

// env is the stage's ENV, in order (KEY=VALUE words; the legacy
// "ENV KEY VALUE" form is refused).
func (s *stage) env() ([]string, error) {
	var out []string
	for _, in := range s.all("ENV") {
		words, err := shellWords(in.args)
		if err != nil {
			return nil, err
		}
		for _, w := range words {
			if !strings.Contains(w, "=") {
				return nil, fmt.Errorf("ENV %s: want KEY=VALUE", in.args)
			}
			out = append(out, w)
		}
	}
	return out, nil
}

// goBuildCmd is the `go build` of the build stage.
type goBuildCmd struct {
	stage  *stage
	env    []string // the stage's ENV, then the command's own assignments
	args   []string // build ... (after "go")
	output string   // -o, in the image's build stage
}

func (b goBuildCmd) argsWithOutput(path string) []string {
	out := slices.Clone(b.args)
	for i := range out {
		if out[i] == "-o" && i+1 < len(out) {
			out[i+1] = path
		}
	}
	return out
}

// goBuild finds the build stage's `go build` (one && segment of a RUN).
func (df *dockerfile) goBuild() (goBuildCmd, error) {
	for _, s := range df.stages[:len(df.stages)-1] {
		for _, in := range s.all("RUN") {
			for _, seg := range strings.Split(in.args, "&&") {
				words, err := shellWords(seg)
				if err != nil {
					return goBuildCmd{}, err
				}
				i := 0
				for i < len(words) && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[i]) {
					i++
				}
				if len(words) < i+2 || words[i] != "go" || words[i+1] != "build" {
					continue
				}
				env, err := s.env()
				if err != nil {
					return goBuildCmd{}, err
				}
				b := goBuildCmd{stage: s, env: append(env, words[:i]...), args: words[i+1:]}
				for j, w := range b.args {
					if w == "-o" && j+1 < len(b.args) {
						b.output = b.args[j+1]
					}
				}
				if b.output == "" {
					return goBuildCmd{}, fmt.Errorf("RUN %s: no -o", seg)
				}
				return b, nil
			}
		}
	}
	return goBuildCmd{}, fmt.Errorf("no `go build` in a build stage")
}

// shellWords splits a command line as sh would for these simple cases:
// blanks separate words, quotes group, backslash escapes outside single quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' && i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// execForm decodes a JSON-array (exec form) argument list.
func execForm(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &out); err != nil || len(out) == 0 {
		return nil, fmt.Errorf("want the exec form [\"...\"], got %s", s)
	}
	return out, nil
}

// TestDockerfileBinaryIsStatic builds xdrlinkd as the Dockerfile does and
// checks that it runs on an empty base: no ELF interpreter, no shared
// libraries. (The Dockerfile also runs it in the final stage, which only a
// docker build would show.)
func TestDockerfileBinaryIsStatic(t *testing.T) {
	bin := xdrlinkd(t)
	t.Logf("built as the Dockerfile does in %v", buildTime.Round(1e8))
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Error("the binary has an ELF interpreter (PT_INTERP): it is dynamically linked and cannot run on scratch")
		case elf.PT_DYNAMIC:
			t.Error("the binary has a dynamic section (PT_DYNAMIC): it is dynamically linked")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("the binary needs shared libraries (DT_NEEDED) %v", libs)
	}
}

// TestDockerfileMatchesBinary checks the Dockerfile against the binary it
// ships: the Go version, what is copied where, the user, the environment,
// the ports, the health check and the default command.
func TestDockerfileMatchesBinary(t *testing.T) {
	df, err := parseDockerfile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := df.goBuild()
	if err != nil {
		t.Fatal(err)
	}
	bin := xdrlinkd(t)
	final := df.final()

	t.Run("static build", func(t *testing.T) {
		if !slices.Contains(b.env, "CGO_ENABLED=0") {
			t.Errorf("go build runs without CGO_ENABLED=0 (env %v): a cgo binary needs a libc the base does not have", b.env)
		}
		if final.from != "scratch" && !strings.Contains(final.from, "distroless/static") {
			t.Errorf("final base %s: want scratch or distroless static", final.from)
		}
	})

	t.Run("go version", func(t *testing.T) {
		// The image's Go must be at least go.mod's, or `go build` in the
		// image would download another toolchain, or fail without network.
		m := regexp.MustCompile(`^golang:(\d+\.\d+(?:\.\d+)?)`).FindStringSubmatch(b.stage.from)
		if m == nil {
			t.Fatalf("build stage FROM %s: want golang:<version>", b.stage.from)
		}
		mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		gm := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(mod)
		if gm == nil {
			t.Fatal("go.mod has no go directive")
		}
		if version.Compare(version.Lang("go"+m[1]), version.Lang("go"+string(gm[1]))) < 0 {
			t.Errorf("build stage %s is older than go.mod's go %s", b.stage.from, gm[1])
		}
	})

	// Where the built binary lands in the final image.
	var binInImage string
	t.Run("copy", func(t *testing.T) {
		for _, in := range final.all("COPY") {
			words, _ := shellWords(in.args)
			var from string
			var paths []string
			for _, w := range words {
				if v, ok := strings.CutPrefix(w, "--from="); ok {
					from = v
				} else if !strings.HasPrefix(w, "--") {
					paths = append(paths, w)
				}
			}
			if len(paths) == 2 && paths[0] == b.output && (from == b.stage.name || from == "0") {
				binInImage = paths[1]
			}
		}
		if binInImage == "" {
			t.Fatalf("the final stage copies no %s from stage %s", b.output, b.stage.name)
		}
	})
	if binInImage == "" {
		t.FailNow()
	}

	t.Run("user", func(t *testing.T) {
		in, ok := final.last("USER")
		if !ok {
			t.Fatal("no USER: the container would run as root")
		}
		uid, _, _ := strings.Cut(in.args, ":")
		n, err := strconv.Atoi(uid)
		if err != nil {
			t.Fatalf("USER %s: want a numeric uid (scratch has no /etc/passwd; runAsNonRoot checks numbers)", in.args)
		}
		if n == 0 {
			t.Fatal("USER 0 is root")
		}
		// What the server writes to (the SQLite default, /tmp) must be its own.
		for _, in2 := range final.all("COPY") {
			if m := regexp.MustCompile(`--chown=(\S+)`).FindStringSubmatch(in2.args); m != nil && m[1] != in.args {
				t.Errorf("COPY %s: owned by %s, but the server runs as %s", in2.args, m[1], in.args)
			}
		}
	})

	env, err := final.env()
	if err != nil {
		t.Fatal(err)
	}
	envMap := map[string]string{}
	var envNames []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
		envNames = append(envNames, k)
	}

	t.Run("env", func(t *testing.T) {
		checkEnvNamesFlags(t, "Dockerfile ENV", "serve", envNames, nil)
	})

	ports := map[string]bool{}
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			ports[strings.TrimSuffix(p, "/tcp")] = true
		}
	}
	portOf := func(addr string) string {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("address %q: %v", addr, err)
		}
		return p
	}

	t.Run("expose", func(t *testing.T) {
		for _, k := range []string{"XDRLINK_GRPC_ADDR", "XDRLINK_HTTP_ADDR"} {
			addr, ok := envMap[k]
			if !ok {
				t.Errorf("no ENV %s: serve's default listens on loopback, unreachable from outside the container", k)
				continue
			}
			if !ports[portOf(addr)] {
				t.Errorf("%s=%s: port not in EXPOSE %v", k, addr, ports)
			}
		}
	})

	t.Run("healthcheck", func(t *testing.T) {
		in, ok := final.last("HEALTHCHECK")
		if !ok {
			t.Fatal("no HEALTHCHECK")
		}
		_, cmdPart, ok := strings.Cut(in.args, "CMD ")
		if !ok {
			t.Fatalf("HEALTHCHECK %s: no CMD", in.args)
		}
		argv, err := execForm(cmdPart)
		if err != nil {
			t.Fatalf("HEALTHCHECK: %v (scratch has no shell)", err)
		}
		if argv[0] != binInImage || len(argv) < 2 || argv[1] != "health" {
			t.Fatalf("HEALTHCHECK runs %v: want %s health ...", argv, binInImage)
		}
		// Its flags are health's (--help fails on an unknown one).
		if code, _, errOut := run(t, bin, env, append(argv[1:], "--help")...); code != 0 {
			t.Errorf("HEALTHCHECK %v: the flags do not parse: %s", argv, errOut)
		}
		// It probes the port the server listens on.
		for i, a := range argv {
			addr, ok := strings.CutPrefix(a, "--grpc-addr=")
			if a == "--grpc-addr" && i+1 < len(argv) {
				addr, ok = argv[i+1], true
			}
			if ok && portOf(addr) != portOf(envMap["XDRLINK_GRPC_ADDR"]) {
				t.Errorf("HEALTHCHECK probes %s, the server listens on %s", addr, envMap["XDRLINK_GRPC_ADDR"])
			}
		}
	})

	t.Run("run in final stage", func(t *testing.T) {
		for _, in := range final.all("RUN") {
			argv, err := execForm(in.args)
			if err != nil {
				t.Errorf("RUN %s in the final stage: %v (scratch has no shell)", in.args, err)
				continue
			}
			if argv[0] != binInImage {
				t.Errorf("RUN %v: the final stage has only %s", argv, binInImage)
				continue
			}
			if code, _, errOut := run(t, bin, env, argv[1:]...); code != 0 {
				t.Errorf("RUN %v: exit %d: %s", argv, code, errOut)
			}
		}
	})

	t.Run("entrypoint and cmd", func(t *testing.T) {
		in, ok := final.last("ENTRYPOINT")
		if !ok {
			t.Fatal("no ENTRYPOINT")
		}
		ep, err := execForm(in.args)
		if err != nil {
			t.Fatal(err)
		}
		if len(ep) != 1 || ep[0] != binInImage {
			t.Fatalf("ENTRYPOINT %v: want [%q]", ep, binInImage)
		}
		in, ok = final.last("CMD")
		if !ok {
			t.Fatal("no CMD")
		}
		argv, err := execForm(in.args)
		if err != nil {
			t.Fatal(err)
		}
		if argv[0] != "serve" || !slices.Contains(argv, "--auth=required") {
			t.Errorf("CMD %v: want serve with --auth=required (the image listens on 0.0.0.0)", argv)
		}
		if code, _, errOut := run(t, bin, env, append(slices.Clone(argv), "--help")...); code != 0 {
			t.Fatalf("CMD %v: the flags do not parse: %s", argv, errOut)
		}
		// As the image starts it without configuration: serve must refuse
		// the sandbox on 0.0.0.0 before it listens or opens the store.
		dryEnv := slices.Clone(env)
		dryEnv = append(dryEnv, "XDRLINK_DB="+filepath.Join(t.TempDir(), "xdrlink.db"), "XDRLINK_LOG_FORMAT=text")
		code, _, errOut := run(t, bin, dryEnv, argv...)
		if code == 0 {
			t.Fatalf("CMD %v without --azure-config: exit 0, want a refusal", argv)
		}
		for _, want := range []string{"refusing to serve on a non-loopback address", "sandbox mode", "--azure-config"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("CMD %v without --azure-config: stderr lacks %q:\n%s", argv, want, errOut)
			}
		}
	})
}
