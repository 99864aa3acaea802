package outbound

import (
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// scopePolicy runs once per try and keeps every request of a throttling scope — (tenant,
// API, and for ARM the subscription in the URL) — within the service's rules:
//
//  1. it takes the scope's slot (MaxConcurrentPerScope requests at a time);
//  2. it waits until the scope's Retry-After gate is open;
//  3. for ARM, it takes a token from the (tenant, subscription) bucket of the request's
//     operation class, and checks the gate again (a 429 may have come in meanwhile);
//  4. it sends the request, re-checking the gate once the transport holds a connection;
//  5. on a 429 with Retry-After it closes the gate.
//
// Because each try passes here, retries are counted and gated like first attempts.
type scopePolicy struct {
	api     API
	tenant  string
	gates   *RetryAfterGates
	slots   *semaphores[GateKey] // one per scope
	limiter *Limiter             // ARM only
}

func (p scopePolicy) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	ctx := raw.Context()
	tenant, _ := callTenant(req, p.api, p.tenant)
	k := GateKey{Tenant: tenant, API: p.api}
	if p.limiter != nil {
		k.Scope = subscriptionOf(raw.URL.Path)
	}
	slot := p.slots.get(k.normalized())
	if err := slot.Acquire(ctx); err != nil {
		return nil, err
	}
	defer slot.Release()
	if err := p.gates.Wait(ctx, k); err != nil {
		return nil, err
	}
	if p.limiter != nil {
		if err := p.limiter.Wait(ctx, tenant, k.Scope, ClassOf(raw.Method)); err != nil {
			return nil, err
		}
		if err := p.gates.Wait(ctx, k); err != nil {
			return nil, err
		}
	}
	resp, err := p.gates.recheckOnConnection(req, k).Next()
	p.gates.observe(k, resp, err)
	return resp, err
}
