// Package aipfilter parses the subset of AIP-160 filter expressions that
// xdrlink's list methods accept: a conjunction of equality terms,
//
//	filter = term { "AND" term }
//	term   = field "=" value
//	field  = ident { "." ident }        e.g. state, labels.tier
//	value  = ident | quoted-string      e.g. ONBOARDED, "gold"
//
// Which fields exist is up to the caller; the parser only checks syntax.
package aipfilter
