// Package config reads and writes the xdrlink CLI's configuration file: named
// contexts (server address, TLS settings, API key or OIDC sign-in settings)
// and which one is current. The file holds secrets (API keys), so it is
// written with mode 0600.
package config
