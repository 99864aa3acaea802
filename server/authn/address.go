package authn

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// inProcessNetwork is the network of the in-memory listener (grpc's
// bufconn) the REST gateway reaches the server through; no remote peer has
// it.
const inProcessNetwork = "bufconn"

// ClientAddress is the client's address: for REST, the one the gateway
// resolved (it sends it first in X-Forwarded-For, trusting a proxy's header
// only when configured to), else the gRPC peer's host. X-Forwarded-For is
// read only on the gateway's in-process connection: any other gRPC client
// could write anything there.
func ClientAddress(ctx context.Context) string {
	p, _ := peer.FromContext(ctx)
	if p != nil && p.Addr != nil && p.Addr.Network() == inProcessNetwork {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("x-forwarded-for"); len(v) > 0 {
				if h := strings.TrimSpace(strings.Split(v[0], ",")[0]); h != "" {
					return h
				}
			}
		}
	}
	if p != nil && p.Addr != nil {
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
