package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"
)

// File is the configuration file's content.
type File struct {
	CurrentContext string              `json:"current-context,omitempty"`
	Contexts       map[string]*Context `json:"contexts,omitempty"`
}

// Context is how to reach and authenticate to one xdrlinkd.
type Context struct {
	// Address is the gRPC address, host:port.
	Address string `json:"address,omitempty"`
	// TLS forces TLS; without it, loopback addresses are dialled in
	// plaintext and every other address with TLS.
	TLS bool `json:"tls,omitempty"`
	// TLSCAFile is a PEM CA bundle that signs the server's certificate.
	TLSCAFile string `json:"tls-ca-file,omitempty"`
	// Insecure dials in plaintext even to a non-loopback address (a
	// trusted network); credentials are then not sent.
	Insecure bool `json:"insecure,omitempty"`
	// APIKey is an xdrlink API key ("xdrlink_...").
	APIKey string `json:"api-key,omitempty"`
	// OIDC, when set, is what `xdrlink login` signs in with.
	OIDC *OIDC `json:"oidc,omitempty"`
}

// OIDC names the identity provider and public client for a device-code
// sign-in.
type OIDC struct {
	Issuer   string   `json:"issuer"`
	ClientID string   `json:"client-id"`
	Scopes   []string `json:"scopes,omitempty"`
	// CAFile is a PEM CA bundle for the issuer's HTTPS certificate.
	CAFile string `json:"ca-file,omitempty"`
}

// DefaultPath is os.UserConfigDir()/xdrlink/config.yaml.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "xdrlink", "config.yaml"), nil
}

// Load reads path; a missing file is an empty configuration.
func Load(path string) (*File, error) {
	f := &File{Contexts: map[string]*Context{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(b, f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Contexts == nil {
		f.Contexts = map[string]*Context{}
	}
	return f, nil
}

// Save writes f to path with mode 0600, creating the directory (0700).
func (f *File) Save(path string) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writePrivate(path, b)
}

// writePrivate replaces path atomically with a 0600 file.
func writePrivate(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Names lists the contexts in name order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Contexts))
	for n := range f.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Current returns the context named name, or the current one when name is
// empty; nil (and no error) when no context is configured at all.
func (f *File) Current(name string) (*Context, string, error) {
	if name == "" {
		name = f.CurrentContext
	}
	if name == "" {
		return nil, "", nil
	}
	c, ok := f.Contexts[name]
	if !ok {
		return nil, "", fmt.Errorf("no context %q in the configuration (xdrlink config get-contexts lists them)", name)
	}
	return c, name, nil
}
