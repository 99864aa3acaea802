package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/xdrlink/xdrlink/store"
)

// createTenantsCases test CreateTenants.
var createTenantsCases = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"CreateTenantsRoundTrip", testCreateTenantsRoundTrip},
	{"CreateTenantsAllOrNothing", testCreateTenantsAllOrNothing},
	{"CreateTenantsIDTaken", testCreateTenantsIDTaken},
	{"CreateTenantsWorkspaceTaken", testCreateTenantsWorkspaceTaken},
	{"CreateTenantsDuplicatesInBatch", testCreateTenantsDuplicatesInBatch},
	{"CreateTenantsThousand", testCreateTenantsThousand},
	{"ConcurrentCreateTenants", testConcurrentCreateTenants},
}

func withWorkspace(id, key string) *store.Tenant {
	t := newTenant(id, "REGISTERED", map[string]string{"batch": "yes"})
	t.WorkspaceKey = key
	return t
}

// wantItem requires err to be want (errors.Is) inside an *ItemError for
// item index.
func wantItem(t *testing.T, what string, err error, index int, want error) {
	t.Helper()
	var ie *store.ItemError
	if !errors.As(err, &ie) {
		t.Errorf("%s: got error %v, want an *ItemError for item %d", what, err, index)
		return
	}
	if ie.Index != index {
		t.Errorf("%s: error names item %d, want %d (%v)", what, ie.Index, index, err)
	}
	wantErr(t, what, err, want)
}

// wantAbsent requires that none of ids is stored.
func wantAbsent(t *testing.T, s store.Store, what string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.GetTenant(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: tenant %q is stored (GetTenant: %v), want nothing stored", what, id, err)
		}
	}
}

func testCreateTenantsRoundTrip(t *testing.T, h *harness) {
	ins := []*store.Tenant{
		withWorkspace("b", "sub/rg/ws-b"),
		{ID: "a-no-labels-no-body", State: "REGISTERED"},
		withWorkspace("c", ""), // no workspace key: never collides
		withWorkspace("d", ""),
		newTenant(`it's "quoted"; --`, "OTHER", map[string]string{"it's": `"x"`}),
	}
	ins[0].Status = []byte("ignored on create")
	sent := make([]store.Tenant, len(ins))
	for i, in := range ins {
		sent[i] = *in
	}
	out, err := h.s.CreateTenants(t.Context(), ins)
	if err != nil {
		t.Fatalf("CreateTenants: %v", err)
	}
	if len(out) != len(ins) {
		t.Fatalf("CreateTenants returned %d tenants, want %d", len(out), len(ins))
	}
	etags := map[string]bool{}
	for i, got := range out {
		want := sent[i]
		want.Status = nil
		if got.Etag == "" || etags[got.Etag] {
			t.Errorf("tenant %d: etag %q empty or repeated", i, got.Etag)
		}
		etags[got.Etag] = true
		checkStoreTime(t, "CreateTime", got.CreateTime)
		if !got.CreateTime.Equal(out[0].CreateTime) || !got.UpdateTime.Equal(got.CreateTime) {
			t.Errorf("tenant %d: times %v/%v, want both %v as the whole batch", i, got.CreateTime, got.UpdateTime, out[0].CreateTime)
		}
		want.Etag, want.CreateTime, want.UpdateTime = got.Etag, got.CreateTime, got.CreateTime
		wantEqual(t, fmt.Sprintf("CreateTenants result %d", i), got, &want)
		wantEqual(t, "GetTenant after CreateTenants", get(t, h.s, got.ID), got)
	}
	if got, want := ids(listAll(t, h.s, store.TenantQuery{})), slices.Sorted(slices.Values(ids(out))); !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}

	none, err := h.s.CreateTenants(t.Context(), nil)
	if err != nil || len(none) != 0 {
		t.Errorf("CreateTenants(nil) = %d tenants, %v; want none and no error", len(none), err)
	}
}

// testCreateTenantsAllOrNothing: a conflict in the middle of a batch stores
// none of it, and the store goes on serving writes (on SQLite the writer
// connection is released).
func testCreateTenantsAllOrNothing(t *testing.T, h *harness) {
	taken := create(t, h.s, withWorkspace("taken", "sub/rg/taken"))
	for _, tc := range []struct {
		name   string
		middle *store.Tenant
		want   error
	}{
		{"id", withWorkspace("taken", "sub/rg/new"), store.ErrAlreadyExists},
		{"workspace", withWorkspace("m", "sub/rg/taken"), store.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := []*store.Tenant{withWorkspace("a", "sub/rg/a"), withWorkspace("b", "sub/rg/b"), tc.middle,
				withWorkspace("c", "sub/rg/c"), withWorkspace("d", "sub/rg/d")}
			_, err := h.s.CreateTenants(t.Context(), batch)
			wantItem(t, "CreateTenants", err, 2, tc.want)
			wantAbsent(t, h.s, "after the failed batch", "a", "b", "m", "c", "d")
			wantEqual(t, "the tenant collided with", get(t, h.s, "taken"), taken)
		})
	}
	// The same tenants without the collision are stored: nothing of the
	// failed batches remains to collide with.
	out, err := h.s.CreateTenants(t.Context(), []*store.Tenant{withWorkspace("a", "sub/rg/a"), withWorkspace("b", "sub/rg/b")})
	if err != nil || len(out) != 2 {
		t.Fatalf("CreateTenants after the failures = %d tenants, %v", len(out), err)
	}
	create(t, h.s, withWorkspace("e", "sub/rg/e"))
}

func testCreateTenantsIDTaken(t *testing.T, h *harness) {
	orig := create(t, h.s, withWorkspace("x", "sub/rg/x"))
	_, err := h.s.CreateTenants(t.Context(), []*store.Tenant{withWorkspace("y", "sub/rg/y"), withWorkspace("x", "sub/rg/other")})
	wantItem(t, "CreateTenants with a taken id", err, 1, store.ErrAlreadyExists)
	wantAbsent(t, h.s, "after the failed batch", "y")
	wantEqual(t, "the existing tenant", get(t, h.s, "x"), orig)

	// The id rule comes first, as for CreateTenant.
	_, err = h.s.CreateTenants(t.Context(), []*store.Tenant{withWorkspace("x", "sub/rg/x")})
	wantItem(t, "CreateTenants with a taken id and workspace", err, 0, store.ErrAlreadyExists)
}

func testCreateTenantsWorkspaceTaken(t *testing.T, h *harness) {
	create(t, h.s, withWorkspace("holder", "sub/rg/ws"))
	_, err := h.s.CreateTenants(t.Context(), []*store.Tenant{
		withWorkspace("p", "sub/rg/p"), withWorkspace("q", "sub/rg/q"), withWorkspace("r", "sub/rg/ws")})
	wantItem(t, "CreateTenants with a taken workspace", err, 2, store.ErrConflict)
	wantConflict(t, "CreateTenants with a taken workspace", err, store.ConflictWorkspace, "holder")
	wantAbsent(t, h.s, "after the failed batch", "p", "q", "r")
}

func testCreateTenantsDuplicatesInBatch(t *testing.T, h *harness) {
	_, err := h.s.CreateTenants(t.Context(), []*store.Tenant{
		withWorkspace("one", "sub/rg/1"), withWorkspace("two", "sub/rg/2"), withWorkspace("one", "sub/rg/3")})
	wantItem(t, "CreateTenants with an id twice", err, 2, store.ErrAlreadyExists)
	wantAbsent(t, h.s, "after the failed batch", "one", "two")

	_, err = h.s.CreateTenants(t.Context(), []*store.Tenant{
		withWorkspace("one", "sub/rg/1"), withWorkspace("two", "sub/rg/2"), withWorkspace("three", "sub/rg/1")})
	wantItem(t, "CreateTenants with a workspace twice", err, 2, store.ErrConflict)
	wantConflict(t, "CreateTenants with a workspace twice", err, store.ConflictWorkspace, "one")
	wantAbsent(t, h.s, "after the failed batch", "one", "two", "three")
}

// testCreateTenantsThousand: a batch of the API's largest size is stored
// whole, and one whose last tenant collides is not stored at all.
func testCreateTenantsThousand(t *testing.T, h *harness) {
	const n = 1000
	batch := func(prefix string) []*store.Tenant {
		ts := make([]*store.Tenant, n)
		for i := range ts {
			id := fmt.Sprintf("%s%04d", prefix, i)
			ts[i] = withWorkspace(id, "sub/rg/"+id)
		}
		return ts
	}
	out, err := h.s.CreateTenants(t.Context(), batch("t"))
	if err != nil {
		t.Fatalf("CreateTenants(%d): %v", n, err)
	}
	listed := listAll(t, h.s, store.TenantQuery{PageSize: store.MaxPageSize})
	if len(listed) != n {
		t.Fatalf("listed %d tenants, want %d", len(listed), n)
	}
	for i, got := range listed {
		wantEqual(t, "listed tenant", got, out[i])
	}

	late := batch("u")
	late[n-1].WorkspaceKey = "sub/rg/t0500"
	_, err = h.s.CreateTenants(t.Context(), late)
	wantItem(t, "CreateTenants whose last tenant collides", err, n-1, store.ErrConflict)
	wantConflict(t, "CreateTenants whose last tenant collides", err, store.ConflictWorkspace, "t0500")
	if got := len(listAll(t, h.s, store.TenantQuery{PageSize: store.MaxPageSize})); got != n {
		t.Errorf("%d tenants after the failed batch, want %d", got, n)
	}
}

// testConcurrentCreateTenants runs overlapping batches at once, half of them
// in the reverse order (which may deadlock on PostgreSQL): exactly one
// batch is stored whole, every other fails on the id rule.
func testConcurrentCreateTenants(t *testing.T, h *harness) {
	const n = 10
	var ids []string
	for i := range 200 {
		ids = append(ids, fmt.Sprintf("k%03d", i))
	}
	results := make([][]*store.Tenant, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		order := slices.Clone(ids)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		wg.Go(func() {
			batch := make([]*store.Tenant, len(order))
			for j, id := range order {
				batch[j] = withWorkspace(id, fmt.Sprintf("sub/rg/%s", id))
				batch[j].State = fmt.Sprintf("S%d", i)
			}
			<-start
			results[i], errs[i] = h.s.CreateTenants(t.Context(), batch)
		})
	}
	close(start)
	wg.Wait()
	var winner []*store.Tenant
	for i, err := range errs {
		switch {
		case err == nil && winner == nil:
			winner = results[i]
		case err == nil:
			t.Errorf("batch %d succeeded too", i)
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Errorf("batch %d: got %v, want %v", i, err, store.ErrAlreadyExists)
		}
	}
	if winner == nil {
		t.Fatal("no batch succeeded")
	}
	for _, w := range winner {
		wantEqual(t, "GetTenant after concurrent batches", get(t, h.s, w.ID), w)
	}
}
