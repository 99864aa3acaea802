package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/xdrlink/xdrlink/store"
)

// scopeCases test access groups and the scopes of lists.
var scopeCases = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"AccessGroupRoundTrip", testAccessGroupRoundTrip},
	{"TenantScope", testTenantScope},
	{"OperationScope", testOperationScope},
	{"UpdateTenantMovesOperations", testUpdateTenantMovesOperations},
	{"UpdateTenantMovesOperationsInTx", testUpdateTenantMovesOperationsInTx},
	{"ConcurrentGroupMoves", testConcurrentGroupMoves},
	{"OperationTakesTenantGroup", testOperationTakesTenantGroup},
	{"ScopePageTokens", testScopePageTokens},
}

func inGroup(id, group string) *store.Tenant {
	t := newTenant(id, "REGISTERED", nil)
	t.AccessGroup = group
	return t
}

func scope(caller string, groups ...string) *store.Scope {
	return &store.Scope{AccessGroups: groups, Caller: caller}
}

func testAccessGroupRoundTrip(t *testing.T, h *harness) {
	ctx := t.Context()
	one := create(t, h.s, inGroup("one", "g1"))
	if one.AccessGroup != "g1" {
		t.Errorf("CreateTenant AccessGroup = %q, want g1", one.AccessGroup)
	}
	wantEqual(t, "GetTenant", get(t, h.s, "one"), one)

	batch, err := h.s.CreateTenants(ctx, []*store.Tenant{inGroup("b1", "g2"), inGroup("b2", ""), inGroup("b3", "g1")})
	if err != nil {
		t.Fatalf("CreateTenants: %v", err)
	}
	for i, want := range []string{"g2", "", "g1"} {
		if batch[i].AccessGroup != want {
			t.Errorf("CreateTenants[%d] AccessGroup = %q, want %q", i, batch[i].AccessGroup, want)
		}
		wantEqual(t, "GetTenant("+batch[i].ID+")", get(t, h.s, batch[i].ID), batch[i])
	}

	// An update replaces the group, to another and to none.
	for _, group := range []string{"g3", ""} {
		in := inGroup("one", group)
		up, err := h.s.UpdateTenant(ctx, in, "")
		if err != nil {
			t.Fatalf("UpdateTenant(group %q): %v", group, err)
		}
		if up.AccessGroup != group {
			t.Errorf("UpdateTenant AccessGroup = %q, want %q", up.AccessGroup, group)
		}
		wantEqual(t, "GetTenant after update", get(t, h.s, "one"), up)
	}
	// Lists read it back too.
	want := map[string]string{"b1": "g2", "b2": "", "b3": "g1", "one": ""}
	for _, got := range listAll(t, h.s, store.TenantQuery{}) {
		if got.AccessGroup != want[got.ID] {
			t.Errorf("listed %q: AccessGroup = %q, want %q", got.ID, got.AccessGroup, want[got.ID])
		}
	}
}

func testTenantScope(t *testing.T, h *harness) {
	for _, tc := range []struct{ id, group, state, env string }{
		{"t0", "a", "ACTIVE", "prod"},
		{"t1", "b", "ACTIVE", "dev"},
		{"t2", "", "ACTIVE", "prod"},
		{"t3", "a", "PAUSED", "dev"},
		{"t4", "b", "PAUSED", "prod"},
		{"t5", "a", "ACTIVE", "prod"},
		{"t6", "c", "ACTIVE", "prod"},
		{"t7", "", "PAUSED", "dev"},
		{"t8", "a", "ACTIVE", "dev"},
	} {
		in := newTenant(tc.id, tc.state, map[string]string{"env": tc.env})
		in.AccessGroup = tc.group
		create(t, h.s, in)
	}
	for i, id := range []string{"t0", "t1", "t2", "t3"} {
		createVerification(t, h.s, newVerification(id, "v", "VERDICT_STALE", reportTime(i)), 0)
	}
	prod := map[string]string{"env": "prod"}
	for _, tc := range []struct {
		name string
		q    store.TenantQuery
		want []string
	}{
		{"unscoped", store.TenantQuery{}, []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"}},
		{"one group", store.TenantQuery{Scope: scope("", "a")}, []string{"t0", "t3", "t5", "t8"}},
		{"two groups", store.TenantQuery{Scope: scope("", "a", "b")}, []string{"t0", "t1", "t3", "t4", "t5", "t8"}},
		{"unsorted groups, repeated", store.TenantQuery{Scope: scope("", "b", "a", "a")}, []string{"t0", "t1", "t3", "t4", "t5", "t8"}},
		{"no groups", store.TenantQuery{Scope: scope("")}, nil},
		{"empty list", store.TenantQuery{Scope: &store.Scope{AccessGroups: []string{}}}, nil},
		{"the empty group", store.TenantQuery{Scope: scope("", "")}, nil},
		{"the empty group and another", store.TenantQuery{Scope: scope("", "", "c")}, []string{"t6"}},
		{"caller only (ignored for tenants)", store.TenantQuery{Scope: scope("t0")}, nil},
		{"unknown group", store.TenantQuery{Scope: scope("", "zz")}, nil},
		{"groups and state", store.TenantQuery{Scope: scope("", "a", "b"), State: "ACTIVE"}, []string{"t0", "t1", "t5", "t8"}},
		{"groups and labels", store.TenantQuery{Scope: scope("", "a", "b"), Labels: prod}, []string{"t0", "t4", "t5"}},
		{"groups, state and labels", store.TenantQuery{Scope: scope("", "a", "b"), State: "ACTIVE", Labels: prod}, []string{"t0", "t5"}},
		{"group and verdict", store.TenantQuery{Scope: scope("", "a"), Verdict: "VERDICT_STALE"}, []string{"t0", "t3"}},
		{"empty group and verdict", store.TenantQuery{Scope: scope("", ""), Verdict: "VERDICT_STALE"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{0, 1, 2, 5} {
				q := tc.q
				q.PageSize = size
				if got := ids(listAll(t, h.s, q)); !slices.Equal(got, tc.want) {
					t.Errorf("page size %d: got %q, want %q", size, got, tc.want)
				}
			}
		})
	}
}

// newestFirst returns the ids of those of ops named in keep, newest first
// (create time, then id, both descending): the order of operation lists.
func newestFirst(ops []*store.Operation, keep ...string) []string {
	sorted := slices.Clone(ops)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if !a.CreateTime.Equal(b.CreateTime) {
			return a.CreateTime.After(b.CreateTime)
		}
		return a.ID > b.ID
	})
	var out []string
	for _, op := range sorted {
		if slices.Contains(keep, op.ID) {
			out = append(out, op.ID)
		}
	}
	return out
}

func testOperationScope(t *testing.T, h *harness) {
	var created []*store.Operation
	for _, in := range []*store.Operation{
		{ID: "o0", Tenant: "ta1", AccessGroup: "a", Caller: "alice"},
		{ID: "o1", Tenant: "tb1", AccessGroup: "b", Caller: "bob"},
		{ID: "o2", AccessGroup: "", Caller: "alice"}, // a batch across groups
		{ID: "o3", Tenant: "tn", AccessGroup: "", Caller: ""},
		{ID: "o4", Tenant: "ta2", AccessGroup: "a", State: "FAILED"},
		{ID: "o5", Tenant: "tc", AccessGroup: "c", Caller: "bob", Parent: "batch"},
		{ID: "o6", Tenant: "tb1", AccessGroup: "b", Caller: "alice", Kind: "OFFBOARD"},
		{ID: "o7", AccessGroup: "", Caller: "bob"},
	} {
		if in.Kind == "" {
			in.Kind = "ONBOARD"
		}
		if in.State == "" {
			in.State = "RUNNING"
		}
		out := createOp(t, h.s, in)
		if out.AccessGroup != in.AccessGroup || out.Caller != in.Caller {
			t.Errorf("CreateOperation(%q) = group %q, caller %q; want %q, %q", in.ID, out.AccessGroup, out.Caller, in.AccessGroup, in.Caller)
		}
		wantOpEqual(t, "GetOperation("+in.ID+")", getOp(t, h.s, in.ID), out)
		created = append(created, out)
	}
	for _, tc := range []struct {
		name string
		q    store.OperationQuery
		want []string // in any order; the list's is newest first
	}{
		{"unscoped", store.OperationQuery{}, []string{"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"}},
		{"one group", store.OperationQuery{Scope: scope("", "a")}, []string{"o0", "o4"}},
		{"two groups", store.OperationQuery{Scope: scope("", "a", "b")}, []string{"o0", "o1", "o4", "o6"}},
		{"group or caller", store.OperationQuery{Scope: scope("alice", "a")}, []string{"o0", "o2", "o4", "o6"}},
		{"caller only", store.OperationQuery{Scope: scope("alice")}, []string{"o0", "o2", "o6"}},
		{"nothing", store.OperationQuery{Scope: scope("")}, nil},
		{"the empty group", store.OperationQuery{Scope: scope("", "")}, nil},
		{"the empty group and a caller", store.OperationQuery{Scope: scope("bob", "")}, []string{"o1", "o5", "o7"}},
		{"unknown caller", store.OperationQuery{Scope: scope("carol", "c")}, []string{"o5"}},
		{"scope and kind", store.OperationQuery{Scope: scope("bob", "a", "b"), Kind: "OFFBOARD"}, []string{"o6"}},
		{"scope and tenant", store.OperationQuery{Scope: scope("alice", "a"), Tenant: "tb1"}, []string{"o6"}},
		{"scope and parent", store.OperationQuery{Scope: scope("alice", "c"), Parent: "batch"}, []string{"o5"}},
		{"scope and state", store.OperationQuery{Scope: scope("", "a"), State: "FAILED"}, []string{"o4"}},
		{"scope and state, none", store.OperationQuery{Scope: scope("bob", "b"), State: "FAILED"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := newestFirst(created, tc.want...)
			if len(want) != len(tc.want) {
				t.Fatalf("bad test: %q not all created", tc.want)
			}
			for _, size := range []int{0, 1, 2, 3} {
				q := tc.q
				q.PageSize = size
				if got := listOps(t, h.s, q); !slices.Equal(got, want) {
					t.Errorf("page size %d: got %q, want %q", size, got, want)
				}
			}
		})
	}
}

// wantGroups requires each operation's AccessGroup, and that the move left
// everything else as it was (before: the operations as created).
func wantGroups(t *testing.T, what string, s store.OperationReader, before map[string]*store.Operation, want map[string]string) {
	t.Helper()
	for id, group := range want {
		got := getOp(t, s, id)
		w := *before[id]
		w.AccessGroup = group
		wantOpEqual(t, fmt.Sprintf("%s: operation %s", what, id), got, &w)
	}
}

// groupFixture creates tenants t (group a) and u (group a) and operations
// of them: t1 and t2 of t, u1 of u, and batch (no tenant) in group a.
func groupFixture(t *testing.T, h *harness) map[string]*store.Operation {
	create(t, h.s, inGroup("t", "a"))
	create(t, h.s, inGroup("u", "a"))
	ops := map[string]*store.Operation{}
	for _, in := range []*store.Operation{
		{ID: "t1", Tenant: "t", Kind: "K", State: "RUNNING", AccessGroup: "a", Caller: "alice", Exclusive: true},
		{ID: "t2", Tenant: "t", Kind: "K", State: "DONE", AccessGroup: "a", Done: true},
		{ID: "u1", Tenant: "u", Kind: "K", State: "RUNNING", AccessGroup: "a"},
		{ID: "batch", Kind: "K", State: "RUNNING", AccessGroup: "a", Caller: "alice"},
	} {
		ops[in.ID] = createOp(t, h.s, in)
	}
	return ops
}

func testUpdateTenantMovesOperations(t *testing.T, h *harness) {
	ctx := t.Context()
	ops := groupFixture(t, h)
	up, err := h.s.UpdateTenant(ctx, inGroup("t", "b"), "")
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	// Only t's operations move; their Version and UpdateTime stay, so that a
	// worker's update of them (compared by Version) still succeeds.
	wantGroups(t, "after the move", h.s, ops, map[string]string{"t1": "b", "t2": "b", "u1": "a", "batch": "a"})
	if got := listOps(t, h.s, store.OperationQuery{Scope: scope("", "b")}); !slices.Equal(got, newestFirst(mapValues(ops), "t1", "t2")) {
		t.Errorf("operations of group b = %q, want t1 and t2", got)
	}
	if got := listOps(t, h.s, store.OperationQuery{Scope: scope("", "a")}); !slices.Equal(got, newestFirst(mapValues(ops), "u1", "batch")) {
		t.Errorf("operations of group a = %q, want u1 and batch", got)
	}
	moved := updateOp(t, h.s, getOp(t, h.s, "t1"))
	if moved.AccessGroup != "b" || moved.Version != 2 {
		t.Errorf("UpdateOperation after the move = group %q, version %d; want b, 2", moved.AccessGroup, moved.Version)
	}
	ops["t1"] = moved

	// An update that keeps the group changes no operation.
	keep := inGroup("t", "b")
	keep.Labels = map[string]string{"x": "y"}
	if _, err := h.s.UpdateTenant(ctx, keep, up.Etag); err != nil {
		t.Fatalf("UpdateTenant keeping the group: %v", err)
	}
	wantGroups(t, "after an update keeping the group", h.s, ops, map[string]string{"t1": "b", "t2": "b", "u1": "a", "batch": "a"})

	// A failed update moves nothing.
	_, err = h.s.UpdateTenant(ctx, inGroup("t", "c"), "stale")
	wantErr(t, "UpdateTenant with a stale etag", err, store.ErrEtagMismatch)
	wantGroups(t, "after a failed update", h.s, ops, map[string]string{"t1": "b", "t2": "b", "u1": "a", "batch": "a"})

	// Back to no group: the operations are unscoped-only again.
	if _, err := h.s.UpdateTenant(ctx, inGroup("t", ""), ""); err != nil {
		t.Fatalf("UpdateTenant to no group: %v", err)
	}
	wantGroups(t, "after leaving the group", h.s, ops, map[string]string{"t1": "", "t2": "", "u1": "a", "batch": "a"})
	if got := listOps(t, h.s, store.OperationQuery{Scope: scope("", "b", "")}); len(got) != 0 {
		t.Errorf("operations of group b after the tenant left it = %q, want none", got)
	}
}

func testUpdateTenantMovesOperationsInTx(t *testing.T, h *harness) {
	ctx := t.Context()
	ops := groupFixture(t, h)
	// Rolled back: nothing moves.
	err := h.s.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UpdateTenant(ctx, inGroup("t", "c"), ""); err != nil {
			t.Errorf("Tx.UpdateTenant: %v", err)
		}
		if got := getOp(t, tx, "t1").AccessGroup; got != "c" {
			t.Errorf("group of t1 inside the transaction = %q, want c", got)
		}
		return errRollback
	})
	wantErr(t, "InTx", err, errRollback)
	if got := get(t, h.s, "t").AccessGroup; got != "a" {
		t.Errorf("tenant group after rollback = %q, want a", got)
	}
	wantGroups(t, "after rollback", h.s, ops, map[string]string{"t1": "a", "t2": "a", "u1": "a", "batch": "a"})

	// A taken workspace fails the update, and nothing moves. (In a
	// transaction the conflict may not name the holder: on PostgreSQL the
	// violation aborts the transaction.)
	create(t, h.s, withWorkspace("w", "sub/rg/ws"))
	err = h.s.InTx(ctx, func(tx store.Tx) error {
		in := withWorkspace("t", "sub/rg/ws")
		in.AccessGroup = "z"
		_, err := tx.UpdateTenant(ctx, in, "")
		var ce *store.ConflictError
		if !errors.As(err, &ce) || ce.Rule != store.ConflictWorkspace {
			t.Errorf("Tx.UpdateTenant to a taken workspace = %v, want a workspace conflict", err)
		}
		return err
	})
	wantErr(t, "InTx", err, store.ErrConflict)
	wantGroups(t, "after a workspace conflict", h.s, ops, map[string]string{"t1": "a", "t2": "a", "u1": "a", "batch": "a"})

	err = h.s.InTx(ctx, func(tx store.Tx) error {
		up, err := tx.UpdateTenant(ctx, inGroup("t", "c"), "")
		if err != nil {
			return err
		}
		if up.AccessGroup != "c" {
			t.Errorf("Tx.UpdateTenant AccessGroup = %q, want c", up.AccessGroup)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if got := get(t, h.s, "t").AccessGroup; got != "c" {
		t.Errorf("tenant group after commit = %q, want c", got)
	}
	wantGroups(t, "after commit", h.s, ops, map[string]string{"t1": "c", "t2": "c", "u1": "a", "batch": "a"})
	if got := listOps(t, h.s, store.OperationQuery{Scope: scope("", "c")}); !slices.Equal(got, newestFirst(mapValues(ops), "t1", "t2")) {
		t.Errorf("operations of group c = %q, want t1 and t2", got)
	}
}

// testConcurrentGroupMoves: concurrent updates of one tenant, back and
// forth between two groups, leave its operations in the tenant's group,
// whichever update commits last. (An update that decided what to move from
// a view older than the update before it would leave them behind.)
func testConcurrentGroupMoves(t *testing.T, h *harness) {
	ctx := t.Context()
	create(t, h.s, inGroup("t", "a"))
	for i := range 5 {
		createOp(t, h.s, &store.Operation{ID: fmt.Sprintf("op%d", i), Tenant: "t", Kind: "K", State: "S", AccessGroup: "a"})
	}
	for round := range 5 {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				group := []string{"a", "b"}[i%2]
				if _, err := h.s.UpdateTenant(ctx, inGroup("t", group), ""); err != nil {
					t.Errorf("UpdateTenant(%s): %v", group, err)
				}
			})
		}
		wg.Wait()
		group := get(t, h.s, "t").AccessGroup
		for i := range 5 {
			if got := getOp(t, h.s, fmt.Sprintf("op%d", i)).AccessGroup; got != group {
				t.Fatalf("round %d: op%d group = %q, want the tenant's, %q", round, i, got, group)
			}
		}
	}
}

// testOperationTakesTenantGroup: an operation on a registered tenant is
// stored in the tenant's group, whatever the caller read earlier, even
// while the tenant moves between groups; a batch (no tenant) or an
// operation on a tenant the store does not hold keeps the group given.
func testOperationTakesTenantGroup(t *testing.T, h *harness) {
	ctx := t.Context()
	create(t, h.s, inGroup("t", "a"))
	createOp(t, h.s, &store.Operation{ID: "stale", Tenant: "t", Kind: "K", State: "S", AccessGroup: "before-the-move"})
	createOp(t, h.s, &store.Operation{ID: "batch", Kind: "K", State: "S", AccessGroup: "b"})
	createOp(t, h.s, &store.Operation{ID: "gone", Tenant: "gone", Kind: "K", State: "S", AccessGroup: "c"})
	for id, want := range map[string]string{"stale": "a", "batch": "b", "gone": "c"} {
		if got := getOp(t, h.s, id).AccessGroup; got != want {
			t.Errorf("%s: group %q, want %q", id, got, want)
		}
	}

	// Moves and creations at once: afterwards every operation of the
	// tenant is in its group.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := h.s.UpdateTenant(ctx, inGroup("t", []string{"a", "b"}[i/2%2]), ""); err != nil {
					t.Errorf("UpdateTenant: %v", err)
				}
				return
			}
			if _, err := h.s.CreateOperation(ctx, &store.Operation{ID: fmt.Sprintf("op%d", i), Tenant: "t", Kind: "K", State: "S", AccessGroup: "a"}); err != nil {
				t.Errorf("CreateOperation: %v", err)
			}
		})
	}
	wg.Wait()
	group := get(t, h.s, "t").AccessGroup
	for i := 1; i < 20; i += 2 {
		if got := getOp(t, h.s, fmt.Sprintf("op%d", i)).AccessGroup; got != group {
			t.Errorf("op%d group = %q, want the tenant's, %q", i, got, group)
		}
	}
}

func mapValues(m map[string]*store.Operation) []*store.Operation {
	out := make([]*store.Operation, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func testScopePageTokens(t *testing.T, h *harness) {
	ctx := t.Context()
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		create(t, h.s, inGroup(id, "a"))
		createOp(t, h.s, &store.Operation{ID: id, Tenant: id, Kind: "K", State: "S", AccessGroup: "a", Caller: "alice"})
	}
	ops, err := h.s.ListOperations(ctx, store.OperationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	allOps := newestFirst(ops.Operations, "a1", "a2", "a3", "a4", "a5")

	t.Run("tenants", func(t *testing.T) {
		tenantToken := func(q store.TenantQuery) string {
			t.Helper()
			q.PageSize = 2
			page, err := h.s.ListTenants(ctx, q)
			if err != nil || page.NextPageToken == "" {
				t.Fatalf("ListTenants(%+v) = %v; want a next token", q, err)
			}
			return page.NextPageToken
		}
		scoped := tenantToken(store.TenantQuery{Scope: scope("", "a", "b")})
		unscoped := tenantToken(store.TenantQuery{})
		for name, q := range map[string]store.TenantQuery{
			"scoped token, unscoped":     {PageToken: scoped},
			"scoped token, other groups": {PageToken: scoped, Scope: scope("", "a")},
			"scoped token, more groups":  {PageToken: scoped, Scope: scope("", "a", "b", "c")},
			"scoped token, a caller":     {PageToken: scoped, Scope: scope("alice", "a", "b")},
			"scoped token, no groups":    {PageToken: scoped, Scope: scope("")},
			"unscoped token, scoped":     {PageToken: unscoped, Scope: scope("", "a")},
			"unscoped token, no groups":  {PageToken: unscoped, Scope: scope("")},
		} {
			_, err := h.s.ListTenants(ctx, q)
			wantErr(t, "ListTenants("+name+")", err, store.ErrInvalidPageToken)
		}
		// Valid under the same scope (groups in any order), and an
		// unscoped token stays valid unscoped.
		for name, q := range map[string]store.TenantQuery{
			"same scope":      {PageToken: scoped, Scope: scope("", "b", "a")},
			"still unscoped":  {PageToken: unscoped},
			"same, page size": {PageToken: scoped, Scope: scope("", "a", "b"), PageSize: 10},
		} {
			if got := ids(listAll(t, h.s, q)); !slices.Equal(got, []string{"a3", "a4", "a5"}) {
				t.Errorf("ListTenants(%s) = %q, want [a3 a4 a5]", name, got)
			}
		}
	})

	t.Run("operations", func(t *testing.T) {
		opToken := func(q store.OperationQuery) string {
			t.Helper()
			q.PageSize = 2
			page, err := h.s.ListOperations(ctx, q)
			if err != nil || page.NextPageToken == "" {
				t.Fatalf("ListOperations(%+v) = %v; want a next token", q, err)
			}
			return page.NextPageToken
		}
		scoped := opToken(store.OperationQuery{Scope: scope("alice", "a")})
		unscoped := opToken(store.OperationQuery{})
		for name, q := range map[string]store.OperationQuery{
			"scoped token, unscoped":      {PageToken: scoped},
			"scoped token, other caller":  {PageToken: scoped, Scope: scope("bob", "a")},
			"scoped token, no caller":     {PageToken: scoped, Scope: scope("", "a")},
			"scoped token, other groups":  {PageToken: scoped, Scope: scope("alice", "a", "b")},
			"scoped token, group as call": {PageToken: scoped, Scope: scope("a", "alice")},
			"unscoped token, scoped":      {PageToken: unscoped, Scope: scope("alice", "a")},
			"unscoped token, empty scope": {PageToken: unscoped, Scope: scope("")},
		} {
			_, err := h.s.ListOperations(ctx, q)
			wantErr(t, "ListOperations("+name+")", err, store.ErrInvalidPageToken)
		}
		for name, q := range map[string]store.OperationQuery{
			"same scope":     {PageToken: scoped, Scope: scope("alice", "a")},
			"still unscoped": {PageToken: unscoped},
		} {
			if got := listOps(t, h.s, q); !slices.Equal(got, allOps[2:]) {
				t.Errorf("ListOperations(%s) = %q, want %q", name, got, allOps[2:])
			}
		}
		// Nor is a scoped tenant token an operation token.
		_, err := h.s.ListOperations(ctx, store.OperationQuery{Scope: scope("alice", "a"),
			PageToken: store.EncodePageToken("a1", store.TenantQuery{Scope: scope("alice", "a")})})
		if !errors.Is(err, store.ErrInvalidPageToken) {
			t.Errorf("ListOperations(scoped tenant token) = %v, want %v", err, store.ErrInvalidPageToken)
		}
	})
}
