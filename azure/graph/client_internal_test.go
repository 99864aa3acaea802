package graph

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/cloud"
)

// pages answers every request with a page whose nextLink points elsewhere.
type pages struct{ hosts []string }

func (p *pages) Do(req *http.Request) (*http.Response, error) {
	p.hosts = append(p.hosts, req.URL.Host)
	body := `{"value":[{"id":"s1"}],"@odata.nextLink":"https://evil.example/v1.0/security/identities/sensors?$skiptoken=1"}`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// The bearer token must never follow a nextLink to another host.
func TestListRefusesForeignNextLink(t *testing.T) {
	tr := &pages{}
	c, err := NewClient(cloud.Service{Endpoint: "https://graph.example", Audience: cloud.AudienceGraph}, &fake.TokenCredential{},
		&policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.MDISensors(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another host") || len(tr.hosts) != 1 || tr.hosts[0] != "graph.example" {
		t.Fatalf("err = %v, hosts %v", err, tr.hosts)
	}
}
