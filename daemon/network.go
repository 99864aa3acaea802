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

// checkNetworkExposure refuses to serve on anything but loopback an API
// that does not authenticate (--auth=none), or the sandbox (demo secrets,
// an emulated Azure: never meant for a network), unless
// AllowUnauthenticatedNetwork says so; then it warns. It names the exposed
// addresses.
func (d *Daemon) checkNetworkExposure() error {
	cfg := d.cfg
	sandbox := cfg.AzureConfigFile == ""
	var exposed []string
	for _, a := range []struct{ flag, addr string }{
		{"--grpc-addr", cfg.GRPCAddr},
		{"--http-addr", cfg.HTTPAddr},
	} {
		if !isLoopback(a.addr) {
			exposed = append(exposed, a.flag+" "+a.addr)
		}
	}
	if sandbox && !isLoopback(cfg.SandboxAddr) {
		exposed = append(exposed, "--sandbox-addr "+cfg.SandboxAddr)
	}
	unauthenticated := cfg.Auth == AuthNone
	if len(exposed) == 0 || (!unauthenticated && !sandbox) {
		return nil
	}
	var why []string
	if unauthenticated {
		why = append(why, "there is no authentication (--auth=none): every caller who can reach it has full access")
	}
	if sandbox {
		why = append(why, "it runs in sandbox mode (an emulated Azure with demo credentials; give --azure-config for real Azure)")
	}
	if !cfg.AllowUnauthenticatedNetwork {
		return fmt.Errorf("refusing to serve on a non-loopback address (%s): %s; listen on 127.0.0.1 (the default), "+
			"or use --auth=required with real Azure, or, knowingly, pass --allow-unauthenticated-network",
			strings.Join(exposed, ", "), strings.Join(why, ", and "))
	}
	d.log.Warn("serving on a non-loopback address (--allow-unauthenticated-network): "+strings.Join(why, ", and "),
		"addresses", exposed, "sandbox", sandbox, "auth", cfg.Auth)
	return nil
}
