package azuresim

import "fmt"

// IssueAppToken mints an app-only access token for an app's service
// principal in a tenant, as the client credentials grant would. For tests
// that need a token without running a credential.
func (s *Sim) IssueAppToken(tenantID, clientID, audience string) (string, error) {
	t := s.world.tenant(tenantID)
	if t == nil {
		return "", fmt.Errorf("azuresim: tenant %s not found", tenantID)
	}
	sp := t.servicePrincipal(clientID)
	if sp == nil {
		return "", fmt.Errorf("azuresim: app %s has no service principal in tenant %s", clientID, tenantID)
	}
	aud, ok := normalizeAudience(audience, s.world.app)
	if !ok {
		return "", fmt.Errorf("azuresim: unknown audience %s", audience)
	}
	c := &tokenClaims{TenantID: t.Spec.ID, ObjectID: sp.ID, AppID: sp.AppID, AZP: sp.AppID, IDType: "app", Roles: assignedRoles(sp.AppRoles, aud)}
	c.Aud = aud
	s.applyResourceTokenVersion(c)
	tok, _, err := s.tokens.sign(c, s.opts.TokenLifetime)
	return tok, err
}

// IssueUserToken mints a delegated access token for a user (object id or
// UPN) of a tenant through a registered client app, as a device-code
// sign-in would. scope is e.g. "https://api.securitycenter.microsoft.com/.default".
func (s *Sim) IssueUserToken(tenantID, user, clientID, scope string) (string, error) {
	t := s.world.tenant(tenantID)
	if t == nil {
		return "", fmt.Errorf("azuresim: tenant %s not found", tenantID)
	}
	u := t.user(user)
	if u == nil {
		return "", fmt.Errorf("azuresim: user %s not in tenant %s", user, tenantID)
	}
	app := s.world.app(clientID)
	if app == nil {
		return "", fmt.Errorf("azuresim: app %s not registered", clientID)
	}
	resp, oerr := s.delegatedToken(t, u, app, scope)
	if oerr != nil {
		return "", oerr
	}
	return resp.AccessToken, nil
}
