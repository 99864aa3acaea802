package azuresim

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// verifyClientAssertion checks a certificate-signed client assertion
// (private_key_jwt): signed by one of the app's registered certificates
// (matched by x5t#S256 or x5t), iss = sub = client id, aud = the token
// endpoint. Expiry is checked against real time, not the sim clock: the
// client signs with its own clock.
func verifyClientAssertion(raw string, app *AppRegistration, tokenEndpoint string) error {
	certs, err := app.parsedCertificates()
	if err != nil {
		return err
	}
	if len(certs) == 0 {
		return errors.New("the app has no registered certificate")
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		for _, c := range certs {
			if thumbprintMatches(t.Header, c) {
				return c.PublicKey, nil
			}
		}
		return nil, errors.New("no registered certificate matches the assertion's x5t")
	}, jwt.WithValidMethods([]string{"PS256", "RS256", "ES256"}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(time.Now), jwt.WithLeeway(5*time.Minute))
	if err != nil {
		return err
	}
	if !strings.EqualFold(claims.Issuer, app.ClientID) || !strings.EqualFold(claims.Subject, app.ClientID) {
		return fmt.Errorf("iss and sub must be the client id %s", app.ClientID)
	}
	for _, a := range claims.Audience {
		if strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(tokenEndpoint, "/")) {
			return nil
		}
	}
	return fmt.Errorf("audience %v is not the token endpoint %s", claims.Audience, tokenEndpoint)
}

func thumbprintMatches(h map[string]any, c *x509.Certificate) bool {
	if v, ok := h["x5t#S256"].(string); ok {
		sum := sha256.Sum256(c.Raw)
		return v == base64.StdEncoding.EncodeToString(sum[:]) || v == base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if v, ok := h["x5t"].(string); ok {
		sum := sha1.Sum(c.Raw) // #nosec G401 -- x5t is SHA-1 by definition
		return v == base64.StdEncoding.EncodeToString(sum[:]) || v == base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return false
}

func (a *AppRegistration) parsedCertificates() ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range a.Certificates {
		rest := []byte(p)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("app %s: certificate: %w", a.ClientID, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}
