// Package guid checks the GUIDs Azure uses for tenant, subscription, client and object ids.
package guid

// Valid reports whether s is a GUID in its canonical 8-4-4-4-12 hexadecimal form (either
// case, no braces): the only form xdrlink lets into a URL path, an authority or a filter.
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
