package outbound

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/tracing"

	"github.com/xdrlink/xdrlink/azure/cloud"
)

// APIPipeline is the azcore pipeline of a non-ARM API client (Graph, Defender streaming):
// every try carries a bearer token for the service's scope.
type APIPipeline struct {
	runtime.Pipeline
	tracer tracing.Tracer
}

// NewAPIPipeline builds the pipeline for svc, authenticated with cred; module and version
// name the client in the User-Agent and in its spans. opts are usually
// [Outbound.ClientOptions].
func NewAPIPipeline(module, version string, svc cloud.Service, cred azcore.TokenCredential, opts *policy.ClientOptions) (*APIPipeline, error) {
	bearer := runtime.NewBearerTokenPolicy(cred, []string{svc.Scope()}, nil)
	c, err := azcore.NewClient(module, version, runtime.PipelineOptions{PerRetry: []policy.Policy{bearer}}, opts)
	if err != nil {
		return nil, err
	}
	return &APIPipeline{Pipeline: c.Pipeline(), tracer: c.Tracer()}, nil
}

// StartSpan starts the span of one client call; call end with the call's error. name also
// names the call in outbound's telemetry (span name and azure.operation, as WithOperation),
// which is where the span shows unless the options carry an azcore TracingProvider.
func (p *APIPipeline) StartSpan(ctx context.Context, name string) (_ context.Context, end func(error)) {
	return runtime.StartSpan(WithOperation(ctx, name), name, p.tracer, nil)
}
