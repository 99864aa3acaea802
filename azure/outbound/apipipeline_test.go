package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/cloud"
)

// scopeCred hands out a fixed token and remembers the scopes it was asked for.
type scopeCred struct {
	mu     sync.Mutex
	scopes [][]string
}

func (c *scopeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, o.Scopes)
	return azcore.AccessToken{Token: "tok", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestAPIPipelineSendsBearerForServiceScope(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer srv.Close()
	o := newTestOutbound(t, srv, nil)
	opts := o.ClientOptions(APIGraph, "t1")
	svc := cloud.Service{Endpoint: srv.URL, Audience: cloud.AudienceGraph}
	cred := &scopeCred{}
	pl, err := NewAPIPipeline("xdrlinktest", "v0.0.1", svc, cred, &opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := pl.StartSpan(context.Background(), "test.Call")
	req, err := runtime.NewRequest(ctx, http.MethodGet, srv.URL+"/x")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pl.Do(req)
	end(err)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%v %v", resp, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(auth, []string{"Bearer tok"}) {
		t.Fatalf("Authorization headers %q", auth)
	}
	if len(cred.scopes) != 1 || !slices.Equal(cred.scopes[0], []string{svc.Scope()}) {
		t.Fatalf("token scopes %v, want [%s]", cred.scopes, svc.Scope())
	}
	if _, err := NewAPIPipeline("xdrlinktest", "not-a-version", svc, cred, &opts); err == nil {
		t.Fatal("a bad module version was accepted")
	}
}
