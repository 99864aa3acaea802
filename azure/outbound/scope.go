package outbound

import (
	"context"
	"net/http"
	"time"

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
	ins     *instruments // times the waits
	api     API
	tenant  string
	gates   *RetryAfterGates
	slots   *semaphores[GateKey] // one per scope
	limiter *Limiter             // ARM only
}

func (p scopePolicy) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	ctx := raw.Context()
	tenant, call := callTenant(req, p.api, p.tenant)
	if call != nil {
		// A retry: azcore's pause since the last try, before this try's own waits below.
		if end := call.tryEnd.Load(); end != 0 {
			p.ins.recordWait(ctx, p.api, WaitRetry, time.Since(time.Unix(0, end)))
		}
	}
	k := GateKey{Tenant: tenant, API: p.api}
	if p.limiter != nil {
		k.Scope = subscriptionOf(raw.URL.Path)
	}
	slot := p.slots.get(k.normalized())
	if err := slot.Acquire(ctx); err != nil {
		return nil, err
	}
	defer slot.Release()
	if err := p.waitGate(ctx, k); err != nil {
		return nil, err
	}
	if p.limiter != nil {
		start := time.Now()
		err := p.limiter.Wait(ctx, tenant, k.Scope, ClassOf(raw.Method))
		p.ins.recordWait(ctx, p.api, WaitARMBucket, time.Since(start))
		if err != nil {
			return nil, err
		}
		if err := p.waitGate(ctx, k); err != nil {
			return nil, err
		}
	}
	resp, err := p.gates.recheckOnConnection(req, k).Next()
	p.gates.observe(k, resp, err)
	return resp, err
}

// waitGate waits for the scope's Retry-After gate and records how long it was closed.
func (p scopePolicy) waitGate(ctx context.Context, k GateKey) error {
	start := time.Now()
	err := p.gates.Wait(ctx, k)
	p.ins.recordWait(ctx, p.api, WaitRetryAfter, time.Since(start))
	return err
}
