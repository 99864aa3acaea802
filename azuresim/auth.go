package azuresim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// RequireToken verifies the request's bearer token for an API whose audience
// is audience and which accepts tokens of kind: signature (the sim's key),
// expiry (sim clock), audience and kind. It does not check the tenant, which
// depends on the resource; call Caller.RequireTenant for that. On failure
// the error is an *APIError shaped like ARM's answer (401, WWW-Authenticate);
// families that answer differently can map it.
func (s *Sim) RequireToken(r *http.Request, audience string, kind TokenKind) (*Caller, error) {
	raw, ok := bearerToken(r)
	if !ok {
		return nil, s.authError(http.StatusUnauthorized, "AuthenticationFailed",
			"Authentication failed. The 'Authorization' header is missing.", "")
	}
	c, err := s.requestToken(r, raw)
	switch {
	case err == errTokenExpired:
		return nil, s.authError(http.StatusUnauthorized, "ExpiredAuthenticationToken",
			fmt.Sprintf("The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
				c.ExpiresAt.Time.UTC().Format(time.RFC1123), s.clock.Now().Format(time.RFC1123)), c.TenantID)
	case err != nil:
		return nil, s.authError(http.StatusUnauthorized, "InvalidAuthenticationToken",
			"The access token is invalid. "+err.Error(), "")
	}
	want := strings.TrimRight(audience, "/")
	got := c.Aud
	if !strings.EqualFold(strings.TrimRight(got, "/"), want) {
		return nil, s.authError(http.StatusUnauthorized, "InvalidAuthenticationTokenAudience",
			fmt.Sprintf("The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s/'.", got, want), c.TenantID)
	}
	caller := c.caller(raw)
	if kind != TokenAny && caller.Kind != kind {
		return nil, &APIError{Status: tokenKindMismatchStatus, Code: tokenKindMismatchCode,
			Message: fmt.Sprintf("This API requires a %s token; the access token is of kind '%s'.", kindNoun(kind), caller.Kind)}
	}
	if info := requestInfoFrom(r); info != nil {
		info.principal = caller.TenantID + "/" + caller.ObjectID
	}
	return caller, nil
}

func kindNoun(k TokenKind) string {
	if k == TokenDelegated {
		return "delegated (user)"
	}
	return "app-only"
}

// RequireTenant answers like ARM when the token's tenant is not the tenant
// that owns the resource: 401 InvalidAuthenticationTokenTenant.
func (c *Caller) RequireTenant(s *Sim, tenantID string) error {
	if strings.EqualFold(c.TenantID, tenantID) {
		return nil
	}
	return s.authError(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant",
		fmt.Sprintf("The access token is from the wrong issuer '%s'. It must match the tenant '%s' associated with this subscription. Please use the authority (URL) '%s' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
			s.tokens.issuer(c.TenantID), s.tokens.issuer(tenantID), s.URL()+"/"+tenantID), tenantID)
}

// authError builds a 401/403 with the WWW-Authenticate challenge ARM sends.
func (s *Sim) authError(status int, code, msg, tenantID string) *APIError {
	e := &APIError{Status: status, Code: code, Message: msg, Header: http.Header{}}
	if status == http.StatusUnauthorized {
		auth := s.URL() + "/common"
		if tenantID != "" {
			auth = s.URL() + "/" + tenantID
		}
		e.Header.Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s", error="invalid_token", error_description="%s"`, auth, code))
	}
	return e
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 8 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// principalHint reads the caller's tenant/oid from the bearer token. It only
// keys fault accounting (throttle buckets, early-retry counters) before the
// API handler verifies the token, which then reuses its signature check.
func (s *Sim) principalHint(r *http.Request) string {
	raw, ok := bearerToken(r)
	if !ok {
		return "anonymous"
	}
	c, err := s.requestToken(r, raw)
	if c == nil || (err != nil && err != errTokenExpired) {
		return "invalid"
	}
	return c.TenantID + "/" + c.ObjectID
}

// verifiedToken is a request's bearer token after its signature check.
type verifiedToken struct {
	raw    string
	claims *tokenClaims // nil when err is set
	err    error
}

// requestToken is tokens.parse for the request's bearer token raw: the
// signature is verified once per request (kept in its requestInfo), the
// times are checked on every call against the sim clock then.
func (s *Sim) requestToken(r *http.Request, raw string) (*tokenClaims, error) {
	ri := requestInfoFrom(r)
	var vt *verifiedToken
	if ri != nil && ri.token != nil && ri.token.raw == raw {
		vt = ri.token
	} else {
		c, err := s.tokens.verifySignature(raw)
		vt = &verifiedToken{raw: raw, claims: c, err: err}
		if ri != nil {
			ri.token = vt
		}
	}
	if vt.err != nil {
		return nil, vt.err
	}
	return s.tokens.validateTimes(vt.claims)
}
