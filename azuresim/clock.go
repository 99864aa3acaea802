package azuresim

import (
	"sync"
	"time"
)

// Clock is the emulator's own time. It runs with real time from a start point
// and can be moved forward (never back), so tests can expire tokens, finish
// LROs, refill throttling buckets and age data without sleeping.
type Clock struct {
	mu     sync.RWMutex
	offset time.Duration
	now    func() time.Time // real time source; replaceable in tests
}

// NewClock returns a clock that starts at real now.
func NewClock() *Clock { return &Clock{now: time.Now} }

// Now is the emulated time (UTC).
func (c *Clock) Now() time.Time {
	c.mu.RLock()
	off := c.offset
	c.mu.RUnlock()
	return c.now().Add(off).UTC()
}

// Advance moves the clock forward by d (negative values are ignored).
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Offset is how far the clock is ahead of real time.
func (c *Clock) Offset() time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.offset
}
