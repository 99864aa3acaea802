package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// isLoopback says whether a listen address binds loopback only: an IP in
// 127.0.0.0/8 or ::1, or "localhost". An empty host (":8080"), an
// unspecified one (0.0.0.0, ::) or any other name counts as the network.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// checkNetworkExposure refuses to serve an unauthenticated API (there is no
// authentication yet, and the sandbox is never meant for the network) on
// anything but loopback, unless AllowUnauthenticatedNetwork says so; then
// it warns. It names the exposed addresses.
func (d *Daemon) checkNetworkExposure() error {
	cfg := d.cfg
	var exposed []string
	for _, a := range []struct{ flag, addr string }{
		{"--grpc-addr", cfg.GRPCAddr},
		{"--http-addr", cfg.HTTPAddr},
	} {
		if !isLoopback(a.addr) {
			exposed = append(exposed, a.flag+" "+a.addr)
		}
	}
	if cfg.AzureConfigFile == "" && !isLoopback(cfg.SandboxAddr) {
		exposed = append(exposed, "--sandbox-addr "+cfg.SandboxAddr)
	}
	if len(exposed) == 0 {
		return nil
	}
	// Authentication is not built yet: every caller is anonymous with full
	// access. Once it is, the sandbox is still refused.
	why := "there is no authentication: every caller who can reach it has full access"
	if cfg.AzureConfigFile == "" {
		why += ", and it runs in sandbox mode"
	}
	if !cfg.AllowUnauthenticatedNetwork {
		return fmt.Errorf("refusing to serve on a non-loopback address (%s): %s; listen on 127.0.0.1 (the default), "+
			"or put it behind a proxy that authenticates callers and pass --allow-unauthenticated-network",
			strings.Join(exposed, ", "), why)
	}
	d.log.Warn("serving on a non-loopback address without authentication (--allow-unauthenticated-network): "+
		"every caller who can reach it has full access; keep it behind a proxy that authenticates callers",
		"addresses", exposed, "sandbox", cfg.AzureConfigFile == "")
	return nil
}
