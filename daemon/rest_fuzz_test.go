package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzREST sends arbitrary method, path, query, headers, body and content
// type to one real daemon's REST listener. Whatever the request, the answer
// must be below 500, carry an X-Request-Id, and, when an error, be a JSON
// google.rpc.Status with a code. Requests net/http itself refuses to send,
// or would answer before any of our handlers (a malformed request line), are
// made well-formed first, by escaping, or skipped.
//
//	go test -run '^$' -fuzz FuzzREST -fuzztime 90s ./daemon/
func FuzzREST(f *testing.F) {
	const js = "application/json"
	long := strings.Repeat("a", 4096)
	tenant := jsonBody(validTenant("Fuzz"))
	for _, s := range []struct {
		method, path, query, body, contentType, headers string
	}{
		{"GET", "/v1/tenants", "", "", "", ""},
		{"GET", "/v1/tenants", "page_size=2&filter=display_name%3D%22x%22", "", "", ""},
		{"POST", "/v1/tenants", "tenant_id=fz", tenant, js, ""},
		{"POST", "/v1/tenants:batchCreate", "", `{"requests":[{"tenantId":"b1","tenant":` + tenant + `}]}`, js, ""},
		{"GET", "/v1/tenants/x", "", "", "", ""},
		{"PATCH", "/v1/tenants/x", "updateMask=displayName", `{"displayName":"y"}`, js, "If-Match: \"e1\""},
		{"PATCH", "/v1/tenants/x", "", `{"labels":{"a":"b"}}`, js, ""},
		{"GET", "/v1/tenants/x/tableSettings", "", "", "", ""},
		{"DELETE", "/v1/tenants/x", "etag=1", "", "", "If-Match: W/\"1\""},
		{"POST", "/v1/tenants/x:onboard", "", "{}", js, ""},
		{"POST", "/v1/tenants/x:verify", "", "", "", ""},
		{"GET", "/v1/operations", "filter=%FF", "", "", ""},
		{"GET", "/v1/operations/x", "", "", "", ""},
		{"GET", "/v1/operations/x:watch", "", "", "", ""},
		{"POST", "/v1/operations/x:cancel", "", "{}", js, ""},
		{"GET", "/v1/tables", "", "", "", ""},
		{"GET", "/v1/tenants/x/verifications", "page_token=%FE", "", "", ""},
		{"GET", "/v1/caller", "", "", "", ""},
		{"GET", "/v1/apiKeys", "", "", "", ""},
		{"POST", "/v1/apiKeys", "", `{"displayName":"k"}`, js, ""},
		{"GET", "/v1/auditEvents", "", "", "", ""},
		{"GET", "/healthz", "", "", "", ""},
		{"GET", "/openapi.json", "", "", "", ""},
		// Invalid UTF-8, raw and escaped, and odd escapes.
		{"GET", "/v1/tenants/\xff\xfe", "filter=\xff", "", "", ""},
		{"GET", "/v1/tenants/a%C3%28", "", "", "", ""},
		{"POST", "/v1/tenants", "", "{\"displayName\":\"\xff\"}", js, ""},
		{"GET", "/v1/tenants/%2F..%2F", "", "", "", ""},
		{"GET", "/v1/tenants/%00", "x=%00", "", "", ""},
		{"GET", "/v1/%", "%=%", "", "", ""},
		{"GET", "//v1//tenants/", "", "", "", ""},
		// Long strings and an oversized body (the test limit is 64 KiB).
		{"GET", "/v1/tenants/" + long, "filter=" + long, "", "", ""},
		{"POST", "/v1/tenants", "", `{"displayName":"` + strings.Repeat("b", 70<<10) + `"}`, js, ""},
		// Odd methods, content types and headers.
		{"PROPFIND", "/v1/tenants", "", "", "", ""},
		{"get", "/v1/tenants", "", "", "", ""},
		{"OPTIONS", "/v1/tenants", "", "", "", ""},
		{"HEAD", "/v1/tenants/x", "", "", "", ""},
		{"PUT", "/v1/tenants/x", "", "{}", js, ""},
		{"POST", "/v1/tenants", "", "a=b", "application/x-www-form-urlencoded", ""},
		{"POST", "/v1/tenants", "", "{}", "application/json; charset=latin1", ""},
		{"POST", "/v1/tenants", "", "[]", "application/json;;", ""},
		{"POST", "/v1/tenants", "", "{}", js, "X-HTTP-Method-Override: DELETE"},
		{"GET", "/v1/tenants", "", "", "", "X-Request-Id: \xff\nTraceparent: 00-zz"},
	} {
		f.Add(s.method, s.path, s.query, []byte(s.body), s.contentType, s.headers)
	}

	d := startDaemon(f)
	base := "http://" + d.HTTPAddr()
	// Tenant x exists, so the seeds reach handlers past "not found".
	if _, err := newREST(d).Create(f.Context(), createRequest("x")); err != nil {
		f.Fatalf("create tenant x: %v", err)
	}
	hc := &http.Client{
		// A redirect would hide the answer under test.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	f.Cleanup(hc.CloseIdleConnections)

	f.Fuzz(func(t *testing.T, method, path, query string, body []byte, contentType, headers string) {
		if !validMethod(method) || method == http.MethodConnect { // CONNECT turns the connection into a tunnel
			t.Skip()
		}
		p := "/" + escapeTarget(strings.TrimPrefix(path, "/"), "?#")
		q := escapeTarget(query, "#")
		if _, err := url.ParseRequestURI(p + "?" + q); err != nil {
			// net/http answers a malformed target itself, with a bare 400:
			// escape every '%' too, so the target parses.
			p = "/" + escapeTarget(strings.ReplaceAll(strings.TrimPrefix(path, "/"), "%", "%25"), "?#")
			q = escapeTarget(strings.ReplaceAll(query, "%", "%25"), "#")
		}
		target := p
		if q != "" {
			target += "?" + q
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, base, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.URL.RawQuery = q
		if strings.HasPrefix(p, "//") {
			// An opaque "//x" would be sent as "http://x": send it as a path.
			req.URL.Path, _ = url.PathUnescape(p)
			req.URL.RawPath = p
		} else {
			req.URL.Opaque = p // sent exactly as is
		}
		if len(body) == 0 {
			req.Body, req.ContentLength = http.NoBody, 0
		}
		if contentType != "" {
			if !validHeaderValue(contentType) {
				t.Skip()
			}
			req.Header.Set("Content-Type", contentType)
		}
		for _, line := range strings.Split(headers, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !validToken(name) || !validHeaderValue(value) || skipHeader(name) {
				continue
			}
			req.Header.Add(name, value)
		}

		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		desc := fmt.Sprintf("%s %s (%d-byte body, Content-Type %q)", method, target, len(body), contentType)
		t.Logf("%s: HTTP %d", desc, resp.StatusCode)
		if resp.StatusCode >= 500 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			t.Fatalf("%s: HTTP %d: %s", desc, resp.StatusCode, b)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: HTTP %d without X-Request-Id", desc, resp.StatusCode)
		}
		if resp.StatusCode < 400 || method == http.MethodHead {
			return // a success may stream (":watch"); HEAD has no body
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			t.Fatalf("%s: HTTP %d: reading the body: %v", desc, resp.StatusCode, err)
		}
		var st struct {
			Code *int `json:"code"`
		}
		if err := json.Unmarshal(b, &st); err != nil || st.Code == nil || *st.Code == 0 {
			t.Errorf("%s: HTTP %d with a body that is not a google.rpc.Status with a code: %q", desc, resp.StatusCode, b)
		}
	})
}

// escapeTarget %-escapes what cannot appear raw in a request target (spaces,
// controls, non-ASCII, and the given delimiters), keeping existing escapes.
func escapeTarget(s, delims string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(delims, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// validToken reports whether s is an RFC 9110 token, as a method or header
// name must be; net/http refuses to send anything else.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func validMethod(s string) bool { return validToken(s) }

// validHeaderValue reports whether net/http will send s as a header value.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// skipHeader leaves out headers that change the framing, not the request:
// the client sets them from the body.
func skipHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Content-Length", "Transfer-Encoding", "Connection", "Host", "Expect", "Upgrade", "Te", "Trailer":
		return true
	}
	return false
}
