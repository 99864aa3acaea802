package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/accesssvc"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
)

// TestTenantIsolation runs every RPC of the API, over gRPC and over REST,
// as an operator scoped to access group "a", against a server that also
// holds tenant B (group "b", with operations, a batch and a stored
// verification) and tenant D (no group: unscoped callers only). The caller
// must neither read nor change anything of B or D: their records,
// operations and verifications stay exactly as they were, and nothing it
// receives names them. Positive controls show the same caller does read
// and change its own tenants, so the refusals are not vacuous.
func TestTenantIsolation(t *testing.T) {
	backends(t, func(t *testing.T, db string) {
		testTenantIsolation(t, db)
	})
}

func testTenantIsolation(t *testing.T, db string) {
	d := startSandbox(t, withDB(db), func(c *Config) {
		c.Auth = AuthRequired
		c.SandboxRegister = false // the test registers its tenants itself, in their groups
	})
	ctx := context.Background()

	adminKey := isoKey(t, d, &xdrlinkv1.ApiKey{DisplayName: "isolation admin", Role: authz.Admin})
	admin := isoClient(t, d, adminKey, nil)
	adminOps := grpcOps{admin}

	// A and B need sign-in on their first connect, so their onboarding
	// pauses in ACTION_REQUIRED: a live operation to resume or cancel.
	cA := customer(t, d, azuresim.DemoConsentNeeded)
	cB := customer(t, d, azuresim.DemoConsentNeeded, cA.ID)
	cC := customer(t, d, azuresim.DemoHealthy)
	cD := customer(t, d, azuresim.DemoHealthy, cC.ID)
	for _, r := range []struct {
		id     string
		c      azuresim.DemoCustomer
		group  string
		labels map[string]string
	}{
		{"a", cA, "a", map[string]string{"tier": "gold"}},
		{"b", cB, "b", map[string]string{"tier": "gold", "fleet": "x", "secret": "b"}},
		{"c", cC, "a", map[string]string{"tier": "gold", "fleet": "x"}},
		{"d", cD, "", map[string]string{"tier": "gold", "fleet": "x"}},
	} {
		_, err := admin.Tenants.CreateTenant(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: r.id, Tenant: &xdrlinkv1.Tenant{
			DisplayName: r.c.DisplayName, EntraTenantId: r.c.EntraTenantID, AccessGroup: r.group, Labels: r.labels,
			Workspace: &xdrlinkv1.Workspace{SubscriptionId: r.c.SubscriptionID, ResourceGroup: r.c.ResourceGroup, Name: r.c.WorkspaceName, Region: r.c.Region},
		}})
		if err != nil {
			t.Fatalf("register %s: %v", r.id, err)
		}
	}

	// B's history, made by the admin: an onboarding paused for sign-in, a
	// finished batch of B alone (its group is "b"), a stored report.
	bOnboard, err := admin.Onboarding.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/b"})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, adminOps, bOnboard.GetName(), opActionRequired)
	bBatch, err := admin.Verifications.BatchVerify(ctx, &xdrlinkv1.BatchVerifyRequest{Tenants: []string{"tenants/b"}})
	if err != nil {
		t.Fatal(err)
	}
	isoWaitDone(t, adminOps, bBatch.GetName())
	bBatchID := strings.TrimPrefix(bBatch.GetName(), "operations/")
	if row, err := d.store.GetOperation(ctx, bBatchID); err != nil || row.AccessGroup != "b" {
		t.Fatalf("B's batch: %+v, %v; want access group b", row, err)
	}
	// A batch across groups (the admin's): only unscoped callers and its
	// creator see it; the scoped caller sees its child on A, not on B.
	mixed, err := admin.Verifications.BatchVerify(ctx, &xdrlinkv1.BatchVerifyRequest{Tenants: []string{"tenants/a", "tenants/b"}})
	if err != nil {
		t.Fatal(err)
	}
	isoWaitDone(t, adminOps, mixed.GetName())
	mixedID := strings.TrimPrefix(mixed.GetName(), "operations/")
	if row, err := d.store.GetOperation(ctx, mixedID); err != nil || row.AccessGroup != "" {
		t.Fatalf("the mixed batch: %+v, %v; want no access group", row, err)
	}
	const bReport = "isolation-b-report"
	body, err := proto.Marshal(&xdrlinkv1.IngestionReport{Name: "tenants/b/verifications/" + bReport, Verdict: xdrlinkv1.Verdict_VERDICT_HEALTHY})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.store.CreateVerification(ctx, &store.Verification{ID: bReport, Tenant: "b", Verdict: xdrlinkv1.Verdict_VERDICT_HEALTHY.String(),
		Body: body, CreateTime: time.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	before := isoSnap(t, d, bBatchID, mixedID)
	if len(before.ops) < 5 {
		t.Fatalf("B's operations %v: want its onboarding, its batch and its child, the mixed batch and its child on B", before.ops)
	}

	// What the scoped caller must never be told (unless it said it first):
	// B's and D's names, operations, report and Azure identifiers.
	secrets := []string{"tenants/b", "tenants/d", bReport, cB.WorkspaceName, cB.EntraTenantID, cD.WorkspaceName, cD.EntraTenantID}
	for id := range before.ops {
		if id != mixedID { // named, as parent, by its child on A
			secrets = append(secrets, id)
		}
	}

	opKey := isoKey(t, d, &xdrlinkv1.ApiKey{DisplayName: "operator of a", Role: authz.Operator, AccessGroups: []string{"a"}})
	rec := &isoRecorder{}
	env := &isoEnv{d: d, admin: admin, adminOps: adminOps, adminKey: adminKey, opKey: opKey, bOnboard: bOnboard.GetName(),
		bBatch: bBatch.GetName(), mixed: mixed.GetName(), bReport: "tenants/b/verifications/" + bReport,
		bWorkspace: &xdrlinkv1.Workspace{SubscriptionId: cB.SubscriptionID, ResourceGroup: cB.ResourceGroup, Name: cB.WorkspaceName, Region: cB.Region}}
	for _, transport := range []string{"grpc", "rest"} {
		t.Run(transport, func(t *testing.T) {
			c := &isoCaller{transport: transport, covered: map[string]bool{}}
			if transport == "grpc" {
				c.client = isoClient(t, d, opKey, rec)
			} else {
				c.rest = restAPI{base: "http://" + d.HTTPAddr(), hc: &http.Client{Timeout: 30 * time.Second, Transport: &isoTransport{key: opKey, rec: rec}}}
			}
			env.run(t, c)
			var missing []string
			for _, m := range authz.Methods() {
				if !c.covered[m] {
					missing = append(missing, m)
				}
			}
			if len(missing) > 0 {
				t.Errorf("methods not exercised over %s: %v", transport, missing)
			}
			for m := range c.covered {
				if !slices.Contains(authz.Methods(), m) {
					t.Errorf("exercised %s, which authz.Methods() does not list", m)
				}
			}
		})
	}

	// Zero writes: B's and D's records, operations and reports are as they were.
	if diff := cmp.Diff(before, isoSnap(t, d, bBatchID, mixedID), cmp.AllowUnexported(isoSnapshot{})); diff != "" {
		t.Errorf("the scoped caller changed what it may not see (-before +after):\n%s", diff)
	}
	// Zero reads: nothing it received names them.
	for _, x := range rec.all() {
		for _, s := range secrets {
			if isoMentions(x.response, s) && !isoMentions(x.request, s) {
				t.Errorf("%s %s: the answer mentions %q:\nrequest: %s\nresponse: %s", x.transport, x.method, s, x.request, x.response)
			}
		}
	}
	if len(rec.all()) == 0 {
		t.Error("nothing was recorded of the scoped caller's calls")
	}
	// The refused RevokeApiKey did not revoke the admin's key.
	if _, err := xdrlinkv1.NewAccessServiceClient(admin.Conn()).GetCaller(ctx, &xdrlinkv1.GetCallerRequest{}); err != nil {
		t.Errorf("the admin key no longer works: %v", err)
	}

	// Control: once the admin moves B into group a, the same calls find
	// B and its operations, so the refusals above came from the scope.
	_, err = admin.Tenants.UpdateTenant(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: &xdrlinkv1.Tenant{Name: "tenants/b", AccessGroup: "a"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"access_group"}}})
	if err != nil {
		t.Fatalf("admin moving B to group a: %v", err)
	}
	c := &isoCaller{transport: "grpc", covered: map[string]bool{}, client: isoClient(t, d, opKey, nil)}
	c.ok(t, rpcGetTenant("tenants/b"))
	c.ok(t, rpcGetOperation(bOnboard.GetName()))
	c.ok(t, rpcGetVerification(env.bReport))
	if ops := c.listOperations(t, `tenant="tenants/b"`, 0); len(ops) < 2 {
		t.Errorf("B's operations after B moved to group a: %d, want its onboarding and its batch's child", len(ops))
	}
}

// isoEnv is what the per-transport cases act on.
type isoEnv struct {
	d                         *Daemon
	admin                     *client.Client
	adminOps                  grpcOps
	adminKey, opKey           string
	bOnboard, bBatch, bReport string // B's operations and report, by name
	mixed                     string // the admin's batch of A and B
	bWorkspace                *xdrlinkv1.Workspace
}

// run exercises every method as the scoped caller c.
func (e *isoEnv) run(t *testing.T, c *isoCaller) {
	ctx := context.Background()
	sfx := "-" + c.transport // ids the caller creates differ per transport
	principal := "apikey:" + isoKeyID(e.opKey)
	missingTenant := "tenants/zz-missing"
	missingOp := "operations/" + uuid.NewString()

	// Tenants: B is absent to the caller, with the error of a tenant that
	// truly is absent, name apart.
	c.wantSame(t, rpcGetTenant("tenants/b"), rpcGetTenant(missingTenant), "tenants/b", missingTenant, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND)
	c.wantSame(t, rpcGetTenant("tenants/d"), rpcGetTenant(missingTenant), "tenants/d", missingTenant, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND)
	a := c.ok(t, rpcGetTenant("tenants/a")).(*xdrlinkv1.Tenant)
	if a.GetAccessGroup() != "a" {
		t.Errorf("tenant a: %v", a)
	}
	c.wantSame(t, rpcUpdateTenant(&xdrlinkv1.Tenant{Name: "tenants/b", DisplayName: "Mine now"}, "display_name"),
		rpcUpdateTenant(&xdrlinkv1.Tenant{Name: missingTenant, DisplayName: "Mine now"}, "display_name"),
		"tenants/b", missingTenant, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND)
	c.wantSame(t, rpcDeleteTenant("tenants/b"), rpcDeleteTenant(missingTenant), "tenants/b", missingTenant, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND)
	c.wantSame(t, rpcDeleteTenant("tenants/d"), rpcDeleteTenant(missingTenant), "tenants/d", missingTenant, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND)

	// Placing tenants: never in B's group, never moving one there.
	inB := validTenant("In B" + sfx)
	inB.AccessGroup = "b"
	c.want(t, rpcCreateTenant("a-into-b"+sfx, inB), codes.PermissionDenied, xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED)
	e.wantAbsent(t, "a-into-b"+sfx)
	mine := c.ok(t, rpcCreateTenant("a-new"+sfx, validTenant("New"+sfx))).(*xdrlinkv1.Tenant)
	if mine.GetAccessGroup() != "a" {
		t.Errorf("a tenant the caller registered without a group is in group %q, want a (its only group)", mine.GetAccessGroup())
	}
	inA := createRequest("a-batch1" + sfx)
	inA.Tenant.AccessGroup = "a"
	alsoB := createRequest("a-batch2" + sfx)
	alsoB.Tenant.AccessGroup = "b"
	c.want(t, rpcBatchCreate(inA, alsoB), codes.PermissionDenied, xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED)
	e.wantAbsent(t, "a-batch1"+sfx, "a-batch2"+sfx)
	c.want(t, rpcUpdateTenant(&xdrlinkv1.Tenant{Name: "tenants/a", AccessGroup: "b"}, "access_group"), codes.PermissionDenied, xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED)
	if rec, err := e.d.store.GetTenant(ctx, "a"); err != nil || rec.AccessGroup != "a" || rec.Etag != a.GetEtag() {
		t.Errorf("tenant a after a refused move: %+v, %v", rec, err)
	}
	renamed := c.ok(t, rpcUpdateTenant(&xdrlinkv1.Tenant{Name: "tenants/a", DisplayName: "A" + sfx}, "display_name")).(*xdrlinkv1.Tenant)
	if renamed.GetDisplayName() != "A"+sfx || renamed.GetAccessGroup() != "a" {
		t.Errorf("tenant a after its operator renamed it: %v", renamed)
	}
	// B's workspace is taken: the caller must learn that much (one tenant
	// per workspace), but not by whom.
	takenB := validTenant("Taken" + sfx)
	takenB.Workspace = e.bWorkspace
	takenItem := createRequest("a-taken2" + sfx)
	takenItem.Tenant.Workspace = e.bWorkspace
	for _, call := range []isoCall{
		rpcCreateTenant("a-taken"+sfx, takenB),
		rpcBatchCreate(takenItem),
		rpcUpdateTenant(&xdrlinkv1.Tenant{Name: mine.GetName(), Workspace: e.bWorkspace}, "workspace"),
	} {
		// That the error does not name B is left to the final scan.
		c.want(t, call, codes.AlreadyExists, xdrlinkv1.ErrorReason_ERROR_REASON_WORKSPACE_ALREADY_REGISTERED)
	}
	e.wantAbsent(t, "a-taken"+sfx, "a-taken2"+sfx)

	// Lists: filters that B (and D) match select only the caller's tenants.
	for _, filter := range []string{"", "state=ACTION_REQUIRED", "state=REGISTERED", "labels.tier=gold", "labels.fleet=x",
		"labels.secret=b", "last_verification.verdict=HEALTHY", "labels.tier=gold AND state=ACTION_REQUIRED"} {
		for _, size := range []int32{0, 1} {
			names := c.listTenants(t, filter, size)
			switch filter {
			case "":
				if !slices.Contains(names, "tenants/a") || !slices.Contains(names, "tenants/c") || !slices.Contains(names, mine.GetName()) {
					t.Errorf("ListTenants (page size %d) = %v; want a, c and %s among them", size, names, mine.GetName())
				}
			case "labels.secret=b", "last_verification.verdict=HEALTHY":
				if len(names) > 0 {
					t.Errorf("ListTenants(%s) = %v, want none (only B matches)", filter, names)
				}
			}
		}
	}

	// Onboarding and verification of B: not found, and nothing started.
	opsBefore := e.adminCount(t, "")
	for _, cs := range []struct{ of, missing isoCall }{
		{rpcCheckPrerequisites("tenants/b"), rpcCheckPrerequisites(missingTenant)},
		{rpcOnboard("tenants/b"), rpcOnboard(missingTenant)},
		{rpcOffboard("tenants/b"), rpcOffboard(missingTenant)},
		{rpcVerify("tenants/b"), rpcVerify(missingTenant)},
		{rpcGetTableSettings("tenants/b"), rpcGetTableSettings(missingTenant)},
		{rpcUpdateTableSettings("tenants/b"), rpcUpdateTableSettings(missingTenant)},
		{rpcListVerifications("tenants/b"), rpcListVerifications(missingTenant)},
		{rpcGetVerification(e.bReport), rpcGetVerification(missingTenant + "/verifications/" + isoKeyID(e.bReport))},
		{rpcBatchOnboard(&xdrlinkv1.BatchOnboardRequest{Tenants: []string{"tenants/a", "tenants/b"}}),
			rpcBatchOnboard(&xdrlinkv1.BatchOnboardRequest{Tenants: []string{"tenants/a", missingTenant}})},
		{rpcBatchVerify(&xdrlinkv1.BatchVerifyRequest{Tenants: []string{"tenants/a", "tenants/b"}}),
			rpcBatchVerify(&xdrlinkv1.BatchVerifyRequest{Tenants: []string{"tenants/a", missingTenant}})},
	} {
		c.wantSame(t, cs.of, cs.missing, "tenants/b", missingTenant, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND)
	}
	c.wantSame(t, rpcGetTableSettings("tenants/d"), rpcGetTableSettings(missingTenant), "tenants/d", missingTenant, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND)
	if n := e.adminCount(t, ""); n != opsBefore {
		t.Errorf("%d operations after refused calls on B, want %d as before", n, opsBefore)
	}
	// The caller's own tenant: readable.
	c.ok(t, rpcCheckPrerequisites("tenants/a"))
	if ts := c.ok(t, rpcGetTableSettings("tenants/a")).(*xdrlinkv1.TableSettings); ts.GetName() != "tenants/a/tableSettings" {
		t.Errorf("table settings of a: %v", ts)
	}
	c.ok(t, rpcListVerifications("tenants/a"))
	c.ok(t, rpcListTables())

	// Its own operation on A, started before its batches so that theirs
	// on A fail at once (busy) and never hold A into the next transport:
	// visible, watchable, and resumable once it pauses for sign-in.
	op := c.ok(t, rpcOnboard("tenants/a")).(*longrunningpb.Operation)
	if got := c.ok(t, rpcGetOperation(op.GetName())).(*longrunningpb.Operation); got.GetName() != op.GetName() {
		t.Errorf("GetOperation(%s) = %s", op.GetName(), got.GetName())
	}
	if first, err := c.watch(t, op.GetName()); err != nil || first.GetName() != op.GetName() {
		t.Errorf("WatchOperation(%s): %v, %v", op.GetName(), first, err)
	}
	e.waitOwn(t, c, op.GetName())
	if got := c.ok(t, rpcResumeOperation(op.GetName())).(*longrunningpb.Operation); got.GetName() != op.GetName() {
		t.Errorf("ResumeOperation(%s) = %s", op.GetName(), got.GetName())
	}

	// A batch by filter takes only the caller's tenants, though B matches.
	batch := c.ok(t, rpcBatchVerify(&xdrlinkv1.BatchVerifyRequest{Filter: "labels.tier=gold"})).(*longrunningpb.Operation)
	e.wantOnlyGroupA(t, c, batch.GetName(), principal)
	// One that B alone (with D) would match selects nothing: refused, and
	// nothing started.
	batchesBefore := e.adminCount(t, "kind=BATCH_ONBOARD")
	c.want(t, rpcBatchOnboard(&xdrlinkv1.BatchOnboardRequest{Filter: "labels.secret=b"}), codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT)
	onboardBatch := c.ok(t, rpcBatchOnboard(&xdrlinkv1.BatchOnboardRequest{Filter: "labels.fleet=x"})).(*longrunningpb.Operation)
	if got := e.adminCount(t, "kind=BATCH_ONBOARD"); got != batchesBefore+1 {
		t.Errorf("%d batch onboardings after one refused and one started, want %d", got, batchesBefore+1)
	}
	e.wantOnlyGroupA(t, c, onboardBatch.GetName(), principal)

	// B's operations, its batch and the batch's child, the admin's batch
	// across groups and its child on B: not found, with the error of an
	// operation that never existed.
	hidden := append([]string{e.bOnboard, e.bBatch, e.mixed}, e.children(t, e.bBatch)...)
	var mixedOnA []string
	for _, k := range e.children(t, e.mixed) {
		row, err := e.d.store.GetOperation(ctx, strings.TrimPrefix(k, "operations/"))
		if err != nil {
			t.Fatal(err)
		}
		if row.Tenant == "b" {
			hidden = append(hidden, k)
		} else {
			mixedOnA = append(mixedOnA, k)
		}
	}
	for _, name := range hidden {
		for _, cs := range []struct{ of, missing isoCall }{
			{rpcGetOperation(name), rpcGetOperation(missingOp)},
			{rpcWaitOperation(name, 0), rpcWaitOperation(missingOp, 0)},
			{rpcCancelOperation(name), rpcCancelOperation(missingOp)},
			{rpcDeleteOperation(name), rpcDeleteOperation(missingOp)},
			{rpcResumeOperation(name), rpcResumeOperation(missingOp)},
		} {
			c.wantSame(t, cs.of, cs.missing, name, missingOp, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
		}
		_, errB := c.watch(t, name)
		_, errMissing := c.watch(t, missingOp)
		c.sameError(t, errB, errMissing, name, missingOp, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
	}

	// Operation lists: nothing of B, whatever the filter.
	for _, filter := range []string{"", `tenant="tenants/b"`, "tenant=b", `tenant="tenants/d"`, `parent="` + e.bBatch + `"`,
		`parent="` + e.mixed + `"`, "kind=ONBOARD", "kind=VERIFY", "kind=BATCH_VERIFY", "kind=BATCH_ONBOARD", "state=ACTION_REQUIRED", "state=FAILED", "state=SUCCEEDED"} {
		for _, size := range []int32{0, 1} {
			ops := c.listOperations(t, filter, size)
			var names []string
			for _, o := range ops {
				names = append(names, o.GetName())
				md := metadata(t, o)
				if md.GetTenant() == "" && md.GetCaller() != principal {
					t.Errorf("ListOperations(%s) shows %s, a batch of %q", filter, o.GetName(), md.GetCaller())
				}
				if md.GetTenant() != "" && !e.inGroupA(t, md.GetTenant()) {
					t.Errorf("ListOperations(%s) shows %s of %s", filter, o.GetName(), md.GetTenant())
				}
			}
			switch filter {
			case "", "kind=ONBOARD":
				if !slices.Contains(names, op.GetName()) {
					t.Errorf("ListOperations(%s) = %v, without the caller's own %s", filter, names, op.GetName())
				}
			case `parent="` + e.mixed + `"`:
				if !slices.Equal(names, mixedOnA) {
					t.Errorf("ListOperations(%s) = %v, want only the child on A, %v", filter, names, mixedOnA)
				}
			case `tenant="tenants/b"`, "tenant=b", `tenant="tenants/d"`, `parent="` + e.bBatch + `"`:
				if len(names) > 0 {
					t.Errorf("ListOperations(%s) = %v, want none", filter, names)
				}
			}
		}
	}

	// Access management and the audit log are for admins.
	for _, call := range []isoCall{
		rpcCreateAPIKey(&xdrlinkv1.ApiKey{DisplayName: "escalate", Role: authz.Admin}),
		rpcCreateAPIKey(&xdrlinkv1.ApiKey{DisplayName: "widen", Role: authz.Operator, AccessGroups: []string{"b"}}),
		rpcGetAPIKey("apiKeys/" + isoKeyID(e.adminKey)),
		rpcListAPIKeys(),
		rpcRevokeAPIKey("apiKeys/" + isoKeyID(e.adminKey)),
		rpcListAuditEvents(""),
		rpcListAuditEvents(`resource="tenants/b"`),
	} {
		c.want(t, call, codes.PermissionDenied, xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED)
	}
	who := c.ok(t, rpcGetCaller()).(*xdrlinkv1.Caller)
	wantWho := &xdrlinkv1.Caller{Principal: principal, DisplayName: "operator of a", AuthMethod: xdrlinkv1.AuthMethod_AUTH_METHOD_API_KEY,
		Scoped: true, Grants: []*xdrlinkv1.Grant{{Role: authz.Operator, AccessGroup: "a"}}}
	if !proto.Equal(who, wantWho) {
		t.Errorf("GetCaller = %v, want %v", who, wantWho)
	}

	// It changes its own operation: cancels it, waits for the end, deletes
	// it (so the next transport starts again).
	c.ok(t, rpcCancelOperation(op.GetName()))
	for deadline := time.Now().Add(90 * time.Second); ; {
		got := c.ok(t, rpcWaitOperation(op.GetName(), 30*time.Second)).(*longrunningpb.Operation)
		if got.GetDone() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not done after cancel: %v", op.GetName(), got)
		}
	}
	c.ok(t, rpcDeleteOperation(op.GetName()))
	c.want(t, rpcGetOperation(op.GetName()), codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
}

// waitOwn polls, as the scoped caller, until its operation pauses for sign-in.
func (e *isoEnv) waitOwn(t *testing.T, c *isoCaller, name string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		op := c.ok(t, rpcGetOperation(name)).(*longrunningpb.Operation)
		md := metadata(t, op)
		if md.GetState() == opActionRequired {
			return
		}
		if op.GetDone() || time.Now().After(deadline) {
			t.Fatalf("%s is %v (done %v), want ACTION_REQUIRED:\n%s", name, md.GetState(), op.GetDone(), describeSteps(md))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantOnlyGroupA checks that the caller's batch has children, all on
// tenants of group a, and that the caller lists the same ones as the admin.
func (e *isoEnv) wantOnlyGroupA(t *testing.T, c *isoCaller, batch, principal string) {
	t.Helper()
	kids := e.children(t, batch)
	if len(kids) == 0 {
		t.Fatalf("batch %s has no children", batch)
	}
	var listed []string
	for _, op := range c.listOperations(t, `parent="`+batch+`"`, 0) {
		listed = append(listed, op.GetName())
	}
	if slices.Sort(listed); !slices.Equal(listed, kids) {
		t.Errorf("the caller lists the children of its batch %s as %v; the admin as %v", batch, listed, kids)
	}
	for _, k := range kids {
		row, err := e.d.store.GetOperation(context.Background(), strings.TrimPrefix(k, "operations/"))
		if err != nil {
			t.Fatal(err)
		}
		if !e.inGroupA(t, "tenants/"+row.Tenant) || row.AccessGroup != "a" || row.Caller != principal {
			t.Errorf("child %s of the caller's batch %s: tenant %s, group %q, caller %q", k, batch, row.Tenant, row.AccessGroup, row.Caller)
		}
	}
}

// children lists a batch's children as the admin sees them.
func (e *isoEnv) children(t *testing.T, batch string) []string {
	t.Helper()
	var names []string
	for _, op := range children(t, e.adminOps, batch) {
		names = append(names, op.GetName())
	}
	return names
}

func (e *isoEnv) adminCount(t *testing.T, filter string) int {
	t.Helper()
	n, token := 0, ""
	for {
		page, err := e.adminOps.List(context.Background(), filter, 1000, token)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.GetOperations())
		if token = page.GetNextPageToken(); token == "" {
			return n
		}
	}
}

func (e *isoEnv) inGroupA(t *testing.T, name string) bool {
	t.Helper()
	rec, err := e.d.store.GetTenant(context.Background(), strings.TrimPrefix(name, "tenants/"))
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return false
	}
	return rec.AccessGroup == "a"
}

func (e *isoEnv) wantAbsent(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := e.d.store.GetTenant(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tenants/%s exists after a refused create (%v)", id, err)
		}
	}
}

// isoWaitDone polls until the operation is done.
func isoWaitDone(t *testing.T, api opsAPI, name string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		op, err := api.Get(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if op.GetDone() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not done: %v", name, op)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isoSnapshot is everything of B and D: their records, the operations on
// them or in group b, B's batch's children, the admin's batch across
// groups, their reports, and the tenants of group b.
type isoSnapshot struct {
	tenants map[string]store.Tenant
	ops     map[string]int64 // id: version
	reports map[string][]string
	groupB  []string
}

func isoSnap(t *testing.T, d *Daemon, bBatch, mixed string) isoSnapshot {
	t.Helper()
	ctx := context.Background()
	s := isoSnapshot{tenants: map[string]store.Tenant{}, ops: map[string]int64{}, reports: map[string][]string{}}
	for _, id := range []string{"b", "d"} {
		rec, err := d.store.GetTenant(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		s.tenants[id] = *rec
		vs, err := d.store.ListVerifications(ctx, store.VerificationQuery{Tenant: id, PageSize: store.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs.Verifications {
			s.reports[id] = append(s.reports[id], v.ID)
		}
	}
	q := store.OperationQuery{PageSize: store.MaxPageSize}
	for {
		page, err := d.store.ListOperations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range page.Operations {
			if op.Tenant == "b" || op.Tenant == "d" || op.AccessGroup == "b" || op.ID == bBatch || op.Parent == bBatch || op.ID == mixed {
				s.ops[op.ID] = op.Version
			}
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	page, err := d.store.ListTenants(ctx, store.TenantQuery{PageSize: store.MaxPageSize, Scope: &store.Scope{AccessGroups: []string{"b"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range page.Tenants {
		s.groupB = append(s.groupB, tn.ID)
	}
	return s
}

// isoKey creates an API key in the store, as `xdrlinkd create-api-key` does.
func isoKey(t *testing.T, d *Daemon, k *xdrlinkv1.ApiKey) string {
	t.Helper()
	resp, err := accesssvc.Create(context.Background(), d.store, k, "isolation-test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetKey()
}

// isoKeyID is the id in an API key ("xdrlink_{id}_{secret}"), or the last
// segment of a resource name.
func isoKeyID(s string) string {
	if rest, ok := strings.CutPrefix(s, "xdrlink_"); ok {
		id, _, _ := strings.Cut(rest, "_")
		return id
	}
	return s[strings.LastIndex(s, "/")+1:]
}

// isoBearer sends an API key on every gRPC call.
type isoBearer string

func (k isoBearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}
func (isoBearer) RequireTransportSecurity() bool { return false }

// isoClient is a gRPC client calling with key; rec, when not nil, records
// every exchange.
func isoClient(t *testing.T, d *Daemon, key string, rec *isoRecorder) *client.Client {
	t.Helper()
	opts := client.Options{Insecure: true, PerRPC: isoBearer(key)}
	if rec != nil {
		opts.DialOptions = []grpc.DialOption{grpc.WithChainUnaryInterceptor(rec.unary), grpc.WithChainStreamInterceptor(rec.stream)}
	}
	c, err := client.New(d.GRPCAddr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// isoExchange is one request and what came back, as text.
type isoExchange struct{ transport, method, request, response string }

// isoRecorder keeps everything the scoped caller sent and received.
type isoRecorder struct {
	mu  sync.Mutex
	got []isoExchange
}

func (r *isoRecorder) add(x isoExchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, x)
}

func (r *isoRecorder) all() []isoExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *isoRecorder) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	// Headers and trailers are read too: a server could leak through them.
	var header, trailer grpcmd.MD
	err := invoke(ctx, method, req, reply, cc, append(opts, grpc.Header(&header), grpc.Trailer(&trailer))...)
	out := isoMDText(header) + isoMDText(trailer)
	if err != nil {
		out += isoStatusText(err)
	} else {
		out += isoMessageText(reply)
	}
	r.add(isoExchange{"grpc", method, isoMessageText(req), out})
	return err
}

func (r *isoRecorder) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		r.add(isoExchange{"grpc", method, "", isoStatusText(err)})
		return nil, err
	}
	return &isoStream{ClientStream: s, rec: r, method: method}, nil
}

type isoStream struct {
	grpc.ClientStream
	rec     *isoRecorder
	method  string
	request string
}

func (s *isoStream) SendMsg(m any) error {
	s.request += isoMessageText(m)
	return s.ClientStream.SendMsg(m)
}

func (s *isoStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil:
		s.rec.add(isoExchange{"grpc", s.method, s.request, isoMessageText(m)})
	case err != io.EOF:
		s.rec.add(isoExchange{"grpc", s.method, s.request, isoStatusText(err)})
	}
	return err
}

// isoMDText prints every header or trailer in full (metadata.MD's own
// printing redacts values).
func isoMDText(md grpcmd.MD) string {
	var b strings.Builder
	for k, vs := range md {
		fmt.Fprintf(&b, "%s: %q\n", k, vs)
	}
	return b.String()
}

func isoMessageText(m any) string {
	if pm, ok := m.(proto.Message); ok {
		b, err := protojson.Marshal(pm)
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(m)
}

func isoStatusText(err error) string {
	return err.Error() + " " + isoMessageText(status.Convert(err).Proto())
}

// isoTransport sends the API key on every REST call and records each
// exchange, headers and body, as the body is read.
type isoTransport struct {
	key string
	rec *isoRecorder
}

func (k *isoTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+k.key)
	method := req.Method + " " + req.URL.Path
	sent := req.Method + " " + req.URL.String()
	if req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			body, _ := io.ReadAll(b)
			sent += " " + string(body)
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &isoBody{ReadCloser: resp.Body, done: func(b []byte) {
		k.rec.add(isoExchange{"rest", method, sent, fmt.Sprint(resp.StatusCode, " ", resp.Header, " ", string(b))})
	}}
	return resp, nil
}

type isoBody struct {
	io.ReadCloser
	buf  bytes.Buffer
	once sync.Once
	done func([]byte)
}

func (b *isoBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.buf.Write(p[:n])
	return n, err
}

func (b *isoBody) Close() error {
	b.once.Do(func() { b.done(b.buf.Bytes()) })
	return b.ReadCloser.Close()
}

// isoMentions says whether text names token: followed by nothing that would
// make it part of a longer id ("tenants/b" is not in "tenants/bx").
func isoMentions(text, token string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], token)
		if j < 0 {
			return false
		}
		end := i + j + len(token)
		if end == len(text) || !isoIDChar(text[end]) {
			return true
		}
		i = end
	}
}

func isoIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// isoCall is one RPC as both transports make it: the gRPC method and
// request, and the REST verb, path and body of the same request.
type isoCall struct {
	method     string
	req        proto.Message
	resp       func() proto.Message
	verb, path string
	body       string
}

// isoCaller makes calls as the scoped caller over one transport and notes
// the methods it exercised.
type isoCaller struct {
	transport string
	client    *client.Client
	rest      restAPI
	covered   map[string]bool
}

func (c *isoCaller) do(call isoCall) (proto.Message, error) {
	c.covered[call.method] = true
	out := call.resp()
	ctx := context.Background()
	if c.transport == "grpc" {
		return out, c.client.Conn().Invoke(ctx, call.method, call.req, out)
	}
	return out, c.rest.call(ctx, call.verb, call.path, call.body, out)
}

func (c *isoCaller) ok(t *testing.T, call isoCall) proto.Message {
	t.Helper()
	out, err := c.do(call)
	if err != nil {
		t.Fatalf("%s %s: %v", call.method, isoMessageText(call.req), err)
	}
	return out
}

// want makes call and checks its error's code, reason and, over REST, HTTP status.
func (c *isoCaller) want(t *testing.T, call isoCall, code codes.Code, reason xdrlinkv1.ErrorReason) error {
	t.Helper()
	_, err := c.do(call)
	c.checkError(t, fmt.Sprintf("%s %s", call.method, isoMessageText(call.req)), err, code, reason)
	return err
}

func (c *isoCaller) checkError(t *testing.T, what string, err error, code codes.Code, reason xdrlinkv1.ErrorReason) {
	t.Helper()
	st := status.Convert(err)
	got, _ := errorInfo(t, st.Proto().GetDetails())
	if st.Code() != code || got != reason.String() {
		t.Errorf("%s: %v (reason %s), want %v %v", what, err, got, code, reason)
	}
	if c.transport == "rest" {
		var re *restError
		if !errors.As(err, &re) || re.httpStatus != isoHTTPStatus[code] {
			t.Errorf("%s over REST: %v, want HTTP %d", what, err, isoHTTPStatus[code])
		}
	}
}

var isoHTTPStatus = map[codes.Code]int{
	codes.NotFound: http.StatusNotFound, codes.PermissionDenied: http.StatusForbidden,
	codes.InvalidArgument: http.StatusBadRequest, codes.FailedPrecondition: http.StatusBadRequest,
	codes.AlreadyExists: http.StatusConflict,
}

// wantSame makes call, which names the hidden resource name, and missing,
// the same call naming one that does not exist: both must fail alike, the
// name apart, so the caller cannot tell a hidden resource from none.
func (c *isoCaller) wantSame(t *testing.T, call, missing isoCall, name, missingName string, code codes.Code, reason xdrlinkv1.ErrorReason) {
	t.Helper()
	_, err := c.do(call)
	_, errMissing := c.do(missing)
	c.checkError(t, fmt.Sprintf("%s %s", call.method, isoMessageText(call.req)), err, code, reason)
	c.sameError(t, err, errMissing, name, missingName, code, reason)
}

func (c *isoCaller) sameError(t *testing.T, err, errMissing error, name, missingName string, code codes.Code, reason xdrlinkv1.ErrorReason) {
	t.Helper()
	c.checkError(t, "hidden "+name, err, code, reason)
	c.checkError(t, "missing "+missingName, errMissing, code, reason)
	st, stMissing := status.Convert(err), status.Convert(errMissing)
	gotReason, meta := errorInfo(t, st.Proto().GetDetails())
	wantReason, wantMeta := errorInfo(t, stMissing.Proto().GetDetails())
	for k, v := range wantMeta {
		wantMeta[k] = strings.ReplaceAll(v, missingName, name)
	}
	if want := strings.ReplaceAll(stMissing.Message(), missingName, name); st.Message() != want || gotReason != wantReason || !cmp.Equal(meta, wantMeta) {
		t.Errorf("%s is told apart from a missing resource:\n hidden:  %q %s %v\n missing: %q %s %v", name, st.Message(), gotReason, meta, want, wantReason, wantMeta)
	}
}

// watch returns the first message of WatchOperation.
func (c *isoCaller) watch(t *testing.T, name string) (*longrunningpb.Operation, error) {
	t.Helper()
	c.covered[xdrlinkv1.OperationService_WatchOperation_FullMethodName] = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the stream after its first message
	first := &longrunningpb.Operation{}
	if c.transport == "grpc" {
		s, err := xdrlinkv1.NewOperationServiceClient(c.client.Conn()).WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: name})
		if err != nil {
			return nil, err
		}
		if first, err = s.Recv(); err != nil {
			return nil, err
		}
		return first, nil
	}
	resp, err := c.rest.raw(ctx, http.MethodGet, "/v1/"+name+":watch", "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeREST(resp, &emptypb.Empty{})
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("watch %s: no line (%v)", name, sc.Err())
	}
	return first, protojson.Unmarshal(sc.Bytes(), first)
}

func (c *isoCaller) listTenants(t *testing.T, filter string, size int32) []string {
	t.Helper()
	var names []string
	token := ""
	for {
		page := c.ok(t, rpcListTenants(filter, size, token)).(*xdrlinkv1.ListTenantsResponse)
		for _, tn := range page.GetTenants() {
			names = append(names, tn.GetName())
			if tn.GetAccessGroup() != "a" {
				t.Errorf("ListTenants(%s) shows %s of group %q", filter, tn.GetName(), tn.GetAccessGroup())
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			return names
		}
	}
}

func (c *isoCaller) listOperations(t *testing.T, filter string, size int32) []*longrunningpb.Operation {
	t.Helper()
	var ops []*longrunningpb.Operation
	token := ""
	for {
		page := c.ok(t, rpcListOperations(filter, size, token)).(*longrunningpb.ListOperationsResponse)
		ops = append(ops, page.GetOperations()...)
		if token = page.GetNextPageToken(); token == "" {
			return ops
		}
	}
}

// The calls, one constructor per method (REST paths as in the protos'
// google.api.http rules).

func isoNewTenant() proto.Message { return &xdrlinkv1.Tenant{} }
func isoNewOp() proto.Message     { return &longrunningpb.Operation{} }
func isoNewEmpty() proto.Message  { return &emptypb.Empty{} }

func rpcGetTenant(name string) isoCall {
	return isoCall{xdrlinkv1.TenantService_GetTenant_FullMethodName, &xdrlinkv1.GetTenantRequest{Name: name}, isoNewTenant,
		http.MethodGet, "/v1/" + name, ""}
}

func rpcListTenants(filter string, size int32, token string) isoCall {
	q := url.Values{"filter": {filter}, "page_size": {fmt.Sprint(size)}, "page_token": {token}}
	return isoCall{xdrlinkv1.TenantService_ListTenants_FullMethodName,
		&xdrlinkv1.ListTenantsRequest{Filter: filter, PageSize: size, PageToken: token},
		func() proto.Message { return &xdrlinkv1.ListTenantsResponse{} }, http.MethodGet, "/v1/tenants?" + q.Encode(), ""}
}

func rpcCreateTenant(id string, tn *xdrlinkv1.Tenant) isoCall {
	return isoCall{xdrlinkv1.TenantService_CreateTenant_FullMethodName, &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: tn}, isoNewTenant,
		http.MethodPost, "/v1/tenants?" + url.Values{"tenant_id": {id}}.Encode(), jsonBody(tn)}
}

func rpcBatchCreate(reqs ...*xdrlinkv1.CreateTenantRequest) isoCall {
	req := &xdrlinkv1.BatchCreateTenantsRequest{Requests: reqs}
	return isoCall{xdrlinkv1.TenantService_BatchCreateTenants_FullMethodName, req,
		func() proto.Message { return &xdrlinkv1.BatchCreateTenantsResponse{} }, http.MethodPost, "/v1/tenants:batchCreate", jsonBody(req)}
}

func rpcUpdateTenant(tn *xdrlinkv1.Tenant, paths ...string) isoCall {
	return isoCall{xdrlinkv1.TenantService_UpdateTenant_FullMethodName,
		&xdrlinkv1.UpdateTenantRequest{Tenant: tn, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}, isoNewTenant,
		http.MethodPatch, "/v1/" + tn.GetName() + "?" + url.Values{"update_mask": {strings.Join(paths, ",")}}.Encode(), jsonBody(tn)}
}

func rpcDeleteTenant(name string) isoCall {
	return isoCall{xdrlinkv1.TenantService_DeleteTenant_FullMethodName, &xdrlinkv1.DeleteTenantRequest{Name: name}, isoNewEmpty,
		http.MethodDelete, "/v1/" + name, ""}
}

func rpcCheckPrerequisites(name string) isoCall {
	req := &xdrlinkv1.CheckPrerequisitesRequest{Name: name}
	return isoCall{xdrlinkv1.OnboardingService_CheckPrerequisites_FullMethodName, req,
		func() proto.Message { return &xdrlinkv1.PrerequisiteReport{} }, http.MethodPost, "/v1/" + name + ":checkPrerequisites", jsonBody(req)}
}

func rpcOnboard(name string) isoCall {
	req := &xdrlinkv1.OnboardRequest{Name: name}
	return isoCall{xdrlinkv1.OnboardingService_Onboard_FullMethodName, req, isoNewOp, http.MethodPost, "/v1/" + name + ":onboard", jsonBody(req)}
}

func rpcOffboard(name string) isoCall {
	req := &xdrlinkv1.OffboardRequest{Name: name}
	return isoCall{xdrlinkv1.OnboardingService_Offboard_FullMethodName, req, isoNewOp, http.MethodPost, "/v1/" + name + ":offboard", jsonBody(req)}
}

func rpcBatchOnboard(req *xdrlinkv1.BatchOnboardRequest) isoCall {
	return isoCall{xdrlinkv1.OnboardingService_BatchOnboard_FullMethodName, req, isoNewOp, http.MethodPost, "/v1/tenants:batchOnboard", jsonBody(req)}
}

func rpcVerify(name string) isoCall {
	req := &xdrlinkv1.VerifyRequest{Name: name}
	return isoCall{xdrlinkv1.VerificationService_Verify_FullMethodName, req, isoNewOp, http.MethodPost, "/v1/" + name + ":verify", jsonBody(req)}
}

func rpcBatchVerify(req *xdrlinkv1.BatchVerifyRequest) isoCall {
	return isoCall{xdrlinkv1.VerificationService_BatchVerify_FullMethodName, req, isoNewOp, http.MethodPost, "/v1/tenants:batchVerify", jsonBody(req)}
}

func rpcListVerifications(parent string) isoCall {
	return isoCall{xdrlinkv1.VerificationService_ListVerifications_FullMethodName, &xdrlinkv1.ListVerificationsRequest{Parent: parent},
		func() proto.Message { return &xdrlinkv1.ListVerificationsResponse{} }, http.MethodGet, "/v1/" + parent + "/verifications", ""}
}

func rpcGetVerification(name string) isoCall {
	return isoCall{xdrlinkv1.VerificationService_GetVerification_FullMethodName, &xdrlinkv1.GetVerificationRequest{Name: name},
		func() proto.Message { return &xdrlinkv1.IngestionReport{} }, http.MethodGet, "/v1/" + name, ""}
}

func rpcGetTableSettings(tenant string) isoCall {
	name := tenant + "/tableSettings"
	return isoCall{xdrlinkv1.TableService_GetTableSettings_FullMethodName, &xdrlinkv1.GetTableSettingsRequest{Name: name},
		func() proto.Message { return &xdrlinkv1.TableSettings{} }, http.MethodGet, "/v1/" + name, ""}
}

func rpcUpdateTableSettings(tenant string) isoCall {
	ts := &xdrlinkv1.TableSettings{Name: tenant + "/tableSettings", DesiredTables: []string{tProcess}}
	return isoCall{xdrlinkv1.TableService_UpdateTableSettings_FullMethodName,
		&xdrlinkv1.UpdateTableSettingsRequest{TableSettings: ts, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"desired_tables"}}}, isoNewOp,
		http.MethodPatch, "/v1/" + ts.GetName() + "?update_mask=desired_tables", jsonBody(ts)}
}

func rpcListTables() isoCall {
	return isoCall{xdrlinkv1.TableService_ListTables_FullMethodName, &xdrlinkv1.ListTablesRequest{},
		func() proto.Message { return &xdrlinkv1.ListTablesResponse{} }, http.MethodGet, "/v1/tables", ""}
}

func rpcGetOperation(name string) isoCall {
	return isoCall{longrunningpb.Operations_GetOperation_FullMethodName, &longrunningpb.GetOperationRequest{Name: name}, isoNewOp,
		http.MethodGet, "/v1/" + name, ""}
}

func rpcListOperations(filter string, size int32, token string) isoCall {
	q := url.Values{"filter": {filter}, "page_size": {fmt.Sprint(size)}, "page_token": {token}}
	return isoCall{longrunningpb.Operations_ListOperations_FullMethodName,
		&longrunningpb.ListOperationsRequest{Name: "operations", Filter: filter, PageSize: size, PageToken: token},
		func() proto.Message { return &longrunningpb.ListOperationsResponse{} }, http.MethodGet, "/v1/operations?" + q.Encode(), ""}
}

func rpcWaitOperation(name string, timeout time.Duration) isoCall {
	return isoCall{longrunningpb.Operations_WaitOperation_FullMethodName,
		&longrunningpb.WaitOperationRequest{Name: name, Timeout: durationpb.New(timeout)}, isoNewOp,
		http.MethodPost, "/v1/" + name + ":wait", fmt.Sprintf(`{"timeout":"%.3fs"}`, timeout.Seconds())}
}

func rpcCancelOperation(name string) isoCall {
	return isoCall{longrunningpb.Operations_CancelOperation_FullMethodName, &longrunningpb.CancelOperationRequest{Name: name}, isoNewEmpty,
		http.MethodPost, "/v1/" + name + ":cancel", "{}"}
}

func rpcDeleteOperation(name string) isoCall {
	return isoCall{longrunningpb.Operations_DeleteOperation_FullMethodName, &longrunningpb.DeleteOperationRequest{Name: name}, isoNewEmpty,
		http.MethodDelete, "/v1/" + name, ""}
}

func rpcResumeOperation(name string) isoCall {
	return isoCall{xdrlinkv1.OperationService_ResumeOperation_FullMethodName, &xdrlinkv1.ResumeOperationRequest{Name: name}, isoNewOp,
		http.MethodPost, "/v1/" + name + ":resume", "{}"}
}

func rpcGetCaller() isoCall {
	return isoCall{xdrlinkv1.AccessService_GetCaller_FullMethodName, &xdrlinkv1.GetCallerRequest{},
		func() proto.Message { return &xdrlinkv1.Caller{} }, http.MethodGet, "/v1/caller", ""}
}

func rpcCreateAPIKey(k *xdrlinkv1.ApiKey) isoCall {
	return isoCall{xdrlinkv1.AccessService_CreateApiKey_FullMethodName, &xdrlinkv1.CreateApiKeyRequest{ApiKey: k},
		func() proto.Message { return &xdrlinkv1.CreateApiKeyResponse{} }, http.MethodPost, "/v1/apiKeys", jsonBody(k)}
}

func rpcGetAPIKey(name string) isoCall {
	return isoCall{xdrlinkv1.AccessService_GetApiKey_FullMethodName, &xdrlinkv1.GetApiKeyRequest{Name: name},
		func() proto.Message { return &xdrlinkv1.ApiKey{} }, http.MethodGet, "/v1/" + name, ""}
}

func rpcListAPIKeys() isoCall {
	return isoCall{xdrlinkv1.AccessService_ListApiKeys_FullMethodName, &xdrlinkv1.ListApiKeysRequest{},
		func() proto.Message { return &xdrlinkv1.ListApiKeysResponse{} }, http.MethodGet, "/v1/apiKeys", ""}
}

func rpcRevokeAPIKey(name string) isoCall {
	return isoCall{xdrlinkv1.AccessService_RevokeApiKey_FullMethodName, &xdrlinkv1.RevokeApiKeyRequest{Name: name},
		func() proto.Message { return &xdrlinkv1.ApiKey{} }, http.MethodPost, "/v1/" + name + ":revoke", "{}"}
}

func rpcListAuditEvents(filter string) isoCall {
	return isoCall{xdrlinkv1.AuditService_ListAuditEvents_FullMethodName, &xdrlinkv1.ListAuditEventsRequest{Filter: filter},
		func() proto.Message { return &xdrlinkv1.ListAuditEventsResponse{} }, http.MethodGet,
		"/v1/auditEvents?" + url.Values{"filter": {filter}}.Encode(), ""}
}
