package simtest

import (
	"errors"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/outbound"
)

// Principal is who a client signs in as: the MSSP app, or a user through the device-code
// flow.
type Principal struct {
	Tenant string
	// User is the signed-in user's UPN; empty means the MSSP app (app-only tokens).
	User string
}

// App is the MSSP app in the tenant.
func App(tenant string) Principal { return Principal{Tenant: tenant} }

// User is the user upn of the tenant, signed in through the device-code flow (delegated
// tokens).
func User(tenant, upn string) Principal { return Principal{Tenant: tenant, User: upn} }

// Credential is p's credential: AppCredential or UserCredential.
func (e *Env) Credential(t testing.TB, p Principal) azcore.TokenCredential {
	t.Helper()
	if p.User == "" {
		return e.AppCredential(t, p.Tenant)
	}
	return e.UserCredential(t, p.Tenant, p.User)
}

// ClientOptions are the outbound options of a non-ARM API (Graph, Defender streaming, Log
// Analytics) for the tenant, with a recorder of their own in front of the Env's: it sees the
// requests of the client built with them only, token requests excluded.
func (e *Env) ClientOptions(api outbound.API, tenant string) (*policy.ClientOptions, *Recorder) {
	o := e.Outbound.ClientOptions(api, tenant)
	rec := &Recorder{next: o.Transport}
	o.Transport = rec
	return &o, rec
}

// NewClient builds a client of a non-ARM API with its constructor (graph.NewClient,
// streaming.NewClient, loganalytics.NewClient): the API's endpoints from Env.Cloud, as
// signs in, ClientOptions(api, as.Tenant). The recorder holds the client's requests.
func NewClient[C any](t testing.TB, e *Env, api outbound.API, newClient func(cloud.Service, azcore.TokenCredential, *policy.ClientOptions) (C, error), as Principal) (C, *Recorder) {
	t.Helper()
	var svc cloud.Service
	switch api {
	case outbound.APIGraph:
		svc = e.Cloud.Graph
	case outbound.APIDefenderStreaming:
		svc = e.Cloud.DefenderStreaming
	case outbound.APILogAnalytics:
		svc = e.Cloud.LogAnalytics
	default:
		t.Fatalf("simtest: %s is not a non-ARM API", api)
	}
	opts, rec := e.ClientOptions(api, as.Tenant)
	c, err := newClient(svc, e.Credential(t, as), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// WantKind fails the test unless err is an *azerr.Error of the kind, and returns it.
func WantKind(t testing.TB, err error, kind azerr.Kind) *azerr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got nil", kind)
	}
	var e *azerr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error is not an *azerr.Error: %v", err)
	}
	if e.Kind != kind {
		t.Fatalf("kind %s, want %s: %v", e.Kind, kind, err)
	}
	return e
}
