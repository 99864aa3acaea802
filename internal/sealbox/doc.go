// Package sealbox encrypts small secrets (refresh tokens, device codes) before they are
// stored, with AES-256-GCM and a key the operator supplies.
//
// A sealed value is version || nonce || ciphertext+tag. The version byte names the key
// generation so that a later key rotation can tell old ciphertexts from new ones; today
// there is one version. Associated data binds a ciphertext to where it is stored (for
// example the operation name), so a value copied into another row does not open there.
package sealbox
