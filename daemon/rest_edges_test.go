package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// restResult is one raw REST exchange: the status, headers, body, and the
// google.rpc.Status when the body is one.
type restResult struct {
	code   int
	header http.Header
	body   string
	st     *status.Status
}

// fields are the BadRequest field violations of the error.
func (r restResult) fields() []string {
	var out []string
	if r.st == nil {
		return nil
	}
	for _, d := range r.st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func (r restResult) reason() string {
	if r.st == nil {
		return ""
	}
	for _, d := range r.st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// send makes one REST request with exactly the headers given (a body gets
// no Content-Type unless headers say so).
func send(t *testing.T, d *Daemon, method, path, body string, headers ...string) restResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+d.HTTPAddr()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := restResult{code: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.StatusCode/100 != 2 {
		st := &spb.Status{}
		if err := protojson.Unmarshal(b, st); err != nil {
			t.Fatalf("%s %s: HTTP %d with a body that is not a google.rpc.Status: %s", method, path, resp.StatusCode, b)
		}
		res.st = status.FromProto(st)
	}
	return res
}

const jsonCT = "application/json"

// logLines are the JSON log lines holding id.
func logLines(logs, id string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(logs, "\n") {
		if id == "" || !strings.Contains(line, id) {
			continue
		}
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

func accessLine(logs, id string) map[string]any {
	for _, e := range logLines(logs, id) {
		if e["msg"] == "http request" {
			return e
		}
	}
	return nil
}

// TestRESTInvalidUTF8: invalid UTF-8 in the path, a query value or a filter
// is a 400 naming where it was, with a request id and a log line (it was a
// 500 without either).
func TestRESTInvalidUTF8(t *testing.T) {
	var logs syncbuf.Buffer
	d := startDaemon(t, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/v1/tenants/%FF", "path"},
		{"DELETE", "/v1/tenants/a%C3%28", "path"},
		{"GET", "/v1/tenants?filter=display_name%3D%22%FF%22", "filter"},
		{"GET", "/v1/tenants?page_token=%FE", "page_token"},
		{"GET", "/v1/operations?filter=%FF", "filter"},
	} {
		r := send(t, d, tc.method, tc.path, "")
		if r.code != 400 || r.st.Code() != codes.InvalidArgument || !slices.Equal(r.fields(), []string{tc.field}) ||
			r.reason() != xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT.String() {
			t.Errorf("%s %s: HTTP %d %v fields %v reason %s, want 400 INVALID_ARGUMENT naming %q", tc.method, tc.path, r.code, r.st, r.fields(), r.reason(), tc.field)
		}
		id := r.header.Get("X-Request-Id")
		if id == "" {
			t.Errorf("%s %s: no X-Request-Id", tc.method, tc.path)
		} else if e := accessLine(logs.String(), id); e == nil || e["http.status"] != float64(400) {
			t.Errorf("%s %s: no access log line with status 400 for request %s", tc.method, tc.path, id)
		}
	}
}

// TestRESTUnknownQueryParameter: a query parameter that names no field of
// the request is refused (it was ignored: page_sise=2 returned every row),
// and a query parameter's error names the parameter, not "body".
func TestRESTUnknownQueryParameter(t *testing.T) {
	d := startDaemon(t)
	api := newREST(d)
	for _, id := range []string{"q-one", "q-two", "q-three"} {
		r := createRequest(id)
		r.Tenant.Workspace.Name = "ws-" + id
		if _, err := api.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/v1/tenants?page_sise=2", "page_sise"},
		{"GET", "/v1/tenants?pagesize=2", "pagesize"},
		{"GET", "/v1/tenants?page_size=x", "page_size"},
		{"GET", "/v1/tenants?pageSize=x", "pageSize"},
		{"GET", "/v1/tenants?page_size=%zz", "query"},
		{"GET", "/v1/tenants?page_size=1;x=2", "query"},
		{"GET", "/v1/tenants/q-one?view=full", "view"},
		{"POST", "/v1/tenants/q-one:onboard?force=1", "force"},
		{"POST", "/v1/operations/op1:wait?timeout=5s", "timeout"},
		{"GET", "/v1/operations?page_sise=2", "page_sise"},
		{"GET", "/v1/tables?nope=1", "nope"},
		{"GET", "/v1/operations/nope:watch?since=1", "since"},
		{"DELETE", "/v1/tenants/q-one?Etag=x", "Etag"},
		{"PATCH", "/v1/tenants/q-one?update_mask=display_name&force=true", "force"},
		{"POST", "/v1/tenants?tenant_id=q-four&tenant.display_name=x&validate=1", "validate"},
	} {
		body := ""
		if tc.method == "PATCH" || strings.HasPrefix(tc.path, "/v1/tenants?") {
			body = `{"displayName":"X"}`
		}
		r := send(t, d, tc.method, tc.path, body, "Content-Type", jsonCT)
		if r.code != 400 || !slices.Equal(r.fields(), []string{tc.field}) {
			t.Errorf("%s %s: HTTP %d %v fields %v, want 400 naming %q", tc.method, tc.path, r.code, r.st, r.fields(), tc.field)
		}
	}
	// Known parameters, by proto or JSON name, still work.
	for _, path := range []string{"/v1/tenants?page_size=2", "/v1/tenants?pageSize=2"} {
		r := send(t, d, "GET", path, "")
		var list struct{ Tenants []any }
		if r.code != 200 || json.Unmarshal([]byte(r.body), &list) != nil || len(list.Tenants) != 2 {
			t.Errorf("GET %s: HTTP %d, %d tenants: %s", path, r.code, len(list.Tenants), r.body)
		}
	}
	// The same field twice, by both names, is refused rather than one
	// silently winning.
	if r := send(t, d, "GET", "/v1/tenants?page_size=1&pageSize=2", ""); r.code != 400 {
		t.Errorf("page_size and pageSize: HTTP %d, want 400", r.code)
	}
}

// TestRESTIfMatch: DELETE and PATCH honour If-Match, and a wrong etag as
// ?etag= on DELETE; If-Match disagreeing with the request's own etag is a
// 400, and a DELETE body (which would be ignored, etag and all) is refused.
func TestRESTIfMatch(t *testing.T) {
	d := startDaemon(t)
	api := newREST(d)
	tn, err := api.Create(t.Context(), createRequest("etags"))
	if err != nil {
		t.Fatal(err)
	}
	etag := tn.GetEtag()
	aborted := func(what string, r restResult) {
		t.Helper()
		if r.code != 409 || r.st.Code() != codes.Aborted || r.reason() != etagMismatch.String() {
			t.Errorf("%s: HTTP %d %v reason %s, want 409 ABORTED ETAG_MISMATCH", what, r.code, r.st, r.reason())
		}
	}
	invalid := func(what string, r restResult, field string) {
		t.Helper()
		if r.code != 400 || !slices.Equal(r.fields(), []string{field}) {
			t.Errorf("%s: HTTP %d %v fields %v, want 400 naming %s", what, r.code, r.st, r.fields(), field)
		}
	}
	aborted("DELETE If-Match wrong", send(t, d, "DELETE", "/v1/tenants/etags", "", "If-Match", `"wrong"`))
	aborted("DELETE ?etag= wrong", send(t, d, "DELETE", "/v1/tenants/etags?etag=wrong", ""))
	invalid("DELETE If-Match and another ?etag=", send(t, d, "DELETE", "/v1/tenants/etags?etag="+etag, "", "If-Match", `"wrong"`), "If-Match")
	invalid("DELETE If-Match unquoted", send(t, d, "DELETE", "/v1/tenants/etags", "", "If-Match", etag), "If-Match")
	invalid("DELETE with an etag in a body", send(t, d, "DELETE", "/v1/tenants/etags", `{"etag":"wrong"}`, "Content-Type", jsonCT), "body")

	aborted("PATCH If-Match wrong", send(t, d, "PATCH", "/v1/tenants/etags?update_mask=display_name", `{"displayName":"A"}`,
		"Content-Type", jsonCT, "If-Match", `"wrong"`))
	aborted("PATCH If-Match wrong, mask from the body", send(t, d, "PATCH", "/v1/tenants/etags", `{"displayName":"A"}`,
		"Content-Type", jsonCT, "If-Match", `"wrong"`))
	invalid("PATCH If-Match and another body etag", send(t, d, "PATCH", "/v1/tenants/etags?update_mask=display_name",
		`{"displayName":"A","etag":"`+etag+`"}`, "Content-Type", jsonCT, "If-Match", `"wrong"`), "If-Match")
	r := send(t, d, "PATCH", "/v1/tenants/etags?update_mask=display_name", ` {"displayName":"A"}`, "Content-Type", jsonCT, "If-Match", `"`+etag+`"`)
	if r.code != 200 {
		t.Fatalf("PATCH with the right If-Match: HTTP %d %v", r.code, r.st)
	}
	var updated struct{ DisplayName, Etag string }
	if err := json.Unmarshal([]byte(r.body), &updated); err != nil || updated.DisplayName != "A" || updated.Etag == etag {
		t.Fatalf("PATCH with the right If-Match answered %s", r.body)
	}
	aborted("DELETE with the old etag as If-Match", send(t, d, "DELETE", "/v1/tenants/etags", "", "If-Match", `"`+etag+`"`))
	if r := send(t, d, "DELETE", "/v1/tenants/etags", "", "If-Match", `"`+updated.Etag+`"`); r.code != 200 {
		t.Fatalf("DELETE with the right If-Match: HTTP %d %v", r.code, r.st)
	}
}

// TestRESTWrongMethod: a known path with a method it does not take is 405
// with Allow (it was 501, which reads as "not built").
func TestRESTWrongMethod(t *testing.T) {
	d := startDaemon(t)
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/v1/tenants/x", "GET, PATCH, DELETE"},
		{"POST", "/v1/tenants/x", "GET, PATCH, DELETE"},
		{"DELETE", "/v1/tables", "GET"},
		{"GET", "/v1/tenants:batchOnboard", "POST"},
		{"PUT", "/v1/tenants", "GET, POST"},
		{"POST", "/healthz", "GET"},
	} {
		r := send(t, d, tc.method, tc.path, "")
		if r.code != 405 || r.header.Get("Allow") != tc.allow || r.header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: HTTP %d Allow %q, want 405 Allow %q", tc.method, tc.path, r.code, r.header.Get("Allow"), tc.allow)
		}
	}
	if r := send(t, d, "GET", "/v1/nothing", ""); r.code != 404 {
		t.Errorf("unknown path: HTTP %d, want 404", r.code)
	}
}

// TestRESTBodyMustBeJSON: a POST, PATCH or PUT whose body is not declared
// JSON is 415, so a web page cannot write cross-site with a form or a
// text/plain post; a body-less POST without a content type passes.
func TestRESTBodyMustBeJSON(t *testing.T) {
	d := startDaemon(t)
	body := validBody
	for _, tc := range []struct{ method, path, ct, body string }{
		{"POST", "/v1/tenants?tenant_id=ct-one", "text/plain", body},
		{"POST", "/v1/tenants?tenant_id=ct-one", "application/x-www-form-urlencoded", body},
		{"POST", "/v1/tenants?tenant_id=ct-one", "multipart/form-data; boundary=x", body},
		{"POST", "/v1/tenants?tenant_id=ct-one", "", body},
		{"POST", "/v1/tenants?tenant_id=ct-one", "application/json; charset=latin1", body},
		{"POST", "/v1/tenants:batchCreate", "text/plain;charset=UTF-8", `{"requests":[]}`},
		{"POST", "/v1/operations/op1:cancel", "text/plain", ""},
		{"PATCH", "/v1/tenants/ct-one?update_mask=display_name", "text/plain", `{"displayName":"X"}`},
	} {
		var headers []string
		if tc.ct != "" {
			headers = []string{"Content-Type", tc.ct}
		}
		r := send(t, d, tc.method, tc.path, tc.body, headers...)
		if r.code != 415 || !slices.Equal(r.fields(), []string{"Content-Type"}) {
			t.Errorf("%s %s as %q: HTTP %d %v, want 415", tc.method, tc.path, tc.ct, r.code, r.st)
		}
	}
	for i, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"} {
		id := fmt.Sprintf("ct-ok-%d", i)
		b := strings.Replace(body, "ws-one", "ws-"+id, 1)
		if r := send(t, d, "POST", "/v1/tenants?tenant_id="+id, b, "Content-Type", ct); r.code != 200 {
			t.Errorf("POST as %q: HTTP %d %v", ct, r.code, r.st)
		}
	}
	// No body and no content type: the operation's own answer, not 415.
	if r := send(t, d, "POST", "/v1/operations/op1:cancel", ""); r.code != 404 {
		t.Errorf("body-less POST :cancel: HTTP %d %v, want 404 (no such operation)", r.code, r.st)
	}
}

// TestRESTEmitsDefaultValues: false booleans and zero enums are in REST
// JSON (a prerequisite report that is not ready says "ready": false), and
// unset messages are not.
func TestRESTEmitsDefaultValues(t *testing.T) {
	d := startSandbox(t)
	c := customer(t, d, azuresim.DemoNoLicense)
	r := send(t, d, "POST", "/v1/tenants/"+c.ID+":checkPrerequisites", "{}", "Content-Type", jsonCT)
	var report map[string]any
	if r.code != 200 || json.Unmarshal([]byte(r.body), &report) != nil {
		t.Fatalf("checkPrerequisites: HTTP %d %s", r.code, r.body)
	}
	if ready, ok := report["ready"]; !ok || ready != false {
		t.Errorf(`report has "ready": %v (present %v), want false: %s`, ready, ok, r.body)
	}

	api := newREST(d)
	req := createRequest("defaults")
	req.Tenant.Connector = &xdrlinkv1.ConnectorSettings{Incidents: false, Alerts: true}
	if _, err := api.Create(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	r = send(t, d, "GET", "/v1/tenants/defaults", "")
	var tn map[string]any
	if r.code != 200 || json.Unmarshal([]byte(r.body), &tn) != nil {
		t.Fatalf("get: HTTP %d %s", r.code, r.body)
	}
	conn, _ := tn["connector"].(map[string]any)
	if v, ok := conn["incidents"]; !ok || v != false {
		t.Errorf(`connector has "incidents": %v (present %v), want false: %s`, v, ok, r.body)
	}
	if _, ok := tn["lastVerification"]; ok {
		t.Errorf("an unset message is emitted: %s", r.body)
	}
}

// TestRESTUpdateMaskCamelCase: AIP-161's JSON form of a field mask is
// lowerCamelCase: ?updateMask=displayName,labels is taken like
// ?update_mask=display_name,labels.
func TestRESTUpdateMaskCamelCase(t *testing.T) {
	d := startDaemon(t)
	if _, err := newREST(d).Create(t.Context(), createRequest("masks")); err != nil {
		t.Fatal(err)
	}
	for i, path := range []string{
		"/v1/tenants/masks?updateMask=displayName,labels",
		"/v1/tenants/masks?update_mask=displayName",
		"/v1/tenants/masks?update_mask=display_name,labels",
	} {
		name := []string{"One", "Two", "Three"}[i]
		r := send(t, d, "PATCH", path, `{"displayName":"`+name+`","labels":{"tier":"gold"}}`, "Content-Type", jsonCT)
		var got struct {
			DisplayName string
			Labels      map[string]string
		}
		if r.code != 200 || json.Unmarshal([]byte(r.body), &got) != nil || got.DisplayName != name {
			t.Errorf("PATCH %s: HTTP %d %v %s", path, r.code, r.st, r.body)
		}
	}
}

// TestRESTRequestIDAndAccessLog: every REST response carries X-Request-Id
// (health, routing errors, gateway errors, server errors), the same id the
// gRPC side logs, and each request has one access log line with its
// method, path, status, latency, client (X-Forwarded-For only from a
// trusted proxy), request id and trace id.
func TestRESTRequestIDAndAccessLog(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		var logs syncbuf.Buffer
		d := startDaemon(t, func(c *Config) {
			c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if trusted {
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			}
		})
		for _, tc := range []struct{ method, path string }{
			{"GET", "/healthz"},
			{"GET", "/openapi.json"},
			{"GET", "/v1/nothing"},
			{"PUT", "/v1/tables"},
			{"GET", "/v1/tenants?page_size=x"},
			{"GET", "/v1/tenants/missing"},
		} {
			r := send(t, d, tc.method, tc.path, "")
			if ids := r.header.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "" {
				t.Errorf("%s %s: X-Request-Id %q", tc.method, tc.path, ids)
			}
		}
		// A call that reaches the server: the caller's id is kept, once,
		// and the gRPC log line and the access log line share it.
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		r := send(t, d, "GET", "/v1/tenants/missing", "", "X-Request-Id", "my-request-1",
			"X-Forwarded-For", "203.0.113.7, 10.0.0.1", "Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		if ids := r.header.Values("X-Request-Id"); !slices.Equal(ids, []string{"my-request-1"}) {
			t.Errorf("X-Request-Id %q, want the caller's, once", ids)
		}
		if got := loggedMethod(t, logs.String(), "my-request-1"); got != "xdrlink.v1.TenantService/GetTenant" {
			t.Errorf("gRPC log line for my-request-1: %q", got)
		}
		e := accessLine(logs.String(), "my-request-1")
		wantClient := "127.0.0.1"
		if trusted {
			wantClient = "10.0.0.1" // the nearest hop that is not a trusted proxy
		}
		if e == nil || e["http.method"] != "GET" || e["http.path"] != "/v1/tenants/missing" || e["http.status"] != float64(404) ||
			e["latency"] == nil || e["client"] != wantClient || e["trace_id"] != traceID {
			t.Errorf("trusted %v: access log line %v, want GET /v1/tenants/missing 404 client %s trace %s", trusted, e, wantClient, traceID)
		}
		if trusted {
			r := send(t, d, "GET", "/healthz", "", "X-Request-Id", "my-request-2", "X-Forwarded-For", "203.0.113.7")
			if e := accessLine(logs.String(), "my-request-2"); r.code != 200 || e == nil || e["client"] != "203.0.113.7" {
				t.Errorf("forwarded by a trusted proxy: access log line %v", e)
			}
		}
	}
}

// TestRESTWatchOutlivesWriteTimeout: the HTTP server's read and write
// timeouts bound ordinary requests, but an operation watch streams for as
// long as the operation runs.
func TestRESTWatchOutlivesWriteTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	d := startSandbox(t, func(c *Config) { c.HTTPWriteTimeout, c.HTTPReadTimeout = timeout, timeout })
	if d.http.WriteTimeout != timeout || d.http.ReadTimeout != timeout {
		t.Fatalf("server timeouts %v %v", d.http.WriteTimeout, d.http.ReadTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := customer(t, d, azuresim.DemoHealthy)
	api := restOps{newREST(d)}
	op, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, md := waitState(t, api, op.GetName(), opActionRequired)

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.HTTPAddr()+"/v1/"+op.GetName()+":watch", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan *longrunningpb.Operation)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			m := &longrunningpb.Operation{}
			if protojson.Unmarshal(sc.Bytes(), m) != nil {
				m = nil // the error line
			}
			lines <- m
		}
	}()
	if first := <-lines; first == nil || first.GetDone() {
		t.Fatalf("first watch line %v", first)
	}
	time.Sleep(3 * timeout) // past both deadlines
	approve(t, d, md)
	var last *longrunningpb.Operation
	for m := range lines {
		if m == nil {
			t.Fatal("the watch ended with an error line")
		}
		last = m
	}
	if !last.GetDone() {
		t.Fatalf("the watch ended before the operation was done: last %v", last)
	}
	// An ordinary request still gets the server's timeouts: only the watch
	// lifts them.
	if got := d.http.WriteTimeout; got != timeout {
		t.Fatalf("write timeout %v", got)
	}
}
