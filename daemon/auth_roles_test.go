package daemon

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
)

// roleCall is one RPC, over gRPC and its REST path, and the least role
// that may make it (0: any authenticated caller).
type roleCall struct {
	name   string
	method string
	req    func(id string) proto.Message
	resp   func() proto.Message
	// rest is the HTTP method, path and body of the same call.
	rest func(id string) (string, string, string)
	need xdrlinkv1.Role
}

func roleCalls() []roleCall {
	const missing = "tenants/no-such-tenant"
	return []roleCall{
		{"GetCaller", xdrlinkv1.AccessService_GetCaller_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.GetCallerRequest{} },
			func() proto.Message { return &xdrlinkv1.Caller{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/caller", "" }, 0},
		{"ListTenants", xdrlinkv1.TenantService_ListTenants_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.ListTenantsRequest{} },
			func() proto.Message { return &xdrlinkv1.ListTenantsResponse{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/tenants", "" }, authz.Viewer},
		{"GetTenant", xdrlinkv1.TenantService_GetTenant_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.GetTenantRequest{Name: missing} },
			func() proto.Message { return &xdrlinkv1.Tenant{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/" + missing, "" }, authz.Viewer},
		{"ListTables", xdrlinkv1.TableService_ListTables_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.ListTablesRequest{} },
			func() proto.Message { return &xdrlinkv1.ListTablesResponse{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/tables", "" }, authz.Viewer},
		{"ListOperations", longrunningpb.Operations_ListOperations_FullMethodName,
			func(string) proto.Message { return &longrunningpb.ListOperationsRequest{} },
			func() proto.Message { return &longrunningpb.ListOperationsResponse{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/operations", "" }, authz.Viewer},
		{"CreateTenant", xdrlinkv1.TenantService_CreateTenant_FullMethodName,
			func(id string) proto.Message { return createRequest(id) },
			func() proto.Message { return &xdrlinkv1.Tenant{} },
			func(id string) (string, string, string) {
				return http.MethodPost, "/v1/tenants?" + url.Values{"tenant_id": {id}}.Encode(), jsonBody(createRequest(id).GetTenant())
			}, authz.Operator},
		{"Onboard", xdrlinkv1.OnboardingService_Onboard_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.OnboardRequest{Name: missing} },
			func() proto.Message { return &longrunningpb.Operation{} },
			func(string) (string, string, string) { return http.MethodPost, "/v1/" + missing + ":onboard", "{}" }, authz.Operator},
		{"DeleteTenant", xdrlinkv1.TenantService_DeleteTenant_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.DeleteTenantRequest{Name: missing} },
			func() proto.Message { return &emptypb.Empty{} },
			func(string) (string, string, string) { return http.MethodDelete, "/v1/" + missing, "" }, authz.Operator},
		{"ListApiKeys", xdrlinkv1.AccessService_ListApiKeys_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.ListApiKeysRequest{} },
			func() proto.Message { return &xdrlinkv1.ListApiKeysResponse{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/apiKeys", "" }, authz.Admin},
		{"GetApiKey", xdrlinkv1.AccessService_GetApiKey_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.GetApiKeyRequest{Name: "apiKeys/aaaaaaaaaaaaaaaa"} },
			func() proto.Message { return &xdrlinkv1.ApiKey{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/apiKeys/aaaaaaaaaaaaaaaa", "" }, authz.Admin},
		{"CreateApiKey", xdrlinkv1.AccessService_CreateApiKey_FullMethodName,
			func(string) proto.Message {
				return &xdrlinkv1.CreateApiKeyRequest{ApiKey: &xdrlinkv1.ApiKey{DisplayName: "roles test", Role: authz.Viewer}}
			},
			func() proto.Message { return &xdrlinkv1.CreateApiKeyResponse{} },
			func(string) (string, string, string) {
				return http.MethodPost, "/v1/apiKeys", `{"displayName":"roles test","role":"ROLE_VIEWER"}`
			}, authz.Admin},
		{"ListAuditEvents", xdrlinkv1.AuditService_ListAuditEvents_FullMethodName,
			func(string) proto.Message { return &xdrlinkv1.ListAuditEventsRequest{} },
			func() proto.Message { return &xdrlinkv1.ListAuditEventsResponse{} },
			func(string) (string, string, string) { return http.MethodGet, "/v1/auditEvents", "" }, authz.Admin},
	}
}

// TestAuthRoles: each role, as a token and as an API key, may make the
// calls its role allows (any answer but PERMISSION_DENIED), and every
// other call is PERMISSION_DENIED (403) naming the role it needs; a
// caller without any role may only ask who it is. gRPC and REST alike.
func TestAuthRoles(t *testing.T) {
	d := startAuthDaemon(t, nil)
	type caller struct {
		name string
		cred string
		role xdrlinkv1.Role
	}
	var callers []caller
	for _, u := range []struct {
		user string
		role xdrlinkv1.Role
	}{{"viewer", authz.Viewer}, {"operator", authz.Operator}, {"admin", authz.Admin}, {"unassigned", 0}} {
		callers = append(callers, caller{u.user + " token", staffToken(t, d, u.user), u.role})
	}
	for _, r := range []xdrlinkv1.Role{authz.Viewer, authz.Operator, authz.Admin} {
		key, _ := makeKey(t, d, r)
		callers = append(callers, caller{r.String() + " key", key, r})
	}
	conn := plainConn(t, d)
	n := 0
	for _, c := range callers {
		for _, call := range roleCalls() {
			t.Run(c.name+"/"+call.name, func(t *testing.T) {
				allowed := c.role >= call.need
				check := func(transport string, httpCode int, err error) {
					t.Helper()
					st, _ := status.FromError(err)
					if allowed {
						if st.Code() == codes.PermissionDenied || st.Code() == codes.Unauthenticated {
							t.Errorf("%s: refused: %v", transport, err)
						}
						return
					}
					ei := errInfo(err)
					if st.Code() != codes.PermissionDenied || ei.GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED.String() ||
						ei.GetMetadata()["required_role"] != call.need.String() {
						t.Errorf("%s: got %v (error info %v), want PERMISSION_DENIED needing %s", transport, err, ei, call.need)
					}
					if httpCode != 0 && httpCode != http.StatusForbidden {
						t.Errorf("%s: HTTP %d, want 403", transport, httpCode)
					}
				}
				n++
				id := fmt.Sprintf("roles-%03d", n)
				err := conn.Invoke(bearerCtx(t.Context(), c.cred), call.method, call.req(id), call.resp())
				check("grpc", 0, err)

				id += "-rest"
				method, path, body := call.rest(id)
				r := restCall(t, d, method, path, body, c.cred, call.resp())
				var restErr error
				if r.st != nil {
					restErr = r.st.Err()
				}
				check("rest", r.code, restErr)
			})
		}
	}
}

// TestAuthEveryMethodHasARule: every method the server registers has an
// access rule or is public (health, reflection); a method with neither
// would be refused to everyone, and is a decision nobody made.
func TestAuthEveryMethodHasARule(t *testing.T) {
	d := startAuthDaemon(t, nil)
	n := 0
	for svc, info := range d.grpc.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + svc + "/" + m.Name
			_, ruled := authz.MethodRule(full)
			public := authz.Public(full)
			switch {
			case !ruled && !public:
				t.Errorf("%s has no access rule (server/authz/methods.go) and is not public", full)
			case ruled && public:
				t.Errorf("%s is public and has a rule: which applies?", full)
			}
			n++
		}
	}
	if n < len(authz.Methods()) {
		t.Errorf("%d registered methods, fewer than the %d rules: a rule names a method the server lacks", n, len(authz.Methods()))
	}
	registered := map[string]bool{}
	for svc, info := range d.grpc.GetServiceInfo() {
		for _, m := range info.Methods {
			registered["/"+svc+"/"+m.Name] = true
		}
	}
	for _, m := range authz.Methods() {
		if !registered[m] {
			t.Errorf("rule for %s, which the server does not serve", m)
		}
	}
}
