package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/sealbox"
	"github.com/xdrlink/xdrlink/store"
)

// TestPageTokenKey: page tokens are signed with the configured key, not the
// public default: by default one derived from the secret key, so they
// survive a restart; with --page-token-key-file that key, shared by the
// servers given the same file. A token signed with another key is
// INVALID_ARGUMENT with reason INVALID_PAGE_TOKEN, over gRPC and REST.
func TestPageTokenKey(t *testing.T) {
	backends(t, func(t *testing.T, db string) {
		dir := t.TempDir()
		secret := filepath.Join(dir, "secret.key")
		keyFile := func(name string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(sealbox.GenerateKey()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		k1 := keyFile("k1")
		// run starts a daemon on db, gives it to f, and stops it.
		run := func(pageKeyFile, secretFile string, f func(c xdrlinkv1.TenantServiceClient, rest restAPI)) {
			t.Helper()
			cfg := Defaults()
			cfg.GRPCAddr, cfg.HTTPAddr, cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", ""
			cfg.DB, cfg.VerifyInterval, cfg.SandboxRegister = db, 0, false
			cfg.Logger = slog.New(slog.DiscardHandler)
			cfg.SandboxSecretKey, cfg.PageTokenKeyFile = secretFile, pageKeyFile
			d, err := Start(context.Background(), cfg)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			defer func() {
				if err := d.Shutdown(); err != nil {
					t.Errorf("shutdown: %v", err)
				}
			}()
			f(dial(t, d).Tenants, newREST(d))
		}
		firstPage := func(c xdrlinkv1.TenantServiceClient) string {
			t.Helper()
			page, err := c.ListTenants(t.Context(), &xdrlinkv1.ListTenantsRequest{PageSize: 1})
			if err != nil || page.GetNextPageToken() == "" {
				t.Fatalf("first page: %v, %v", page, err)
			}
			return page.GetNextPageToken()
		}
		accepted := func(c xdrlinkv1.TenantServiceClient, token, what string) {
			t.Helper()
			page, err := c.ListTenants(t.Context(), &xdrlinkv1.ListTenantsRequest{PageSize: 1, PageToken: token})
			if err != nil || len(page.GetTenants()) != 1 {
				t.Errorf("%s: %v, %v; want the second page", what, page, err)
			}
		}
		refused := func(c xdrlinkv1.TenantServiceClient, rest restAPI, token, what string) {
			t.Helper()
			_, gerr := c.ListTenants(t.Context(), &xdrlinkv1.ListTenantsRequest{PageSize: 1, PageToken: token})
			_, rerr := rest.List(t.Context(), &xdrlinkv1.ListTenantsRequest{PageSize: 1, PageToken: token})
			for transport, err := range map[string]error{"grpc": gerr, "rest": rerr} {
				st := status.Convert(err)
				info := errorInfoOf(st)
				if st.Code() != codes.InvalidArgument || info == nil ||
					info.GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN.String() {
					t.Errorf("%s over %s: %v (%v); want INVALID_ARGUMENT, INVALID_PAGE_TOKEN", what, transport, st, info)
				}
			}
		}

		var derived string
		run("", secret, func(c xdrlinkv1.TenantServiceClient, rest restAPI) {
			for _, id := range []string{"a", "b", "c"} {
				if _, err := c.CreateTenant(t.Context(), createRequest(id)); err != nil {
					t.Fatal(err)
				}
			}
			derived = firstPage(c)
			// The public default key signs nothing a server accepts.
			refused(c, rest, store.EncodePageToken("a", store.TenantQuery{}), "a token signed with the default key")
		})
		run("", secret, func(c xdrlinkv1.TenantServiceClient, _ restAPI) {
			accepted(c, derived, "after a restart with the same secret key")
		})
		var fromK1 string
		run(k1, secret, func(c xdrlinkv1.TenantServiceClient, rest restAPI) {
			refused(c, rest, derived, "a token of the derived key, under --page-token-key-file")
			fromK1 = firstPage(c)
		})
		// Another secret key, the same page-token key file: like a replica.
		run(k1, filepath.Join(dir, "other-secret.key"), func(c xdrlinkv1.TenantServiceClient, _ restAPI) {
			accepted(c, fromK1, "a server with the same --page-token-key-file")
		})
		run("", filepath.Join(dir, "other-secret.key"), func(c xdrlinkv1.TenantServiceClient, rest restAPI) {
			refused(c, rest, derived, "a token derived from another secret key")
		})
	})
}

func errorInfoOf(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
