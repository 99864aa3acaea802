package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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

// The name given to StartSpan names the call in outbound's telemetry, as
// armclient.Request.Operation does for ARM calls.
func TestAPIPipelineStartSpanNamesOperation(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	o := newTestOutbound(t, srv, func(c *Config) { c.TracerProvider = tp })
	opts := o.ClientOptions(APIGraph, "t1")
	pl, err := NewAPIPipeline("xdrlinktest", "v0.0.1", cloud.Service{Endpoint: srv.URL, Audience: cloud.AudienceGraph}, &scopeCred{}, &opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := pl.StartSpan(context.Background(), "graph.SubscribedSkus")
	req, err := runtime.NewRequest(ctx, http.MethodGet, srv.URL+"/x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = pl.Do(req)
	end(err)
	if err != nil {
		t.Fatal(err)
	}
	ended := spans.Ended()
	if len(ended) != 1 || ended[0].Name() != "graph graph.SubscribedSkus" {
		t.Fatalf("spans %v", ended)
	}
	found := false
	for _, kv := range ended[0].Attributes() {
		if kv.Key == AttrOperation {
			found = kv.Value.Emit() == "graph.SubscribedSkus"
		}
	}
	if !found {
		t.Fatalf("no %s attribute: %v", AttrOperation, ended[0].Attributes())
	}
}
