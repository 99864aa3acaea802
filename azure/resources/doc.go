// Package resources is the client for the parts of ARM's Microsoft.Resources API xdrlink
// uses: resource provider registration (docs/azure.md §8.1) and template deployments, a real
// long-running operation polled through azcore's runtime.Poller (§6, §10).
package resources
