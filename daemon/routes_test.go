package daemon

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// TestRESTRoutes checks that every REST path of the API contract reaches the
// gRPC method it stands for: the response's X-Request-Id leads to the
// server's log line for that call, which names the method. A route of a
// service this server does not serve yet must answer 501 (gRPC's
// UNIMPLEMENTED for an unknown service), never 404 or 500.
func TestRESTRoutes(t *testing.T) {
	var logs syncbuf.Buffer
	d := startDaemon(t, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	api := newREST(d)
	if _, err := api.Create(t.Context(), createRequest("routes")); err != nil {
		t.Fatal(err)
	}
	routes := []struct{ method, path, body, rpc string }{
		{"POST", "/v1/tenants?tenant_id=route-two", validBody, "xdrlink.v1.TenantService/CreateTenant"},
		{"POST", "/v1/tenants:batchCreate", `{"requests":[{"tenantId":"route-batch","tenant":` + strings.Replace(validBody, "ws-one", "ws-batch", 1) + `}]}`,
			"xdrlink.v1.TenantService/BatchCreateTenants"},
		{"GET", "/v1/tenants/routes", "", "xdrlink.v1.TenantService/GetTenant"},
		{"GET", "/v1/tenants?page_size=1", "", "xdrlink.v1.TenantService/ListTenants"},
		{"PATCH", "/v1/tenants/routes?update_mask=display_name", `{"displayName":"R"}`, "xdrlink.v1.TenantService/UpdateTenant"},
		{"DELETE", "/v1/tenants/route-two", "", "xdrlink.v1.TenantService/DeleteTenant"},
		{"POST", "/v1/tenants/routes:checkPrerequisites", `{}`, "xdrlink.v1.OnboardingService/CheckPrerequisites"},
		{"POST", "/v1/tenants/routes:onboard", `{}`, "xdrlink.v1.OnboardingService/Onboard"},
		{"POST", "/v1/tenants:batchOnboard", `{"tenants":["tenants/routes"]}`, "xdrlink.v1.OnboardingService/BatchOnboard"},
		{"POST", "/v1/tenants/routes:offboard", `{}`, "xdrlink.v1.OnboardingService/Offboard"},
		{"GET", "/v1/tables", "", "xdrlink.v1.TableService/ListTables"},
		{"GET", "/v1/tenants/routes/tableSettings", "", "xdrlink.v1.TableService/GetTableSettings"},
		{"PATCH", "/v1/tenants/routes/tableSettings", `{"desiredTables":["DeviceInfo"]}`, "xdrlink.v1.TableService/UpdateTableSettings"},
		{"POST", "/v1/tenants/routes:verify", `{}`, "xdrlink.v1.VerificationService/Verify"},
		{"POST", "/v1/tenants:batchVerify", `{"tenants":["tenants/routes"]}`, "xdrlink.v1.VerificationService/BatchVerify"},
		{"GET", "/v1/tenants/routes/verifications", "", "xdrlink.v1.VerificationService/ListVerifications"},
		{"GET", "/v1/tenants/routes/verifications/v1", "", "xdrlink.v1.VerificationService/GetVerification"},
		{"GET", "/v1/operations", "", "google.longrunning.Operations/ListOperations"},
		{"GET", "/v1/operations/op1", "", "google.longrunning.Operations/GetOperation"},
		{"POST", "/v1/operations/op1:cancel", `{}`, "google.longrunning.Operations/CancelOperation"},
		{"POST", "/v1/operations/op1:wait", `{}`, "google.longrunning.Operations/WaitOperation"},
		{"DELETE", "/v1/operations/op1", "", "google.longrunning.Operations/DeleteOperation"},
		{"POST", "/v1/operations/op1:resume", `{}`, "xdrlink.v1.OperationService/ResumeOperation"},
		{"GET", "/v1/operations/op1:watch", "", "xdrlink.v1.OperationService/WatchOperation"},
	}
	for _, rt := range routes {
		resp, err := api.raw(t.Context(), rt.method, rt.path, rt.body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		service, _, _ := strings.Cut(rt.rpc, "/")
		if _, served := d.grpc.GetServiceInfo()[service]; !served {
			if resp.StatusCode != http.StatusNotImplemented {
				t.Errorf("%s %s (%s not served): HTTP %d, want 501", rt.method, rt.path, service, resp.StatusCode)
			}
			continue
		}
		id := resp.Header.Get("X-Request-Id")
		// The method's own answer may be an error (op1 does not exist; an
		// offboard while the onboard runs is refused; a method of a later
		// capability answers 501): the log line below proves the route
		// reached it. Only a server fault is wrong here.
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
			t.Errorf("%s %s: HTTP %d", rt.method, rt.path, resp.StatusCode)
		}
		if got := loggedMethod(t, logs.String(), id); got != rt.rpc {
			t.Errorf("%s %s reached %q (request %q), want %s", rt.method, rt.path, got, id, rt.rpc)
		}
	}
}

// loggedMethod finds the "finished call" log line of request id and returns
// its service/method.
func loggedMethod(t *testing.T, logs, id string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if id == "" || !strings.Contains(line, id) {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil || e["request_id"] != id || e["msg"] != "finished call" {
			continue
		}
		return e["grpc.service"].(string) + "/" + e["grpc.method"].(string)
	}
	return ""
}
