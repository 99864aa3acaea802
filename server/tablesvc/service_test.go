package tablesvc

import (
	"errors"
	"testing"

	"github.com/xdrlink/xdrlink/azure/streaming"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

// TestCatalogIsComplete: every catalog table appears once, with a known
// product and enablement, and a category exactly when the API can stream it.
func TestCatalogIsComplete(t *testing.T) {
	s := New(nil, nil)
	resp, err := s.ListTables(t.Context(), &xdrlinkv1.ListTablesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetTables()) != len(streaming.Catalog()) || resp.GetNextPageToken() != "" {
		t.Fatalf("%d tables, token %q; catalog has %d", len(resp.GetTables()), resp.GetNextPageToken(), len(streaming.Catalog()))
	}
	for i, tb := range resp.GetTables() {
		if i > 0 && resp.GetTables()[i-1].GetName() >= tb.GetName() {
			t.Errorf("not in name order at %s", tb.GetName())
		}
		if tb.GetProduct() == xdrlinkv1.Product_PRODUCT_UNSPECIFIED || tb.GetEnablement() == xdrlinkv1.Enablement_ENABLEMENT_UNSPECIFIED {
			t.Errorf("%s: product %v, enablement %v", tb.GetName(), tb.GetProduct(), tb.GetEnablement())
		}
		if (tb.GetEnablement() == xdrlinkv1.Enablement_ENABLEMENT_STREAMING_API) != (tb.GetStreamingCategory() != "") {
			t.Errorf("%s: enablement %v with category %q", tb.GetName(), tb.GetEnablement(), tb.GetStreamingCategory())
		}
	}
}

// TestListTablesPages walks the catalog 4 at a time and refuses a token that
// is not a table name.
func TestListTablesPages(t *testing.T) {
	s := New(nil, nil)
	var names []string
	req := &xdrlinkv1.ListTablesRequest{PageSize: 4}
	for pages := 1; ; pages++ {
		resp, err := s.ListTables(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetTables()) > 4 {
			t.Fatalf("page of %d", len(resp.GetTables()))
		}
		for _, tb := range resp.GetTables() {
			names = append(names, tb.GetName())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		if pages > len(streaming.Catalog()) {
			t.Fatal("paging does not end")
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(names) != len(streaming.Catalog()) {
		t.Errorf("walked %d tables, want %d", len(names), len(streaming.Catalog()))
	}
	if _, err := s.ListTables(t.Context(), &xdrlinkv1.ListTablesRequest{PageToken: "NoSuchTable"}); !errors.Is(err, store.ErrInvalidPageToken) {
		t.Errorf("forged token: %v", err)
	}
}
