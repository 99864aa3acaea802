package authn

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// ClientAddress is the client's address: for REST, the one the gateway
// saw (it sets X-Forwarded-For, trusting a proxy's only when configured
// to), else the gRPC peer's host.
func ClientAddress(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-forwarded-for"); len(v) > 0 {
			if h := strings.TrimSpace(strings.Split(v[0], ",")[0]); h != "" {
				return h
			}
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		host := p.Addr.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host != "" {
			return host
		}
	}
	return "unknown"
}
