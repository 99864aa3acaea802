package prereq

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/golang-jwt/jwt/v5"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/authz"
	"github.com/xdrlink/xdrlink/azure/graph"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/resources"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/workspaces"
)

// clients are the Azure clients of one tenant's checks.
type clients struct {
	tenant     Tenant
	workspaces *workspaces.Client
	resources  *resources.Client
	authz      *authz.Client
	sentinel   *sentinel.Client
	graph      *graph.Client
	// principalID is the object id of the app's service principal in the
	// customer tenant, read from the oid claim of its Graph token.
	principalID string
}

// clients builds the tenant's clients and gets one Graph token up front: a
// credential that cannot get a token fails the whole report once, clearly,
// instead of every check with the same error.
func (c *Checker) clients(ctx context.Context, t Tenant) (*clients, error) {
	cred, err := c.access.Credentials.Get(t.Profile, t.EntraTenantID)
	if err != nil {
		return nil, err
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.access.Endpoints.Graph.Scope()}})
	if err != nil {
		return nil, err
	}
	out := &clients{tenant: t, principalID: objectID(tok.Token)}
	// azcore would register a missing resource provider on the 409 it
	// causes: a write, which a preflight must not make. The provider checks
	// report it instead.
	armOpts := *c.access.Outbound.ARMClientOptions(t.EntraTenantID, t.Workspace.SubscriptionID)
	armOpts.DisableRPRegistration = true
	arm, err := armclient.New(cred, &armOpts)
	if err != nil {
		return nil, err
	}
	out.workspaces = workspaces.New(arm)
	out.authz = authz.New(arm)
	if out.resources, err = resources.New(arm, t.Workspace.SubscriptionID); err != nil {
		return nil, err
	}
	if out.sentinel, err = sentinel.New(arm, t.Workspace); err != nil {
		return nil, err
	}
	gopts := c.access.Outbound.ClientOptions(outbound.APIGraph, t.EntraTenantID)
	if out.graph, err = graph.NewClient(c.access.Endpoints.Graph, cred, &gopts); err != nil {
		return nil, err
	}
	return out, nil
}

// objectID reads the oid claim without verifying the signature: the token
// came straight from Entra over TLS and is only read for our own bookkeeping,
// never trusted for an authorization decision. "" when absent.
func objectID(token string) string {
	var claims struct {
		jwt.RegisteredClaims
		OID string `json:"oid"`
	}
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil {
		return ""
	}
	return claims.OID
}

// errNoPrincipal: the token carried no oid, so the service principal's
// roles cannot be looked up.
var errNoPrincipal = errors.New("the app token has no oid claim")
