package server

import (
	"context"

	"github.com/xdrlink/xdrlink/server/authn"
	"github.com/xdrlink/xdrlink/server/authz"
)

// Caller names who made the request, for the operations it starts and for
// request_id scoping (AIP-155: ids are unique per caller): the
// authenticated principal, or, for a call that never passed
// authentication (only the server's own), "anonymous@" and the client's
// address.
func Caller(ctx context.Context) string {
	if p := authz.FromContext(ctx); p != nil {
		return p.ID
	}
	return "anonymous@" + authn.ClientAddress(ctx)
}
