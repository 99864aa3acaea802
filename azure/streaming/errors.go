package streaming

import (
	"net/http"
	"strings"

	"github.com/xdrlink/xdrlink/azure/azerr"
)

// RequiredRole names the Entra roles the API needs (docs/azure.md §3.1); it
// goes into azerr.Error.MissingPermission when the service refuses the user.
const RequiredRole = "Entra role Security Administrator or Global Administrator"

// UNCONFIRMED: the API is undocumented, so how it refuses an app-only token
// and a user without the role is not known. These phrases match the answers
// azuresim gives (streaming_rules.go); a real answer that differs falls back
// to azerr's status-based kinds (Unauthenticated / Forbidden).
const (
	appOnlyRefusedPhrase = "application tokens are not supported"
	roleMissingPhrase    = "security administrator or global administrator"
)

func classify(err error) error { return azerr.Wrap(err) }

// responseError classifies a failed response. An app-only token refusal
// becomes MissingConsent (a delegated sign-in is needed, which the workflow
// turns into ACTION_REQUIRED); a role refusal names the missing role.
func responseError(resp *http.Response) error {
	e := azerr.From(azerr.FromResponse(resp))
	msg := strings.ToLower(e.Message)
	switch {
	case (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) && strings.Contains(msg, appOnlyRefusedPhrase):
		e.Kind = azerr.MissingConsent
	case e.Kind == azerr.Forbidden && strings.Contains(msg, roleMissingPhrase):
		e.MissingPermission = RequiredRole
	}
	return e
}
