// Package ratelimit limits calls per caller: one token bucket per key (the
// authenticated principal, or the client address of an anonymous call),
// applied by gRPC interceptors. Because the REST gateway dials the gRPC
// server, the same limits apply to REST, where the refusal becomes a 429
// with Retry-After.
//
// A call over its key's rate fails with RESOURCE_EXHAUSTED, reason
// RATE_LIMITED, and a RetryInfo holding how long until a token is free.
// A stream takes one token when it opens, not one per message.
//
// Memory is bounded without a background goroutine: keys are kept in
// least-recently-used order, a bucket that has refilled completely is
// dropped (a full bucket is the same as a new one, so nothing is lost), and
// past MaxKeys the least recently used key is dropped even if not full.
package ratelimit
