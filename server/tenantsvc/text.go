package tenantsvc

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/xdrlink/xdrlink/internal/apierr"
)

// textViolation reports a display text (a tenant's display_name) that
// would not show as what it says: invalid UTF-8, C0 and C1 control
// characters (line breaks and tabs among them), and the bidirectional
// formatting characters that reorder what follows them (U+200E, U+200F,
// U+202A-U+202E, U+2066-U+2069). nil when s is fine.
func textViolation(field, s string) *errdetails.BadRequest_FieldViolation {
	for i, r := range s {
		var what string
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return apierr.Violation(field, fmt.Sprintf("not valid UTF-8 (at byte %d)", i))
		case r < 0x20 || r >= 0x7f && r <= 0x9f:
			what = "control character"
		case r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			what = "bidirectional formatting character"
		default:
			continue
		}
		return apierr.Violation(field, fmt.Sprintf("must not contain control or bidirectional formatting characters: %s U+%04X at byte %d", what, r, i))
	}
	return nil
}

// validAt: the U+FFFD decoded at s[i] is written in s, not an invalid byte.
func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// displayNameViolations checks a tenant's display_name, under the field
// path prefix of the tenant in its request.
func displayNameViolations(prefix, displayName string) []*errdetails.BadRequest_FieldViolation {
	if v := textViolation(prefix+"display_name", displayName); v != nil {
		return []*errdetails.BadRequest_FieldViolation{v}
	}
	return nil
}
