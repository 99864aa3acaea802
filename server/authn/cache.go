package authn

import "sync"

// cacheMax bounds each cache of credentials already checked; past it, a
// cache starts over (a re-check costs one store read or one signature).
const cacheMax = 10000

// cache remembers what a credential check found, for the next call with
// the same credential. Entries carry their own validity; the cache only
// bounds memory.
type cache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (c *cache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *cache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= cacheMax {
		c.m = make(map[K]V)
	}
	c.m[k] = v
}

func (c *cache[K, V]) forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}
