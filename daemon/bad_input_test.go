package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
)

// badInput is one bad request, expressed for each transport it can be sent
// over, and the error both must produce.
type badInput struct {
	name string
	// grpc sends the request over gRPC; nil when gRPC cannot express it
	// (e.g. an unknown JSON field).
	grpc func(ctx context.Context, c *client.Client) error
	// rest is the raw HTTP request; method "" when REST cannot express it.
	rest restReq

	code       codes.Code
	httpStatus int
	// reason is the ErrorInfo reason; UNSPECIFIED means the status carries
	// no ErrorInfo (only for errors grpc raises itself).
	reason xdrlinkv1.ErrorReason
	// fields are the exact BadRequest field violations expected.
	fields []string
	// metadata are entries the ErrorInfo's metadata must hold (it may hold
	// more).
	metadata map[string]string
	// says is text the status message must hold, when not empty.
	says string
}

type restReq struct{ method, path, body string }

const (
	existing     = "tenants/existing"
	validBody    = `{"entraTenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","workspace":{"subscriptionId":"3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b","resourceGroup":"rg","name":"ws-one"}}`
	invalidArg   = xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT
	etagMismatch = xdrlinkv1.ErrorReason_ERROR_REASON_ETAG_MISMATCH
)

func createReq(id string, mutate func(*xdrlinkv1.Tenant)) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		tn := validTenant("Bad Input")
		if mutate != nil {
			mutate(tn)
		}
		_, err := c.Tenants.CreateTenant(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: tn})
		return err
	}
}

func updateReq(tn *xdrlinkv1.Tenant, paths ...string) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		_, err := c.Tenants.UpdateTenant(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: tn, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		return err
	}
}

func badInputCases() []badInput {
	big := strings.Repeat("x", testMaxBody+1)
	return []badInput{
		{
			name: "malformed entra tenant GUID",
			grpc: createReq("t1", func(tn *xdrlinkv1.Tenant) { tn.EntraTenantId = "72f988bf-86f1-41af-91ab" }),
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1", strings.Replace(validBody, "72f988bf-86f1-41af-91ab-2d7cd011db47", "72f988bf-86f1-41af-91ab", 1)},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant.entra_tenant_id"},
		},
		{
			name: "malformed subscription GUID",
			grpc: createReq("t1", func(tn *xdrlinkv1.Tenant) { tn.Workspace.SubscriptionId = "not-a-guid" }),
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1", strings.Replace(validBody, "3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b", "not-a-guid", 1)},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant.workspace.subscription_id"},
		},
		{
			name: "bad tenant id",
			grpc: createReq("Bad_ID", nil),
			rest: restReq{"POST", "/v1/tenants?tenant_id=Bad_ID", validBody},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant_id"},
		},
		{
			name: "bad tenant name",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: "tenants/-x-"})
				return err
			},
			rest: restReq{"GET", "/v1/tenants/-x-", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"name"},
		},
		{
			name: "unknown JSON field", // gRPC's binary encoding keeps unknown fields by design
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1", strings.Replace(validBody, "{", `{"entraTenantID":"x",`, 1)},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"entraTenantID"},
		},
		{
			name: "malformed JSON",
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1", `{"displayName":`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"body"},
		},
		{
			name: "page_size -1",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tenants.ListTenants(ctx, &xdrlinkv1.ListTenantsRequest{PageSize: -1})
				return err
			},
			rest: restReq{"GET", "/v1/tenants?page_size=-1", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"page_size"},
		},
		{
			name: "forged page token",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tenants.ListTenants(ctx, &xdrlinkv1.ListTenantsRequest{PageToken: "eyJsYXN0IjoiemVicmEifQ"})
				return err
			},
			rest: restReq{"GET", "/v1/tenants?page_token=eyJsYXN0IjoiemVicmEifQ", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN, fields: []string{"page_token"},
		},
		{
			name: "bad filter",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tenants.ListTenants(ctx, &xdrlinkv1.ListTenantsRequest{Filter: "owner = bob"})
				return err
			},
			rest: restReq{"GET", "/v1/tenants?filter=owner%20%3D%20bob", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER, fields: []string{"filter"},
		},
		{
			name: "forged table page token",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tables.ListTables(ctx, &xdrlinkv1.ListTablesRequest{PageToken: "NoSuchTable"})
				return err
			},
			rest: restReq{"GET", "/v1/tables?page_token=NoSuchTable", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN, fields: []string{"page_token"},
		},
		{
			name: "stale etag on update",
			grpc: updateReq(&xdrlinkv1.Tenant{Name: existing, Etag: "stale", DisplayName: "x"}, "display_name"),
			rest: restReq{"PATCH", "/v1/" + existing + "?update_mask=display_name", `{"etag":"stale","displayName":"x"}`},
			code: codes.Aborted, httpStatus: 409, reason: etagMismatch,
		},
		{
			name: "stale etag on delete",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tenants.DeleteTenant(ctx, &xdrlinkv1.DeleteTenantRequest{Name: existing, Etag: "stale"})
				return err
			},
			rest: restReq{"DELETE", "/v1/" + existing + "?etag=stale", ""},
			code: codes.Aborted, httpStatus: 409, reason: etagMismatch,
		},
		{
			name: "tenant not found",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: "tenants/nobody"})
				return err
			},
			rest: restReq{"GET", "/v1/tenants/nobody", ""},
			code: codes.NotFound, httpStatus: 404, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND,
		},
		{
			name: "duplicate create",
			grpc: createReq("existing", nil),
			rest: restReq{"POST", "/v1/tenants?tenant_id=existing", validBody},
			code: codes.AlreadyExists, httpStatus: 409, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_ALREADY_EXISTS,
		},
		{
			name: "body over the limit",
			// Over gRPC the transport refuses the message before any handler.
			grpc:       createReq("t1", func(tn *xdrlinkv1.Tenant) { tn.DisplayName = big }),
			rest:       restReq{"POST", "/v1/tenants?tenant_id=t1", `{"displayName":"` + big + `"}`},
			code:       codes.ResourceExhausted,
			httpStatus: http.StatusRequestEntityTooLarge,
			reason:     xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE,
		},
		{
			name: "missing required workspace fields",
			grpc: createReq("t1", func(tn *xdrlinkv1.Tenant) { tn.Workspace = nil }),
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1", `{"entraTenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg,
			fields: []string{"tenant.workspace.subscription_id", "tenant.workspace.resource_group", "tenant.workspace.name"},
		},
		{
			name: "missing tenant id",
			grpc: createReq("", nil),
			rest: restReq{"POST", "/v1/tenants", validBody},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant_id"},
		},
		{
			name: "update clears a required field",
			grpc: updateReq(&xdrlinkv1.Tenant{Name: existing}, "entra_tenant_id"),
			rest: restReq{"PATCH", "/v1/" + existing + "?update_mask=entra_tenant_id", `{}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant.entra_tenant_id"},
		},
		{
			name: "immutable path in update mask",
			grpc: updateReq(&xdrlinkv1.Tenant{Name: existing}, "owner"),
			rest: restReq{"PATCH", "/v1/" + existing + "?update_mask=owner", `{}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"update_mask"},
		},
		{
			name: "bad label key and table name",
			grpc: createReq("t1", func(tn *xdrlinkv1.Tenant) {
				tn.Labels = map[string]string{"Bad Key": "v"}
				tn.Connector = &xdrlinkv1.ConnectorSettings{Tables: []string{"device;drop"}}
			}),
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1", strings.Replace(validBody, "{", `{"labels":{"Bad Key":"v"},"connector":{"tables":["device;drop"]},`, 1)},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg,
			fields: []string{`tenant.labels["Bad Key"]`, "tenant.connector.tables[0]"},
		},
		{
			name: "a TVM table on create",
			grpc: createReq("t1", func(tn *xdrlinkv1.Tenant) {
				tn.Connector = &xdrlinkv1.ConnectorSettings{Tables: []string{"DeviceInfo", "DeviceTvmSoftwareInventory"}}
			}),
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1", strings.Replace(validBody, "{", `{"connector":{"tables":["DeviceInfo","DeviceTvmSoftwareInventory"]},`, 1)},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant.connector.tables[1]"},
			says: "DeviceTvmSoftwareInventory is never streamed to Microsoft Sentinel",
		},
		{
			// Refused by its rules and by the catalog: one violation per field.
			name: "a TVM table and a malformed one on create, with a missing workspace",
			grpc: createReq("t1", func(tn *xdrlinkv1.Tenant) {
				tn.Workspace = nil
				tn.Connector = &xdrlinkv1.ConnectorSettings{Tables: []string{"deviceinfo", "DeviceTvmSoftwareInventory"}}
			}),
			rest: restReq{"POST", "/v1/tenants?tenant_id=t1",
				`{"entraTenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","connector":{"tables":["deviceinfo","DeviceTvmSoftwareInventory"]}}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg,
			fields: []string{"tenant.connector.tables[0]", "tenant.connector.tables[1]",
				"tenant.workspace.subscription_id", "tenant.workspace.resource_group", "tenant.workspace.name"},
		},
		{
			name: "a Behavior table on update",
			grpc: updateReq(&xdrlinkv1.Tenant{Name: existing, Connector: &xdrlinkv1.ConnectorSettings{Tables: []string{"BehaviorInfo"}}}, "connector.tables"),
			rest: restReq{"PATCH", "/v1/" + existing + "?update_mask=connector.tables", `{"connector":{"tables":["BehaviorInfo"]}}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant.connector.tables[0]"},
			says: "BehaviorInfo is never streamed",
		},
		{
			name: "list tenants: unknown verdict",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tenants.ListTenants(ctx, &xdrlinkv1.ListTenantsRequest{Filter: "last_verification.verdict = ROTTEN"})
				return err
			},
			rest: restReq{"GET", "/v1/tenants?filter=last_verification.verdict%20%3D%20ROTTEN", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER, fields: []string{"filter"},
			says: "unknown verdict ROTTEN",
		},
	}
}

// TestBadInput sends every bad request over gRPC and REST and checks the
// code, the HTTP status, the ErrorInfo reason and the exact field
// violations; and that the tenant the stale-etag cases aim at is unchanged.
func TestBadInput(t *testing.T) {
	backends(t, func(t *testing.T, db string) { testBadInput(t, startDaemon(t, withDB(db), badFastJobs)) })
}

// badFastJobs makes the workflow pick up jobs at once, so the table's
// operations reach the states it needs quickly.
func badFastJobs(c *Config) {
	c.JobPollInterval = 50 * time.Millisecond
	c.StepTimeout = 30 * time.Second
}

func testBadInput(t *testing.T, d *Daemon) {
	c := dial(t, d)
	ctx := t.Context()
	before, err := c.Tenants.CreateTenant(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: "existing", Tenant: validTenant("Existing")})
	if err != nil {
		t.Fatal(err)
	}
	fx := badSetupOperations(t, d, c)
	rest := newREST(d)
	for _, tc := range slices.Concat(badInputCases(), badBatchCases(), badBatchOnboardCases(), badOperationCases(fx),
		badTableCases(), badVerificationCases(), badBatchVerifyCases(), badAccessCases()) {
		t.Run(tc.name, func(t *testing.T) {
			if tc.grpc != nil {
				t.Run("grpc", func(t *testing.T) {
					checkStatus(t, tc, tc.grpc(ctx, c))
				})
			}
			if tc.rest.method != "" {
				t.Run("rest", func(t *testing.T) {
					resp, err := rest.raw(ctx, tc.rest.method, tc.rest.path, tc.rest.body)
					if err != nil {
						t.Fatal(err)
					}
					err = decodeREST(resp, nil)
					re, ok := err.(*restError)
					if !ok {
						t.Fatalf("got %v, want an HTTP error with a google.rpc.Status body", err)
					}
					if re.httpStatus != tc.httpStatus {
						t.Errorf("HTTP %d, want %d (%v)", re.httpStatus, tc.httpStatus, re.st.Message())
					}
					checkStatus(t, tc, err)
				})
			}
		})
	}
	after, err := c.Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: existing})
	if err != nil || after.GetEtag() != before.GetEtag() || after.GetDisplayName() != "Existing" {
		t.Errorf("the target tenant changed: %v, %v", after, err)
	}
}

func checkStatus(t *testing.T, tc badInput, err error) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("got %v, want a status error", err)
	}
	if st.Code() == codes.Internal || st.Code() == codes.Unknown {
		t.Fatalf("got %v: bad input must never be an internal error", st)
	}
	if st.Code() != tc.code {
		t.Errorf("code %v, want %v (%s)", st.Code(), tc.code, st.Message())
	}
	var info *errdetails.ErrorInfo
	var fields []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
				if v.GetDescription() == "" {
					t.Errorf("violation of %s has no description", v.GetField())
				}
			}
		}
	}
	switch {
	case tc.reason == xdrlinkv1.ErrorReason_ERROR_REASON_UNSPECIFIED && info != nil:
		t.Errorf("unexpected ErrorInfo %v", info)
	case tc.reason != xdrlinkv1.ErrorReason_ERROR_REASON_UNSPECIFIED && info == nil:
		t.Errorf("no ErrorInfo, want reason %v", tc.reason)
	case info != nil && (info.GetReason() != tc.reason.String() || info.GetDomain() != apierr.Domain):
		t.Errorf("ErrorInfo %s/%s, want %s/%s", info.GetDomain(), info.GetReason(), apierr.Domain, tc.reason)
	}
	if !strings.Contains(st.Message(), tc.says) {
		t.Errorf("message %q does not say %q", st.Message(), tc.says)
	}
	for k, v := range tc.metadata {
		if got := info.GetMetadata()[k]; got != v {
			t.Errorf("ErrorInfo metadata %s = %q, want %q (%v)", k, got, v, info.GetMetadata())
		}
	}
	slices.Sort(fields)
	want := slices.Clone(tc.fields)
	slices.Sort(want)
	if !slices.Equal(fields, want) {
		t.Errorf("field violations %q, want %q", fields, want)
	}
}

// batchItem is a valid item of a batch create: id batch-i, its own workspace.
func batchItem(i int) *xdrlinkv1.CreateTenantRequest {
	return &xdrlinkv1.CreateTenantRequest{TenantId: fmt.Sprintf("batch-%d", i), Tenant: validTenant(fmt.Sprintf("Batch %d", i))}
}

// batchOf is a batch of n valid items, changed by mutate.
func batchOf(n int, mutate func(r []*xdrlinkv1.CreateTenantRequest)) *xdrlinkv1.BatchCreateTenantsRequest {
	req := &xdrlinkv1.BatchCreateTenantsRequest{}
	for i := range n {
		req.Requests = append(req.Requests, batchItem(i))
	}
	if mutate != nil {
		mutate(req.Requests)
	}
	return req
}

// badBatchCases are the bad requests of TenantService.BatchCreateTenants.
// Every case reuses the ids batch-0...: a batch stored in part would make
// the later cases fail on them.
func badBatchCases() []badInput {
	var cases []badInput
	add := postCases(&cases, "batch create: ", "/v1/tenants:batchCreate",
		func(ctx context.Context, c *client.Client, req *xdrlinkv1.BatchCreateTenantsRequest) error {
			_, err := c.Tenants.BatchCreateTenants(ctx, req)
			return err
		})
	// Items that pass every rule but are small, so that 1,001 of them fit
	// the test server's body limit: only the batch's size is wrong.
	oversize := &xdrlinkv1.BatchCreateTenantsRequest{}
	for i := range 1001 {
		oversize.Requests = append(oversize.Requests, &xdrlinkv1.CreateTenantRequest{TenantId: fmt.Sprintf("o%d", i), Tenant: &xdrlinkv1.Tenant{}})
	}
	add("1001 items", oversize, invalid("requests"))
	add("no items", &xdrlinkv1.BatchCreateTenantsRequest{}, invalid("requests"))
	add("a malformed item at index 3", batchOf(5, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[3].Tenant.Workspace.SubscriptionId = "not-a-guid"
	}), invalid("requests[3].tenant.workspace.subscription_id"))
	// One item breaks a rule, the other misses a field the service checks:
	// both in one answer.
	add("two bad items", batchOf(6, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[1].Tenant.Workspace.Name = ""
		r[4].TenantId = "Bad_ID"
	}), invalid("requests[1].tenant.workspace.name", "requests[4].tenant_id"))
	add("two incomplete items", batchOf(3, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[0].Tenant.EntraTenantId = ""
		r[2].Tenant.Workspace = nil
	}), invalid("requests[0].tenant.entra_tenant_id", "requests[2].tenant.workspace.subscription_id",
		"requests[2].tenant.workspace.resource_group", "requests[2].tenant.workspace.name"))
	add("an item without a tenant", batchOf(2, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[1].Tenant = nil
	}), invalid("requests[1].tenant"))
	add("the same id twice", batchOf(4, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[3].TenantId = r[1].TenantId
	}), invalid("requests[3].tenant_id"))
	add("the same workspace twice, in another case", batchOf(4, func(r []*xdrlinkv1.CreateTenantRequest) {
		ws := r[2].Tenant.Workspace
		ws.ResourceGroup = strings.ToUpper(r[0].Tenant.Workspace.ResourceGroup)
		ws.Name = strings.ToUpper(r[0].Tenant.Workspace.Name)
	}), invalid("requests[2].tenant.workspace"))
	add("a TVM table at index 3", batchOf(4, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[3].Tenant.Connector = &xdrlinkv1.ConnectorSettings{Tables: []string{"DeviceTvmSoftwareVulnerabilities"}}
	}), invalid("requests[3].tenant.connector.tables[0]"))
	add("an id already registered", batchOf(4, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[2].TenantId = "existing"
	}), badInput{code: codes.AlreadyExists, httpStatus: 409, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_ALREADY_EXISTS,
		metadata: map[string]string{"index": "2", "resource": existing}})
	add("a workspace already registered", batchOf(4, func(r []*xdrlinkv1.CreateTenantRequest) {
		r[1].Tenant.Workspace = validTenant("Existing").Workspace
	}), badInput{code: codes.AlreadyExists, httpStatus: 409, reason: xdrlinkv1.ErrorReason_ERROR_REASON_WORKSPACE_ALREADY_REGISTERED,
		metadata: map[string]string{"index": "1", "resource": "tenants/batch-1", "tenant": existing}})
	return cases
}

// badOps are the operations the operation cases of the table aim at.
type badOps struct {
	// waiting is an onboarding paused for a sign-in: not done, and it
	// stays so while the table runs.
	waiting string
	// finished is a done (failed) onboarding.
	finished string
}

// badSetupOperations starts the table's operations: an onboarding of a
// customer that needs a delegated sign-in, which pauses in ACTION_REQUIRED,
// and one of a tenant whose workspace the emulator does not have, which
// fails.
func badSetupOperations(t *testing.T, d *Daemon, c *client.Client) badOps {
	t.Helper()
	ctx := t.Context()
	api := grpcOps{c}
	cust := customer(t, d, azuresim.DemoConsentNeeded)
	if _, err := c.Tenants.CreateTenant(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: cust.ID, Tenant: &xdrlinkv1.Tenant{
		DisplayName: cust.DisplayName, EntraTenantId: cust.EntraTenantID,
		Workspace: &xdrlinkv1.Workspace{SubscriptionId: cust.SubscriptionID, ResourceGroup: cust.ResourceGroup,
			Name: cust.WorkspaceName, Region: cust.Region},
		Connector: &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true, DisableIncidentCreationRules: true,
			EntitySync: true, Tables: sandboxTables},
	}}); err != nil {
		t.Fatal(err)
	}
	waiting, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + cust.ID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Cancel(context.Background(), waiting.GetName()) })

	if _, err := c.Tenants.CreateTenant(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: "bad-failing", Tenant: validTenant("Bad Failing")}); err != nil {
		t.Fatal(err)
	}
	finished, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/bad-failing"})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, api, waiting.GetName(), opActionRequired)
	waitState(t, api, finished.GetName(), opFailed)
	return badOps{waiting: waiting.GetName(), finished: finished.GetName()}
}

// badOnboard and badOffboard send an OnboardRequest or OffboardRequest.
func badOnboard(r *xdrlinkv1.OnboardRequest) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		_, err := c.Onboarding.Onboard(ctx, r)
		return err
	}
}

func badOffboard(r *xdrlinkv1.OffboardRequest) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		_, err := c.Onboarding.Offboard(ctx, r)
		return err
	}
}

// badList sends a ListOperationsRequest.
func badList(r *longrunningpb.ListOperationsRequest) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		_, err := c.Operations.ListOperations(ctx, r)
		return err
	}
}

// badOp returns a call of one of the operation RPCs that take only a name.
func badOp(method string, name string) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		var err error
		switch method {
		case "get":
			_, err = c.Operations.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
		case "cancel":
			_, err = c.Operations.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: name})
		case "delete":
			_, err = c.Operations.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: name})
		case "wait":
			_, err = c.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name, Timeout: durationpb.New(time.Second)})
		case "resume":
			_, err = c.OperationControl.ResumeOperation(ctx, &xdrlinkv1.ResumeOperationRequest{Name: name})
		case "watch":
			err = badWatch(ctx, c, name)
		default:
			panic("badOp: unknown method " + method)
		}
		return err
	}
}

// badWatch opens a WatchOperation stream and returns what its first Recv
// returns: a server stream reports its error there, not when it opens.
func badWatch(ctx context.Context, c *client.Client, name string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.OperationControl.WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: name})
	if err != nil {
		return err
	}
	op, err := s.Recv()
	if err == nil {
		return fmt.Errorf("watch sent %s, want an error", op.GetName())
	}
	return err
}

// badWait sends a WaitOperationRequest with the given timeout.
func badWait(name string, timeout *durationpb.Duration) func(context.Context, *client.Client) error {
	return func(ctx context.Context, c *client.Client) error {
		_, err := c.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name, Timeout: timeout})
		return err
	}
}

// badOperationCases are the bad requests of the onboarding and operations
// APIs.
func badOperationCases(fx badOps) []badInput {
	const (
		malformedTenant = "tenants/-x-"
		malformedOp     = "operations/Bad_ID"
		unknownOp       = "operations/nope"
	)
	var (
		tenantNotFound = xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND
		opNotFound     = xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND
		invalidFilter  = xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER
	)
	cases := []badInput{
		// OnboardingService.Onboard and Offboard.
		{
			name: "onboard: malformed tenant name",
			grpc: badOnboard(&xdrlinkv1.OnboardRequest{Name: malformedTenant}),
			rest: restReq{"POST", "/v1/" + malformedTenant + ":onboard", "{}"},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"name"},
		},
		{
			name: "onboard: missing tenant name", // REST always has one in the path
			grpc: badOnboard(&xdrlinkv1.OnboardRequest{}),
			code: codes.InvalidArgument, reason: invalidArg, fields: []string{"name"},
		},
		{
			name: "onboard: unknown tenant",
			grpc: badOnboard(&xdrlinkv1.OnboardRequest{Name: "tenants/nobody"}),
			rest: restReq{"POST", "/v1/tenants/nobody:onboard", "{}"},
			code: codes.NotFound, httpStatus: 404, reason: tenantNotFound,
		},
		{
			name: "onboard: validate_only of an unknown tenant",
			grpc: badOnboard(&xdrlinkv1.OnboardRequest{Name: "tenants/nobody", ValidateOnly: true}),
			rest: restReq{"POST", "/v1/tenants/nobody:onboard", `{"validateOnly":true}`},
			code: codes.NotFound, httpStatus: 404, reason: tenantNotFound,
		},
		{
			name: "onboard: request_id not a UUID",
			grpc: badOnboard(&xdrlinkv1.OnboardRequest{Name: existing, RequestId: "not-a-uuid"}),
			rest: restReq{"POST", "/v1/" + existing + ":onboard", `{"requestId":"not-a-uuid"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"request_id"},
		},
		{
			name: "onboard: unknown JSON field",
			rest: restReq{"POST", "/v1/" + existing + ":onboard", `{"requestID":"x"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"requestID"},
		},
		{
			name: "offboard: malformed tenant name",
			grpc: badOffboard(&xdrlinkv1.OffboardRequest{Name: malformedTenant}),
			rest: restReq{"POST", "/v1/" + malformedTenant + ":offboard", "{}"},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"name"},
		},
		{
			name: "offboard: unknown tenant",
			grpc: badOffboard(&xdrlinkv1.OffboardRequest{Name: "tenants/nobody"}),
			rest: restReq{"POST", "/v1/tenants/nobody:offboard", "{}"},
			code: codes.NotFound, httpStatus: 404, reason: tenantNotFound,
		},
		{
			name: "offboard: request_id not a UUID",
			grpc: badOffboard(&xdrlinkv1.OffboardRequest{Name: existing, RequestId: "not-a-uuid"}),
			rest: restReq{"POST", "/v1/" + existing + ":offboard", `{"requestId":"not-a-uuid"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"request_id"},
		},
		{
			name: "offboard: unknown JSON field",
			rest: restReq{"POST", "/v1/" + existing + ":offboard", `{"validate_only":true,"dryRun":true}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"dryRun"},
		},

		// google.longrunning.Operations.ListOperations.
		{
			name: "list operations: filter does not parse",
			grpc: badList(&longrunningpb.ListOperationsRequest{Name: "operations", Filter: "tenant ="}),
			rest: restReq{"GET", "/v1/operations?filter=tenant%20%3D", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidFilter, fields: []string{"filter"},
		},
		{
			name: "list operations: unknown filter field",
			grpc: badList(&longrunningpb.ListOperationsRequest{Name: "operations", Filter: "owner = bob"}),
			rest: restReq{"GET", "/v1/operations?filter=owner%20%3D%20bob", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidFilter, fields: []string{"filter"},
		},
		{
			name: "list operations: unknown state",
			grpc: badList(&longrunningpb.ListOperationsRequest{Name: "operations", Filter: "state = DONE"}),
			rest: restReq{"GET", "/v1/operations?filter=state%20%3D%20DONE", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidFilter, fields: []string{"filter"},
		},
		{
			name: "list operations: unknown kind",
			grpc: badList(&longrunningpb.ListOperationsRequest{Filter: "kind = OPERATION_KIND_UNSPECIFIED"}),
			rest: restReq{"GET", "/v1/operations?filter=kind%3DOPERATION_KIND_UNSPECIFIED", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidFilter, fields: []string{"filter"},
		},
		{
			name: "list operations: forged page token",
			grpc: badList(&longrunningpb.ListOperationsRequest{Name: "operations", PageToken: "eyJsYXN0IjoiemVicmEifQ"}),
			rest: restReq{"GET", "/v1/operations?page_token=eyJsYXN0IjoiemVicmEifQ", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN, fields: []string{"page_token"},
		},
		{
			name: "list operations: page_size -1",
			grpc: badList(&longrunningpb.ListOperationsRequest{Name: "operations", PageSize: -1}),
			rest: restReq{"GET", "/v1/operations?page_size=-1", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"page_size"},
		},
		{
			name: "list operations: page_size not a number", // gRPC cannot send one
			rest: restReq{"GET", "/v1/operations?page_size=abc", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"page_size"},
		},
		{
			name: "list tenants: page_size not a number",
			rest: restReq{"GET", "/v1/tenants?page_size=abc", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"page_size"},
		},
		{
			name: "list operations: another collection", // REST fixes the collection in the path
			grpc: badList(&longrunningpb.ListOperationsRequest{Name: "tenants"}),
			code: codes.InvalidArgument, reason: invalidArg, fields: []string{"name"},
		},

		// google.longrunning.Operations.DeleteOperation of an operation
		// that is not done.
		{
			name: "delete an unfinished operation",
			grpc: badOp("delete", fx.waiting),
			rest: restReq{"DELETE", "/v1/" + fx.waiting, ""},
			code: codes.FailedPrecondition, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_DONE,
		},

		// google.longrunning.Operations.WaitOperation's timeout.
		{
			name: "wait: negative timeout",
			grpc: badWait(fx.finished, durationpb.New(-time.Second)),
			rest: restReq{"POST", "/v1/" + fx.finished + ":wait", `{"timeout":"-1s"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"timeout"},
		},
		{
			name: "wait: timeout out of range", // protojson refuses it before the server over REST
			grpc: badWait(fx.finished, &durationpb.Duration{Seconds: 1, Nanos: -1}),
			code: codes.InvalidArgument, reason: invalidArg, fields: []string{"timeout"},
		},

		// OperationService.ResumeOperation.
		{
			name: "resume: user_assertion over 16384 characters",
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.OperationControl.ResumeOperation(ctx, &xdrlinkv1.ResumeOperationRequest{Name: unknownOp, UserAssertion: strings.Repeat("a", 16385)})
				return err
			},
			rest: restReq{"POST", "/v1/" + unknownOp + ":resume", `{"userAssertion":"` + strings.Repeat("a", 16385) + `"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"user_assertion"},
		},
		{
			name: "resume: operation not waiting",
			grpc: badOp("resume", fx.finished),
			rest: restReq{"POST", "/v1/" + fx.finished + ":resume", "{}"},
			code: codes.FailedPrecondition, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_RESUMABLE,
		},
		{
			name: "resume: unknown JSON field",
			rest: restReq{"POST", "/v1/" + fx.waiting + ":resume", `{"assertion":"x"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"assertion"},
		},
	}

	// Every RPC that names one operation: a malformed name and an unknown
	// operation, over both transports.
	for _, m := range []struct {
		method       string
		httpMethod   string
		verb, body   string
		wantNotFound bool
	}{
		{method: "get", httpMethod: "GET"},
		{method: "cancel", httpMethod: "POST", verb: ":cancel", body: "{}"},
		{method: "delete", httpMethod: "DELETE"},
		{method: "wait", httpMethod: "POST", verb: ":wait", body: `{"timeout":"1s"}`},
		{method: "resume", httpMethod: "POST", verb: ":resume", body: "{}"},
		{method: "watch", httpMethod: "GET", verb: ":watch"},
	} {
		cases = append(cases,
			badInput{
				name: m.method + ": malformed operation name",
				grpc: badOp(m.method, malformedOp),
				rest: restReq{m.httpMethod, "/v1/" + malformedOp + m.verb, m.body},
				code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"name"},
			},
			badInput{
				name: m.method + ": unknown operation",
				grpc: badOp(m.method, unknownOp),
				rest: restReq{m.httpMethod, "/v1/" + unknownOp + m.verb, m.body},
				code: codes.NotFound, httpStatus: 404, reason: opNotFound,
			},
		)
	}
	return cases
}

// badBatchOnboardCases are the bad requests of OnboardingService.BatchOnboard.
// None may start a batch: TestBatchOnboardRefusals checks that none was
// stored. (A batch of 10,001 names does not fit this server's body limit;
// TestBatchOnboardRefusals sends it to a server with the default limit.)
func badBatchOnboardCases() []badInput {
	var cases []badInput
	add := postCases(&cases, "batch onboard: ", "/v1/tenants:batchOnboard",
		func(ctx context.Context, c *client.Client, req *xdrlinkv1.BatchOnboardRequest) error {
			_, err := c.Onboarding.BatchOnboard(ctx, req)
			return err
		})
	add("neither tenants nor filter", &xdrlinkv1.BatchOnboardRequest{}, invalid("tenants"))
	add("both tenants and filter", &xdrlinkv1.BatchOnboardRequest{Tenants: []string{existing}, Filter: "state=REGISTERED"}, invalid("filter"))
	add("a filter that selects no tenant", &xdrlinkv1.BatchOnboardRequest{Filter: "labels.nothing=here"}, invalid("filter"))
	add("a filter on an unknown field", &xdrlinkv1.BatchOnboardRequest{Filter: "colour=blue"},
		badInput{code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER, fields: []string{"filter"}})
	add("a malformed name at index 1", &xdrlinkv1.BatchOnboardRequest{Tenants: []string{existing, "tenants/Bad_ID"}}, invalid("tenants[1]"))
	add("the same tenant twice", &xdrlinkv1.BatchOnboardRequest{Tenants: []string{existing, existing}}, invalid("tenants"))
	add("max_concurrency over 1000", &xdrlinkv1.BatchOnboardRequest{Tenants: []string{existing}, MaxConcurrency: 1001}, invalid("max_concurrency"))
	add("request_id not a UUID", &xdrlinkv1.BatchOnboardRequest{Tenants: []string{existing}, RequestId: "nope"}, invalid("request_id"))
	add("an unregistered tenant", &xdrlinkv1.BatchOnboardRequest{Tenants: []string{existing, "tenants/nobody"}},
		badInput{code: codes.NotFound, httpStatus: 404, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND,
			metadata: map[string]string{"resource": "tenants/nobody"}})
	return cases
}

// postCases returns add(name, req, tc), which appends tc to cases sending
// req with call over gRPC and as JSON to POST path over REST.
func postCases[R proto.Message](cases *[]badInput, prefix, path string, call func(context.Context, *client.Client, R) error) func(string, R, badInput) {
	return func(name string, req R, tc badInput) {
		tc.name = prefix + name
		tc.grpc = func(ctx context.Context, c *client.Client) error { return call(ctx, c, req) }
		tc.rest = restReq{"POST", path, jsonBody(req)}
		*cases = append(*cases, tc)
	}
}

// invalid is the answer to a request with the fields' violations.
func invalid(fields ...string) badInput {
	return badInput{code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: fields}
}

// badTableCases are the bad requests of TableService's settings methods.
// The target tenant is REGISTERED, so an update that passed every check
// would be refused (FAILED_PRECONDITION) rather than change it.
func badTableCases() []badInput {
	const settings = existing + "/tableSettings"
	get := func(name string) func(context.Context, *client.Client) error {
		return func(ctx context.Context, c *client.Client) error {
			_, err := c.Tables.GetTableSettings(ctx, &xdrlinkv1.GetTableSettingsRequest{Name: name})
			return err
		}
	}
	// update sends tables to the settings named, with the mask and request
	// id given; over REST the mask and request id go in the query.
	type upd struct {
		name      string
		tables    []string
		mask      []string
		requestID string
	}
	var cases []badInput
	add := func(caseName string, u upd, tc badInput) {
		if u.name == "" {
			u.name = settings
		}
		req := &xdrlinkv1.UpdateTableSettingsRequest{
			TableSettings: &xdrlinkv1.TableSettings{Name: u.name, DesiredTables: u.tables}, RequestId: u.requestID}
		q := url.Values{}
		if u.mask != nil {
			req.UpdateMask = &fieldmaskpb.FieldMask{Paths: u.mask}
			q.Set("update_mask", strings.Join(u.mask, ","))
		}
		if u.requestID != "" {
			q.Set("request_id", u.requestID)
		}
		tc.name = "update table settings: " + caseName
		tc.grpc = func(ctx context.Context, c *client.Client) error {
			_, err := c.Tables.UpdateTableSettings(ctx, req)
			return err
		}
		tc.rest = restReq{"PATCH", "/v1/" + u.name + "?" + q.Encode(), jsonBody(&xdrlinkv1.TableSettings{DesiredTables: u.tables})}
		cases = append(cases, tc)
	}
	many := make([]string, 65)
	for i := range many {
		many[i] = fmt.Sprintf("Table%d", i)
	}
	add("malformed name", upd{name: "tenants/-x-/tableSettings", tables: []string{"DeviceInfo"}}, invalid("table_settings.name"))
	add("unknown table", upd{tables: []string{"DeviceInfo", "DeviceInfos"}},
		withSays(invalid("table_settings.desired_tables[1]"), `"DeviceInfos" is not an advanced-hunting table xdrlink can stream`))
	add("a TVM table", upd{tables: []string{"DeviceTvmSoftwareInventory"}},
		withSays(invalid("table_settings.desired_tables[0]"), "the vulnerability-management (TVM) tables are not part of the Defender XDR connector's events"))
	add("Behavior tables", upd{tables: []string{"BehaviorInfo", "DeviceInfo", "BehaviorEntities"}},
		withSays(invalid("table_settings.desired_tables[0]", "table_settings.desired_tables[2]"), "BehaviorInfo is never streamed to Microsoft Sentinel"))
	add("a lower-case table name", upd{tables: []string{"deviceinfo"}}, invalid("table_settings.desired_tables[0]"))
	add("the same table twice", upd{tables: []string{"DeviceInfo", "DeviceInfo"}}, invalid("table_settings.desired_tables"))
	add("65 tables", upd{tables: many}, invalid("table_settings.desired_tables"))
	add("a mask naming another field", upd{tables: []string{"DeviceInfo"}, mask: []string{"display_name"}}, invalid("update_mask"))
	add("a mask naming nothing to change", upd{tables: []string{"DeviceInfo"}, mask: []string{"etag"}}, invalid("update_mask"))
	add("request_id not a UUID", upd{tables: []string{"DeviceInfo"}, requestID: "nope"}, invalid("request_id"))
	add("a bad mask, a TVM table and a bad request_id",
		upd{tables: []string{"DeviceTvmInfoGathering"}, mask: []string{"labels"}, requestID: "nope"},
		invalid("update_mask", "table_settings.desired_tables[0]", "request_id"))
	add("unknown tenant", upd{name: "tenants/nobody/tableSettings", tables: []string{"DeviceInfo"}},
		badInput{code: codes.NotFound, httpStatus: 404, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND,
			metadata: map[string]string{"resource": "tenants/nobody"}})
	add("a tenant not onboarded", upd{tables: []string{"DeviceInfo"}},
		badInput{code: codes.FailedPrecondition, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_STATE_CONFLICT,
			metadata: map[string]string{"resource": existing, "state": "STATE_REGISTERED"}, says: "onboard it"})
	cases = append(cases,
		badInput{
			name: "update table settings: no name", // REST always has one in the path
			grpc: func(ctx context.Context, c *client.Client) error {
				_, err := c.Tables.UpdateTableSettings(ctx, &xdrlinkv1.UpdateTableSettingsRequest{
					TableSettings: &xdrlinkv1.TableSettings{DesiredTables: []string{"BehaviorInfo"}}})
				return err
			},
			code: codes.InvalidArgument, reason: invalidArg, fields: []string{"table_settings.name", "table_settings.desired_tables[0]"},
		},
		badInput{
			name: "get table settings: malformed name",
			grpc: get("tenants/-x-/tableSettings"),
			rest: restReq{"GET", "/v1/tenants/-x-/tableSettings", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"name"},
		},
		badInput{
			name: "get table settings: another resource", // REST routes only .../tableSettings here
			grpc: get(existing),
			code: codes.InvalidArgument, reason: invalidArg, fields: []string{"name"},
		},
		badInput{
			name: "get table settings: unknown tenant",
			grpc: get("tenants/nobody/tableSettings"),
			rest: restReq{"GET", "/v1/tenants/nobody/tableSettings", ""},
			code: codes.NotFound, httpStatus: 404, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND,
			metadata: map[string]string{"resource": "tenants/nobody"},
		},
	)
	return cases
}

// withSays is tc whose message must also say says.
func withSays(tc badInput, says string) badInput {
	tc.says = says
	return tc
}

// badVerificationCases are the bad requests of VerificationService's
// single-tenant methods.
func badVerificationCases() []badInput {
	var cases []badInput
	verify := func(caseName string, req *xdrlinkv1.VerifyRequest, tc badInput) {
		body := proto.Clone(req).(*xdrlinkv1.VerifyRequest)
		body.Name = "" // REST has it in the path
		tc.name = "verify: " + caseName
		tc.grpc = func(ctx context.Context, c *client.Client) error {
			_, err := c.Verifications.Verify(ctx, req)
			return err
		}
		tc.rest = restReq{"POST", "/v1/" + req.GetName() + ":verify", jsonBody(body)}
		cases = append(cases, tc)
	}
	verify("malformed name", &xdrlinkv1.VerifyRequest{Name: "tenants/-x-"}, invalid("name"))
	verify("window_days 31", &xdrlinkv1.VerifyRequest{Name: existing, WindowDays: 31}, invalid("window_days"))
	verify("window_days -1", &xdrlinkv1.VerifyRequest{Name: existing, WindowDays: -1}, invalid("window_days"))
	verify("request_id not a UUID", &xdrlinkv1.VerifyRequest{Name: existing, RequestId: "nope"}, invalid("request_id"))
	verify("window_days and request_id", &xdrlinkv1.VerifyRequest{Name: existing, WindowDays: 99, RequestId: "nope"},
		invalid("window_days", "request_id"))

	list := func(r *xdrlinkv1.ListVerificationsRequest) func(context.Context, *client.Client) error {
		return func(ctx context.Context, c *client.Client) error {
			_, err := c.Verifications.ListVerifications(ctx, r)
			return err
		}
	}
	get := func(name string) func(context.Context, *client.Client) error {
		return func(ctx context.Context, c *client.Client) error {
			_, err := c.Verifications.GetVerification(ctx, &xdrlinkv1.GetVerificationRequest{Name: name})
			return err
		}
	}
	tenantNotFound := xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND
	return append(cases,
		badInput{
			name: "list verifications: malformed parent",
			grpc: list(&xdrlinkv1.ListVerificationsRequest{Parent: "tenants/-x-"}),
			rest: restReq{"GET", "/v1/tenants/-x-/verifications", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"parent"},
		},
		badInput{
			name: "list verifications: page_size -1",
			grpc: list(&xdrlinkv1.ListVerificationsRequest{Parent: existing, PageSize: -1}),
			rest: restReq{"GET", "/v1/" + existing + "/verifications?page_size=-1", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"page_size"},
		},
		badInput{
			name: "list verifications: forged page token",
			grpc: list(&xdrlinkv1.ListVerificationsRequest{Parent: existing, PageToken: "eyJsYXN0IjoiemVicmEifQ"}),
			rest: restReq{"GET", "/v1/" + existing + "/verifications?page_token=eyJsYXN0IjoiemVicmEifQ", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN, fields: []string{"page_token"},
		},
		badInput{
			name: "list verifications: unknown tenant",
			grpc: list(&xdrlinkv1.ListVerificationsRequest{Parent: "tenants/nobody"}),
			rest: restReq{"GET", "/v1/tenants/nobody/verifications", ""},
			code: codes.NotFound, httpStatus: 404, reason: tenantNotFound, metadata: map[string]string{"resource": "tenants/nobody"},
		},
		badInput{
			name: "get verification: malformed name",
			grpc: get(existing + "/verifications/Bad_ID"),
			rest: restReq{"GET", "/v1/" + existing + "/verifications/Bad_ID", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"name"},
		},
		badInput{
			name: "get verification: unknown tenant",
			grpc: get("tenants/nobody/verifications/v1"),
			rest: restReq{"GET", "/v1/tenants/nobody/verifications/v1", ""},
			code: codes.NotFound, httpStatus: 404, reason: tenantNotFound, metadata: map[string]string{"resource": "tenants/nobody"},
		},
		badInput{
			name: "get verification: unknown verification",
			grpc: get(existing + "/verifications/nope"),
			rest: restReq{"GET", "/v1/" + existing + "/verifications/nope", ""},
			code: codes.NotFound, httpStatus: 404, reason: xdrlinkv1.ErrorReason_ERROR_REASON_VERIFICATION_NOT_FOUND,
			metadata: map[string]string{"resource": existing + "/verifications/nope"},
		},
	)
}

// badBatchVerifyCases are the bad requests of VerificationService.BatchVerify;
// it selects its tenants as BatchOnboard does.
func badBatchVerifyCases() []badInput {
	var cases []badInput
	add := postCases(&cases, "batch verify: ", "/v1/tenants:batchVerify",
		func(ctx context.Context, c *client.Client, req *xdrlinkv1.BatchVerifyRequest) error {
			_, err := c.Verifications.BatchVerify(ctx, req)
			return err
		})
	invalidFilter := badInput{code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER, fields: []string{"filter"}}
	add("neither tenants nor filter", &xdrlinkv1.BatchVerifyRequest{}, invalid("tenants"))
	add("both tenants and filter", &xdrlinkv1.BatchVerifyRequest{Tenants: []string{existing}, Filter: "state=ONBOARDED"}, invalid("filter"))
	add("a filter that selects no tenant", &xdrlinkv1.BatchVerifyRequest{Filter: "labels.nothing=here"}, invalid("filter"))
	add("a filter on an unknown field", &xdrlinkv1.BatchVerifyRequest{Filter: "colour=blue"}, invalidFilter)
	add("a filter that does not parse", &xdrlinkv1.BatchVerifyRequest{Filter: "state ="}, invalidFilter)
	add("a filter on an unknown verdict", &xdrlinkv1.BatchVerifyRequest{Filter: "last_verification.verdict = ROTTEN"}, invalidFilter)
	add("a malformed name at index 1", &xdrlinkv1.BatchVerifyRequest{Tenants: []string{existing, "tenants/Bad_ID"}}, invalid("tenants[1]"))
	add("the same tenant twice", &xdrlinkv1.BatchVerifyRequest{Tenants: []string{existing, existing}}, invalid("tenants"))
	add("max_concurrency over 1000", &xdrlinkv1.BatchVerifyRequest{Tenants: []string{existing}, MaxConcurrency: 1001}, invalid("max_concurrency"))
	add("window_days 31", &xdrlinkv1.BatchVerifyRequest{Tenants: []string{existing}, WindowDays: 31}, invalid("window_days"))
	add("request_id not a UUID", &xdrlinkv1.BatchVerifyRequest{Tenants: []string{existing}, RequestId: "nope"}, invalid("request_id"))
	return cases
}

// badAccessCases are the bad requests of access groups, API keys and the
// audit log (the daemon runs with --auth=none: the caller is an admin).
func badAccessCases() []badInput {
	var cases []badInput
	createKey := postCases(&cases, "create API key: ", "/v1/apiKeys",
		func(ctx context.Context, c *client.Client, r *xdrlinkv1.ApiKey) error {
			_, err := c.Access.CreateApiKey(ctx, &xdrlinkv1.CreateApiKeyRequest{ApiKey: r})
			return err
		})
	createKey("no role", &xdrlinkv1.ApiKey{DisplayName: "k"}, invalid("api_key.role"))
	createKey("no display name", &xdrlinkv1.ApiKey{Role: xdrlinkv1.Role_ROLE_VIEWER}, invalid("api_key.display_name"))
	createKey("unknown role", &xdrlinkv1.ApiKey{DisplayName: "k", Role: 9}, invalid("api_key.role"))
	createKey("malformed access group", &xdrlinkv1.ApiKey{DisplayName: "k", Role: xdrlinkv1.Role_ROLE_VIEWER, AccessGroups: []string{"Pod East"}},
		invalid("api_key.access_groups[0]"))
	createKey("repeated access group", &xdrlinkv1.ApiKey{DisplayName: "k", Role: xdrlinkv1.Role_ROLE_VIEWER, AccessGroups: []string{"a", "a"}},
		invalid("api_key.access_groups"))
	createKey("scoped admin", &xdrlinkv1.ApiKey{DisplayName: "k", Role: xdrlinkv1.Role_ROLE_ADMIN, AccessGroups: []string{"a"}},
		invalid("api_key.access_groups"))
	getKey := func(name string) func(context.Context, *client.Client) error {
		return func(ctx context.Context, c *client.Client) error {
			_, err := c.Access.GetApiKey(ctx, &xdrlinkv1.GetApiKeyRequest{Name: name})
			return err
		}
	}
	revokeKey := func(name string) func(context.Context, *client.Client) error {
		return func(ctx context.Context, c *client.Client) error {
			_, err := c.Access.RevokeApiKey(ctx, &xdrlinkv1.RevokeApiKeyRequest{Name: name})
			return err
		}
	}
	audit := func(filter string) func(context.Context, *client.Client) error {
		return func(ctx context.Context, c *client.Client) error {
			_, err := c.Audit.ListAuditEvents(ctx, &xdrlinkv1.ListAuditEventsRequest{Filter: filter})
			return err
		}
	}
	keyNotFound := xdrlinkv1.ErrorReason_ERROR_REASON_API_KEY_NOT_FOUND
	badFilter := xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER
	return append(cases,
		badInput{name: "create tenant: malformed access group", grpc: createReq("grouped", func(tn *xdrlinkv1.Tenant) { tn.AccessGroup = "Pod_East" }),
			rest: restReq{"POST", "/v1/tenants?tenant_id=grouped", strings.TrimSuffix(validBody, "}") + `,"accessGroup":"Pod_East"}`},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"tenant.access_group"}},
		badInput{name: "get API key: malformed name", grpc: getKey("apiKeys/UPPER"), rest: restReq{"GET", "/v1/apiKeys/UPPER", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"name"}},
		badInput{name: "get API key: missing", grpc: getKey("apiKeys/nope"), rest: restReq{"GET", "/v1/apiKeys/nope", ""},
			code: codes.NotFound, httpStatus: 404, reason: keyNotFound, metadata: map[string]string{"resource": "apiKeys/nope"}},
		badInput{name: "revoke API key: missing", grpc: revokeKey("apiKeys/nope"), rest: restReq{"POST", "/v1/apiKeys/nope:revoke", "{}"},
			code: codes.NotFound, httpStatus: 404, reason: keyNotFound},
		badInput{name: "list API keys: negative page size", rest: restReq{"GET", "/v1/apiKeys?page_size=-1", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: invalidArg, fields: []string{"page_size"}},
		badInput{name: "list API keys: forged page token", rest: restReq{"GET", "/v1/apiKeys?page_token=forged", ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN, fields: []string{"page_token"}},
		badInput{name: "audit: unknown field", grpc: audit(`password = "x"`), rest: restReq{"GET", "/v1/auditEvents?filter=" + url.QueryEscape(`password = "x"`), ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: badFilter, fields: []string{"filter"}},
		badInput{name: "audit: unknown code", grpc: audit(`code = NOPE`), rest: restReq{"GET", "/v1/auditEvents?filter=" + url.QueryEscape(`code = NOPE`), ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: badFilter, fields: []string{"filter"}},
		badInput{name: "audit: not a filter", grpc: audit(`principal =`), rest: restReq{"GET", "/v1/auditEvents?filter=" + url.QueryEscape(`principal =`), ""},
			code: codes.InvalidArgument, httpStatus: 400, reason: badFilter, fields: []string{"filter"}},
	)
}
