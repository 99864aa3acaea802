package daemon

import (
	"context"
	"fmt"
	"net/http"
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
	for _, tc := range slices.Concat(badInputCases(), badBatchCases(), badBatchOnboardCases(), badOperationCases(fx)) {
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
