// Package accesssvc implements AccessService: who the caller is, and the
// API keys internal services authenticate with (created with the key shown
// once, listed, revoked; only hashes are stored).
package accesssvc
