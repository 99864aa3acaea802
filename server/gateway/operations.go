package gateway

import (
	"net/http"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// listOperations serves GET /v1/operations. google/longrunning/operations.proto
// binds GetOperation to /v1/{name=operations/**}, whose ** also matches the
// bare collection, and grpc-gateway tries the newest binding first, so the
// generated ListOperations route is never reached. This route is registered
// after all of them and so wins for exactly that path.
func listOperations(mux *runtime.ServeMux, client longrunningpb.OperationsClient) runtime.HandlerFunc {
	const method = "/google.longrunning.Operations/ListOperations"
	return func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		_, out := runtime.MarshalerForRequest(mux, r)
		ctx, err := runtime.AnnotateContext(r.Context(), mux, r, method, runtime.WithHTTPPathPattern("/v1/operations"))
		if err != nil {
			runtime.HTTPError(r.Context(), mux, out, w, r, err)
			return
		}
		req := &longrunningpb.ListOperationsRequest{Name: "operations"}
		if err := r.ParseForm(); err != nil {
			runtime.HTTPError(ctx, mux, out, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		// "name" is the path; the rest (filter, page_size, page_token) are query parameters.
		if err := runtime.PopulateQueryParameters(req, r.Form, utilities.NewDoubleArray([][]string{{"name"}})); err != nil {
			runtime.HTTPError(ctx, mux, out, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		var md runtime.ServerMetadata
		resp, err := client.ListOperations(ctx, req, grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
		ctx = runtime.NewServerMetadataContext(ctx, md)
		if err != nil {
			runtime.HTTPError(ctx, mux, out, w, r, err)
			return
		}
		runtime.ForwardResponseMessage(ctx, mux, out, w, r, resp, mux.GetForwardResponseOptions()...)
	}
}
