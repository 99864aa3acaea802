// Package outbound builds the azcore pipeline options every xdrlink Azure client uses: retries
// that honour Retry-After, a token-bucket limiter per (customer tenant, subscription) that keeps
// ARM calls under ARM's own buckets, global and per-tenant concurrency limits, and one
// OpenTelemetry span plus one latency histogram sample per call.
//
// One [Outbound] is shared by the whole process so that every client for the same tenant and
// subscription draws from the same buckets and the same semaphores; [Outbound.ARMClientOptions]
// and [Outbound.ClientOptions] hand out per-tenant options built on that shared state;
// [NewAPIPipeline] builds the bearer-token pipeline of the non-ARM clients on the latter.
package outbound
