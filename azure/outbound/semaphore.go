package outbound

import (
	"context"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Semaphore bounds the number of requests in flight. A nil *Semaphore never blocks.
type Semaphore struct {
	slots chan struct{}
}

// NewSemaphore returns a semaphore of n slots; n <= 0 returns nil (unlimited).
func NewSemaphore(n int) *Semaphore {
	if n <= 0 {
		return nil
	}
	return &Semaphore{slots: make(chan struct{}, n)}
}

// Acquire takes a slot or returns ctx's error.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if s == nil {
		return nil
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release returns a slot taken by Acquire.
func (s *Semaphore) Release() {
	if s != nil {
		<-s.slots
	}
}

// InFlight is the number of slots taken.
func (s *Semaphore) InFlight() int {
	if s == nil {
		return 0
	}
	return len(s.slots)
}

// semaphores hands out one semaphore of size slots per key (tenant, scope), created on first
// use; size <= 0 hands out nil (unlimited). Every try looks its scope up here, and a key is
// written once and read ever after, so lookups take no process-wide lock (sync.Map).
type semaphores[K comparable] struct {
	size int
	m    sync.Map // K → *Semaphore
}

func newSemaphores[K comparable](size int) *semaphores[K] {
	return &semaphores[K]{size: size}
}

func (s *semaphores[K]) get(k K) *Semaphore {
	if s.size <= 0 {
		return nil
	}
	if sem, ok := s.m.Load(k); ok {
		return sem.(*Semaphore)
	}
	sem, _ := s.m.LoadOrStore(k, NewSemaphore(s.size))
	return sem.(*Semaphore)
}

// concurrencyPolicy runs once per try, so a request sleeping before a retry (Retry-After)
// does not hold a slot. The body has been downloaded when Next returns (azcore's body
// download policy sits below this one), so the slot covers the whole exchange.
type concurrencyPolicy struct {
	global, tenant *Semaphore
}

func (p concurrencyPolicy) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	// Tenant first: a tenant at its own limit must not sit on a global slot while it waits.
	if err := p.tenant.Acquire(ctx); err != nil {
		return nil, err
	}
	defer p.tenant.Release()
	if err := p.global.Acquire(ctx); err != nil {
		return nil, err
	}
	defer p.global.Release()
	return req.Next()
}
