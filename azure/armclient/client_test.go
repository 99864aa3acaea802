package armclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/azerr"
)

func testClient(t *testing.T, h http.Handler) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c, err := New(&fake.TokenCredential{}, &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: srv.URL, Audience: "https://management.azure.com"}}},
			Transport: srv.Client(),
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestDoQueryAndStatus(t *testing.T) {
	var gotQuery, gotAccept, gotBody string
	c, _ := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery, gotAccept = r.URL.RawQuery, r.Header.Get("Accept")
		b := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(b)
		gotBody = string(b)
		if r.Method == http.MethodDelete {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":{"code":"Conflict","message":"busy"}}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"name":"x"}`))
	}))
	var out struct{ Name string }
	status, err := c.DoJSON(context.Background(), Request{Method: http.MethodPut, Path: "/subscriptions/s/x", APIVersion: "2025-12-01",
		Query: map[string][]string{"$filter": {"properties/contentId eq 'a b'"}}, Body: map[string]int{"n": 1}, OK: []int{200, 201}}, &out)
	if err != nil || status != 201 || out.Name != "x" {
		t.Fatalf("%d %+v %v", status, out, err)
	}
	if !strings.Contains(gotQuery, "api-version=2025-12-01") || !strings.Contains(gotQuery, "%24filter=properties%2FcontentId%20eq%20%27a%20b%27") || strings.Contains(gotQuery, "+") {
		t.Fatalf("query %q", gotQuery)
	}
	if gotAccept != "application/json" || gotBody != `{"n":1}` {
		t.Fatalf("accept %q body %q", gotAccept, gotBody)
	}
	_, err = c.Do(context.Background(), Request{Method: http.MethodDelete, Path: "/subscriptions/s/x", APIVersion: "v", OK: []int{200}})
	if azerr.Classify(err) != azerr.Conflict {
		t.Fatalf("%v", err)
	}
}

func TestListFollowsNextLinkOnSameHostOnly(t *testing.T) {
	var calls atomic.Int32
	var srvURL string
	c, srv := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var body any
		switch {
		case r.URL.Query().Get("$skipToken") == "":
			body = map[string]any{"value": []int{1, 2}, "nextLink": srvURL + r.URL.Path + "?api-version=v&$skipToken=2"}
		case r.URL.Query().Get("$skipToken") == "2":
			body = map[string]any{"value": []int{3}, "nextLink": "https://evil.example/steal?$skipToken=3"}
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	srvURL = srv.URL
	_, err := List[int](context.Background(), c, Request{Path: "/subscriptions/s/things", APIVersion: "v"})
	if err == nil || !strings.Contains(err.Error(), "is not the ARM endpoint") {
		t.Fatalf("foreign nextLink followed: %v", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d calls", calls.Load())
	}
}

func TestListAllPages(t *testing.T) {
	var srvURL string
	c, srv := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("$skipToken") == "" {
			_ = json.NewEncoder(w).Encode(map[string]any{"value": []int{1, 2}, "nextLink": srvURL + r.URL.Path + "?api-version=v&$skipToken=2"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": []int{3}})
	}))
	srvURL = srv.URL
	got, err := List[int](context.Background(), c, Request{Path: "/subscriptions/s/things", APIVersion: "v"})
	if err != nil || len(got) != 3 || got[2] != 3 {
		t.Fatalf("%v %v", got, err)
	}
}

func TestWorkspaceValidation(t *testing.T) {
	good := Workspace{SubscriptionID: "20000000-0000-4000-8000-0000000000c1", ResourceGroup: "rg-sentinel", Name: "ws-contoso"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if p := good.Path(); p != "/subscriptions/20000000-0000-4000-8000-0000000000c1/resourceGroups/rg-sentinel/providers/Microsoft.OperationalInsights/workspaces/ws-contoso" {
		t.Fatal(p)
	}
	for _, bad := range []Workspace{
		{SubscriptionID: "not-a-guid", ResourceGroup: "rg", Name: "ws-1"},
		{SubscriptionID: good.SubscriptionID, ResourceGroup: "rg/../x", Name: "ws-1"},
		{SubscriptionID: good.SubscriptionID, ResourceGroup: "rg.", Name: "ws-1"},
		{SubscriptionID: good.SubscriptionID, ResourceGroup: "rg", Name: "w"},
		{SubscriptionID: good.SubscriptionID, ResourceGroup: "rg", Name: "ws?x=1"},
	} {
		if bad.Validate() == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	for _, name := range []string{"", "a/b", "..", "a?b", "a%2Fb"} {
		if _, err := ChildName(name); err == nil {
			t.Errorf("child name %q accepted", name)
		}
	}
	if esc, err := ChildName("6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c11"); err != nil || esc != "6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c11" {
		t.Fatal(esc, err)
	}
}
