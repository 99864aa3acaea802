package storetest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/store"
)

// verificationCases test verifications and the tenant verdict they set.
var verificationCases = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"VerificationRoundTrip", testVerificationRoundTrip},
	{"VerificationList", testVerificationList},
	{"VerificationInvalidPageToken", testVerificationInvalidPageToken},
	{"VerificationKeep", testVerificationKeep},
	{"VerificationDuplicateAndMissingTenant", testVerificationDuplicateAndMissingTenant},
	{"VerificationVerdictFilter", testVerificationVerdictFilter},
	{"VerificationVerdictReadOnly", testVerificationVerdictReadOnly},
	{"VerificationDeleteTenant", testVerificationDeleteTenant},
	{"VerificationInTx", testVerificationInTx},
	{"ConcurrentVerifications", testConcurrentVerifications},
	{"VerificationsRaceDeleteTenant", testVerificationsRaceDeleteTenant},
}

// reportTime is a report time of the tests: minute m after a fixed instant.
func reportTime(m int) time.Time {
	return time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
}

func newVerification(tenant, id, verdict string, at time.Time) *store.Verification {
	return &store.Verification{ID: id, Tenant: tenant, Operation: "op-" + id, Verdict: verdict,
		Body: append([]byte("report\x00\xff-"), id...), CreateTime: at}
}

func createVerification(t *testing.T, s store.OperationWriter, v *store.Verification, keep int) {
	t.Helper()
	if err := s.CreateVerification(t.Context(), v, keep); err != nil {
		t.Fatalf("CreateVerification(%q, %q, keep %d): %v", v.Tenant, v.ID, keep, err)
	}
}

func getVerification(t *testing.T, s store.VerificationReader, tenant, id string) *store.Verification {
	t.Helper()
	got, err := s.GetVerification(t.Context(), tenant, id)
	if err != nil {
		t.Fatalf("GetVerification(%q, %q): %v", tenant, id, err)
	}
	return got
}

func wantVerificationEqual(t *testing.T, what string, got, want *store.Verification) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// listVerifications walks every page of q, checking page sizes and tokens.
func listVerifications(t *testing.T, s store.VerificationReader, q store.VerificationQuery) []*store.Verification {
	t.Helper()
	return walkPages(t, "verifications", q.PageSize, q.PageToken, func(token string) ([]*store.Verification, string, error) {
		q.PageToken = token
		page, err := s.ListVerifications(t.Context(), q)
		if err != nil {
			return nil, "", err
		}
		return page.Verifications, page.NextPageToken, nil
	})
}

func verificationIDs(vs []*store.Verification) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

func listedIDs(t *testing.T, s store.VerificationReader, tenant string) []string {
	t.Helper()
	return verificationIDs(listVerifications(t, s, store.VerificationQuery{Tenant: tenant}))
}

func testVerificationRoundTrip(t *testing.T, h *harness) {
	orig := create(t, h.s, newTenant("t", "REGISTERED", nil))
	create(t, h.s, newTenant("u", "REGISTERED", nil))

	// Nanoseconds and a zone: stored at microsecond precision, read in UTC.
	at := time.Date(2026, 11, 30, 3, 13, 35, 123456789, time.FixedZone("CET", 3600))
	in := newVerification("t", "20261130t021335-ab12", "VERDICT_STALE", at)
	sent := *in
	createVerification(t, h.s, in, 0)
	if !reflect.DeepEqual(*in, sent) {
		t.Errorf("CreateVerification changed its argument: %+v, sent %+v", *in, sent)
	}
	got := getVerification(t, h.s, "t", in.ID)
	want := sent
	want.CreateTime = time.Date(2026, 11, 30, 2, 13, 35, 123456000, time.UTC)
	wantVerificationEqual(t, "GetVerification", got, &want)
	if got.CreateTime.Location() != time.UTC || got.CreateTime.Nanosecond() != 123456000 {
		t.Errorf("CreateTime = %v, want %v in UTC", got.CreateTime, want.CreateTime)
	}

	// The verdict is set without changing the tenant's etag or update time.
	wantT := *orig
	wantT.Verdict = "VERDICT_STALE"
	wantEqual(t, "GetTenant after CreateVerification", get(t, h.s, "t"), &wantT)

	// Minimal fields read back as written (nil body, empty strings), and an
	// empty verdict is a verdict like any other.
	bare := &store.Verification{ID: "bare", Tenant: "t", CreateTime: reportTime(0)}
	createVerification(t, h.s, bare, 0)
	wantVerificationEqual(t, "bare verification", getVerification(t, h.s, "t", "bare"), bare)
	if got := get(t, h.s, "t").Verdict; got != "" {
		t.Errorf("Verdict after a verification without one = %q, want empty", got)
	}

	// Ids are per tenant.
	other := newVerification("u", in.ID, "VERDICT_HEALTHY", reportTime(1))
	createVerification(t, h.s, other, 0)
	wantVerificationEqual(t, "the other tenant's verification of the same id", getVerification(t, h.s, "u", in.ID), other)
	wantVerificationEqual(t, "GetVerification after the other tenant's", getVerification(t, h.s, "t", in.ID), &want)

	for _, tc := range []struct{ tenant, id string }{{"t", "absent"}, {"u", "bare"}, {"absent", in.ID}, {"", in.ID}} {
		_, err := h.s.GetVerification(t.Context(), tc.tenant, tc.id)
		wantErr(t, fmt.Sprintf("GetVerification(%q, %q)", tc.tenant, tc.id), err, store.ErrNotFound)
	}
}

func testVerificationList(t *testing.T, h *harness) {
	create(t, h.s, newTenant("t", "REGISTERED", nil))
	create(t, h.s, newTenant("u", "REGISTERED", nil))
	// v1 and v2 share a time: the id breaks the tie, descending.
	reports := []*store.Verification{
		newVerification("t", "v0", "VERDICT_NO_DATA", reportTime(0)),
		newVerification("t", "v1", "VERDICT_STALE", reportTime(1)),
		newVerification("t", "v2", "VERDICT_STALE", reportTime(1)),
		newVerification("t", "v3", "VERDICT_HEALTHY", reportTime(2).Add(time.Microsecond)),
		newVerification("t", "v4", "VERDICT_HEALTHY", reportTime(3)),
	}
	want := []string{"v4", "v3", "v2", "v1", "v0"}
	byID := map[string]*store.Verification{}
	for _, v := range reports {
		byID[v.ID] = v
	}
	// Reports are listed by their time, not in the order of the calls;
	// keep <= 0 keeps all.
	for i, j := range []int{3, 0, 4, 1, 2} {
		createVerification(t, h.s, reports[j], []int{0, -1}[i%2])
	}
	createVerification(t, h.s, newVerification("u", "u0", "VERDICT_HEALTHY", reportTime(10)), 0)

	for _, size := range []int{0, 1, 2, 4, 5, 6} {
		got := listVerifications(t, h.s, store.VerificationQuery{Tenant: "t", PageSize: size})
		if !slices.Equal(verificationIDs(got), want) {
			t.Errorf("page size %d: got %q, want %q", size, verificationIDs(got), want)
		}
		for _, v := range got {
			wantVerificationEqual(t, "listed verification", v, byID[v.ID])
		}
	}

	// Page size 2 over the 5: pages of 2, 2 and 1.
	var pages [][]string
	q := store.VerificationQuery{Tenant: "t", PageSize: 2}
	for {
		page, err := h.s.ListVerifications(t.Context(), q)
		if err != nil {
			t.Fatalf("ListVerifications: %v", err)
		}
		pages = append(pages, verificationIDs(page.Verifications))
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	if wantPages := [][]string{{"v4", "v3"}, {"v2", "v1"}, {"v0"}}; !reflect.DeepEqual(pages, wantPages) {
		t.Errorf("pages of 2 = %q, want %q", pages, wantPages)
	}

	for _, tenant := range []string{"absent", ""} {
		page, err := h.s.ListVerifications(t.Context(), store.VerificationQuery{Tenant: tenant})
		if err != nil || len(page.Verifications) != 0 || page.NextPageToken != "" {
			t.Errorf("ListVerifications(%q) = %+v, %v; want an empty page", tenant, page, err)
		}
	}
	if got := listedIDs(t, h.s, "u"); !slices.Equal(got, []string{"u0"}) {
		t.Errorf("u's verifications = %q, want [u0]", got)
	}
}

func testVerificationInvalidPageToken(t *testing.T, h *harness) {
	for _, tenant := range []string{"t", "u"} {
		create(t, h.s, newTenant(tenant, "REGISTERED", nil))
		for i := range 5 {
			createVerification(t, h.s, newVerification(tenant, fmt.Sprintf("v%d", i), "VERDICT_HEALTHY", reportTime(i)), 0)
		}
	}
	q := store.VerificationQuery{Tenant: "t", PageSize: 2}
	page, err := h.s.ListVerifications(t.Context(), q)
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("ListVerifications = %v; want a next token", err)
	}
	tok := page.NextPageToken
	for _, op := range []string{"a", "b", "c"} {
		createOp(t, h.s, newOp(op, "t", false))
	}
	opPage, err := h.s.ListOperations(t.Context(), store.OperationQuery{Tenant: "t", PageSize: 1})
	if err != nil || opPage.NextPageToken == "" {
		t.Fatalf("ListOperations = %v; want a next token", err)
	}
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	for name, bad := range map[string]store.VerificationQuery{
		"garbage":                     {Tenant: "t", PageToken: "not a token!"},
		"truncated":                   {Tenant: "t", PageToken: tok[:len(tok)-1]},
		"tampered":                    {Tenant: "t", PageToken: string(tampered)},
		"other tenant":                {Tenant: "u", PageToken: tok},
		"no tenant":                   {PageToken: tok},
		"operation token":             {Tenant: "t", PageToken: opPage.NextPageToken},
		"tenant token of the same id": {Tenant: "t", PageToken: store.EncodePageToken("v1", store.TenantQuery{})},
	} {
		_, err := h.s.ListVerifications(t.Context(), bad)
		wantErr(t, "ListVerifications("+name+")", err, store.ErrInvalidPageToken)
	}
	_, err = h.s.ListOperations(t.Context(), store.OperationQuery{Tenant: "t", PageToken: tok})
	wantErr(t, "ListOperations(verification token)", err, store.ErrInvalidPageToken)

	// The page size may change between pages.
	q.PageToken, q.PageSize = tok, 10
	if got := verificationIDs(listVerifications(t, h.s, q)); !slices.Equal(got, []string{"v2", "v1", "v0"}) {
		t.Errorf("rest after the first page = %q, want [v2 v1 v0]", got)
	}
}

func testVerificationKeep(t *testing.T, h *harness) {
	create(t, h.s, newTenant("t", "REGISTERED", nil))
	create(t, h.s, newTenant("u", "REGISTERED", nil))
	for i := range 4 {
		createVerification(t, h.s, newVerification("u", fmt.Sprintf("u%d", i), "VERDICT_HEALTHY", reportTime(i)), 0)
	}
	for i := range 5 {
		createVerification(t, h.s, newVerification("t", fmt.Sprintf("v%d", i), fmt.Sprintf("VERDICT_%d", i), reportTime(i)), 3)
		if got, want := len(listedIDs(t, h.s, "t")), min(i+1, 3); got != want {
			t.Errorf("after create %d with keep 3: %d verifications, want %d", i, got, want)
		}
	}
	if got := listedIDs(t, h.s, "t"); !slices.Equal(got, []string{"v4", "v3", "v2"}) {
		t.Errorf("after 5 creates with keep 3: %q, want the 3 newest [v4 v3 v2]", got)
	}
	for _, id := range []string{"v0", "v1"} {
		_, err := h.s.GetVerification(t.Context(), "t", id)
		wantErr(t, "GetVerification of a pruned one", err, store.ErrNotFound)
	}
	if got := get(t, h.s, "t").Verdict; got != "VERDICT_4" {
		t.Errorf("Verdict = %q, want VERDICT_4", got)
	}
	// Another tenant's are not pruned.
	if got := listedIDs(t, h.s, "u"); !slices.Equal(got, []string{"u3", "u2", "u1", "u0"}) {
		t.Errorf("u's verifications = %q, want all 4", got)
	}
	// Ties in time are pruned in id order, as listed.
	createVerification(t, h.s, newVerification("t", "v5a", "VERDICT_HEALTHY", reportTime(9)), 0)
	createVerification(t, h.s, newVerification("t", "v5b", "VERDICT_HEALTHY", reportTime(9)), 2)
	if got := listedIDs(t, h.s, "t"); !slices.Equal(got, []string{"v5b", "v5a"}) {
		t.Errorf("after keep 2: %q, want [v5b v5a]", got)
	}
	createVerification(t, h.s, newVerification("t", "v6", "VERDICT_STALE", reportTime(10)), 1)
	if got := listedIDs(t, h.s, "t"); !slices.Equal(got, []string{"v6"}) {
		t.Errorf("after keep 1: %q, want [v6]", got)
	}
}

func testVerificationDuplicateAndMissingTenant(t *testing.T, h *harness) {
	create(t, h.s, newTenant("t", "REGISTERED", nil))
	first := newVerification("t", "v", "VERDICT_STALE", reportTime(0))
	createVerification(t, h.s, first, 0)
	before := get(t, h.s, "t")

	dup := newVerification("t", "v", "VERDICT_HEALTHY", reportTime(1))
	dup.Body = []byte("other")
	wantErr(t, "duplicate CreateVerification", h.s.CreateVerification(t.Context(), dup, 1), store.ErrAlreadyExists)
	wantVerificationEqual(t, "original after the duplicate", getVerification(t, h.s, "t", "v"), first)
	wantEqual(t, "tenant after the duplicate (verdict kept)", get(t, h.s, "t"), before)

	err := h.s.CreateVerification(t.Context(), newVerification("absent", "w", "VERDICT_STALE", reportTime(2)), 0)
	wantErr(t, "CreateVerification for an unknown tenant", err, store.ErrNotFound)
	_, err = h.s.GetVerification(t.Context(), "absent", "w")
	wantErr(t, "GetVerification of the unknown tenant's", err, store.ErrNotFound)
	if _, err := h.s.GetTenant(t.Context(), "absent"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateVerification created its tenant (GetTenant: %v)", err)
	}

	// Neither error spoils a transaction: what follows in it commits.
	err = h.s.InTx(t.Context(), func(tx store.Tx) error {
		wantErr(t, "duplicate in a transaction", tx.CreateVerification(t.Context(), dup, 0), store.ErrAlreadyExists)
		err := tx.CreateVerification(t.Context(), newVerification("absent", "w", "VERDICT_STALE", reportTime(2)), 0)
		wantErr(t, "unknown tenant in a transaction", err, store.ErrNotFound)
		return tx.CreateVerification(t.Context(), newVerification("t", "after", "VERDICT_NO_DATA", reportTime(3)), 0)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if got := listedIDs(t, h.s, "t"); !slices.Equal(got, []string{"after", "v"}) {
		t.Errorf("verifications after the transaction = %q, want [after v]", got)
	}
}

func testVerificationVerdictFilter(t *testing.T, h *harness) {
	for _, in := range []*store.Tenant{
		newTenant("a", "ACTIVE", map[string]string{"env": "prod"}),
		newTenant("b", "ACTIVE", map[string]string{"env": "dev"}),
		newTenant("c", "SUSPENDED", map[string]string{"env": "prod"}),
		newTenant("d", "ACTIVE", nil),
		newTenant("e", "SUSPENDED", nil),
		newTenant("f", "ACTIVE", map[string]string{"env": "prod"}),
	} {
		create(t, h.s, in)
	}
	for i, r := range []struct{ tenant, verdict string }{
		{"a", "VERDICT_STALE"},
		{"b", "VERDICT_HEALTHY"},
		{"c", "VERDICT_STALE"},
		{"c", "VERDICT_HEALTHY"}, // the last one counts
		{"e", "VERDICT_STALE"},
		{"f", "VERDICT_HEALTHY"},
		{"f", "VERDICT_STALE"},
	} {
		createVerification(t, h.s, newVerification(r.tenant, fmt.Sprintf("v%d", i), r.verdict, reportTime(i)), 0)
	}
	wantVerdicts := map[string]string{"a": "VERDICT_STALE", "b": "VERDICT_HEALTHY", "c": "VERDICT_HEALTHY",
		"d": "", "e": "VERDICT_STALE", "f": "VERDICT_STALE"}
	for _, got := range listAll(t, h.s, store.TenantQuery{}) {
		if got.Verdict != wantVerdicts[got.ID] {
			t.Errorf("listed tenant %q: Verdict %q, want %q", got.ID, got.Verdict, wantVerdicts[got.ID])
		}
		wantEqual(t, "GetTenant", get(t, h.s, got.ID), got)
	}
	for _, tc := range []struct {
		name string
		q    store.TenantQuery
		want []string
	}{
		{"none", store.TenantQuery{}, []string{"a", "b", "c", "d", "e", "f"}},
		{"stale", store.TenantQuery{Verdict: "VERDICT_STALE"}, []string{"a", "e", "f"}},
		{"healthy", store.TenantQuery{Verdict: "VERDICT_HEALTHY"}, []string{"b", "c"}},
		{"stale and active", store.TenantQuery{Verdict: "VERDICT_STALE", State: "ACTIVE"}, []string{"a", "f"}},
		{"healthy and suspended", store.TenantQuery{Verdict: "VERDICT_HEALTHY", State: "SUSPENDED"}, []string{"c"}},
		{"stale and a label", store.TenantQuery{Verdict: "VERDICT_STALE", Labels: map[string]string{"env": "prod"}}, []string{"a", "f"}},
		{"all three", store.TenantQuery{Verdict: "VERDICT_STALE", State: "ACTIVE", Labels: map[string]string{"env": "prod"}}, []string{"a", "f"}},
		{"no tenant has it", store.TenantQuery{Verdict: "VERDICT_NO_DATA"}, nil},
		{"no tenant has both", store.TenantQuery{Verdict: "VERDICT_HEALTHY", State: "NOPE"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{0, 1, 2} {
				q := tc.q
				q.PageSize = size
				if got := ids(listAll(t, h.s, q)); !slices.Equal(got, tc.want) {
					t.Errorf("page size %d: got %q, want %q", size, got, tc.want)
				}
			}
		})
	}

	// Tokens are bound to the verdict.
	q := store.TenantQuery{Verdict: "VERDICT_STALE", PageSize: 1}
	page, err := h.s.ListTenants(t.Context(), q)
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("ListTenants(%+v) = %v; want a next token", q, err)
	}
	plain, err := h.s.ListTenants(t.Context(), store.TenantQuery{PageSize: 1})
	if err != nil || plain.NextPageToken == "" {
		t.Fatalf("ListTenants = %v; want a next token", err)
	}
	for name, bad := range map[string]store.TenantQuery{
		"other verdict":           {Verdict: "VERDICT_HEALTHY", PageToken: page.NextPageToken},
		"no verdict":              {PageToken: page.NextPageToken},
		"verdict as state":        {State: "VERDICT_STALE", PageToken: page.NextPageToken},
		"verdict and state":       {Verdict: "VERDICT_STALE", State: "ACTIVE", PageToken: page.NextPageToken},
		"verdict added to a list": {Verdict: "VERDICT_STALE", PageToken: plain.NextPageToken},
		"verdict as a label":      {Labels: map[string]string{"tenants by verdict": "VERDICT_STALE"}, PageToken: page.NextPageToken},
	} {
		_, err := h.s.ListTenants(t.Context(), bad)
		wantErr(t, "ListTenants("+name+")", err, store.ErrInvalidPageToken)
	}
	q.PageToken, q.PageSize = page.NextPageToken, 10
	if got := ids(listAll(t, h.s, q)); !slices.Equal(got, []string{"e", "f"}) {
		t.Errorf("rest of the stale tenants = %q, want [e f]", got)
	}
}

// testVerificationVerdictReadOnly: callers cannot write Verdict; the
// tenant writes keep and return the stored one.
func testVerificationVerdictReadOnly(t *testing.T, h *harness) {
	in := newTenant("t", "REGISTERED", map[string]string{"a": "1"})
	in.Verdict = "VERDICT_HEALTHY"
	out := create(t, h.s, in)
	if out.Verdict != "" {
		t.Errorf("CreateTenant returned Verdict %q, want empty", out.Verdict)
	}
	batch := []*store.Tenant{newTenant("u", "REGISTERED", nil)}
	batch[0].Verdict = "VERDICT_HEALTHY"
	outs, err := h.s.CreateTenants(t.Context(), batch)
	if err != nil {
		t.Fatalf("CreateTenants: %v", err)
	}
	if outs[0].Verdict != "" {
		t.Errorf("CreateTenants returned Verdict %q, want empty", outs[0].Verdict)
	}
	for _, id := range []string{"t", "u"} {
		if got := get(t, h.s, id).Verdict; got != "" {
			t.Errorf("tenant %q created with Verdict %q, want empty", id, got)
		}
	}

	createVerification(t, h.s, newVerification("t", "v", "VERDICT_STALE", reportTime(0)), 0)
	upd := newTenant("t", "IGNORED", map[string]string{"a": "2"})
	upd.Verdict = "VERDICT_HEALTHY"
	got, err := h.s.UpdateTenant(t.Context(), upd, out.Etag) // the etag survived the verification
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	if got.Verdict != "VERDICT_STALE" {
		t.Errorf("UpdateTenant returned Verdict %q, want the stored VERDICT_STALE", got.Verdict)
	}
	wantEqual(t, "GetTenant after UpdateTenant", get(t, h.s, "t"), got)
	if err := h.s.UpdateTenantStatus(t.Context(), "t", "ONBOARDED", []byte("s")); err != nil {
		t.Fatal(err)
	}
	if v := get(t, h.s, "t").Verdict; v != "VERDICT_STALE" {
		t.Errorf("Verdict after UpdateTenantStatus = %q, want VERDICT_STALE", v)
	}
}

func testVerificationDeleteTenant(t *testing.T, h *harness) {
	for _, tenant := range []string{"t", "u"} {
		create(t, h.s, newTenant(tenant, "REGISTERED", nil))
		for i := range 3 {
			createVerification(t, h.s, newVerification(tenant, fmt.Sprintf("v%d", i), "VERDICT_STALE", reportTime(i)), 0)
		}
	}
	if err := h.s.DeleteTenant(t.Context(), "t", ""); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	if got := listedIDs(t, h.s, "t"); len(got) != 0 {
		t.Errorf("verifications of the deleted tenant = %q, want none", got)
	}
	_, err := h.s.GetVerification(t.Context(), "t", "v0")
	wantErr(t, "GetVerification of the deleted tenant's", err, store.ErrNotFound)
	if got := listedIDs(t, h.s, "u"); !slices.Equal(got, []string{"v2", "v1", "v0"}) {
		t.Errorf("the other tenant's verifications = %q, want all 3", got)
	}
	wantErr(t, "CreateVerification for the deleted tenant",
		h.s.CreateVerification(t.Context(), newVerification("t", "v9", "VERDICT_STALE", reportTime(9)), 0), store.ErrNotFound)

	// A tenant recreated with the id starts afresh, and may reuse the ids.
	if got := create(t, h.s, newTenant("t", "REGISTERED", nil)); got.Verdict != "" {
		t.Errorf("recreated tenant has Verdict %q", got.Verdict)
	}
	if got := listedIDs(t, h.s, "t"); len(got) != 0 {
		t.Errorf("verifications of the recreated tenant = %q, want none", got)
	}
	createVerification(t, h.s, newVerification("t", "v0", "VERDICT_HEALTHY", reportTime(5)), 0)
}

func testVerificationInTx(t *testing.T, h *harness) {
	ctx := t.Context()
	orig := create(t, h.s, newTenant("t", "REGISTERED", nil))
	createVerification(t, h.s, newVerification("t", "old", "VERDICT_HEALTHY", reportTime(0)), 0)
	before := get(t, h.s, "t")

	err := h.s.InTx(ctx, func(tx store.Tx) error {
		for i := range 3 {
			createVerification(t, tx, newVerification("t", fmt.Sprintf("v%d", i), "VERDICT_STALE", reportTime(i+1)), 1)
		}
		if got, err := tx.GetTenant(ctx, "t"); err != nil || got.Verdict != "VERDICT_STALE" {
			t.Errorf("Tx.GetTenant = %+v, %v; want its own verdict VERDICT_STALE", got, err)
		}
		return errRollback
	})
	wantErr(t, "InTx", err, errRollback)
	if got := listedIDs(t, h.s, "t"); !slices.Equal(got, []string{"old"}) {
		t.Errorf("verifications after rollback = %q, want only [old] (nothing created, nothing pruned)", got)
	}
	wantEqual(t, "tenant after rollback", get(t, h.s, "t"), before)

	err = h.s.InTx(ctx, func(tx store.Tx) error {
		createOp(t, tx, newOp("verify", "t", false))
		v := newVerification("t", "committed", "VERDICT_NO_DATA", reportTime(5))
		v.Operation = "verify"
		return tx.CreateVerification(ctx, v, 1)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if got := listedIDs(t, h.s, "t"); !slices.Equal(got, []string{"committed"}) {
		t.Errorf("verifications after commit = %q, want [committed]", got)
	}
	getOp(t, h.s, "verify")
	after := get(t, h.s, "t")
	if after.Verdict != "VERDICT_NO_DATA" || after.Etag != orig.Etag || !after.UpdateTime.Equal(orig.UpdateTime) {
		t.Errorf("tenant after commit: Verdict %q, etag %q, update time %v; want VERDICT_NO_DATA and the etag and time kept",
			after.Verdict, after.Etag, after.UpdateTime)
	}
}

// testConcurrentVerifications: writers racing on one tenant with keep 3
// leave exactly the 3 newest of all their reports, whatever the order in
// which they commit.
func testConcurrentVerifications(t *testing.T, h *harness) {
	create(t, h.s, newTenant("t", "REGISTERED", nil))
	const writers, each = 8, 5
	minutes := rand.Perm(writers * each)
	verdicts := map[string]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		verdicts[fmt.Sprintf("VERDICT_%d", w)] = true
		wg.Go(func() {
			for i := range each {
				m := minutes[w*each+i]
				v := newVerification("t", fmt.Sprintf("m%02d", m), fmt.Sprintf("VERDICT_%d", w), reportTime(m))
				if err := h.s.CreateVerification(t.Context(), v, 3); err != nil {
					t.Errorf("CreateVerification(%q): %v", v.ID, err)
				}
			}
		})
	}
	wg.Wait()
	n := writers * each
	want := []string{fmt.Sprintf("m%02d", n-1), fmt.Sprintf("m%02d", n-2), fmt.Sprintf("m%02d", n-3)}
	if got := listedIDs(t, h.s, "t"); !slices.Equal(got, want) {
		t.Errorf("after concurrent creates with keep 3: %q, want %q", got, want)
	}
	if got := get(t, h.s, "t").Verdict; !verdicts[got] {
		t.Errorf("Verdict = %q, want one of %q", got, slices.Sorted(maps.Keys(verdicts)))
	}
}

// testVerificationsRaceDeleteTenant: creates racing a tenant's deletes and
// recreations succeed or find no tenant (never deadlock or fail otherwise),
// and leave no report behind for a later tenant of the same id.
func testVerificationsRaceDeleteTenant(t *testing.T, h *harness) {
	const writers, each, deletes = 4, 50, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				v := newVerification("t", fmt.Sprintf("w%d-%02d", w, i), "VERDICT_STALE", reportTime(i))
				if err := h.s.CreateVerification(t.Context(), v, 3); err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("CreateVerification(%q): %v", v.ID, err)
				}
			}
		})
	}
	wg.Go(func() {
		for range deletes {
			if _, err := h.s.CreateTenant(t.Context(), newTenant("t", "REGISTERED", nil)); err != nil {
				t.Errorf("CreateTenant: %v", err)
			}
			if err := h.s.DeleteTenant(t.Context(), "t", ""); err != nil {
				t.Errorf("DeleteTenant: %v", err)
			}
		}
	})
	wg.Wait()
	create(t, h.s, newTenant("t", "REGISTERED", nil))
	if got := get(t, h.s, "t"); got.Verdict != "" {
		t.Errorf("a tenant created after the race has Verdict %q", got.Verdict)
	}
	if got := listedIDs(t, h.s, "t"); len(got) != 0 {
		t.Errorf("a tenant created after the race has verifications %q", got)
	}
}
