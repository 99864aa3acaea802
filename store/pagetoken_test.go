package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPageTokenBindsFilters(t *testing.T) {
	// Filters that a naive concatenation would encode alike.
	queries := []TenantQuery{
		{},
		{State: "a"},
		{State: "ab"},
		{Labels: map[string]string{"a": ""}},
		{Labels: map[string]string{"": "a"}},
		{Labels: map[string]string{"a": "b"}},
		{State: "a", Labels: map[string]string{"b": ""}},
		{Labels: map[string]string{"a": "b", "c": "d"}},
		{Labels: map[string]string{"a": "bc", "": "d"}},
		{Verdict: "a"},
		{Verdict: "b"},
		{State: "a", Verdict: "b"},
		{State: "b", Verdict: "a"},
		{Verdict: "a", Labels: map[string]string{"b": "c"}},
		{Labels: map[string]string{"tenants by verdict": "a"}},
	}
	for i, qi := range queries {
		tok := EncodePageToken("id/ü", qi)
		for j, qj := range queries {
			qj.PageSize = 7 // not bound
			id, err := DecodePageToken(tok, qj)
			switch {
			case i == j && (err != nil || id != "id/ü"):
				t.Errorf("query %d: DecodePageToken = %q, %v; want id/ü", i, id, err)
			case i != j && !errors.Is(err, ErrInvalidPageToken):
				t.Errorf("token of query %d accepted for query %d", i, j)
			}
		}
	}
	if id, err := DecodePageToken("", TenantQuery{State: "x"}); id != "" || err != nil {
		t.Errorf(`DecodePageToken("") = %q, %v; want "", nil`, id, err)
	}
}

func TestPageTokenBindsScope(t *testing.T) {
	// Scopes, and labels that a scope spread over several filter elements
	// could be taken for.
	queries := []TenantQuery{
		{},
		{Scope: &Scope{}},
		{Scope: &Scope{AccessGroups: []string{""}}},
		{Scope: &Scope{AccessGroups: []string{"a"}}},
		{Scope: &Scope{AccessGroups: []string{"a", "b"}}},
		{Scope: &Scope{AccessGroups: []string{"ab"}}},
		{Scope: &Scope{AccessGroups: []string{"a"}, Caller: "b"}},
		{Scope: &Scope{Caller: "a"}},
		{Labels: map[string]string{"scope": "a"}},
		{Labels: map[string]string{"a": "b"}},
		{State: "a", Scope: &Scope{AccessGroups: []string{"b"}}},
		{Verdict: "a", Scope: &Scope{AccessGroups: []string{"b"}}},
		{Labels: map[string]string{"a": "b"}, Scope: &Scope{AccessGroups: []string{"c"}}},
	}
	for i, qi := range queries {
		tok := EncodePageToken("id", qi)
		for j, qj := range queries {
			_, err := DecodePageToken(tok, qj)
			if (err == nil) != (i == j) {
				t.Errorf("token of query %d under query %d: %v", i, j, err)
			}
		}
	}
	// Groups are a set: order and repeats do not matter.
	tok := EncodePageToken("id", TenantQuery{Scope: &Scope{AccessGroups: []string{"b", "a"}}})
	if _, err := DecodePageToken(tok, TenantQuery{Scope: &Scope{AccessGroups: []string{"a", "b", "a"}}}); err != nil {
		t.Errorf("token of groups [b a] under [a b a]: %v", err)
	}
	// Without a scope, the filters are those of tokens issued before
	// scopes existed, so those stay valid.
	q := TenantQuery{State: "S", Labels: map[string]string{"k": "v"}}
	if got, want := EncodePageToken("id", q), defaultPageTokens.signToken("id", []string{"tenants", "S", "k", "v"}); got != want {
		t.Errorf("unscoped tenant token = %q, want %q", got, want)
	}
	oq := OperationQuery{Tenant: "t", Kind: "k", State: "s", Parent: "p"}
	if got, want := operationFilters(oq), []string{"operations", "t", "k", "s", "p"}; !slices.Equal(got, want) {
		t.Errorf("unscoped operation filters = %q, want %q", got, want)
	}
}

func TestNormalizePageSize(t *testing.T) {
	for in, want := range map[int]int{-1: DefaultPageSize, 0: DefaultPageSize, 1: 1, MaxPageSize: MaxPageSize, MaxPageSize + 1: MaxPageSize} {
		if got := NormalizePageSize(in); got != want {
			t.Errorf("NormalizePageSize(%d) = %d, want %d", in, got, want)
		}
	}
}

// FuzzDecodePageToken: any string either decodes to the id it was made from
// or is refused with ErrInvalidPageToken; it never panics.
func FuzzDecodePageToken(f *testing.F) {
	f.Add(EncodePageToken("contoso", TenantQuery{}), "")
	f.Add("eyJsYXN0IjoiemVicmEifQ", "ONBOARDED")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, tok, state string) {
		q := TenantQuery{State: state}
		id, err := DecodePageToken(tok, q)
		if err != nil && !errors.Is(err, ErrInvalidPageToken) {
			t.Fatalf("DecodePageToken error %v is not ErrInvalidPageToken", err)
		}
		if err == nil && tok != "" && EncodePageToken(id, q) != tok {
			t.Fatalf("accepted token %q that is not the encoding of %q", tok, id)
		}
	})
}

func TestOperationPageToken(t *testing.T) {
	c := OperationCursor{CreateTime: Now(), ID: "op/ü"}
	q := OperationQuery{Tenant: "a", Kind: "b"}
	tok := defaultPageTokens.encodeCursorToken(c, operationFilters(q))
	got, err := defaultPageTokens.decodeCursorToken(tok, operationFilters(OperationQuery{Tenant: "a", Kind: "b", PageSize: 3}))
	if err != nil || !got.CreateTime.Equal(c.CreateTime) || got.ID != c.ID {
		t.Errorf("decodeCursorToken = %+v, %v; want %+v", got, err, c)
	}
	// Filters that share values in other fields, a tenant token, and a
	// verification token of the same tenant.
	for _, bad := range []struct {
		tok string
		q   OperationQuery
	}{
		{tok, OperationQuery{Tenant: "b", Kind: "a"}},
		{tok, OperationQuery{Tenant: "a", State: "b"}},
		{tok, OperationQuery{Tenant: "a"}},
		{EncodePageToken("x", TenantQuery{}), OperationQuery{}},
		{defaultPageTokens.signToken("short", operationFilters(OperationQuery{})), OperationQuery{}},
		{defaultPageTokens.encodeCursorToken(c, verificationFilters(VerificationQuery{Tenant: "a"})), OperationQuery{Tenant: "a"}},
	} {
		if _, err := defaultPageTokens.decodeCursorToken(bad.tok, operationFilters(bad.q)); !errors.Is(err, ErrInvalidPageToken) {
			t.Errorf("defaultPageTokens.decodeCursorToken(%q, %+v) = %v, want ErrInvalidPageToken", bad.tok, bad.q, err)
		}
	}
	if got, err := defaultPageTokens.decodeCursorToken("", operationFilters(q)); got != nil || err != nil {
		t.Errorf(`defaultPageTokens.decodeCursorToken("") = %v, %v; want nil, nil`, got, err)
	}
}

func TestNewVerification(t *testing.T) {
	in := &Verification{ID: "v", Tenant: "t", Body: []byte{},
		CreateTime: time.Date(2026, 11, 30, 3, 13, 35, 123456789, time.FixedZone("CET", 3600))}
	out := NewVerification(in)
	if want := time.Date(2026, 11, 30, 2, 13, 35, 123456000, time.UTC); out.CreateTime != want {
		t.Errorf("CreateTime = %v, want %v", out.CreateTime, want)
	}
	if out.Body != nil {
		t.Errorf("Body = %#v, want nil", out.Body)
	}
	if in.CreateTime.Nanosecond() != 123456789 {
		t.Error("NewVerification changed its argument")
	}
}
