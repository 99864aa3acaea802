package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/store"
)

// accessCases test API keys and the audit log.
var accessCases = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"APIKeyRoundTrip", testAPIKeyRoundTrip},
	{"APIKeyList", testAPIKeyList},
	{"APIKeyRevoke", testAPIKeyRevoke},
	{"APIKeyConcurrentRevokes", testAPIKeyConcurrentRevokes},
	{"AuditRoundTrip", testAuditRoundTrip},
	{"AuditList", testAuditList},
	{"AuditInvalidPageToken", testAuditInvalidPageToken},
	{"AuditPrune", testAuditPrune},
}

func newAPIKey(id string) *store.APIKey {
	return &store.APIKey{ID: id, SecretHash: []byte("hash\x00\xff-" + id), Body: []byte("key\x00\xff-" + id)}
}

func createAPIKey(t *testing.T, s store.Store, in *store.APIKey) *store.APIKey {
	t.Helper()
	out, err := s.CreateAPIKey(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateAPIKey(%q): %v", in.ID, err)
	}
	return out
}

func getAPIKey(t *testing.T, s store.Store, id string) *store.APIKey {
	t.Helper()
	k, err := s.GetAPIKey(t.Context(), id)
	if err != nil {
		t.Fatalf("GetAPIKey(%q): %v", id, err)
	}
	return k
}

func revokeAPIKey(t *testing.T, s store.Store, id string, body []byte) *store.APIKey {
	t.Helper()
	k, err := s.RevokeAPIKey(t.Context(), id, body)
	if err != nil {
		t.Fatalf("RevokeAPIKey(%q): %v", id, err)
	}
	return k
}

func wantDeepEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// listAPIKeys walks every page of q.
func listAPIKeys(t *testing.T, s store.Store, q store.APIKeyQuery) []string {
	t.Helper()
	ks := walkPages(t, "api keys", q.PageSize, q.PageToken, func(token string) ([]*store.APIKey, string, error) {
		q.PageToken = token
		page, err := s.ListAPIKeys(t.Context(), q)
		if err != nil {
			return nil, "", err
		}
		return page.APIKeys, page.NextPageToken, nil
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

func testAPIKeyRoundTrip(t *testing.T, h *harness) {
	ctx := t.Context()
	// The store sets the times and revocation; the caller's are ignored.
	in := newAPIKey("k1")
	in.Revoked, in.CreateTime, in.RevokeTime = true, time.Unix(1, 0), time.Unix(2, 0)
	out := createAPIKey(t, h.s, in)
	checkStoreTime(t, "CreateTime", out.CreateTime)
	want := &store.APIKey{ID: "k1", SecretHash: newAPIKey("k1").SecretHash, Body: newAPIKey("k1").Body, CreateTime: out.CreateTime}
	wantDeepEqual(t, "CreateAPIKey result", out, want)
	wantDeepEqual(t, "GetAPIKey", getAPIKey(t, h.s, "k1"), want)

	// Empty bytes read back nil, as written.
	bare := createAPIKey(t, h.s, &store.APIKey{ID: "bare", SecretHash: []byte{}})
	if bare.SecretHash != nil || bare.Body != nil {
		t.Errorf("bare key = %+v, want nil hash and body", bare)
	}
	wantDeepEqual(t, "bare key read back", getAPIKey(t, h.s, "bare"), bare)

	_, err := h.s.CreateAPIKey(ctx, &store.APIKey{ID: "k1", SecretHash: []byte("other")})
	wantErr(t, "duplicate CreateAPIKey", err, store.ErrAlreadyExists)
	wantDeepEqual(t, "key after a duplicate create", getAPIKey(t, h.s, "k1"), want)
	_, err = h.s.GetAPIKey(ctx, "absent")
	wantErr(t, "GetAPIKey(absent)", err, store.ErrNotFound)
}

func testAPIKeyList(t *testing.T, h *harness) {
	ctx := t.Context()
	var created []*store.APIKey
	order := []string{"k3", "k0", "k6", "k1", "k5", "k2", "k4"} // creation order, not id order
	for i, id := range order {
		created = append(created, createAPIKey(t, h.s, newAPIKey(id)))
		if i%3 == 0 {
			time.Sleep(time.Millisecond) // some distinct times, some (maybe) equal
		}
	}
	for _, id := range []string{"k6", "k2"} {
		revokeAPIKey(t, h.s, id, nil)
	}
	// Newest first: create time, then id, both descending.
	sort.Slice(created, func(i, j int) bool {
		a, b := created[i], created[j]
		if !a.CreateTime.Equal(b.CreateTime) {
			return a.CreateTime.After(b.CreateTime)
		}
		return a.ID > b.ID
	})
	var all, active []string
	for _, k := range created {
		all = append(all, k.ID)
		if k.ID != "k6" && k.ID != "k2" {
			active = append(active, k.ID)
		}
	}
	if len(all) != 7 || len(active) != 5 {
		t.Fatalf("bad test: %q, %q", all, active)
	}
	for _, size := range []int{0, 1, 2, 3, 7} {
		if got := listAPIKeys(t, h.s, store.APIKeyQuery{PageSize: size}); !slices.Equal(got, active) {
			t.Errorf("page size %d: got %q, want %q (revoked hidden)", size, got, active)
		}
		if got := listAPIKeys(t, h.s, store.APIKeyQuery{PageSize: size, ShowRevoked: true}); !slices.Equal(got, all) {
			t.Errorf("page size %d, ShowRevoked: got %q, want %q", size, got, all)
		}
	}
	page, err := h.s.ListAPIKeys(ctx, store.APIKeyQuery{ShowRevoked: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range page.APIKeys {
		wantDeepEqual(t, "listed key "+got.ID, got, getAPIKey(t, h.s, got.ID))
	}

	// Tokens are bound to ShowRevoked and to the list.
	first, err := h.s.ListAPIKeys(ctx, store.APIKeyQuery{PageSize: 2})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("ListAPIKeys = %v; want a next token", err)
	}
	tok := first.NextPageToken
	_, err = h.s.ListAPIKeys(ctx, store.APIKeyQuery{PageToken: tok, ShowRevoked: true})
	wantErr(t, "ListAPIKeys(token of the list without revoked keys, ShowRevoked)", err, store.ErrInvalidPageToken)
	_, err = h.s.ListAPIKeys(ctx, store.APIKeyQuery{PageToken: "not a token!"})
	wantErr(t, "ListAPIKeys(garbage)", err, store.ErrInvalidPageToken)
	_, err = h.s.ListAPIKeys(ctx, store.APIKeyQuery{PageToken: tok[:len(tok)-1]})
	wantErr(t, "ListAPIKeys(truncated)", err, store.ErrInvalidPageToken)
	_, err = h.s.ListOperations(ctx, store.OperationQuery{PageToken: tok})
	wantErr(t, "ListOperations(api key token)", err, store.ErrInvalidPageToken)
	_, err = h.s.ListAuditEvents(ctx, store.AuditQuery{PageToken: tok})
	wantErr(t, "ListAuditEvents(api key token)", err, store.ErrInvalidPageToken)
	if got := listAPIKeys(t, h.s, store.APIKeyQuery{PageToken: tok, PageSize: 10}); !slices.Equal(got, active[2:]) {
		t.Errorf("rest after the first page = %q, want %q", got, active[2:])
	}
}

func testAPIKeyRevoke(t *testing.T, h *harness) {
	ctx := t.Context()
	orig := createAPIKey(t, h.s, newAPIKey("k"))
	other := createAPIKey(t, h.s, newAPIKey("other"))
	revoked := revokeAPIKey(t, h.s, "k", []byte("revoked body"))
	checkStoreTime(t, "RevokeTime", revoked.RevokeTime)
	if revoked.RevokeTime.Before(orig.CreateTime) {
		t.Errorf("RevokeTime %v before CreateTime %v", revoked.RevokeTime, orig.CreateTime)
	}
	want := *orig
	want.Revoked, want.RevokeTime, want.Body = true, revoked.RevokeTime, []byte("revoked body")
	wantDeepEqual(t, "RevokeAPIKey result", revoked, &want)
	wantDeepEqual(t, "GetAPIKey after revoke", getAPIKey(t, h.s, "k"), &want)
	wantDeepEqual(t, "the other key", getAPIKey(t, h.s, "other"), other)

	// Revoking again returns the key as it is; the new body is ignored.
	time.Sleep(2 * time.Microsecond)
	again := revokeAPIKey(t, h.s, "k", []byte("another body"))
	wantDeepEqual(t, "RevokeAPIKey again", again, &want)
	wantDeepEqual(t, "GetAPIKey after revoking again", getAPIKey(t, h.s, "k"), &want)

	_, err := h.s.RevokeAPIKey(ctx, "absent", []byte("x"))
	wantErr(t, "RevokeAPIKey(absent)", err, store.ErrNotFound)
	_, err = h.s.GetAPIKey(ctx, "absent")
	wantErr(t, "GetAPIKey(absent) after revoking it", err, store.ErrNotFound)
}

// testAPIKeyConcurrentRevokes: of concurrent revokes, one sets the body and
// time, and every one returns that same record.
func testAPIKeyConcurrentRevokes(t *testing.T, h *harness) {
	createAPIKey(t, h.s, newAPIKey("k"))
	results := make([]*store.APIKey, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			k, err := h.s.RevokeAPIKey(t.Context(), "k", fmt.Appendf(nil, "body %d", i))
			if err != nil {
				t.Errorf("RevokeAPIKey %d: %v", i, err)
			}
			results[i] = k
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	final := getAPIKey(t, h.s, "k")
	if !final.Revoked {
		t.Fatalf("key not revoked: %+v", final)
	}
	for i, k := range results {
		wantDeepEqual(t, fmt.Sprintf("RevokeAPIKey %d", i), k, final)
	}
}

// auditTime is an audit event time of the tests: minute m after a fixed instant.
func auditTime(m int) time.Time {
	return time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
}

func appendAudit(t *testing.T, s store.Store, e *store.AuditEvent) {
	t.Helper()
	if err := s.AppendAuditEvent(t.Context(), e); err != nil {
		t.Fatalf("AppendAuditEvent(%q): %v", e.ID, err)
	}
}

// listAudit walks every page of q.
func listAudit(t *testing.T, s store.Store, q store.AuditQuery) []*store.AuditEvent {
	t.Helper()
	return walkPages(t, "audit events", q.PageSize, q.PageToken, func(token string) ([]*store.AuditEvent, string, error) {
		q.PageToken = token
		page, err := s.ListAuditEvents(t.Context(), q)
		if err != nil {
			return nil, "", err
		}
		return page.AuditEvents, page.NextPageToken, nil
	})
}

func auditIDs(es []*store.AuditEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testAuditRoundTrip(t *testing.T, h *harness) {
	// The caller's time, with nanoseconds and a zone, is stored at
	// microsecond precision in UTC.
	at := time.Date(2026, 11, 30, 5, 6, 7, 123456789, time.FixedZone("X", 3600))
	in := &store.AuditEvent{ID: "e1", Time: at, Principal: "apiKeys/k1", Method: "/x.v1.Tenants/CreateTenant",
		Resource: "tenants/contoso", Code: "OK", Body: []byte("event\x00\xff")}
	appendAudit(t, h.s, in)
	want := *in
	want.Time = time.Date(2026, 11, 30, 4, 6, 7, 123456000, time.UTC)
	got := listAudit(t, h.s, store.AuditQuery{})
	if len(got) != 1 {
		t.Fatalf("listed %d events, want 1", len(got))
	}
	wantDeepEqual(t, "listed event", got[0], &want)
	if got[0].Time.Location() != time.UTC {
		t.Errorf("time location = %v, want UTC", got[0].Time.Location())
	}

	appendAudit(t, h.s, &store.AuditEvent{ID: "bare", Time: auditTime(0)})
	err := h.s.AppendAuditEvent(t.Context(), &store.AuditEvent{ID: "e1", Time: auditTime(1), Principal: "other"})
	wantErr(t, "duplicate AppendAuditEvent", err, store.ErrAlreadyExists)
	got = listAudit(t, h.s, store.AuditQuery{})
	wantDeepEqual(t, "events after a duplicate", got, []*store.AuditEvent{&want, {ID: "bare", Time: auditTime(0)}})
}

// auditFixture appends e00..e11, in a shuffled order: event i at minute
// i/2 (so pairs share a time and the id breaks the tie), by principal
// alice, bob or carol (i%3), with method M1 or M2 (i%2), on resource
// r0..r3 (i%4), and code PERMISSION_DENIED when i%5 == 0, else OK.
// Newest first, all of them list e11, e10, ..., e00.
func auditFixture(t *testing.T, h *harness) {
	for _, i := range rand.Perm(12) {
		code := "OK"
		if i%5 == 0 {
			code = "PERMISSION_DENIED"
		}
		appendAudit(t, h.s, &store.AuditEvent{
			ID:        fmt.Sprintf("e%02d", i),
			Time:      auditTime(i / 2),
			Principal: []string{"alice", "bob", "carol"}[i%3],
			Method:    []string{"M1", "M2"}[i%2],
			Resource:  fmt.Sprintf("r%d", i%4),
			Code:      code,
			Body:      fmt.Appendf(nil, "body %d", i),
		})
	}
}

func testAuditList(t *testing.T, h *harness) {
	auditFixture(t, h)
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"all", store.AuditQuery{}, []string{"e11", "e10", "e09", "e08", "e07", "e06", "e05", "e04", "e03", "e02", "e01", "e00"}},
		{"principal", store.AuditQuery{Principal: "alice"}, []string{"e09", "e06", "e03", "e00"}},
		{"method", store.AuditQuery{Method: "M2"}, []string{"e11", "e09", "e07", "e05", "e03", "e01"}},
		{"resource", store.AuditQuery{Resource: "r2"}, []string{"e10", "e06", "e02"}},
		{"code", store.AuditQuery{Code: "PERMISSION_DENIED"}, []string{"e10", "e05", "e00"}},
		{"principal and method", store.AuditQuery{Principal: "bob", Method: "M1"}, []string{"e10", "e04"}},
		{"principal and resource", store.AuditQuery{Principal: "alice", Resource: "r1"}, []string{"e09"}},
		{"principal and code", store.AuditQuery{Principal: "carol", Code: "PERMISSION_DENIED"}, []string{"e05"}},
		{"all four", store.AuditQuery{Principal: "bob", Method: "M1", Resource: "r2", Code: "PERMISSION_DENIED"}, []string{"e10"}},
		{"no match", store.AuditQuery{Principal: "nobody"}, nil},
		{"value of another field", store.AuditQuery{Method: "alice"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{0, 1, 2, 5} {
				q := tc.q
				q.PageSize = size
				if got := auditIDs(listAudit(t, h.s, q)); !slices.Equal(got, tc.want) {
					t.Errorf("page size %d: got %q, want %q", size, got, tc.want)
				}
			}
		})
	}
	// Listed events read back whole.
	got := listAudit(t, h.s, store.AuditQuery{Resource: "r1", Code: "PERMISSION_DENIED"})
	wantDeepEqual(t, "listed event", got, []*store.AuditEvent{{ID: "e05", Time: auditTime(2), Principal: "carol",
		Method: "M2", Resource: "r1", Code: "PERMISSION_DENIED", Body: []byte("body 5")}})
}

func testAuditInvalidPageToken(t *testing.T, h *harness) {
	auditFixture(t, h)
	q := store.AuditQuery{Principal: "alice", PageSize: 2}
	page, err := h.s.ListAuditEvents(t.Context(), q)
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("ListAuditEvents = %v; want a next token", err)
	}
	tok := page.NextPageToken
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	for name, bad := range map[string]store.AuditQuery{
		"garbage":              {Principal: "alice", PageToken: "not a token!"},
		"truncated":            {Principal: "alice", PageToken: tok[:len(tok)-1]},
		"tampered":             {Principal: "alice", PageToken: string(tampered)},
		"other principal":      {Principal: "bob", PageToken: tok},
		"no filter":            {PageToken: tok},
		"principal as method":  {Method: "alice", PageToken: tok},
		"principal and a code": {Principal: "alice", Code: "OK", PageToken: tok},
	} {
		_, err := h.s.ListAuditEvents(t.Context(), bad)
		wantErr(t, "ListAuditEvents("+name+")", err, store.ErrInvalidPageToken)
	}
	_, err = h.s.ListAPIKeys(t.Context(), store.APIKeyQuery{PageToken: tok})
	wantErr(t, "ListAPIKeys(audit token)", err, store.ErrInvalidPageToken)
	q.PageToken, q.PageSize = tok, 10
	if got := auditIDs(listAudit(t, h.s, q)); !slices.Equal(got, []string{"e03", "e00"}) {
		t.Errorf("rest after the first page = %q, want [e03 e00]", got)
	}
}

func testAuditPrune(t *testing.T, h *harness) {
	prune := func(before time.Time, want int) {
		t.Helper()
		n, err := h.s.PruneAuditEvents(t.Context(), before)
		if err != nil {
			t.Fatalf("PruneAuditEvents(%v): %v", before, err)
		}
		if n != want {
			t.Errorf("PruneAuditEvents(%v) = %d, want %d", before, n, want)
		}
	}
	prune(auditTime(100), 0) // none yet
	auditFixture(t, h)
	// Strictly older: the events at minute 2 stay.
	prune(auditTime(2), 4)
	if got := auditIDs(listAudit(t, h.s, store.AuditQuery{})); !slices.Equal(got, []string{"e11", "e10", "e09", "e08", "e07", "e06", "e05", "e04"}) {
		t.Errorf("after pruning before minute 2: %q", got)
	}
	prune(auditTime(2), 0)
	// Before in another zone, and a fraction of a microsecond after the
	// events at minute 3: they are older, so they go too.
	prune(auditTime(3).Add(500*time.Nanosecond).In(time.FixedZone("X", -7200)), 4)
	if got := auditIDs(listAudit(t, h.s, store.AuditQuery{})); !slices.Equal(got, []string{"e11", "e10", "e09", "e08"}) {
		t.Errorf("after pruning just after minute 3: %q", got)
	}
	// Filters still work on what is left.
	if got := auditIDs(listAudit(t, h.s, store.AuditQuery{Principal: "alice"})); !slices.Equal(got, []string{"e09"}) {
		t.Errorf("alice's after pruning: %q, want [e09]", got)
	}
	prune(auditTime(100), 4)
	if got := listAudit(t, h.s, store.AuditQuery{}); len(got) != 0 {
		t.Errorf("after pruning all: %q", auditIDs(got))
	}
}
