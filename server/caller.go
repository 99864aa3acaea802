package server

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Caller names who made the request, for the operations it starts and for
// request_id scoping (AIP-155: ids are unique per caller). Until callers
// authenticate it is "anonymous@" and the client's address: for REST, the
// address the gateway saw (X-Forwarded-For), else the gRPC peer.
func Caller(ctx context.Context) string {
	host := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-forwarded-for"); len(v) > 0 {
			host = strings.TrimSpace(strings.Split(v[0], ",")[0])
		}
	}
	if p, ok := peer.FromContext(ctx); ok && host == "" && p.Addr != nil {
		host = p.Addr.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	if host == "" {
		host = "unknown"
	}
	return "anonymous@" + host
}
