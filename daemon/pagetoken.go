package daemon

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/xdrlink/xdrlink/internal/sealbox"
	"github.com/xdrlink/xdrlink/store/storeopen"
)

// pageTokenKeyInfo labels the page-token key derived from the secret key, so
// that it is independent of the key that seals secrets (and of any other
// key derived from it later).
const pageTokenKeyInfo = "xdrlink page token key v1"

// openStore opens the store of cfg.DB with the configured page-token key.
func openStore(ctx context.Context, cfg Config) (storeopen.Backend, error) {
	key, err := pageTokenKey(cfg)
	if err != nil {
		return nil, err
	}
	return storeopen.Open(ctx, cfg.DB, storeopen.Options{PostgresMaxConns: cfg.PostgresMaxConns, PageTokenKey: key})
}

// pageTokenKey is the key that signs list page tokens: the key of
// --page-token-key-file (32 bytes, base64), else one derived (HKDF-SHA256)
// from the secret key of --secret-key-file, or the sandbox's. Either way it
// survives restarts, and replicas sharing the file share tokens; a token
// signed with another key is refused as an invalid page token.
func pageTokenKey(cfg Config) ([]byte, error) {
	if path := cfg.PageTokenKeyFile; path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("page token key: %w", err)
		}
		key, err := sealbox.ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("page token key %s: %w", path, err)
		}
		return key, nil
	}
	secret, err := secretKey(cfg, cfg.AzureConfigFile == "")
	if err != nil {
		return nil, err
	}
	return hkdf.Key(sha256.New, secret, nil, pageTokenKeyInfo, 32)
}
