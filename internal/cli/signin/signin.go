package signin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/xdrlink/xdrlink/client"
)

// Settings say whom to sign in with.
type Settings struct {
	Issuer   string
	ClientID string
	Scopes   []string
	// CAFile is a PEM bundle for the issuer's certificate; empty means
	// the system roots.
	CAFile string
}

// HTTPClient returns a client that trusts s.CAFile.
func (s Settings) HTTPClient() (*http.Client, error) {
	if s.CAFile == "" {
		return &http.Client{Timeout: 30 * time.Second}, nil
	}
	pool, err := client.CertPool(s.CAFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// discovery is the part of the issuer's OpenID configuration used here.
type discovery struct {
	Issuer                      string `json:"issuer"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
}

// Endpoint discovers the issuer's token and device authorization endpoints.
func Endpoint(ctx context.Context, hc *http.Client, issuer string) (oauth2.Endpoint, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return oauth2.Endpoint{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("discover %s: %w", issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return oauth2.Endpoint{}, fmt.Errorf("discover %s: HTTP %d", u, resp.StatusCode)
	}
	var d discovery
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("discover %s: %w", u, err)
	}
	if d.DeviceAuthorizationEndpoint == "" || d.TokenEndpoint == "" {
		return oauth2.Endpoint{}, fmt.Errorf("issuer %s offers no device authorization endpoint", issuer)
	}
	return oauth2.Endpoint{TokenURL: d.TokenEndpoint, DeviceAuthURL: d.DeviceAuthorizationEndpoint, AuthStyle: oauth2.AuthStyleInParams}, nil
}

func (s Settings) oauth(ctx context.Context) (*oauth2.Config, context.Context, error) {
	hc, err := s.HTTPClient()
	if err != nil {
		return nil, nil, err
	}
	ep, err := Endpoint(ctx, hc, s.Issuer)
	if err != nil {
		return nil, nil, err
	}
	scopes := s.Scopes
	if len(scopes) == 0 {
		scopes = []string{"openid", "offline_access"}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	return &oauth2.Config{ClientID: s.ClientID, Endpoint: ep, Scopes: scopes}, ctx, nil
}

// Prompt tells the person where to enter the code.
type Prompt func(verificationURI, userCode string, expires time.Time)

// Login runs the device-code flow until the person approves, declines, or
// the code expires.
func Login(ctx context.Context, s Settings, prompt Prompt) (*oauth2.Token, error) {
	cfg, ctx, err := s.oauth(ctx)
	if err != nil {
		return nil, err
	}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("device authorization: %w", err)
	}
	uri := da.VerificationURIComplete
	if uri == "" {
		uri = da.VerificationURI
	}
	prompt(uri, da.UserCode, da.Expiry)
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	return tok, nil
}

// Cache keeps one context's tokens in a file only the user can read.
type Cache struct{ Path string }

// CacheFor is os.UserCacheDir()/xdrlink/tokens/<context>.json.
func CacheFor(contextName string) (Cache, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return Cache{}, err
	}
	if contextName == "" {
		contextName = "default"
	}
	return Cache{Path: filepath.Join(dir, "xdrlink", "tokens", contextName+".json")}, nil
}

// Load returns the cached token, or nil when there is none.
func (c Cache) Load() (*oauth2.Token, error) {
	b, err := os.ReadFile(c.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tok := &oauth2.Token{}
	if err := json.Unmarshal(b, tok); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Path, err)
	}
	return tok, nil
}

// Save writes tok with mode 0600 (its directory 0700).
func (c Cache) Save(tok *oauth2.Token) error {
	b, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return err
	}
	tmp := c.Path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.Path)
}

// AccessToken returns a valid access token from the cache, refreshing it
// (and caching the new tokens) when it has expired.
func AccessToken(ctx context.Context, s Settings, c Cache) (string, error) {
	tok, err := c.Load()
	if err != nil {
		return "", err
	}
	if tok == nil {
		return "", errors.New("not signed in: run xdrlink login")
	}
	if tok.Valid() {
		return tok.AccessToken, nil
	}
	if tok.RefreshToken == "" {
		return "", errors.New("the sign-in has expired: run xdrlink login")
	}
	cfg, ctx, err := s.oauth(ctx)
	if err != nil {
		return "", err
	}
	fresh, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		return "", fmt.Errorf("refresh the sign-in (run xdrlink login): %w", err)
	}
	if err := c.Save(fresh); err != nil {
		return "", err
	}
	return fresh.AccessToken, nil
}
