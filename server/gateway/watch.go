package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// watchPath is WatchOperation's REST binding (see operation.proto).
const watchPath = "/v1/{name=operations/*}:watch"

// watchOperation serves GET /v1/operations/{id}:watch as newline-delimited
// JSON: one Operation object per line, flushed as it arrives. The generated
// handler would wrap each message as {"result": ...} and an error as
// {"error": ...}, which is not what the API promises. Registered after the
// generated routes, it takes precedence over the generated watch route and
// over GetOperation's "operations/**", which would otherwise also match.
//
// An error before the first message is answered like any other REST error
// (HTTP status and google.rpc.Status body); once streaming started the
// status is already 200, so the error becomes the last line, the same
// google.rpc.Status JSON.
func watchOperation(mux *runtime.ServeMux, client xdrlinkv1.OperationServiceClient) runtime.HandlerFunc {
	const method = "/xdrlink.v1.OperationService/WatchOperation"
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, out := runtime.MarshalerForRequest(mux, r)
		// A watch lasts as long as its operation: the server's read and
		// write timeouts, meant for ordinary requests, must not cut it.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		// Ending the call on every return stops the server's watch too.
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		ctx, err := runtime.AnnotateContext(ctx, mux, r, method, runtime.WithHTTPPathPattern(watchPath))
		if err != nil {
			runtime.HTTPError(r.Context(), mux, out, w, r, err)
			return
		}
		req := &xdrlinkv1.WatchOperationRequest{Name: params["name"]}
		if err := r.ParseForm(); err != nil {
			runtime.HTTPError(ctx, mux, out, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		if err := runtime.PopulateQueryParameters(req, r.Form, utilities.NewDoubleArray([][]string{{"name"}})); err != nil {
			runtime.HTTPError(ctx, mux, out, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		var md runtime.ServerMetadata
		stream, err := client.WatchOperation(ctx, req,
			grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
		if err != nil {
			runtime.HTTPError(runtime.NewServerMetadataContext(ctx, md), mux, out, w, r, err)
			return
		}
		first, err := stream.Recv()
		if err != nil {
			// The header and trailer call options are filled once the
			// stream has ended, as it has here (Recv failed), so the
			// request id reaches the error response.
			runtime.HTTPError(runtime.NewServerMetadataContext(ctx, md), mux, out, w, r, err)
			return
		}
		header, _ := stream.Header() // arrived before the first message
		for k, vs := range header {
			if h, ok := outgoingHeader(k); ok {
				for _, v := range vs {
					w.Header().Add(h, v)
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		line := func(m any) bool {
			buf, err := out.Marshal(m)
			if err != nil {
				buf, _ = out.Marshal(status.Convert(err).Proto())
			}
			if _, err := w.Write(append(buf, '\n')); err != nil {
				return false // the client went away; ctx ends the stream
			}
			return rc.Flush() == nil
		}
		if !line(first) {
			return
		}
		for {
			op, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				line(status.Convert(err).Proto())
				return
			}
			if !line(op) {
				return
			}
		}
	}
}
