package authn

import (
	"context"
	"slices"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
)

// certPrincipal is the caller of a gRPC connection that presented a client
// certificate the TLS handshake verified against the configured client CA.
// Its grants are the subject's organizational units, read as role values
// ("Operator", "Viewer.pod-east"): the CA that issues the certificate
// decides what it may do.
func certPrincipal(ctx context.Context) (*authz.Principal, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil, false
	}
	cert := info.State.VerifiedChains[0][0]
	pr := &authz.Principal{ID: "cert:" + cert.Subject.String(), DisplayName: cert.Subject.CommonName,
		Method: xdrlinkv1.AuthMethod_AUTH_METHOD_CLIENT_CERTIFICATE}
	for _, ou := range cert.Subject.OrganizationalUnit {
		if g, ok := authz.ParseGrant(ou); ok && !slices.Contains(pr.Grants, g) {
			pr.Grants = append(pr.Grants, g)
		}
	}
	return pr, true
}
