package daemon

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/apierr"
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
	backends(t, func(t *testing.T, db string) { testBadInput(t, startDaemon(t, withDB(db))) })
}

func testBadInput(t *testing.T, d *Daemon) {
	c := dial(t, d)
	ctx := t.Context()
	before, err := c.Tenants.CreateTenant(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: "existing", Tenant: validTenant("Existing")})
	if err != nil {
		t.Fatal(err)
	}
	rest := newREST(d)
	for _, tc := range badInputCases() {
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
	slices.Sort(fields)
	want := slices.Clone(tc.fields)
	slices.Sort(want)
	if !slices.Equal(fields, want) {
		t.Errorf("field violations %q, want %q", fields, want)
	}
}
