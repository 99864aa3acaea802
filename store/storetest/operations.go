package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/xdrlink/xdrlink/store"
)

var operationCases = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"OperationRoundTrip", testOperationRoundTrip},
	{"OperationRequestKeyConflict", testOperationRequestKeyConflict},
	{"OperationActiveExclusive", testOperationActiveExclusive},
	{"OperationUpdate", testOperationUpdate},
	{"OperationConcurrentUpdates", testOperationConcurrentUpdates},
	{"OperationDelete", testOperationDelete},
	{"OperationList", testOperationList},
	{"OperationInvalidPageToken", testOperationInvalidPageToken},
	{"OperationSecrets", testOperationSecrets},
	{"TenantStatus", testTenantStatus},
	{"WorkspaceKeyConflict", testWorkspaceKeyConflict},
	{"InTx", testInTx},
	{"BatchChildren", testBatchChildren},
	{"ClaimChildrenConcurrently", testClaimChildrenConcurrently},
	{"Leases", testLeases},
	{"Jobs", testJobs},
}

func newOp(id, tenant string, exclusive bool) *store.Operation {
	return &store.Operation{ID: id, Tenant: tenant, Kind: "OPERATION_KIND_ONBOARD", State: "OPERATION_STATE_RUNNING",
		Exclusive: exclusive, Body: append([]byte("op\x00\xff-"), id...)}
}

func createOp(t *testing.T, s store.OperationWriter, in *store.Operation) *store.Operation {
	t.Helper()
	out, err := s.CreateOperation(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateOperation(%q): %v", in.ID, err)
	}
	return out
}

func getOp(t *testing.T, s store.OperationReader, id string) *store.Operation {
	t.Helper()
	got, err := s.GetOperation(t.Context(), id)
	if err != nil {
		t.Fatalf("GetOperation(%q): %v", id, err)
	}
	return got
}

// finish marks op done.
func finish(t *testing.T, s store.OperationWriter, op *store.Operation) *store.Operation {
	t.Helper()
	in := *op
	in.State, in.Done = "OPERATION_STATE_SUCCEEDED", true
	out, err := s.UpdateOperation(t.Context(), &in)
	if err != nil {
		t.Fatalf("UpdateOperation(%q, done): %v", op.ID, err)
	}
	return out
}

func wantOpEqual(t *testing.T, what string, got, want *store.Operation) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// wantConflict requires a *store.ConflictError with rule and with.
func wantConflict(t *testing.T, what string, err error, rule, with string) {
	t.Helper()
	var ce *store.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("%s: got error %v, want a *ConflictError (%s with %s)", what, err, rule, with)
		return
	}
	if ce.Rule != rule || ce.With != with {
		t.Errorf("%s: conflict on %q with %q, want %q with %q", what, ce.Rule, ce.With, rule, with)
	}
}

func testOperationRoundTrip(t *testing.T, h *harness) {
	in := &store.Operation{ID: "op1", Tenant: "contoso", Kind: "K", State: "S", Parent: "batch",
		Exclusive: true, RequestKey: "m/caller/req", RequestHash: []byte{0, 1, 0xff}, JobID: 1 << 40, Body: []byte{0, 'b', 0xfe},
		Version: 42, CreateTime: time.Unix(1, 0), UpdateTime: time.Unix(2, 0), EndTime: time.Unix(3, 0)}
	out := createOp(t, h.s, in)
	if out.Version != 1 {
		t.Errorf("Version = %d, want 1", out.Version)
	}
	checkStoreTime(t, "CreateTime", out.CreateTime)
	if !out.UpdateTime.Equal(out.CreateTime) || !out.EndTime.IsZero() {
		t.Errorf("times = %v, %v, %v; want UpdateTime = CreateTime and no EndTime", out.CreateTime, out.UpdateTime, out.EndTime)
	}
	want := *in
	want.Version, want.CreateTime, want.UpdateTime, want.EndTime = 1, out.CreateTime, out.CreateTime, time.Time{}
	wantOpEqual(t, "CreateOperation result", out, &want)
	wantOpEqual(t, "GetOperation", getOp(t, h.s, "op1"), &want)
	byKey, err := h.s.GetOperationByRequestKey(t.Context(), "m/caller/req")
	if err != nil {
		t.Fatalf("GetOperationByRequestKey: %v", err)
	}
	wantOpEqual(t, "GetOperationByRequestKey", byKey, &want)

	// Minimal fields read back as written (nil bytes, empty strings).
	bare := createOp(t, h.s, &store.Operation{ID: "bare", Kind: "K", State: "S"})
	wantOpEqual(t, "bare operation", getOp(t, h.s, "bare"), bare)
	// Created done: it ended when it was created.
	done := createOp(t, h.s, &store.Operation{ID: "done", Kind: "K", State: "S", Done: true})
	if !done.EndTime.Equal(done.CreateTime) {
		t.Errorf("EndTime of an operation created done = %v, want %v", done.EndTime, done.CreateTime)
	}
	wantOpEqual(t, "done operation", getOp(t, h.s, "done"), done)

	_, err = h.s.GetOperation(t.Context(), "absent")
	wantErr(t, "GetOperation(absent)", err, store.ErrNotFound)
	for _, key := range []string{"absent", ""} {
		_, err = h.s.GetOperationByRequestKey(t.Context(), key)
		wantErr(t, fmt.Sprintf("GetOperationByRequestKey(%q)", key), err, store.ErrNotFound)
	}
	_, err = h.s.CreateOperation(t.Context(), &store.Operation{ID: "op1", Kind: "other", State: "S"})
	wantErr(t, "duplicate CreateOperation", err, store.ErrAlreadyExists)
	wantOpEqual(t, "original after duplicate", getOp(t, h.s, "op1"), &want)
}

func testOperationRequestKeyConflict(t *testing.T, h *harness) {
	a := newOp("a", "t1", false)
	a.RequestKey = "key"
	createOp(t, h.s, a)
	b := newOp("b", "t2", false)
	b.RequestKey = "key"
	_, err := h.s.CreateOperation(t.Context(), b)
	wantConflict(t, "second operation with the key", err, store.ConflictRequestKey, "a")
	_, err = h.s.GetOperation(t.Context(), "b")
	wantErr(t, "GetOperation(b)", err, store.ErrNotFound)
	// Operations without a key never collide.
	createOp(t, h.s, newOp("c", "t3", false))
	createOp(t, h.s, newOp("d", "t4", false))
}

func testOperationActiveExclusive(t *testing.T, h *harness) {
	a := createOp(t, h.s, newOp("a", "t", true))
	_, err := h.s.CreateOperation(t.Context(), newOp("b", "t", true))
	wantConflict(t, "second exclusive operation", err, store.ConflictActiveOperation, "a")
	createOp(t, h.s, newOp("read", "t", false)) // not exclusive
	createOp(t, h.s, newOp("other", "u", true)) // other tenant
	// A conflict inside a transaction leaves it usable.
	err = h.s.InTx(t.Context(), func(tx store.Tx) error {
		_, err := tx.CreateOperation(t.Context(), newOp("b", "t", true))
		wantConflict(t, "second exclusive operation in a transaction", err, store.ConflictActiveOperation, "a")
		_, err = tx.CreateOperation(t.Context(), newOp("after-conflict", "t", false))
		return err
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	getOp(t, h.s, "after-conflict")
	finish(t, h.s, a)
	createOp(t, h.s, newOp("b", "t", true))
}

func testOperationUpdate(t *testing.T, h *harness) {
	orig := createOp(t, h.s, newOp("op", "t", true))
	in := *orig
	in.State, in.Body = "OPERATION_STATE_WAITING", []byte("new body")
	in.Tenant, in.Kind = "ignored", "ignored" // only State, Done and Body change
	upd, err := h.s.UpdateOperation(t.Context(), &in)
	if err != nil {
		t.Fatalf("UpdateOperation: %v", err)
	}
	want := *orig
	want.State, want.Body, want.Version, want.UpdateTime = in.State, in.Body, 2, upd.UpdateTime
	checkStoreTime(t, "UpdateTime", upd.UpdateTime)
	wantOpEqual(t, "UpdateOperation result", upd, &want)
	wantOpEqual(t, "GetOperation after update", getOp(t, h.s, "op"), &want)

	_, err = h.s.UpdateOperation(t.Context(), &in) // version 1 again
	wantErr(t, "UpdateOperation(stale version)", err, store.ErrEtagMismatch)
	_, err = h.s.UpdateOperation(t.Context(), newOp("absent", "t", false))
	wantErr(t, "UpdateOperation(absent)", err, store.ErrNotFound)

	done := finish(t, h.s, upd)
	checkStoreTime(t, "EndTime", done.EndTime)
	if !done.EndTime.Equal(done.UpdateTime) || done.Version != 3 || !done.Done {
		t.Errorf("finished: %+v; want Done, Version 3, EndTime = UpdateTime", done)
	}
	wantOpEqual(t, "GetOperation after finish", getOp(t, h.s, "op"), done)
	// Writing a done operation again keeps its end time.
	again := *done
	again.Body = []byte("final")
	again2, err := h.s.UpdateOperation(t.Context(), &again)
	if err != nil {
		t.Fatal(err)
	}
	if !again2.EndTime.Equal(done.EndTime) {
		t.Errorf("EndTime moved from %v to %v", done.EndTime, again2.EndTime)
	}
}

func testOperationConcurrentUpdates(t *testing.T, h *harness) {
	orig := createOp(t, h.s, newOp("op", "t", true))
	const n = 20
	results := make([]*store.Operation, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := *orig
			in.State = fmt.Sprintf("S%d", i)
			<-start
			results[i], errs[i] = h.s.UpdateOperation(t.Context(), &in)
		})
	}
	close(start)
	wg.Wait()
	var winner *store.Operation
	for i, err := range errs {
		switch {
		case err == nil && winner == nil:
			winner = results[i]
		case err == nil:
			t.Errorf("update %d succeeded too", i)
		case !errors.Is(err, store.ErrEtagMismatch):
			t.Errorf("update %d: got %v, want %v", i, err, store.ErrEtagMismatch)
		}
	}
	if winner == nil {
		t.Fatal("no update succeeded")
	}
	wantOpEqual(t, "GetOperation after concurrent updates", getOp(t, h.s, "op"), winner)
}

func testOperationDelete(t *testing.T, h *harness) {
	op := createOp(t, h.s, newOp("op", "t", true))
	wantErr(t, "DeleteOperation(running)", h.s.DeleteOperation(t.Context(), "op"), store.ErrConflict)
	getOp(t, h.s, "op")
	finish(t, h.s, op)
	if err := h.s.DeleteOperation(t.Context(), "op"); err != nil {
		t.Fatalf("DeleteOperation(done): %v", err)
	}
	_, err := h.s.GetOperation(t.Context(), "op")
	wantErr(t, "GetOperation after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteOperation again", h.s.DeleteOperation(t.Context(), "op"), store.ErrNotFound)
}

// listOps walks every page of q.
func listOps(t *testing.T, s store.OperationReader, q store.OperationQuery) []string {
	t.Helper()
	size := store.NormalizePageSize(q.PageSize)
	var all []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		page, err := s.ListOperations(t.Context(), q)
		if err != nil {
			t.Fatalf("ListOperations(%+v): %v", q, err)
		}
		for _, op := range page.Operations {
			all = append(all, op.ID)
		}
		if page.NextPageToken == "" {
			return all
		}
		if len(page.Operations) != size {
			t.Fatalf("page %d has %d operations and a next token, want %d", pages, len(page.Operations), size)
		}
		q.PageToken = page.NextPageToken
	}
}

func testOperationList(t *testing.T, h *harness) {
	var created []*store.Operation
	for i := range 12 {
		op := &store.Operation{
			ID:     fmt.Sprintf("op%02d", i),
			Tenant: []string{"a", "b", "c"}[i%3],
			Kind:   []string{"ONBOARD", "OFFBOARD"}[i%2],
			State:  []string{"RUNNING", "SUCCEEDED", "FAILED", "WAITING"}[i%4],
		}
		if i%4 == 0 {
			op.Parent = "batch"
		}
		created = append(created, createOp(t, h.s, op))
		if i%5 == 0 {
			time.Sleep(time.Millisecond) // some distinct times, some (maybe) equal
		}
	}
	// Newest first: create time, then id, both descending.
	sort.Slice(created, func(i, j int) bool {
		a, b := created[i], created[j]
		if !a.CreateTime.Equal(b.CreateTime) {
			return a.CreateTime.After(b.CreateTime)
		}
		return a.ID > b.ID
	})
	want := func(keep func(*store.Operation) bool) []string {
		var ids []string
		for _, op := range created {
			if keep(op) {
				ids = append(ids, op.ID)
			}
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		q    store.OperationQuery
		keep func(*store.Operation) bool
	}{
		{"all", store.OperationQuery{}, func(*store.Operation) bool { return true }},
		{"tenant", store.OperationQuery{Tenant: "b"}, func(o *store.Operation) bool { return o.Tenant == "b" }},
		{"kind", store.OperationQuery{Kind: "OFFBOARD"}, func(o *store.Operation) bool { return o.Kind == "OFFBOARD" }},
		{"state", store.OperationQuery{State: "FAILED"}, func(o *store.Operation) bool { return o.State == "FAILED" }},
		{"parent", store.OperationQuery{Parent: "batch"}, func(o *store.Operation) bool { return o.Parent == "batch" }},
		{"tenant and kind", store.OperationQuery{Tenant: "a", Kind: "ONBOARD"}, func(o *store.Operation) bool { return o.Tenant == "a" && o.Kind == "ONBOARD" }},
		{"no match", store.OperationQuery{Tenant: "z"}, func(*store.Operation) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{0, 1, 2, 5} {
				q := tc.q
				q.PageSize = size
				if got, want := listOps(t, h.s, q), want(tc.keep); !slices.Equal(got, want) {
					t.Errorf("page size %d: got %q, want %q", size, got, want)
				}
			}
		})
	}
	page, err := h.s.ListOperations(t.Context(), store.OperationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range page.Operations {
		wantOpEqual(t, "listed operation", got, created[i])
	}
}

func testOperationInvalidPageToken(t *testing.T, h *harness) {
	for i := range 5 {
		createOp(t, h.s, newOp(fmt.Sprintf("op%d", i), "t", false))
	}
	q := store.OperationQuery{PageSize: 2, Tenant: "t"}
	page, err := h.s.ListOperations(t.Context(), q)
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("ListOperations = %v; want a next token", err)
	}
	tok := page.NextPageToken
	for name, bad := range map[string]store.OperationQuery{
		"garbage":        {Tenant: "t", PageToken: "not a token!"},
		"truncated":      {Tenant: "t", PageToken: tok[:len(tok)-1]},
		"other tenant":   {Tenant: "u", PageToken: tok},
		"no tenant":      {PageToken: tok},
		"tenant as kind": {Kind: "t", PageToken: tok},
		"tenant token":   {Tenant: "t", PageToken: store.EncodePageToken("op1", store.TenantQuery{})},
	} {
		_, err := h.s.ListOperations(t.Context(), bad)
		wantErr(t, "ListOperations("+name+")", err, store.ErrInvalidPageToken)
	}
	// An operation token is not a tenant token either.
	_, err = h.s.ListTenants(t.Context(), store.TenantQuery{PageToken: tok})
	wantErr(t, "ListTenants(operation token)", err, store.ErrInvalidPageToken)
	q.PageToken, q.PageSize = tok, 10
	if got := listOps(t, h.s, q); len(got) != 3 {
		t.Errorf("rest after the first page = %q, want 3 operations", got)
	}
}

func testOperationSecrets(t *testing.T, h *harness) {
	ctx := t.Context()
	wantErr(t, "PutOperationSecret(absent operation)", h.s.PutOperationSecret(ctx, "absent", []byte("s")), store.ErrNotFound)
	op := createOp(t, h.s, newOp("op", "t", false))
	_, err := h.s.GetOperationSecret(ctx, "op")
	wantErr(t, "GetOperationSecret before put", err, store.ErrNotFound)
	for _, sealed := range [][]byte{[]byte("first\x00\xff"), []byte("second")} {
		if err := h.s.PutOperationSecret(ctx, "op", sealed); err != nil {
			t.Fatalf("PutOperationSecret: %v", err)
		}
		if got, err := h.s.GetOperationSecret(ctx, "op"); err != nil || !bytes.Equal(got, sealed) {
			t.Errorf("GetOperationSecret = %q, %v; want %q", got, err, sealed)
		}
	}
	for range 2 { // deleting nothing is fine
		if err := h.s.DeleteOperationSecret(ctx, "op"); err != nil {
			t.Fatalf("DeleteOperationSecret: %v", err)
		}
	}
	_, err = h.s.GetOperationSecret(ctx, "op")
	wantErr(t, "GetOperationSecret after delete", err, store.ErrNotFound)

	// Deleting the operation deletes its secret.
	if err := h.s.PutOperationSecret(ctx, "op", []byte("s")); err != nil {
		t.Fatal(err)
	}
	finish(t, h.s, op)
	if err := h.s.DeleteOperation(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	createOp(t, h.s, newOp("op", "t", false))
	_, err = h.s.GetOperationSecret(ctx, "op")
	wantErr(t, "secret of a recreated operation", err, store.ErrNotFound)
}

func testTenantStatus(t *testing.T, h *harness) {
	in := newTenant("t", "REGISTERED", map[string]string{"a": "1"})
	in.Status = []byte("ignored on create")
	orig := create(t, h.s, in)
	if orig.Status != nil {
		t.Errorf("CreateTenant kept Status %q", orig.Status)
	}
	if err := h.s.UpdateTenantStatus(t.Context(), "t", "ONBOARDED", []byte("status\x00")); err != nil {
		t.Fatalf("UpdateTenantStatus: %v", err)
	}
	want := *orig
	want.State, want.Status = "ONBOARDED", []byte("status\x00")
	wantEqual(t, "GetTenant after UpdateTenantStatus (etag and update time kept)", get(t, h.s, "t"), &want)

	upd, err := h.s.UpdateTenant(t.Context(), newTenant("t", "IGNORED", nil), orig.Etag)
	if err != nil {
		t.Fatalf("UpdateTenant with the etag from before the status update: %v", err)
	}
	if upd.State != "ONBOARDED" || !bytes.Equal(upd.Status, want.Status) {
		t.Errorf("UpdateTenant returned state %q status %q; want them kept", upd.State, upd.Status)
	}
	wantEqual(t, "GetTenant after UpdateTenant", get(t, h.s, "t"), upd)
	wantErr(t, "UpdateTenantStatus(absent)", h.s.UpdateTenantStatus(t.Context(), "absent", "S", nil), store.ErrNotFound)
}

func testWorkspaceKeyConflict(t *testing.T, h *harness) {
	withKey := func(id, key string) *store.Tenant {
		t := newTenant(id, "REGISTERED", nil)
		t.WorkspaceKey = key
		return t
	}
	a := create(t, h.s, withKey("a", "sub/rg/ws"))
	wantEqual(t, "GetTenant", get(t, h.s, "a"), a)
	_, err := h.s.CreateTenant(t.Context(), withKey("b", "sub/rg/ws"))
	wantConflict(t, "CreateTenant with a taken workspace", err, store.ConflictWorkspace, "a")
	_, err = h.s.GetTenant(t.Context(), "b")
	wantErr(t, "GetTenant(b)", err, store.ErrNotFound)
	// The id rule comes first.
	_, err = h.s.CreateTenant(t.Context(), withKey("a", "sub/rg/ws"))
	wantErr(t, "CreateTenant(a) again", err, store.ErrAlreadyExists)

	c := create(t, h.s, withKey("c", "sub/rg/other"))
	_, err = h.s.UpdateTenant(t.Context(), withKey("c", "sub/rg/ws"), c.Etag)
	wantConflict(t, "UpdateTenant to a taken workspace", err, store.ConflictWorkspace, "a")
	wantEqual(t, "c after the failed update", get(t, h.s, "c"), c)
	if _, err := h.s.UpdateTenant(t.Context(), withKey("c", "sub/rg/other"), c.Etag); err != nil {
		t.Errorf("UpdateTenant keeping its own workspace: %v", err)
	}
	// Tenants without a workspace key never collide.
	create(t, h.s, withKey("d", ""))
	create(t, h.s, withKey("e", ""))
	// A deleted tenant frees its workspace.
	if err := h.s.DeleteTenant(t.Context(), "a", ""); err != nil {
		t.Fatal(err)
	}
	create(t, h.s, withKey("b", "sub/rg/ws"))
}

var errRollback = errors.New("roll back")

func testInTx(t *testing.T, h *harness) {
	ctx := t.Context()
	create(t, h.s, newTenant("t", "REGISTERED", nil))
	err := h.s.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx, "t"); err != nil {
			t.Errorf("Tx.GetTenant: %v", err)
		}
		_, err := tx.InsertJob(ctx, recordArgs{ID: "x"}, nil)
		wantErr(t, "InsertJob before OpenJobs", err, store.ErrJobsNotStarted)
		createOp(t, tx, newOp("rolled-back", "t", true))
		if err := tx.UpdateTenantStatus(ctx, "t", "ROLLED_BACK", nil); err != nil {
			t.Error(err)
		}
		getOp(t, tx, "rolled-back") // its own writes are visible
		return errRollback
	})
	wantErr(t, "InTx", err, errRollback)
	_, err = h.s.GetOperation(ctx, "rolled-back")
	wantErr(t, "operation of a rolled back transaction", err, store.ErrNotFound)
	if got := get(t, h.s, "t"); got.State != "REGISTERED" {
		t.Errorf("state after rollback = %q", got.State)
	}

	err = h.s.InTx(ctx, func(tx store.Tx) error {
		op := createOp(t, tx, newOp("committed", "t", true))
		if err := tx.PutOperationSecret(ctx, op.ID, []byte("s")); err != nil {
			return err
		}
		return tx.UpdateTenantStatus(ctx, "t", "ONBOARDING", nil)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	getOp(t, h.s, "committed")
	if got := get(t, h.s, "t"); got.State != "ONBOARDING" {
		t.Errorf("state after commit = %q", got.State)
	}
	if _, err := h.s.GetOperationSecret(ctx, "committed"); err != nil {
		t.Errorf("secret after commit: %v", err)
	}
}

type recordArgs struct {
	ID string `json:"id"`
}

func (recordArgs) Kind() string { return "storetest_record" }

// recordWorker reports the id of every job it works.
type recordWorker struct {
	river.WorkerDefaults[recordArgs]
	ran chan string
}

func (w *recordWorker) Work(_ context.Context, job *river.Job[recordArgs]) error {
	w.ran <- job.Args.ID
	return nil
}

func testJobs(t *testing.T, h *harness) {
	ctx := t.Context()
	w := &recordWorker{ran: make(chan string, 10)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	jobs, err := h.s.OpenJobs(&river.Config{
		Workers:           workers,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		TestOnly:          true,
	})
	if err != nil {
		t.Fatalf("OpenJobs: %v", err)
	}
	// Before Start, so that the rolled back job would be there to work.
	err = h.s.InTx(ctx, func(tx store.Tx) error {
		createOp(t, tx, newOp("rolled-back", "t", false))
		if _, err := tx.InsertJob(ctx, recordArgs{ID: "rolled-back"}, nil); err != nil {
			t.Errorf("InsertJob: %v", err)
		}
		return errRollback
	})
	wantErr(t, "InTx", err, errRollback)
	err = h.s.InTx(ctx, func(tx store.Tx) error {
		jobID, err := tx.InsertJob(ctx, recordArgs{ID: "committed"}, nil)
		if err != nil {
			return err
		}
		if jobID == 0 {
			t.Error("InsertJob returned job id 0")
		}
		op := newOp("committed", "t", false)
		op.JobID = jobID
		createOp(t, tx, op)
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if got := getOp(t, h.s, "committed").JobID; got == 0 {
		t.Error("committed operation lost its job id")
	}
	// A job scheduled for later runs now once woken by Retry.
	var woken int64
	err = h.s.InTx(ctx, func(tx store.Tx) (err error) {
		woken, err = tx.InsertJob(ctx, recordArgs{ID: "woken"}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
		return err
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if err := jobs.Insert(ctx, recordArgs{ID: "outside"}, nil); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jobs.Stop(stopCtx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	if err := jobs.Retry(ctx, woken); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	var ran []string
	timeout := time.After(20 * time.Second)
	for len(ran) < 3 {
		select {
		case id := <-w.ran:
			ran = append(ran, id)
		case <-timeout:
			t.Fatalf("jobs run: %q; want committed, outside and woken", ran)
		}
	}
	select { // give a rolled back job (that should not exist) time to show
	case id := <-w.ran:
		ran = append(ran, id)
	case <-time.After(200 * time.Millisecond):
	}
	if slices.Sort(ran); !slices.Equal(ran, []string{"committed", "outside", "woken"}) {
		t.Errorf("jobs run: %q; want committed, outside and woken", ran)
	}
	_, err = h.s.GetOperation(ctx, "rolled-back")
	wantErr(t, "operation of the rolled back transaction", err, store.ErrNotFound)
	if _, err := h.s.OpenJobs(&river.Config{Workers: workers}); err == nil {
		t.Error("second OpenJobs succeeded")
	}
}

const idleState = "OPERATION_STATE_ACTION_REQUIRED"

// newBatch creates batch operation parent with n queued children
// parent-000..; child i acts on tenant "c<i>".
func newBatch(t *testing.T, s store.OperationStore, parent string, n int) {
	t.Helper()
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		createOp(t, tx, &store.Operation{ID: parent, Kind: "OPERATION_KIND_BATCH_ONBOARD", State: "OPERATION_STATE_RUNNING"})
		for i := range n {
			child := newOp(fmt.Sprintf("%s-%03d", parent, i), fmt.Sprintf("c%d", i), true)
			child.Parent, child.State = parent, "OPERATION_STATE_PENDING"
			createOp(t, tx, child)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// claim claims in one transaction and gives each claimed child a job id.
func claim(t *testing.T, s store.OperationStore, parent string, limit int) []string {
	t.Helper()
	var ids []string
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		ops, err := claimTx(t, tx, parent, limit)
		if err != nil {
			return err
		}
		for _, op := range ops {
			op.JobID = 1000 + int64(len(ids))
			if _, err := tx.UpdateOperation(t.Context(), op); err != nil {
				return err
			}
			ids = append(ids, op.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return ids
}

// claimTx claims as the engine does: up to limit children started and
// unfinished (all queued ones when limit < 0).
func claimTx(t *testing.T, tx store.Tx, parent string, limit int) ([]*store.Operation, error) {
	active, err := tx.LockBatch(t.Context(), parent, idleState)
	if err != nil {
		return nil, err
	}
	n := limit - active
	if limit < 0 {
		n = -1
	} else if n <= 0 {
		return nil, nil
	}
	return tx.ClaimChildren(t.Context(), parent, n)
}

func wantCounts(t *testing.T, s store.OperationReader, parent string, want store.ChildCounts) {
	t.Helper()
	got, err := s.CountChildren(t.Context(), parent)
	if err != nil {
		t.Fatalf("CountChildren: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountChildren = %+v, want %+v", got, want)
	}
}

func testBatchChildren(t *testing.T, h *harness) {
	newBatch(t, h.s, "b", 6)
	wantCounts(t, h.s, "b", store.ChildCounts{ByState: map[string]int{"OPERATION_STATE_PENDING": 6}, Queued: 6, Total: 6})

	if got := claim(t, h.s, "b", 2); !slices.Equal(got, []string{"b-000", "b-001"}) {
		t.Fatalf("first claim = %v, want the first two in id order", got)
	}
	if got := claim(t, h.s, "b", 2); len(got) != 0 {
		t.Fatalf("claim with 2 of 2 started = %v, want none", got)
	}
	started := getOp(t, h.s, "b-000")
	if started.JobID != 1000 {
		t.Errorf("JobID after UpdateOperation = %d, want 1000", started.JobID)
	}
	// An update without a JobID keeps the stored one.
	started.State = idleState
	started = updateOp(t, h.s, started)
	if started.JobID != 1000 {
		t.Errorf("JobID after an update with JobID 0 = %d, want it kept", started.JobID)
	}
	// A child waiting for a human does not count against the limit.
	if got := claim(t, h.s, "b", 2); !slices.Equal(got, []string{"b-002"}) {
		t.Fatalf("claim with one child idle = %v, want b-002", got)
	}
	finished := getOp(t, h.s, "b-001")
	finished.State, finished.Done = "OPERATION_STATE_SUCCEEDED", true
	updateOp(t, h.s, finished)
	wantCounts(t, h.s, "b", store.ChildCounts{ByState: map[string]int{
		"OPERATION_STATE_PENDING": 4, idleState: 1, "OPERATION_STATE_SUCCEEDED": 1,
	}, Queued: 3, Total: 6})
	if got := claim(t, h.s, "b", -1); !slices.Equal(got, []string{"b-003", "b-004", "b-005"}) {
		t.Fatalf("claim all = %v", got)
	}
	wantCounts(t, h.s, "no-such-batch", store.ChildCounts{ByState: map[string]int{}})
}

func updateOp(t *testing.T, s store.OperationWriter, op *store.Operation) *store.Operation {
	t.Helper()
	out, err := s.UpdateOperation(t.Context(), op)
	if err != nil {
		t.Fatalf("UpdateOperation(%q): %v", op.ID, err)
	}
	return out
}

// testClaimChildrenConcurrently: claimers racing on one batch never start
// a child twice, and together start every child.
func testClaimChildrenConcurrently(t *testing.T, h *harness) {
	const children, claimers = 60, 6
	newBatch(t, h.s, "race", children)
	var (
		mu  sync.Mutex
		all []string
		wg  sync.WaitGroup
	)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got []string
				err := h.s.InTx(t.Context(), func(tx store.Tx) error {
					got = nil
					ops, err := claimTx(t, tx, "race", 3)
					for _, op := range ops {
						op.JobID = 7
						if _, err := tx.UpdateOperation(t.Context(), op); err != nil {
							return err
						}
						op.State, op.Done, op.Version = "OPERATION_STATE_SUCCEEDED", true, op.Version+1
						if _, err := tx.UpdateOperation(t.Context(), op); err != nil {
							return err
						}
						got = append(got, op.ID)
					}
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					if c, err := h.s.CountChildren(t.Context(), "race"); err != nil || c.Queued == 0 {
						return
					}
					continue // the rest are another claimer's, not yet committed
				}
				mu.Lock()
				all = append(all, got...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(all)
	if len(all) != children || len(slices.Compact(slices.Clone(all))) != children {
		t.Fatalf("claimed %d children (%d distinct), want each of %d once", len(all), len(slices.Compact(all)), children)
	}
}

func testLeases(t *testing.T, h *harness) {
	ctx := t.Context()
	acquire := func(key, holder string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := h.s.AcquireLease(ctx, key, holder, ttl)
		if err != nil || got != want {
			t.Fatalf("AcquireLease(%s, %s) = %v, %v; want %v", key, holder, got, err, want)
		}
	}
	count := func(prefix string, want int) {
		t.Helper()
		if got, err := h.s.CountLeases(ctx, prefix); err != nil || got != want {
			t.Fatalf("CountLeases(%q) = %d, %v; want %d", prefix, got, err, want)
		}
	}
	acquire("streaming/t1", "a", time.Minute, true)
	acquire("streaming/t1", "b", time.Minute, false) // held by a
	acquire("streaming/t1", "a", time.Minute, true)  // a extends its own
	acquire("streaming/t2", "b", time.Minute, true)
	count("streaming/", 2)
	count("replica/", 0)
	if err := h.s.ReleaseLease(ctx, "streaming/t1", "b"); err != nil { // not b's: no effect
		t.Fatal(err)
	}
	acquire("streaming/t1", "b", time.Minute, false)
	if err := h.s.ReleaseLease(ctx, "streaming/t1", "a"); err != nil {
		t.Fatal(err)
	}
	acquire("streaming/t1", "b", time.Minute, true)
	// An expired lease is anyone's and no longer counted.
	acquire("replica/x", "x", 50*time.Millisecond, true)
	count("replica/", 1)
	time.Sleep(100 * time.Millisecond)
	count("replica/", 0)
	acquire("replica/x", "y", time.Minute, true)
}
