package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
	"github.com/xdrlink/xdrlink/store"
)

// TestAuthAuditScriptedSequence: a scripted mix of calls by four callers
// (admin token, operator API key, viewer token, scoped east-operator
// token) over gRPC and REST: changes that succeed, changes refused
// (PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT), reads, and calls that
// fail authentication. The audit log then holds exactly one event per
// change by an authenticated caller, newest first, each naming who, how,
// what, the request id and the outcome; no reads, and nothing secret.
// Its filters select, and a bad filter is INVALID_ARGUMENT.
func TestAuthAuditScriptedSequence(t *testing.T) {
	d := startAuthDaemon(t, nil)
	conn := plainConn(t, d)
	access := xdrlinkv1.NewAccessServiceClient(conn)
	tenants := xdrlinkv1.NewTenantServiceClient(conn)
	onboarding := xdrlinkv1.NewOnboardingServiceClient(conn)

	admin, viewer, east := staffToken(t, d, "admin"), staffToken(t, d, "viewer"), staffToken(t, d, "east-operator")
	principal := func(cred string) *xdrlinkv1.Caller {
		c, err := access.GetCaller(bearerCtx(t.Context(), cred), &xdrlinkv1.GetCallerRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	adminP, viewerP, eastP := principal(admin), principal(viewer), principal(east)

	// want are the events the script must leave, oldest first.
	type event struct {
		principal string
		method    string
		resource  string
		requestID string
		code      codes.Code
		reason    string
		operation bool
		caller    *xdrlinkv1.Caller
	}
	var want []event
	step := 0
	rid := func() string { step++; return fmt.Sprintf("audit-step-%02d", step) }
	grpcCtx := func(cred, id string) context.Context {
		return grpcmd.AppendToOutgoingContext(bearerCtx(t.Context(), cred), "x-request-id", id)
	}
	// expect records the event a change must leave, from its outcome.
	expect := func(c *xdrlinkv1.Caller, method, resource, id string, err error, wantCode codes.Code) {
		t.Helper()
		if status.Code(err) != wantCode {
			t.Fatalf("%s %s: got %v, want %s", id, method, err, wantCode)
		}
		want = append(want, event{principal: c.GetPrincipal(), method: method, resource: resource, requestID: id,
			code: wantCode, reason: errInfo(err).GetReason(), caller: c})
	}
	restErr := func(r restResult) error {
		if r.st != nil {
			return r.st.Err()
		}
		return nil
	}
	tenantWithGroup := func(id, group string) *xdrlinkv1.CreateTenantRequest {
		r := createRequest(id)
		r.Tenant.AccessGroup = group
		return r
	}

	// 1. Admin (gRPC) registers an east tenant.
	id := rid()
	_, err := tenants.CreateTenant(grpcCtx(admin, id), tenantWithGroup("audit-east", "pod-east"))
	expect(adminP, xdrlinkv1.TenantService_CreateTenant_FullMethodName, "tenants/audit-east", id, err, codes.OK)
	// 2. Admin (REST) registers a west tenant.
	id = rid()
	r := restCall(t, d, http.MethodPost, "/v1/tenants?tenant_id=audit-west", jsonBody(tenantWithGroup("audit-west", "pod-west").GetTenant()),
		admin, &xdrlinkv1.Tenant{}, "X-Request-Id", id)
	expect(adminP, xdrlinkv1.TenantService_CreateTenant_FullMethodName, "tenants/audit-west", id, restErr(r), codes.OK)
	// 3. Admin (REST) creates an operator key.
	id = rid()
	created := &xdrlinkv1.CreateApiKeyResponse{}
	r = restCall(t, d, http.MethodPost, "/v1/apiKeys", `{"displayName":"automation","role":"ROLE_OPERATOR"}`, admin, created, "X-Request-Id", id)
	expect(adminP, xdrlinkv1.AccessService_CreateApiKey_FullMethodName, created.GetApiKey().GetName(), id, restErr(r), codes.OK)
	opKey := created.GetKey()
	opP := principal(opKey)
	// Reads by the admin: not audited.
	if _, err := access.ListApiKeys(grpcCtx(admin, rid()), &xdrlinkv1.ListApiKeysRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tenants.GetTenant(grpcCtx(admin, rid()), &xdrlinkv1.GetTenantRequest{Name: "tenants/audit-east"}); err != nil {
		t.Fatal(err)
	}
	// 4. The operator key (gRPC) renames the east tenant.
	id = rid()
	_, err = tenants.UpdateTenant(grpcCtx(opKey, id), &xdrlinkv1.UpdateTenantRequest{
		Tenant:     &xdrlinkv1.Tenant{Name: "tenants/audit-east", DisplayName: "Audit East"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	expect(opP, xdrlinkv1.TenantService_UpdateTenant_FullMethodName, "tenants/audit-east", id, err, codes.OK)
	// 5. The viewer (gRPC) may not register a tenant.
	id = rid()
	_, err = tenants.CreateTenant(grpcCtx(viewer, id), createRequest("audit-denied"))
	expect(viewerP, xdrlinkv1.TenantService_CreateTenant_FullMethodName, "tenants/audit-denied", id, err, codes.PermissionDenied)
	// The viewer reads (REST): not audited.
	if r := restCall(t, d, http.MethodGet, "/v1/tenants", "", viewer, &xdrlinkv1.ListTenantsResponse{}, "X-Request-Id", rid()); r.code != http.StatusOK {
		t.Fatalf("viewer list: %d %s", r.code, r.body)
	}
	// 6. The east operator (gRPC) cannot see the west tenant.
	id = rid()
	_, err = tenants.DeleteTenant(grpcCtx(east, id), &xdrlinkv1.DeleteTenantRequest{Name: "tenants/audit-west"})
	expect(eastP, xdrlinkv1.TenantService_DeleteTenant_FullMethodName, "tenants/audit-west", id, err, codes.NotFound)
	// 7. The operator key (REST) sends an invalid tenant id.
	id = rid()
	r = restCall(t, d, http.MethodPost, "/v1/tenants?tenant_id=Bad_ID", jsonBody(validTenant("Bad")), opKey, &xdrlinkv1.Tenant{}, "X-Request-Id", id)
	expect(opP, xdrlinkv1.TenantService_CreateTenant_FullMethodName, "tenants/Bad_ID", id, restErr(r), codes.InvalidArgument)
	// 8. The east operator (gRPC) starts onboarding its tenant: an operation.
	id = rid()
	op, err := onboarding.Onboard(grpcCtx(east, id), &xdrlinkv1.OnboardRequest{Name: "tenants/audit-east"})
	expect(eastP, xdrlinkv1.OnboardingService_Onboard_FullMethodName, "tenants/audit-east", id, err, codes.OK)
	want[len(want)-1].operation = true
	// Unauthenticated changes: nobody to name, not audited.
	if _, err := tenants.CreateTenant(grpcCtx("not-a-token-but-long-enough-to-look-like-one", rid()), createRequest("audit-anon")); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("garbage token: %v", err)
	}
	// 9. Admin (gRPC) revokes the operator key.
	id = rid()
	_, err = access.RevokeApiKey(grpcCtx(admin, id), &xdrlinkv1.RevokeApiKeyRequest{Name: created.GetApiKey().GetName()})
	expect(adminP, xdrlinkv1.AccessService_RevokeApiKey_FullMethodName, created.GetApiKey().GetName(), id, err, codes.OK)
	// The revoked key's change: refused before anyone is named.
	if r := restCall(t, d, http.MethodPost, "/v1/tenants?tenant_id=audit-late", jsonBody(validTenant("Late")), opKey, &xdrlinkv1.Tenant{},
		"X-Request-Id", rid()); r.code != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d %s", r.code, r.body)
	}

	secrets := []string{admin, viewer, east, apiKeySecret(opKey)}
	secrets = append(secrets, keySecrets(opKey)[2:]...)
	check := func(t *testing.T, events []*xdrlinkv1.AuditEvent, raw string) {
		if len(events) != len(want) {
			t.Fatalf("%d events, want %d (one per change):\n%s", len(events), len(want), raw)
		}
		for i, e := range events {
			w := want[len(want)-1-i] // newest first
			if e.GetPrincipal() != w.principal || e.GetMethod() != w.method || e.GetResource() != w.resource ||
				e.GetRequestId() != w.requestID || codes.Code(e.GetCode()) != w.code || e.GetReason() != w.reason ||
				e.GetAuthMethod() != w.caller.GetAuthMethod() || e.GetScoped() != w.caller.GetScoped() ||
				e.GetDisplayName() != w.caller.GetDisplayName() || (e.GetOperation() != "") != w.operation ||
				e.GetTime() == nil || !strings.HasPrefix(e.GetName(), "auditEvents/") || e.GetClientAddress() == "" {
				t.Errorf("event %d: %v\nwant %+v", i, e, w)
			}
			var role xdrlinkv1.Role
			for _, g := range w.caller.GetGrants() {
				role = max(role, g.GetRole())
			}
			if e.GetRole() != role {
				t.Errorf("event %d: role %s, want %s", i, e.GetRole(), role)
			}
			if i > 0 && e.GetTime().AsTime().After(events[i-1].GetTime().AsTime()) {
				t.Errorf("event %d is newer than event %d: not newest first", i, i-1)
			}
			if w.operation && e.GetOperation() != op.GetName() {
				t.Errorf("event %d: operation %q, want %q", i, e.GetOperation(), op.GetName())
			}
			if w.code != codes.OK && (e.GetReason() == "" || e.GetCode() == code.Code_OK) {
				t.Errorf("event %d: a refusal without code or reason: %v", i, e)
			}
		}
		for _, s := range secrets {
			if w := leaks(raw, s); w != "" {
				t.Errorf("the audit log holds %q of a credential", w)
			}
		}
		if strings.Contains(strings.ToLower(raw), "bearer") {
			t.Errorf("the audit log mentions a bearer credential: %s", raw)
		}
	}
	t.Run("grpc", func(t *testing.T) {
		resp, err := xdrlinkv1.NewAuditServiceClient(conn).ListAuditEvents(bearerCtx(t.Context(), admin), &xdrlinkv1.ListAuditEventsRequest{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := protojson.Marshal(resp)
		check(t, resp.GetAuditEvents(), string(raw))
	})
	t.Run("rest", func(t *testing.T) {
		resp := &xdrlinkv1.ListAuditEventsResponse{}
		r := restCall(t, d, http.MethodGet, "/v1/auditEvents?page_size=100", "", admin, resp)
		if r.code != http.StatusOK {
			t.Fatalf("%d %s", r.code, r.body)
		}
		check(t, resp.GetAuditEvents(), r.body)
	})

	t.Run("filters", func(t *testing.T) {
		count := func(pred func(event) bool) int {
			n := 0
			for _, w := range want {
				if pred(w) {
					n++
				}
			}
			return n
		}
		for _, f := range []struct {
			filter string
			want   int
		}{
			{fmt.Sprintf("principal = %q", eastP.GetPrincipal()), count(func(e event) bool { return e.principal == eastP.GetPrincipal() })},
			{`resource = "tenants/audit-east"`, count(func(e event) bool { return e.resource == "tenants/audit-east" })},
			{fmt.Sprintf("method = %q", xdrlinkv1.TenantService_CreateTenant_FullMethodName),
				count(func(e event) bool { return e.method == xdrlinkv1.TenantService_CreateTenant_FullMethodName })},
			{`code = "PERMISSION_DENIED"`, 1},
			{`code = "OK"`, count(func(e event) bool { return e.code == codes.OK })},
			{fmt.Sprintf(`principal = %q AND code = "NOT_FOUND"`, eastP.GetPrincipal()), 1},
			{`principal = "nobody"`, 0},
		} {
			resp, err := xdrlinkv1.NewAuditServiceClient(conn).ListAuditEvents(bearerCtx(t.Context(), admin),
				&xdrlinkv1.ListAuditEventsRequest{Filter: f.filter, PageSize: 100})
			if err != nil || len(resp.GetAuditEvents()) != f.want {
				t.Errorf("grpc %s: %d events, %v; want %d", f.filter, len(resp.GetAuditEvents()), err, f.want)
			}
			out := &xdrlinkv1.ListAuditEventsResponse{}
			r := restCall(t, d, http.MethodGet, "/v1/auditEvents?"+url.Values{"filter": {f.filter}}.Encode(), "", admin, out)
			if r.code != http.StatusOK || len(out.GetAuditEvents()) != f.want {
				t.Errorf("rest %s: %d events, HTTP %d; want %d", f.filter, len(out.GetAuditEvents()), r.code, f.want)
			}
		}
		for _, bad := range []string{`nope = "x"`, `code = "NOPE"`, `principal =`, `principal = "a" AND principal = "b"`} {
			_, err := xdrlinkv1.NewAuditServiceClient(conn).ListAuditEvents(bearerCtx(t.Context(), admin),
				&xdrlinkv1.ListAuditEventsRequest{Filter: bad})
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("grpc filter %s: %v, want INVALID_ARGUMENT", bad, err)
			}
			r := restCall(t, d, http.MethodGet, "/v1/auditEvents?"+url.Values{"filter": {bad}}.Encode(), "", admin, nil)
			if r.code != http.StatusBadRequest {
				t.Errorf("rest filter %s: HTTP %d, want 400", bad, r.code)
			}
		}
	})
}

// TestAuthAuditRetention: at start the daemon deletes the audit events
// older than --audit-retention and keeps the younger ones. The events are
// written to the store before the daemon starts.
func TestAuthAuditRetention(t *testing.T) {
	db := filepath.Join(t.TempDir(), "xdrlink.db")
	cfg := testConfig(t)
	cfg.DB = db
	st, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range []struct {
		id  string
		age time.Duration
	}{{"old", 40 * 24 * time.Hour}, {"young", 20 * 24 * time.Hour}} {
		body, _ := proto.Marshal(&xdrlinkv1.AuditEvent{Name: "auditEvents/" + e.id, Time: timestamppb.New(now.Add(-e.age)),
			Principal: "test", Method: xdrlinkv1.TenantService_CreateTenant_FullMethodName, Resource: "tenants/" + e.id})
		if err := st.AppendAuditEvent(t.Context(), &store.AuditEvent{ID: e.id, Time: now.Add(-e.age), Principal: "test",
			Method: xdrlinkv1.TenantService_CreateTenant_FullMethodName, Resource: "tenants/" + e.id, Code: "OK", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	var logs syncbuf.Buffer
	d := startDaemon(t, withDB(db), func(c *Config) {
		c.AuditRetention = 30 * 24 * time.Hour
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	// Pruning runs in the background from Start: wait for its log line
	// (bounded by the test's own deadline, not a guess).
	for !strings.Contains(logs.String(), "audit log pruned") {
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	line := logLines(logs.String(), "audit log pruned")
	if len(line) != 1 || line[0]["deleted"] != float64(1) {
		t.Errorf("prune log: %v", line)
	}
	// --auth=none: the caller is an admin.
	resp, err := xdrlinkv1.NewAuditServiceClient(plainConn(t, d)).ListAuditEvents(t.Context(), &xdrlinkv1.ListAuditEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetAuditEvents()) != 1 || resp.GetAuditEvents()[0].GetName() != "auditEvents/young" {
		t.Errorf("after pruning: %v, want only the young event", resp.GetAuditEvents())
	}
}
