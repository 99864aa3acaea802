package daemon

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite" // the store's driver, "sqlite"

	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// TestNoSecretOrTokenInStoreResponsesOrLogs runs a real sandbox xdrlinkd with
// its log at debug level (and azcore's log listener on) through three
// onboardings that each pause for a delegated sign-in: a healthy tenant
// (device code approved), a consent-needed one (approved, then :resume) and
// a healthy one resumed with a user assertion (on-behalf-of), after a refused
// assertion. It records every API response (gRPC and REST: operations by
// Get, List, Wait, Watch and Resume, tenants by Get and List, errors too)
// and reads every table of the SQLite file directly, throughout and in
// particular while all three wait for their sign-in and at the end. None of
// the emulator's issued secrets (device codes, access, id and refresh
// tokens, the user assertion among them) nor the app's client secret may
// appear in the logs, the responses or any column of any table (River's
// job arguments and the sealed secrets included), whether in plain text,
// base64 (standard or URL alphabet, at any alignment) or hex; a JWT's
// signature alone counts as the token. The sealed secret row must exist
// while an operation waits and be gone once it ends, and the user code a
// person types may appear only in a RequiredAction (of an operation's step
// or a tenant's status), never in a log.
func TestNoSecretOrTokenInStoreResponsesOrLogs(t *testing.T) {
	var appLog, azcoreLog syncbuf.Buffer
	azlog.SetListener(func(ev azlog.Event, msg string) { _, _ = azcoreLog.Write([]byte(string(ev) + ": " + msg + "\n")) })
	t.Cleanup(func() { azlog.SetListener(nil) }) // after the daemon's shutdown (cleanups run last first)
	d := startSandbox(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&appLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	sim := d.azure.sandbox
	appID := d.azure.cfg.Profiles[0].ClientID
	ctx := context.Background()

	got := &responses{}
	gc := dialRecording(t, d, got)
	gops, gten := grpcOps{gc}, grpcAPI{c: gc.Tenants}
	httpTransport := &http.Transport{}
	t.Cleanup(httpTransport.CloseIdleConnections)
	rest := restAPI{base: "http://" + d.HTTPAddr(), hc: &http.Client{Timeout: 2 * time.Minute, Transport: recordingTransport{got, httpTransport}}}
	rops := restOps{rest}

	db := openSQLite(t, d.cfg.DB)
	seen := &cellSet{m: map[dbCell]struct{}{}}
	stopSampling := sampleDB(db, seen)
	defer stopSampling()

	a := customer(t, d, azuresim.DemoHealthy)
	b := customer(t, d, azuresim.DemoConsentNeeded)
	c := customer(t, d, azuresim.DemoHealthy, a.ID)
	opA, err := gops.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + a.ID})
	if err != nil {
		t.Fatal(err)
	}
	opB, err := rops.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + b.ID})
	if err != nil {
		t.Fatal(err)
	}
	opC, err := gops.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{opA.GetName(), opB.GetName(), opC.GetName()}

	// Watch A over REST (newline-delimited JSON) and B over gRPC, live, until done.
	var watchers sync.WaitGroup
	watchErrs := make(chan error, 2)
	watchers.Go(func() {
		resp, err := rest.raw(ctx, http.MethodGet, "/v1/"+opA.GetName()+":watch", "")
		if err != nil {
			watchErrs <- fmt.Errorf("REST watch: %w", err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(body, []byte(`"done":true`)) {
			watchErrs <- fmt.Errorf("REST watch ended before the operation was done (HTTP %d)", resp.StatusCode)
		}
	})
	watchers.Go(func() {
		stream, err := gc.OperationControl.WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: opB.GetName()})
		if err != nil {
			watchErrs <- fmt.Errorf("gRPC watch: %w", err)
			return
		}
		var last *longrunningpb.Operation
		for {
			m, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				watchErrs <- fmt.Errorf("gRPC watch: %w", err)
				return
			}
			last = m
		}
		if !last.GetDone() {
			watchErrs <- errors.New("gRPC watch ended before the operation was done")
		}
	})

	// All three wait for their customer's sign-in.
	_, mdA := waitState(t, gops, opA.GetName(), opActionRequired)
	_, mdB := waitState(t, rops, opB.GetName(), opActionRequired)
	_, mdC := waitState(t, gops, opC.GetName(), opActionRequired)
	var userCodes []string
	for _, md := range []*xdrlinkv1.OperationMetadata{mdA, mdB, mdC} {
		for _, st := range md.GetSteps() {
			if code := st.GetRequiredAction().GetDeviceCode().GetUserCode(); code != "" {
				userCodes = append(userCodes, code)
			}
		}
	}
	if len(userCodes) != 3 {
		t.Fatalf("%d user codes among the three waiting operations, want 3", len(userCodes))
	}
	readAll(t, gops, gten, rops, rest, names, []string{a.ID, b.ID, c.ID})

	waiting := dumpDB(t, db)
	seen.add(waiting)
	for _, name := range names {
		id := strings.TrimPrefix(name, "operations/")
		if !slices.ContainsFunc(waiting, func(x dbCell) bool {
			return x.table == "operation_secrets" && x.column == "operation_id" && x.value == id
		}) {
			t.Errorf("no operation_secrets row for %s while it waits for a sign-in", name)
		}
	}
	for _, x := range waiting {
		if x.table == "operation_secrets" && x.column == "sealed" && len(x.value) < 32 {
			t.Errorf("operation_secrets.sealed is %d bytes: nothing sealed?", len(x.value))
		}
	}
	for i, code := range userCodes {
		if !slices.ContainsFunc(waiting, func(x dbCell) bool {
			return x.table == "operations" && x.column == "body" && strings.Contains(x.value, code)
		}) {
			t.Errorf("user code %d is not in any stored operation: the dump did not read the operations", i)
		}
	}
	if !slices.ContainsFunc(waiting, func(x dbCell) bool {
		return x.table == "river_job" && x.column == "args" && strings.Contains(x.value, strings.TrimPrefix(opA.GetName(), "operations/"))
	}) {
		t.Error("no river_job args naming the operation: the dump did not read River's jobs")
	}

	// A: the administrator approves the device code.
	approve(t, d, mdA)
	// B: approved, and resumed at once.
	approve(t, d, mdB)
	if _, err := rops.Resume(ctx, opB.GetName(), ""); err != nil {
		t.Fatal(err)
	}
	// C: a user token for another audience is refused; one for the app is
	// exchanged on behalf of the administrator, and no code is approved.
	wrong, err := sim.IssueUserToken(c.EntraTenantID, c.AdminUPN, appID, azuresim.AudienceARM+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range []opsAPI{gops, rops} {
		if _, err := api.Resume(ctx, opC.GetName(), wrong); status.Code(err) != codes.InvalidArgument {
			t.Errorf("resume with a token for ARM as the assertion: %v, want InvalidArgument", err)
		}
	}
	assertion, err := sim.IssueUserToken(c.EntraTenantID, c.AdminUPN, appID, "api://"+appID+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gops.Resume(ctx, opC.GetName(), assertion); err != nil {
		t.Fatalf("resume with the administrator's token for the app: %v", err)
	}

	for i, name := range names {
		api := []opsAPI{gops, rops, gops}[i]
		op, err := api.Wait(ctx, name, 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if md := metadata(t, op); md.GetState() != opSucceeded {
			t.Fatalf("%s is %v:\n%s", name, md.GetState(), describeSteps(md))
		}
	}
	if pending := sim.PendingDeviceCodes(); !slices.ContainsFunc(pending, func(p azuresim.DeviceCode) bool { return p.UserCode == userCodes[2] }) {
		t.Errorf("C's device code was used, so on-behalf-of did not serve it")
	}
	watchers.Wait()
	close(watchErrs)
	for err := range watchErrs {
		t.Error(err)
	}
	readAll(t, gops, gten, rops, rest, names, []string{a.ID, b.ID, c.ID})
	for _, api := range []opsAPI{gops, rops} {
		if _, err := api.Resume(ctx, opA.GetName(), ""); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("resume of a finished operation: %v", err)
		}
	}
	if resp, err := rest.raw(ctx, http.MethodGet, "/v1/"+opC.GetName()+":watch", ""); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	stopSampling()
	final := dumpDB(t, db)
	seen.add(final)
	for _, x := range final {
		if x.table == "operation_secrets" {
			t.Errorf("operation_secrets still has a row (%s = %.40q) after every operation ended", x.column, x.value)
		}
	}

	// What must stay secret: everything the emulator issued, and the app's secret.
	issued := sim.IssuedSecrets()
	secrets := map[string]string{azuresim.GeneratedAppSecret: "the app's client secret"}
	kinds := map[string]int{}
	for i, s := range issued {
		k := secretKind(s)
		kinds[k]++
		secrets[s] = fmt.Sprintf("issued secret #%d (%s)", i, k)
	}
	if !slices.Contains(issued, assertion) || !slices.Contains(issued, wrong) {
		t.Fatal("IssuedSecrets lacks the user tokens IssueUserToken minted")
	}
	if kinds["device code"] < 3 || kinds["refresh token"] < 2 || kinds["user access token"] < 4 || kinds["app access token"] < 1 || kinds["id token"] < 2 {
		t.Fatalf("issued secrets by kind %v: the sign-ins did not run as expected", kinds)
	}

	logs := map[string]string{"daemon log": appLog.String(), "azcore log": azcoreLog.String()}
	if !strings.Contains(logs["daemon log"], "delegated sign-in required") || !strings.Contains(logs["daemon log"], "delegated sign-in completed") ||
		!strings.Contains(logs["daemon log"], `"level":"DEBUG"`) {
		t.Fatalf("the daemon's log capture did not work:\n%.3000s", logs["daemon log"])
	}
	if !strings.Contains(logs["azcore log"], "Authorization: REDACTED") {
		t.Fatalf("the azcore log capture did not work:\n%.3000s", logs["azcore log"])
	}
	respTexts, respUserCodeTexts := got.texts(t)
	cells := seen.list()
	corpora := map[string]string{}
	for k, v := range logs {
		corpora[k] = v
	}
	for i, r := range respTexts {
		corpora[fmt.Sprintf("response %d: %s", i, r.what)] = r.text
	}
	for _, x := range cells {
		corpora["column "+x.table+"."+x.column] += x.value + "\x00"
	}

	leaks := map[string]bool{}
	for secret, what := range secrets {
		for _, n := range needles(secret) {
			for where, text := range corpora {
				if strings.Contains(text, n.text) {
					leaks[fmt.Sprintf("%s appears (%s) in the %s", what, n.form, where)] = true
				}
			}
		}
	}
	for _, l := range slices.Sorted(func(yield func(string) bool) {
		for l := range leaks {
			if !yield(l) {
				return
			}
		}
	}) {
		t.Error(l)
	}

	// The user code: only in RequiredActions, never in a log.
	for i, code := range userCodes {
		for where, text := range logs {
			if strings.Contains(text, code) {
				t.Errorf("user code %d appears in the %s", i, where)
			}
		}
		var shown bool
		for _, r := range respTexts {
			shown = shown || strings.Contains(r.text, code)
		}
		if !shown {
			t.Errorf("user code %d never appeared in a response", i)
		}
		for _, r := range respUserCodeTexts {
			if strings.Contains(r.text, code) {
				t.Errorf("user code %d appears outside a RequiredAction in response %s", i, r.what)
			}
		}
		for _, x := range cells {
			if strings.Contains(userCodeView(t, x), code) {
				t.Errorf("user code %d appears outside a RequiredAction in column %s.%s", i, x.table, x.column)
			}
		}
	}
	if t.Failed() {
		return
	}
	var tables []string
	for _, x := range cells {
		if !slices.Contains(tables, x.table) {
			tables = append(tables, x.table)
		}
	}
	slices.Sort(tables)
	t.Logf("checked %d secrets (%v) against %d bytes of daemon log, %d of azcore log, %d responses, %d distinct cells of tables %v (%d samples)",
		len(secrets), kinds, len(logs["daemon log"]), len(logs["azcore log"]), len(respTexts), len(cells), tables, seen.samples())
}

// readAll reads every operation and tenant over both transports, singly and
// listed, so the responses are recorded.
func readAll(t *testing.T, gops grpcOps, gten grpcAPI, rops restOps, rest restAPI, ops, tenants []string) {
	t.Helper()
	ctx := context.Background()
	for _, api := range []opsAPI{gops, rops} {
		for _, name := range ops {
			if _, err := api.Get(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := api.List(ctx, "", 100, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, api := range []tenantAPI{gten, rest} {
		for _, id := range tenants {
			if _, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: "tenants/" + id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := api.List(ctx, &xdrlinkv1.ListTenantsRequest{PageSize: 100}); err != nil {
			t.Fatal(err)
		}
	}
}

// secretKind names what an issued secret is, for messages that must not
// show it.
func secretKind(s string) string {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return "device code"
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		IDType string `json:"idtyp"`
		AppID  string `json:"appid"`
	}
	if err != nil || json.Unmarshal(b, &c) != nil {
		return "unreadable token"
	}
	switch {
	case c.IDType == "refresh":
		return "refresh token"
	case c.IDType == "user" && c.AppID == "":
		return "id token"
	default:
		return c.IDType + " access token"
	}
}

type needle struct{ form, text string }

// needles are the forms of secret to look for: itself, base64 in both
// alphabets at each of the three alignments it may have inside a longer
// encoded value (only the characters that depend on the secret alone), hex,
// and for a JWT its signature.
func needles(secret string) []needle {
	out := []needle{{"plain", secret}, {"hex", hex.EncodeToString([]byte(secret))}}
	for _, enc := range []struct {
		name string
		e    *base64.Encoding
	}{{"base64", base64.RawStdEncoding}, {"base64url", base64.RawURLEncoding}} {
		for k := range 3 {
			b := enc.e.EncodeToString(append(make([]byte, k), secret...))
			from, to := (8*k+5)/6, 8*(k+len(secret))/6
			out = append(out, needle{fmt.Sprintf("%s at offset %d", enc.name, k), b[from:to]})
		}
	}
	if parts := strings.Split(secret, "."); len(parts) == 3 && len(parts[2]) >= 32 {
		out = append(out, needle{"JWT signature", parts[2]})
	}
	return out
}

// responses records every API response body: gRPC replies and stream
// messages (wire and JSON form), gRPC errors, and REST bodies as sent.
type responses struct {
	mu  sync.Mutex
	all []recorded
}

type recorded struct {
	what string
	msg  proto.Message // gRPC; nil for REST and errors
	text string
}

func (r *responses) add(x recorded) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, x)
}

func (r *responses) addProto(what string, m any) {
	if pm, ok := m.(proto.Message); ok {
		r.add(recorded{what: what, msg: proto.Clone(pm)})
	}
}

func (r *responses) addErr(what string, err error) {
	b, _ := protojson.Marshal(status.Convert(err).Proto())
	r.add(recorded{what: what + " error", text: err.Error() + "\n" + string(b)})
}

type respText struct{ what, text string }

// texts returns every response as text to search for secrets (a gRPC
// message as wire bytes and as JSON), and as JSON with every
// requiredAction removed, to search for user codes.
func (r *responses) texts(t *testing.T) (all, withoutRequiredActions []respText) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.all {
		text := x.text
		if x.msg != nil {
			j, err := protojson.Marshal(x.msg)
			if err != nil {
				t.Fatalf("%s: %v", x.what, err)
			}
			w, _ := proto.Marshal(x.msg)
			text = string(j) + "\n" + string(w)
			x.text = string(j)
		}
		all = append(all, respText{x.what, text})
		withoutRequiredActions = append(withoutRequiredActions, respText{x.what, stripRequiredActions(x.text)})
	}
	return all, withoutRequiredActions
}

// stripRequiredActions removes every "requiredAction" member from JSON (or
// newline-delimited JSON); text that is not JSON is kept as it is.
func stripRequiredActions(text string) string {
	var out strings.Builder
	for line := range strings.Lines(text) {
		var v any
		if json.Unmarshal([]byte(line), &v) != nil {
			out.WriteString(line)
			continue
		}
		b, _ := json.Marshal(dropKey(v, "requiredAction"))
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.String()
}

func dropKey(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		delete(x, key)
		for k, e := range x {
			x[k] = dropKey(e, key)
		}
	case []any:
		for i, e := range x {
			x[i] = dropKey(e, key)
		}
	}
	return v
}

// dialRecording is dial with every reply, stream message and error recorded.
func dialRecording(t *testing.T, d *Daemon, got *responses) *client.Client {
	t.Helper()
	unary := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err != nil {
			got.addErr("gRPC "+method, err)
		} else {
			got.addProto("gRPC "+method, reply)
		}
		return err
	}
	stream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			got.addErr("gRPC "+method, err)
			return nil, err
		}
		return recordingStream{cs, got, "gRPC " + method}, nil
	}
	c, err := client.New(d.GRPCAddr(), client.Options{Insecure: true, DialOptions: []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(unary), grpc.WithChainStreamInterceptor(stream)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type recordingStream struct {
	grpc.ClientStream
	got  *responses
	what string
}

func (s recordingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil:
		s.got.addProto(s.what, m)
	case err != io.EOF:
		s.got.addErr(s.what, err)
	}
	return err
}

// recordingTransport records every REST response body as the daemon sent it.
type recordingTransport struct {
	got  *responses
	next http.RoundTripper
}

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	rt.got.add(recorded{what: fmt.Sprintf("REST %s %s (HTTP %d)", r.Method, r.URL.Path, resp.StatusCode), text: string(b)})
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// dbCell is one column's value of one row, as stored.
type dbCell struct{ table, column, value string }

// openSQLite opens the daemon's database file for reading alongside it.
func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// dumpDB reads every column of every row of every table.
func dumpDB(t *testing.T, db *sql.DB) []dbCell {
	t.Helper()
	cells, err := readDB(db)
	if err != nil {
		t.Fatalf("read the database: %v", err)
	}
	return cells
}

func readDB(db *sql.DB) ([]dbCell, error) {
	ctx := context.Background()
	// One read transaction: a consistent snapshot of every table.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var tables []string
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, name)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	var cells []dbCell
	for _, table := range tables {
		rows, err := tx.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(table, `"`, `""`)+`"`)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return nil, err
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("%s: %w", table, err)
			}
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case nil:
				case []byte:
					s = string(v)
				case string:
					s = v
				case time.Time:
					s = v.Format(time.RFC3339Nano)
				default:
					s = fmt.Sprint(v)
				}
				cells = append(cells, dbCell{table, cols[i], s})
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
	}
	return cells, nil
}

// cellSet is every distinct cell the database has held when sampled.
type cellSet struct {
	mu sync.Mutex
	m  map[dbCell]struct{}
	n  int
}

func (s *cellSet) add(cells []dbCell) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	for _, c := range cells {
		s.m[c] = struct{}{}
	}
}

func (s *cellSet) list() []dbCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]dbCell, 0, len(s.m))
	for c := range s.m {
		out = append(out, c)
	}
	return out
}

func (s *cellSet) samples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// sampleDB reads the whole database every few milliseconds until stopped,
// so what is stored only briefly (a refresh token between the sign-in and
// the operation's end, say) is read too. Stopping twice is harmless.
func sampleDB(db *sql.DB, into *cellSet) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if cells, err := readDB(db); err == nil {
					into.add(cells)
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-stopped }) }
}

// userCodeView is a cell as it may show a user code: an operation's or a
// tenant's stored body without its RequiredActions, any other cell as it is.
func userCodeView(t *testing.T, x dbCell) string {
	t.Helper()
	var m proto.Message
	switch {
	case x.table == "operations" && x.column == "body":
		m = &longrunningpb.Operation{}
	case x.table == "tenants" && (x.column == "body" || x.column == "status"):
		m = &xdrlinkv1.Tenant{}
	default:
		return x.value
	}
	if err := proto.Unmarshal([]byte(x.value), m); err != nil {
		t.Fatalf("%s.%s does not decode as %T: %v", x.table, x.column, m, err)
	}
	j, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return stripRequiredActions(string(j))
}
