package storetest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/store"
)

// Opener opens a fresh, empty, migrated store for one test. reopen opens the
// same database again, or is nil if the backend cannot (in memory); it may
// call t.Fatal. The suite closes every store it is given; the opener removes
// the database itself with t.Cleanup.
type Opener func(t *testing.T) (s store.Store, reopen func() store.Store)

// RunConformance runs the suite, each case in parallel on its own store.
func RunConformance(t *testing.T, open Opener) {
	cases := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"CreateGetRoundTrip", testCreateGetRoundTrip},
		{"CreateIgnoresCallerEtagAndTimes", testCreateIgnoresCallerEtagAndTimes},
		{"GetMissing", testGetMissing},
		{"CreateDuplicate", testCreateDuplicate},
		{"Update", testUpdate},
		{"UpdateStaleEtag", testUpdateStaleEtag},
		{"UpdateRequireState", testUpdateRequireState},
		{"UpdateMissing", testUpdateMissing},
		{"Delete", testDelete},
		{"DeleteStaleEtag", testDeleteStaleEtag},
		{"DeleteMissing", testDeleteMissing},
		{"RecreateGetsNewEtag", testRecreateGetsNewEtag},
		{"ListOrder", testListOrder},
		{"ListEmpty", testListEmpty},
		{"Pagination", testPagination},
		{"PageSizeAboveMax", testPageSizeAboveMax},
		{"Filters", testFilters},
		{"InvalidPageToken", testInvalidPageToken},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentCreates", testConcurrentCreates},
		{"SurvivesReopen", testSurvivesReopen},
		{"SpecialLabels", testSpecialLabels},
		{"Ready", testReady},
	}
	for _, c := range slices.Concat(cases, createTenantsCases, operationCases, verificationCases, scopeCases, accessCases) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, reopen := open(t)
			h := &harness{s: s, reopen: reopen}
			t.Cleanup(func() {
				if err := h.s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.run(t, h)
		})
	}
}

type harness struct {
	s      store.Store
	reopen func() store.Store
}

// reopenStore closes the store and opens its database again.
func (h *harness) reopenStore(t *testing.T) {
	t.Helper()
	if h.reopen == nil {
		t.Skip("backend cannot reopen its database")
	}
	if err := h.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	h.s = h.reopen()
}

func newTenant(id, state string, labels map[string]string) *store.Tenant {
	// The body is opaque bytes, including NUL and invalid UTF-8.
	return &store.Tenant{ID: id, State: state, Labels: labels, Body: append([]byte("body\x00\xff-"), id...)}
}

func create(t *testing.T, s store.Store, in *store.Tenant) *store.Tenant {
	t.Helper()
	out, err := s.CreateTenant(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateTenant(%q): %v", in.ID, err)
	}
	return out
}

// createMany creates tenants concurrently.
func createMany(t *testing.T, s store.Store, ts []*store.Tenant) {
	t.Helper()
	ch := make(chan *store.Tenant)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for in := range ch {
				if _, err := s.CreateTenant(t.Context(), in); err != nil {
					t.Errorf("CreateTenant(%q): %v", in.ID, err)
				}
			}
		})
	}
	for _, in := range ts {
		ch <- in
	}
	close(ch)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func get(t *testing.T, s store.Store, id string) *store.Tenant {
	t.Helper()
	got, err := s.GetTenant(t.Context(), id)
	if err != nil {
		t.Fatalf("GetTenant(%q): %v", id, err)
	}
	return got
}

// diff describes how got differs from want; "" if equal. Nil and empty
// labels or bodies are equal.
func diff(got, want *store.Tenant) string {
	var d []string
	check := func(field string, eq bool, g, w any) {
		if !eq {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", field, g, w))
		}
	}
	q := func(v any) string { return fmt.Sprintf("%q", v) }
	check("ID", got.ID == want.ID, q(got.ID), q(want.ID))
	check("State", got.State == want.State, q(got.State), q(want.State))
	check("Labels", maps.Equal(got.Labels, want.Labels), q(got.Labels), q(want.Labels))
	check("Body", bytes.Equal(got.Body, want.Body), q(got.Body), q(want.Body))
	check("WorkspaceKey", got.WorkspaceKey == want.WorkspaceKey, q(got.WorkspaceKey), q(want.WorkspaceKey))
	check("Status", bytes.Equal(got.Status, want.Status), q(got.Status), q(want.Status))
	check("Verdict", got.Verdict == want.Verdict, q(got.Verdict), q(want.Verdict))
	check("AccessGroup", got.AccessGroup == want.AccessGroup, q(got.AccessGroup), q(want.AccessGroup))
	check("Etag", got.Etag == want.Etag, q(got.Etag), q(want.Etag))
	check("CreateTime", got.CreateTime.Equal(want.CreateTime), got.CreateTime, want.CreateTime)
	check("UpdateTime", got.UpdateTime.Equal(want.UpdateTime), got.UpdateTime, want.UpdateTime)
	return strings.Join(d, "; ")
}

// wantEqual also requires reflect.DeepEqual, so that callers may compare
// records written and read back with it.
func wantEqual(t *testing.T, what string, got, want *store.Tenant) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	} else if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: equal but not reflect.DeepEqual (nil vs empty, or time location):\n got %#v\nwant %#v", what, got, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

// checkStoreTime: set by the store, recent, UTC, microsecond precision.
func checkStoreTime(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if d := time.Since(tm); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, not recent", what, tm)
	}
	if tm.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, tm.Location())
	}
	if tm.Nanosecond()%1000 != 0 {
		t.Errorf("%s = %v, not truncated to microseconds", what, tm)
	}
}

func testCreateGetRoundTrip(t *testing.T, h *harness) {
	for _, in := range []*store.Tenant{
		newTenant("full", "REGISTERED", map[string]string{"env": "prod", "team": "a"}),
		{ID: "no-labels-no-body", State: "REGISTERED"},
		{ID: "binary-body", State: "S", Body: []byte{0, 1, 2, 0xfe, 0xff, 0}},
		newTenant(`it's "quoted"; --`, "REGISTERED", nil),
	} {
		t.Run(in.ID, func(t *testing.T) {
			want := *in
			out := create(t, h.s, in)
			if out.Etag == "" {
				t.Error("CreateTenant returned an empty etag")
			}
			checkStoreTime(t, "CreateTime", out.CreateTime)
			if !out.UpdateTime.Equal(out.CreateTime) {
				t.Errorf("UpdateTime %v != CreateTime %v on create", out.UpdateTime, out.CreateTime)
			}
			want.Etag, want.CreateTime, want.UpdateTime = out.Etag, out.CreateTime, out.CreateTime
			wantEqual(t, "CreateTenant result", out, &want)
			got := get(t, h.s, in.ID)
			wantEqual(t, "GetTenant after create", got, &want)
			checkStoreTime(t, "GetTenant CreateTime", got.CreateTime)
			checkStoreTime(t, "GetTenant UpdateTime", got.UpdateTime)
		})
	}
}

func testCreateIgnoresCallerEtagAndTimes(t *testing.T, h *harness) {
	old := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	in := newTenant("t", "REGISTERED", nil)
	in.Etag, in.CreateTime, in.UpdateTime = "caller-etag", old, old
	out := create(t, h.s, in)
	if out.Etag == "caller-etag" {
		t.Error("store kept the caller's etag")
	}
	checkStoreTime(t, "CreateTime", out.CreateTime)
	checkStoreTime(t, "UpdateTime", out.UpdateTime)
	wantEqual(t, "GetTenant", get(t, h.s, "t"), out)
}

func testGetMissing(t *testing.T, h *harness) {
	create(t, h.s, newTenant("present", "REGISTERED", nil))
	_, err := h.s.GetTenant(t.Context(), "absent")
	wantErr(t, "GetTenant(absent)", err, store.ErrNotFound)
}

func testCreateDuplicate(t *testing.T, h *harness) {
	orig := create(t, h.s, newTenant("t", "REGISTERED", map[string]string{"a": "1"}))
	dup := &store.Tenant{ID: "t", State: "OTHER", Labels: map[string]string{"b": "2"}, Body: []byte("other")}
	_, err := h.s.CreateTenant(t.Context(), dup)
	wantErr(t, "duplicate CreateTenant", err, store.ErrAlreadyExists)
	wantEqual(t, "original after duplicate create", get(t, h.s, "t"), orig)
}

func testUpdate(t *testing.T, h *harness) {
	orig := create(t, h.s, newTenant("t", "REGISTERED", map[string]string{"a": "1", "b": "2"}))
	in := &store.Tenant{ID: "t", State: "ACTIVE", Labels: map[string]string{"a": "3"}, Body: []byte("new body")}
	upd, err := h.s.UpdateTenant(t.Context(), in, orig.Etag)
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	if upd.Etag == "" || upd.Etag == orig.Etag {
		t.Errorf("new etag %q, old %q: want a different, non-empty etag", upd.Etag, orig.Etag)
	}
	if upd.UpdateTime.Before(orig.UpdateTime) {
		t.Errorf("UpdateTime went back: %v before %v", upd.UpdateTime, orig.UpdateTime)
	}
	checkStoreTime(t, "UpdateTime", upd.UpdateTime)
	// Labels and Body are replaced (labels not merged); State and CreateTime kept.
	want := &store.Tenant{ID: "t", State: "REGISTERED", Labels: map[string]string{"a": "3"}, Body: []byte("new body"),
		Etag: upd.Etag, CreateTime: orig.CreateTime, UpdateTime: upd.UpdateTime}
	wantEqual(t, "UpdateTenant result", upd, want)
	wantEqual(t, "GetTenant after update", get(t, h.s, "t"), want)

	// An empty expected etag skips the check.
	upd2, err := h.s.UpdateTenant(t.Context(), newTenant("t", "SUSPENDED", nil), "")
	if err != nil {
		t.Fatalf("UpdateTenant without etag: %v", err)
	}
	if upd2.Etag == upd.Etag {
		t.Error("unconditional update kept the etag")
	}
	wantEqual(t, "GetTenant after unconditional update", get(t, h.s, "t"), upd2)
}

func testUpdateStaleEtag(t *testing.T, h *harness) {
	orig := create(t, h.s, newTenant("t", "REGISTERED", map[string]string{"a": "1"}))
	cur, err := h.s.UpdateTenant(t.Context(), newTenant("t", "ACTIVE", nil), orig.Etag)
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	for _, etag := range []string{orig.Etag, "not-an-etag"} {
		_, err := h.s.UpdateTenant(t.Context(), newTenant("t", "SUSPENDED", map[string]string{"x": "y"}), etag)
		wantErr(t, fmt.Sprintf("UpdateTenant(etag %q)", etag), err, store.ErrEtagMismatch)
	}
	wantEqual(t, "GetTenant after stale updates", get(t, h.s, "t"), cur)
}

func testUpdateRequireState(t *testing.T, h *harness) {
	orig := create(t, h.s, newTenant("t", "REGISTERED", nil))
	if err := h.s.UpdateTenantStatus(t.Context(), "t", "ONBOARDING", nil); err != nil {
		t.Fatal(err)
	}
	moved := get(t, h.s, "t")
	stale := newTenant("t", "REGISTERED", map[string]string{"x": "y"})
	stale.RequireState = "REGISTERED" // as read before the operation started
	_, err := h.s.UpdateTenant(t.Context(), stale, orig.Etag)
	wantErr(t, "UpdateTenant requiring a state it left", err, store.ErrEtagMismatch)
	var txErr error
	if err := h.s.InTx(t.Context(), func(tx store.Tx) error {
		_, txErr = tx.UpdateTenant(t.Context(), stale, "")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Tx.UpdateTenant requiring a state it left", txErr, store.ErrEtagMismatch)
	wantEqual(t, "tenant after refused updates", get(t, h.s, "t"), moved)

	current := newTenant("t", "ONBOARDING", map[string]string{"x": "y"})
	current.RequireState = "ONBOARDING"
	upd, err := h.s.UpdateTenant(t.Context(), current, orig.Etag)
	if err != nil {
		t.Fatalf("UpdateTenant requiring the current state: %v", err)
	}
	if upd.RequireState != "" || upd.Labels["x"] != "y" {
		t.Errorf("updated record %+v: want the new labels and no RequireState", upd)
	}
}

func testUpdateMissing(t *testing.T, h *harness) {
	create(t, h.s, newTenant("present", "REGISTERED", nil))
	for _, etag := range []string{"", "some-etag"} {
		_, err := h.s.UpdateTenant(t.Context(), newTenant("absent", "ACTIVE", nil), etag)
		wantErr(t, fmt.Sprintf("UpdateTenant(absent, etag %q)", etag), err, store.ErrNotFound)
	}
	if _, err := h.s.GetTenant(t.Context(), "absent"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing tenant created it (GetTenant: %v)", err)
	}
}

func testDelete(t *testing.T, h *harness) {
	a := create(t, h.s, newTenant("a", "REGISTERED", nil))
	b := create(t, h.s, newTenant("b", "REGISTERED", nil))
	if err := h.s.DeleteTenant(t.Context(), "a", a.Etag); err != nil {
		t.Fatalf("DeleteTenant(a, etag): %v", err)
	}
	if err := h.s.DeleteTenant(t.Context(), "b", ""); err != nil {
		t.Fatalf("DeleteTenant(b, no etag): %v", err)
	}
	for _, id := range []string{"a", "b"} {
		_, err := h.s.GetTenant(t.Context(), id)
		wantErr(t, "GetTenant after delete", err, store.ErrNotFound)
	}
	wantErr(t, "DeleteTenant(a) again", h.s.DeleteTenant(t.Context(), "a", a.Etag), store.ErrNotFound)
	wantErr(t, "DeleteTenant(b) again", h.s.DeleteTenant(t.Context(), "b", b.Etag), store.ErrNotFound)
}

func testDeleteStaleEtag(t *testing.T, h *harness) {
	orig := create(t, h.s, newTenant("t", "REGISTERED", nil))
	cur, err := h.s.UpdateTenant(t.Context(), newTenant("t", "ACTIVE", nil), orig.Etag)
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	wantErr(t, "DeleteTenant(stale etag)", h.s.DeleteTenant(t.Context(), "t", orig.Etag), store.ErrEtagMismatch)
	wantEqual(t, "GetTenant after stale delete", get(t, h.s, "t"), cur)
}

func testDeleteMissing(t *testing.T, h *harness) {
	create(t, h.s, newTenant("present", "REGISTERED", nil))
	for _, etag := range []string{"", "some-etag"} {
		err := h.s.DeleteTenant(t.Context(), "absent", etag)
		wantErr(t, fmt.Sprintf("DeleteTenant(absent, etag %q)", etag), err, store.ErrNotFound)
	}
	get(t, h.s, "present")
}

func testRecreateGetsNewEtag(t *testing.T, h *harness) {
	first := create(t, h.s, newTenant("t", "REGISTERED", nil))
	if err := h.s.DeleteTenant(t.Context(), "t", first.Etag); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	second := create(t, h.s, newTenant("t", "REGISTERED", nil))
	if second.Etag == first.Etag {
		t.Errorf("recreated tenant reuses etag %q", first.Etag)
	}
	_, err := h.s.UpdateTenant(t.Context(), newTenant("t", "ACTIVE", nil), first.Etag)
	wantErr(t, "UpdateTenant with the deleted tenant's etag", err, store.ErrEtagMismatch)
}

// listAll walks every page of q, checking page sizes and tokens.
func listAll(t *testing.T, s store.Store, q store.TenantQuery) []*store.Tenant {
	t.Helper()
	return walkPages(t, "tenants", q.PageSize, q.PageToken, func(token string) ([]*store.Tenant, string, error) {
		q.PageToken = token
		page, err := s.ListTenants(t.Context(), q)
		if err != nil {
			return nil, "", err
		}
		return page.Tenants, page.NextPageToken, nil
	})
}

// walkPages follows next-page tokens from token to the last page, checking
// that every page but the last is full and the last is not empty (unless it
// is the only one).
func walkPages[T any](t *testing.T, what string, pageSize int, token string, fetch func(token string) ([]T, string, error)) []T {
	t.Helper()
	size := store.NormalizePageSize(pageSize)
	var all []T
	for pages := 0; ; pages++ {
		if pages > 10_000 {
			t.Fatal("pagination does not end")
		}
		items, next, err := fetch(token)
		if err != nil {
			t.Fatalf("list %s (page %d): %v", what, pages, err)
		}
		all = append(all, items...)
		if next == "" {
			if len(items) > size || (len(items) == 0 && pages > 0) {
				t.Fatalf("last page (%d) has %d %s, want 1..%d", pages, len(items), what, size)
			}
			return all
		}
		if len(items) != size {
			t.Fatalf("page %d has %d %s and a next token, want %d", pages, len(items), what, size)
		}
		token = next
	}
}

func ids(ts []*store.Tenant) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func testListOrder(t *testing.T, h *harness) {
	// Byte order, whatever the database's locale.
	want := []string{"0", "1-x", "10", "2", "A", "B", "Z", "_", "a", "a-b", "ab", "b", "z", "é", "日本"}
	shuffled := slices.Clone(want)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	created := map[string]*store.Tenant{}
	for _, id := range shuffled {
		created[id] = create(t, h.s, newTenant(id, "REGISTERED", map[string]string{"k": id}))
	}
	page, err := h.s.ListTenants(t.Context(), store.TenantQuery{})
	if err != nil {
		t.Fatalf("ListTenants: %v", err)
	}
	if got := ids(page.Tenants); !slices.Equal(got, want) {
		t.Errorf("ListTenants order = %q, want %q", got, want)
	}
	if page.NextPageToken != "" {
		t.Errorf("NextPageToken = %q on the only page", page.NextPageToken)
	}
	for _, got := range page.Tenants {
		wantEqual(t, "listed tenant", got, created[got.ID])
	}
}

func testListEmpty(t *testing.T, h *harness) {
	page, err := h.s.ListTenants(t.Context(), store.TenantQuery{})
	if err != nil {
		t.Fatalf("ListTenants: %v", err)
	}
	if len(page.Tenants) != 0 || page.NextPageToken != "" {
		t.Errorf("ListTenants on an empty store = %d tenants, token %q", len(page.Tenants), page.NextPageToken)
	}
}

func testPagination(t *testing.T, h *harness) {
	const n = 60 // more than DefaultPageSize
	var want []string
	var ts []*store.Tenant
	for i := range n {
		id := fmt.Sprintf("t%03d", i)
		want = append(want, id)
		ts = append(ts, newTenant(id, "REGISTERED", nil))
	}
	createMany(t, h.s, ts)
	for _, size := range []int{0, -5, 1, 7, n - 1, n, n + 1, store.MaxPageSize + 1} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			got := ids(listAll(t, h.s, store.TenantQuery{PageSize: size}))
			if !slices.Equal(got, want) {
				t.Errorf("walked ids = %q, want %q", got, want)
			}
		})
	}
	t.Run("default size", func(t *testing.T) {
		page, err := h.s.ListTenants(t.Context(), store.TenantQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tenants) != store.DefaultPageSize || page.NextPageToken == "" {
			t.Errorf("page size 0: %d tenants, token %q; want %d and a token",
				len(page.Tenants), page.NextPageToken, store.DefaultPageSize)
		}
	})
	t.Run("page size may change between pages", func(t *testing.T) {
		p1, err := h.s.ListTenants(t.Context(), store.TenantQuery{PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := h.s.ListTenants(t.Context(), store.TenantQuery{PageSize: 10, PageToken: p1.NextPageToken})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p2.Tenants); !slices.Equal(got, want[5:15]) {
			t.Errorf("second page = %q, want %q", got, want[5:15])
		}
	})
	t.Run("deleted cursor row", func(t *testing.T) {
		// Keyset paging continues after the last id even if it is gone.
		p1, err := h.s.ListTenants(t.Context(), store.TenantQuery{PageSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.s.DeleteTenant(t.Context(), p1.Tenants[2].ID, ""); err != nil {
			t.Fatal(err)
		}
		p2, err := h.s.ListTenants(t.Context(), store.TenantQuery{PageSize: 3, PageToken: p1.NextPageToken})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p2.Tenants); !slices.Equal(got, want[3:6]) {
			t.Errorf("page after deleted cursor = %q, want %q", got, want[3:6])
		}
	})
}

func testPageSizeAboveMax(t *testing.T, h *harness) {
	n := store.MaxPageSize + 100
	ts := make([]*store.Tenant, n)
	for i := range ts {
		ts[i] = &store.Tenant{ID: fmt.Sprintf("t%05d", i), State: "REGISTERED"}
	}
	createMany(t, h.s, ts)
	page, err := h.s.ListTenants(t.Context(), store.TenantQuery{PageSize: 5 * store.MaxPageSize})
	if err != nil {
		t.Fatalf("ListTenants: %v", err)
	}
	if len(page.Tenants) != store.MaxPageSize || page.NextPageToken == "" {
		t.Fatalf("first page: %d tenants, token %q; want %d and a token", len(page.Tenants), page.NextPageToken, store.MaxPageSize)
	}
	want := ids(ts)
	if got := ids(listAll(t, h.s, store.TenantQuery{PageSize: 5 * store.MaxPageSize})); !slices.Equal(got, want) {
		t.Errorf("walked %d tenants, want %d in id order", len(got), len(want))
	}
}

func testFilters(t *testing.T, h *harness) {
	for _, in := range []*store.Tenant{
		newTenant("a", "ACTIVE", map[string]string{"env": "prod", "tier": "gold"}),
		newTenant("b", "ACTIVE", map[string]string{"env": "prod", "tier": "silver"}),
		newTenant("c", "SUSPENDED", map[string]string{"env": "prod", "tier": "gold"}),
		newTenant("d", "ACTIVE", map[string]string{"env": "dev"}),
		newTenant("e", "SUSPENDED", nil),
		newTenant("f", "ACTIVE", map[string]string{"env": "prod", "tier": "gold", "extra": "x"}),
		newTenant("g", "ACTIVE", map[string]string{"tier": "gold"}),
	} {
		create(t, h.s, in)
	}
	for _, tc := range []struct {
		name   string
		state  string
		labels map[string]string
		want   []string
	}{
		{"none", "", nil, []string{"a", "b", "c", "d", "e", "f", "g"}},
		{"empty labels", "", map[string]string{}, []string{"a", "b", "c", "d", "e", "f", "g"}},
		{"state", "ACTIVE", nil, []string{"a", "b", "d", "f", "g"}},
		{"other state", "SUSPENDED", nil, []string{"c", "e"}},
		{"one label", "", map[string]string{"env": "prod"}, []string{"a", "b", "c", "f"}},
		{"two labels", "", map[string]string{"env": "prod", "tier": "gold"}, []string{"a", "c", "f"}},
		{"state and labels", "ACTIVE", map[string]string{"env": "prod", "tier": "gold"}, []string{"a", "f"}},
		{"label value matches no tenant", "", map[string]string{"env": "staging"}, nil},
		{"label pair split across keys", "", map[string]string{"env": "gold"}, nil},
		{"label key matches no tenant", "", map[string]string{"nope": "prod"}, nil},
		{"state matches no tenant", "NOPE", nil, nil},
		{"no tenant has both", "SUSPENDED", map[string]string{"env": "dev"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{0, 2} {
				got := ids(listAll(t, h.s, store.TenantQuery{PageSize: size, State: tc.state, Labels: tc.labels}))
				if !slices.Equal(got, tc.want) {
					t.Errorf("page size %d: got %q, want %q", size, got, tc.want)
				}
			}
		})
	}
}

func testInvalidPageToken(t *testing.T, h *harness) {
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		create(t, h.s, newTenant(id, "ACTIVE", map[string]string{"env": "prod"}))
	}
	q := store.TenantQuery{PageSize: 2, State: "ACTIVE", Labels: map[string]string{"env": "prod"}}
	page, err := h.s.ListTenants(t.Context(), q)
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("ListTenants = token %q, %v; want a token", page.NextPageToken, err)
	}
	tok := page.NextPageToken
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	forged := base64.RawURLEncoding.EncodeToString([]byte("b0123456789abcdef")) // id "b", made-up MAC
	// with returns a copy of q changed by f.
	with := func(f func(*store.TenantQuery)) store.TenantQuery {
		c := q
		c.Labels = maps.Clone(q.Labels)
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		q    store.TenantQuery
	}{
		{"garbage", with(func(q *store.TenantQuery) { q.PageToken = "not a token!" })},
		{"short base64", with(func(q *store.TenantQuery) { q.PageToken = "AAAA" })},
		{"forged", with(func(q *store.TenantQuery) { q.PageToken = forged })},
		{"truncated by one", with(func(q *store.TenantQuery) { q.PageToken = tok[:len(tok)-1] })},
		{"truncated by half", with(func(q *store.TenantQuery) { q.PageToken = tok[:len(tok)/2] })},
		{"extended", with(func(q *store.TenantQuery) { q.PageToken = tok + "A" })},
		{"tampered", with(func(q *store.TenantQuery) { q.PageToken = string(tampered) })},
		{"other state", with(func(q *store.TenantQuery) { q.PageToken = tok; q.State = "SUSPENDED" })},
		{"no state", with(func(q *store.TenantQuery) { q.PageToken = tok; q.State = "" })},
		{"other label value", with(func(q *store.TenantQuery) { q.PageToken = tok; q.Labels["env"] = "dev" })},
		{"extra label", with(func(q *store.TenantQuery) { q.PageToken = tok; q.Labels["x"] = "y" })},
		{"no labels", with(func(q *store.TenantQuery) { q.PageToken = tok; q.Labels = nil })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.s.ListTenants(t.Context(), tc.q)
			wantErr(t, "ListTenants", err, store.ErrInvalidPageToken)
		})
	}
	t.Run("same filters", func(t *testing.T) {
		q := with(func(q *store.TenantQuery) { q.PageToken = tok; q.PageSize = 10 })
		page, err := h.s.ListTenants(t.Context(), q)
		if err != nil {
			t.Fatalf("ListTenants with its own token: %v", err)
		}
		if got := ids(page.Tenants); !slices.Equal(got, []string{"c", "d", "e"}) {
			t.Errorf("second page = %q, want [c d e]", got)
		}
	})
}

func testConcurrentUpdates(t *testing.T, h *harness) {
	orig := create(t, h.s, newTenant("t", "REGISTERED", nil))
	winner := exactlyOneWins(t, "update", store.ErrEtagMismatch, func(i int) (*store.Tenant, error) {
		return h.s.UpdateTenant(t.Context(), newTenant("t", fmt.Sprintf("S%d", i), nil), orig.Etag)
	})
	wantEqual(t, "GetTenant after concurrent updates", get(t, h.s, "t"), winner)
}

func testConcurrentCreates(t *testing.T, h *harness) {
	winner := exactlyOneWins(t, "create", store.ErrAlreadyExists, func(i int) (*store.Tenant, error) {
		return h.s.CreateTenant(t.Context(), newTenant("t", fmt.Sprintf("S%d", i), nil))
	})
	wantEqual(t, "GetTenant after concurrent creates", get(t, h.s, "t"), winner)
}

// exactlyOneWins runs op 20 times at once and requires one success and
// loserErr from all the others; it returns the winner's result.
func exactlyOneWins(t *testing.T, what string, loserErr error, op func(i int) (*store.Tenant, error)) *store.Tenant {
	t.Helper()
	const n = 20
	results := make([]*store.Tenant, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = op(i)
		})
	}
	close(start)
	wg.Wait()
	var winner *store.Tenant
	for i, err := range errs {
		switch {
		case err == nil && winner == nil:
			winner = results[i]
		case err == nil:
			t.Errorf("%s %d succeeded too", what, i)
		case !errors.Is(err, loserErr):
			t.Errorf("%s %d: got %v, want %v", what, i, err, loserErr)
		}
	}
	if winner == nil {
		t.Fatalf("no %s succeeded", what)
	}
	return winner
}

func testSurvivesReopen(t *testing.T, h *harness) {
	a := create(t, h.s, newTenant("a", "REGISTERED", map[string]string{"env": "prod"}))
	a, err := h.s.UpdateTenant(t.Context(), newTenant("a", "ACTIVE", map[string]string{"env": "dev"}), a.Etag)
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	b := create(t, h.s, newTenant("b", "REGISTERED", nil))
	if err := h.s.DeleteTenant(t.Context(), "b", b.Etag); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	c := create(t, h.s, newTenant("c", "REGISTERED", nil))

	h.reopenStore(t)
	if err := h.s.Ready(t.Context()); err != nil {
		t.Errorf("Ready after reopen: %v", err)
	}
	wantEqual(t, "a after reopen", get(t, h.s, "a"), a)
	wantEqual(t, "c after reopen", get(t, h.s, "c"), c)
	_, err = h.s.GetTenant(t.Context(), "b")
	wantErr(t, "deleted b after reopen", err, store.ErrNotFound)
	if got := ids(listAll(t, h.s, store.TenantQuery{Labels: map[string]string{"env": "dev"}})); !slices.Equal(got, []string{"a"}) {
		t.Errorf("label filter after reopen = %q, want [a]", got)
	}
}

func testSpecialLabels(t *testing.T, h *harness) {
	// Keys and values that would break string-built SQL or JSON paths.
	special := map[string]string{
		`it's`:                       `o'clock`,
		`say "hi"`:                   `"quoted"`,
		`a.b`:                        `c.d`,
		`$.x`:                        `$[0]`,
		`a[0]`:                       `*`,
		`back\slash`:                 `\n\u0041`,
		`日本語`:                        `値`,
		`emoji 🙂`:                    `✓`,
		`%_`:                         `%`,
		`'); DROP TABLE tenants; --`: `' OR '1'='1`,
		`<html>&amp;`:                `</script>`,
		"tab\tnew\nline":             " ",
		`{"json":"key"}`:             `{"json":"value"}`,
		"":                           "empty key",
		"empty value":                "",
	}
	s := create(t, h.s, newTenant("special", "REGISTERED", special))
	// Neighbours that a JSON-path or LIKE interpretation would confuse with it.
	create(t, h.s, newTenant("nested", "REGISTERED", map[string]string{"a": `{"b":"c.d"}`, "$": "x"}))
	create(t, h.s, newTenant("plain", "REGISTERED", map[string]string{"a": "b", "it": "s", "ab": "c.d", "_": "%"}))

	wantEqual(t, "GetTenant", get(t, h.s, "special"), s)
	for k, v := range special {
		got := ids(listAll(t, h.s, store.TenantQuery{Labels: map[string]string{k: v}}))
		if !slices.Equal(got, []string{"special"}) {
			t.Errorf("filter {%q: %q} = %q, want [special]", k, v, got)
		}
	}
	for _, tc := range []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{"a": `{"b":"c.d"}`}, []string{"nested"}},
		{map[string]string{"a.b": "c.d", "a": "b"}, nil},
		{map[string]string{"it's": "' OR '1'='1"}, nil},
		{map[string]string{"%_": "_"}, nil},
		{map[string]string{"_": "%"}, []string{"plain"}},
	} {
		got := ids(listAll(t, h.s, store.TenantQuery{Labels: tc.labels}))
		if !slices.Equal(got, tc.want) {
			t.Errorf("filter %q = %q, want %q", tc.labels, got, tc.want)
		}
	}
	if got := ids(listAll(t, h.s, store.TenantQuery{})); len(got) != 3 {
		t.Errorf("tenants after special labels = %q, want 3", got)
	}
}

func testReady(t *testing.T, h *harness) {
	if err := h.s.Ready(t.Context()); err != nil {
		t.Errorf("Ready on a migrated store: %v", err)
	}
}
