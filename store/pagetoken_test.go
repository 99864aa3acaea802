package store

import (
	"errors"
	"testing"
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
