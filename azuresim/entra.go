package azuresim

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// serveCore routes the families whose paths ServeMux patterns cannot express
// without conflicts: Entra (/{tenant}/...) and ARM (case-insensitive paths).
func (s *Sim) serveCore(w http.ResponseWriter, r *http.Request) {
	if familyOf(r.URL.Path) == FamilyARM {
		s.serveARM(w, r)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token" && r.Method == http.MethodPost:
		SetRequestAPI(r, "entra.token")
		s.serveToken(w, r, parts[0])
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "devicecode" && r.Method == http.MethodPost:
		SetRequestAPI(r, "entra.devicecode")
		s.serveDeviceCode(w, r, parts[0])
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration" && r.Method == http.MethodGet:
		SetRequestAPI(r, "entra.openid")
		s.serveOpenIDConfig(w, r, parts[0])
	case len(parts) == 4 && parts[1] == "discovery" && parts[2] == "v2.0" && parts[3] == "keys" && r.Method == http.MethodGet:
		SetRequestAPI(r, "entra.keys")
		WriteJSON(w, http.StatusOK, s.tokens.jwks())
	default:
		WriteError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("azuresim: no API serves %s %s", r.Method, r.URL.Path))
	}
}

// entraError is the OAuth2 error body Entra answers with.
func entraError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	WriteJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
	})
}

// resolveTenant maps the authority path segment to a tenant; it answers the
// error itself when the tenant does not exist.
func (s *Sim) resolveTenant(w http.ResponseWriter, seg string) *TenantState {
	t := s.world.tenant(seg)
	if t == nil {
		entraError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", seg))
	}
	return t
}

// resolveFormTenant is resolveTenant for the form-posting endpoints: it also
// parses the request form, answering invalid_request when it cannot.
func (s *Sim) resolveFormTenant(w http.ResponseWriter, r *http.Request, seg string) *TenantState {
	t := s.resolveTenant(w, seg)
	if t == nil {
		return nil
	}
	if err := r.ParseForm(); err != nil {
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain a valid form.")
		return nil
	}
	return t
}

func (s *Sim) serveOpenIDConfig(w http.ResponseWriter, r *http.Request, seg string) {
	t := s.resolveTenant(w, seg)
	if t == nil {
		return
	}
	base := s.URL() + "/" + seg
	WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.tokens.issuer(t.Spec.ID),
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"jwks_uri":                              s.URL() + "/" + t.Spec.ID + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "azuresim",
	})
}

func (s *Sim) serveDeviceCode(w http.ResponseWriter, r *http.Request, seg string) {
	t := s.resolveFormTenant(w, r, seg)
	if t == nil {
		return
	}
	clientID := r.PostForm.Get("client_id")
	app := s.world.app(clientID)
	if app == nil {
		entraError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, t.Spec.ID))
		return
	}
	if !app.PublicClient {
		entraError(w, http.StatusBadRequest, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	dc := &DeviceCode{TenantID: t.Spec.ID, ClientID: app.ClientID, Scopes: strings.Fields(r.PostForm.Get("scope")),
		ExpiresAt: s.clock.Now().Add(deviceCodeLifetime)}
	s.deviceCodes.add(dc, s.clock.Now())
	s.tokens.issued.add(dc.deviceCode)
	verify := s.URL() + "/devicelogin"
	WriteJSON(w, http.StatusOK, map[string]any{
		"user_code":        dc.UserCode,
		"device_code":      dc.deviceCode,
		"verification_uri": verify,
		"expires_in":       int(deviceCodeLifetime.Seconds()),
		"interval":         1,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, dc.UserCode),
	})
}

// refreshTokenLifetime is Entra's default refresh token lifetime (90 days).
const refreshTokenLifetime = 90 * 24 * time.Hour

// tokenResponse is what the token endpoint answers on success.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// oauthErr is a token endpoint failure, written with entraError.
type oauthErr struct {
	status int
	code   string
	aadsts int
	desc   string
}

func (e *oauthErr) Error() string { return e.desc }

func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request, seg string) {
	t := s.resolveFormTenant(w, r, seg)
	if t == nil {
		return
	}
	f := r.PostForm
	var resp *tokenResponse
	var oerr *oauthErr
	switch f.Get("grant_type") {
	case "client_credentials":
		resp, oerr = s.grantClientCredentials(r, t, seg)
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code": // MSAL sends the short form
		if oerr = s.checkUserGrantClient(r, t, seg); oerr == nil {
			resp, oerr = s.grantDeviceCode(t, f.Get("device_code"), f.Get("client_id"))
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		resp, oerr = s.grantOnBehalfOf(r, t, seg)
	case "password":
		if oerr = s.checkUserGrantClient(r, t, seg); oerr == nil {
			resp, oerr = s.grantPassword(t, f.Get("client_id"), f.Get("username"), f.Get("password"), f.Get("scope"))
		}
	case "refresh_token":
		if oerr = s.checkUserGrantClient(r, t, seg); oerr == nil {
			resp, oerr = s.grantRefreshToken(t, f.Get("refresh_token"), f.Get("client_id"), f.Get("scope"))
		}
	default:
		oerr = &oauthErr{http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", f.Get("grant_type"))}
	}
	if oerr != nil {
		entraError(w, oerr.status, oerr.code, oerr.aadsts, oerr.desc)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	WriteJSON(w, http.StatusOK, resp)
}

// authenticateClient checks a confidential client's secret or certificate
// assertion and that the app has a service principal in the tenant.
func (s *Sim) authenticateClient(r *http.Request, t *TenantState, seg string) (*AppRegistration, *ServicePrincipal, *oauthErr) {
	f := r.PostForm
	clientID := f.Get("client_id")
	app := s.world.app(clientID)
	sp := t.servicePrincipal(clientID)
	if app == nil || sp == nil {
		return nil, nil, &oauthErr{http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.Spec.ID)}
	}
	switch {
	case f.Has("client_secret"):
		for _, sec := range app.Secrets {
			if sec == f.Get("client_secret") {
				return app, sp, nil
			}
		}
		return nil, nil, &oauthErr{http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)}
	case f.Has("client_assertion"):
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return nil, nil, &oauthErr{http.StatusBadRequest, "invalid_request", 50027, "Invalid client_assertion_type."}
		}
		if err := verifyClientAssertion(f.Get("client_assertion"), app, s.URL()+r.URL.Path); err != nil {
			return nil, nil, &oauthErr{http.StatusUnauthorized, "invalid_client", 700027,
				"Client assertion failed signature validation or claims check: " + err.Error()}
		}
		return app, sp, nil
	}
	return nil, nil, &oauthErr{http.StatusUnauthorized, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

// checkUserGrantClient checks the client of a device_code or refresh_token
// redemption: a public client may send no credential, an app that is not
// one must authenticate, and a credential that is sent must be valid.
func (s *Sim) checkUserGrantClient(r *http.Request, t *TenantState, seg string) *oauthErr {
	f := r.PostForm
	if f.Has("client_secret") || f.Has("client_assertion") {
		_, _, oerr := s.authenticateClient(r, t, seg)
		return oerr
	}
	if app := s.world.app(f.Get("client_id")); app != nil && !app.PublicClient {
		return &oauthErr{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	return nil // an unknown client fails in the grant (invalid_grant)
}

// resourceScopes splits OAuth scopes into the one resource audience and the
// permission names; OIDC scopes are ignored. Bare names are Graph permissions.
func (s *Sim) resourceScopes(scope string) (aud string, perms []string, dflt bool, oerr *oauthErr) {
	for _, sc := range strings.Fields(scope) {
		switch strings.ToLower(sc) {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		res, perm := AudienceGraph, sc
		if i := strings.LastIndex(sc, "/"); i > 0 && strings.Contains(sc, ":") {
			res, perm = sc[:i], sc[i+1:]
		}
		a, ok := normalizeAudience(res, s.world.app)
		if !ok {
			return "", nil, false, &oauthErr{http.StatusBadRequest, "invalid_resource", 500011,
				fmt.Sprintf("The resource principal named %s was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", res)}
		}
		if aud != "" && aud != a {
			return "", nil, false, &oauthErr{http.StatusBadRequest, "invalid_scope", 70011,
				"The provided request must include scopes for only one resource."}
		}
		aud = a
		if perm == ".default" {
			dflt = true
		} else if perm != "" {
			perms = append(perms, perm)
		}
	}
	if aud == "" {
		return "", nil, false, &oauthErr{http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid."}
	}
	return aud, perms, dflt, nil
}

func (s *Sim) grantClientCredentials(r *http.Request, t *TenantState, seg string) (*tokenResponse, *oauthErr) {
	app, sp, oerr := s.authenticateClient(r, t, seg)
	if oerr != nil {
		return nil, oerr
	}
	scope := r.PostForm.Get("scope")
	aud, perms, dflt, oerr := s.resourceScopes(scope)
	if oerr != nil {
		return nil, oerr
	}
	if !dflt || len(perms) > 0 {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
	}
	c := &tokenClaims{TenantID: t.Spec.ID, ObjectID: sp.ID, AppID: app.ClientID, AZP: app.ClientID, IDType: "app",
		Roles: assignedRoles(sp.AppRoles, aud)}
	c.Aud = aud
	s.applyResourceTokenVersion(c)
	return s.accessTokenResponse(c, "")
}

// assignedRoles is the roles claim for audience aud from app role
// assignments keyed by audience (or api://<client id>), matched case-insensitively.
func assignedRoles(byAudience map[string][]string, aud string) []string {
	if r, ok := byAudience[aud]; ok {
		return r
	}
	for k, r := range byAudience {
		if strings.EqualFold(strings.TrimPrefix(strings.ToLower(k), "api://"), aud) {
			return r
		}
	}
	return nil
}

// applyResourceTokenVersion gives c the claims of the access token version
// its resource app accepts. Microsoft's own APIs, and apps that leave the
// version unset, get v1 tokens.
func (s *Sim) applyResourceTokenVersion(c *tokenClaims) {
	app := s.world.app(c.Aud)
	if app == nil || app.AccessTokenVersion != 2 {
		return
	}
	c.Ver = "2.0"
	c.AppID = "" // v2 names the client in azp only
	if c.IDType == "user" {
		// upn stays: UNCONFIRMED (unconfirmed.go) that the app adds it as an optional claim.
		c.PreferredUsername = c.UPN
	}
}

func (s *Sim) accessTokenResponse(c *tokenClaims, scp string) (*tokenResponse, *oauthErr) {
	tok, _, err := s.tokens.sign(c, s.opts.TokenLifetime)
	if err != nil {
		return nil, &oauthErr{http.StatusInternalServerError, "server_error", 50000, err.Error()}
	}
	secs := int(s.opts.TokenLifetime.Seconds())
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok, Scope: scp}, nil
}

// delegatedToken issues an access token (plus id token and client info, and
// a refresh token when scope has offline_access) for a user of tenant t
// through client app.
func (s *Sim) delegatedToken(t *TenantState, u *User, app *AppRegistration, scope string) (*tokenResponse, *oauthErr) {
	aud, perms, dflt, oerr := s.resourceScopes(scope)
	if oerr != nil {
		return nil, oerr
	}
	if dflt {
		perms = append(perms, app.DelegatedScopes[aud]...)
		if len(app.DelegatedScopes[aud]) == 0 {
			perms = append(perms, "user_impersonation")
		}
	}
	acct := 0
	if u.IsGuest() {
		acct = 1
	}
	// Entra puts the user's app roles for the resource in delegated tokens too.
	c := &tokenClaims{TenantID: t.Spec.ID, ObjectID: u.ID, AppID: app.ClientID, AZP: app.ClientID, IDType: "user",
		Scp: strings.Join(perms, " "), UPN: u.UserPrincipalName, Name: u.DisplayName, Acct: &acct,
		Roles: assignedRoles(u.AppRoles, aud)}
	c.Aud = aud
	s.applyResourceTokenVersion(c)
	resp, oerr := s.accessTokenResponse(c, scope)
	if oerr != nil {
		return nil, oerr
	}
	// id token and client_info let MSAL cache the account (AuthenticationRecord).
	idc := &tokenClaims{TenantID: t.Spec.ID, ObjectID: u.ID, IDType: "user", UPN: u.UserPrincipalName, Name: u.DisplayName}
	idc.Aud = app.ClientID
	idt, _, err := s.tokens.sign(idc, s.opts.TokenLifetime)
	if err != nil {
		return nil, &oauthErr{http.StatusInternalServerError, "server_error", 50000, err.Error()}
	}
	ci, _ := json.Marshal(map[string]string{"uid": u.ID, "utid": t.Spec.ID})
	resp.IDToken = idt // azidentity reads upn when preferred_username is absent
	resp.ClientInfo = base64.RawURLEncoding.EncodeToString(ci)
	if !slices.ContainsFunc(strings.Fields(scope), func(sc string) bool { return strings.EqualFold(sc, "offline_access") }) {
		return resp, nil // Entra v2 returns a refresh token only for offline_access
	}
	// Refresh tokens are sim-signed JWTs with audience "refresh:<client id>",
	// so they need no server-side storage. Like Entra's, one is good for any
	// resource the client may call for the user, and each redemption returns
	// a new one (the old stays valid until it expires).
	rtc := &tokenClaims{TenantID: t.Spec.ID, ObjectID: u.ID, AppID: app.ClientID, IDType: "refresh"}
	rtc.Aud = "refresh:" + app.ClientID
	rt, _, err := s.tokens.sign(rtc, refreshTokenLifetime)
	if err != nil {
		return nil, &oauthErr{http.StatusInternalServerError, "server_error", 50000, err.Error()}
	}
	resp.RefreshToken = rt
	return resp, nil
}

func (s *Sim) grantDeviceCode(t *TenantState, deviceCode, clientID string) (*tokenResponse, *oauthErr) {
	dc, err := s.deviceCodes.redeem(deviceCode, clientID)
	if err != nil {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'device_code' is not valid."}
	}
	if !strings.EqualFold(dc.TenantID, t.Spec.ID) {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 70000, "The device code was issued for another tenant."}
	}
	switch {
	case dc.Declined:
		return nil, &oauthErr{http.StatusBadRequest, "authorization_declined", 70000, "The end user denied the authorization request."}
	case !s.clock.Now().Before(dc.ExpiresAt):
		return nil, &oauthErr{http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired."}
	case dc.ApprovedBy == "":
		return nil, &oauthErr{http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
	}
	u := t.user(dc.ApprovedBy)
	app := s.world.app(dc.ClientID)
	return s.delegatedToken(t, u, app, strings.Join(dc.Scopes, " "))
}

func (s *Sim) grantRefreshToken(t *TenantState, raw, clientID, scope string) (*tokenResponse, *oauthErr) {
	c, err := s.tokens.parse(raw)
	if err != nil || c.IDType != "refresh" || !strings.EqualFold(c.Aud, "refresh:"+clientID) ||
		!strings.EqualFold(c.TenantID, t.Spec.ID) {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."}
	}
	u := t.user(c.ObjectID)
	app := s.world.app(clientID)
	if u == nil || app == nil {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50034, "The user account does not exist in the directory."}
	}
	return s.delegatedToken(t, u, app, scope)
}

// grantOnBehalfOf exchanges a delegated token whose audience is the calling
// app for a delegated token to another resource, for the same user.
func (s *Sim) grantOnBehalfOf(r *http.Request, t *TenantState, seg string) (*tokenResponse, *oauthErr) {
	if r.PostForm.Get("requested_token_use") != "on_behalf_of" {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_request", 50027, "requested_token_use must be on_behalf_of."}
	}
	app, _, oerr := s.authenticateClient(r, t, seg)
	if oerr != nil {
		return nil, oerr
	}
	c, err := s.tokens.parse(r.PostForm.Get("assertion"))
	if err == errTokenExpired {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 500133, "Assertion is not within its valid time range."}
	}
	if err != nil {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50013, "Assertion failed signature validation."}
	}
	if c.IDType != "user" {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50013, "The assertion is not a delegated (user) token."}
	}
	aud := strings.TrimPrefix(strings.ToLower(c.Aud), "api://")
	if !strings.EqualFold(aud, app.ClientID) {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50013,
			fmt.Sprintf("Assertion audience '%s' does not match the client app '%s'.", aud, app.ClientID)}
	}
	if !strings.EqualFold(c.TenantID, t.Spec.ID) {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50013, "Assertion was issued for another tenant."}
	}
	u := t.user(c.ObjectID)
	if u == nil {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50034, "The user account does not exist in the directory."}
	}
	return s.delegatedToken(t, u, app, r.PostForm.Get("scope"))
}

// grantPassword is the resource owner password credentials grant: a user
// whose world entry has a Password gets the same tokens as a device-code
// sign-in. Users without one answer as if MFA were required.
func (s *Sim) grantPassword(t *TenantState, clientID, username, password, scope string) (*tokenResponse, *oauthErr) {
	for _, p := range [][2]string{{"username", username}, {"password", password}} {
		if p[1] == "" {
			return nil, &oauthErr{http.StatusBadRequest, "invalid_request", 900144,
				fmt.Sprintf("The request body must contain the following parameter: '%s'.", p[0])}
		}
	}
	app := s.world.app(clientID)
	if app == nil {
		return nil, &oauthErr{http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, t.Spec.ID)}
	}
	u := t.user(username)
	if u == nil {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50034,
			fmt.Sprintf("The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", t.Spec.ID)}
	}
	if u.Password == "" {
		return nil, &oauthErr{passwordGrantMFAStatus, passwordGrantMFACode, passwordGrantMFAAADSTS,
			fmt.Sprintf(passwordGrantMFAMessage, app.ClientID)}
	}
	if subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return nil, &oauthErr{http.StatusBadRequest, "invalid_grant", 50126,
			"Error validating credentials due to invalid username or password."}
	}
	return s.delegatedToken(t, u, app, scope)
}
