package azuresim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Options configures a Sim.
type Options struct {
	// World is the emulated estate; nil starts an empty world.
	World *World
	// Customers describes the world's customers for GET /_sim/customers and
	// Sim.Customers, typically DemoWorld's second result. Each must name a
	// tenant of World. Nil lists World's tenants instead.
	Customers []DemoCustomer
	// Addr is the listen address; default "127.0.0.1:0" (a free port).
	Addr string
	// Faults are injected latency and errors; zero injects none (ARM
	// throttling buckets are on unless Faults.DisableARMThrottling).
	Faults FaultConfig
	// Seed makes fault injection deterministic.
	Seed uint64
	// TokenLifetime is the lifetime of issued access tokens (default 1h, sim clock).
	TokenLifetime time.Duration
	// DeploymentPolls is how many status polls of a deployment answer
	// "Running" before it succeeds (default 1). DeploymentDuration, when set,
	// also completes it once that much sim-clock time has passed.
	DeploymentPolls    int
	DeploymentDuration time.Duration
	// RPRegistrationDelay is sim-clock time from POST .../register until the
	// provider reads "Registered" (default 0: the next GET sees it).
	RPRegistrationDelay time.Duration
	// Logger receives one line per request at debug level; nil discards.
	Logger *slog.Logger
}

// Sim is a running emulator: one HTTPS listener serving every API family.
type Sim struct {
	opts   Options
	clock  *Clock
	world  *worldState
	tokens *tokenIssuer
	cert   *serverCert
	log    *slog.Logger

	listener  net.Listener
	server    *http.Server
	mux       *http.ServeMux // API families registered with Handle
	admin     *http.ServeMux // /_sim/
	transport *http.Transport
	client    *http.Client
	url       string

	faults      *faultState
	metrics     *requestMetrics
	deviceCodes *deviceCodeStore

	closeOnce sync.Once
	serveDone chan struct{}
}

// apiFamilies are the API families compiled into the package; each file that
// implements one registers itself from init with registerAPIFamily.
var (
	apiFamiliesMu sync.Mutex
	apiFamilies   []func(*Sim)
)

// registerAPIFamily adds an API family; fn runs once per Sim before it serves
// and typically calls s.Handle for its routes.
func registerAPIFamily(fn func(*Sim)) {
	apiFamiliesMu.Lock()
	apiFamilies = append(apiFamilies, fn)
	apiFamiliesMu.Unlock()
}

// Start builds the emulated world, generates the TLS certificate and token
// signing key, and starts serving HTTPS. Close stops it.
func Start(opts Options) (*Sim, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.DeploymentPolls <= 0 {
		opts.DeploymentPolls = 1
	}
	if opts.World == nil {
		opts.World = &World{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{opts: opts, clock: NewClock(), log: logger, serveDone: make(chan struct{})}
	var err error
	start := s.clock.Now()
	if s.world, err = newWorldState(opts.World, start); err != nil {
		return nil, err
	}
	s.applyHistory(start)
	s.opts.Customers = slices.Clone(opts.Customers) // the caller's slice may change later
	for _, c := range opts.Customers {
		if s.world.tenant(c.EntraTenantID) == nil {
			return nil, fmt.Errorf("azuresim: customer %q: tenant %q is not in the world", c.ID, c.EntraTenantID)
		}
	}
	if s.cert, err = newServerCert(); err != nil {
		return nil, fmt.Errorf("azuresim: certificate: %w", err)
	}
	if s.tokens, err = newTokenIssuer(s.clock, s.URL); err != nil {
		return nil, fmt.Errorf("azuresim: signing key: %w", err)
	}
	if s.faults, err = newFaultState(opts.Faults, opts.Seed); err != nil {
		return nil, err
	}
	s.metrics = newRequestMetrics()
	s.deviceCodes = newDeviceCodeStore()

	s.mux = http.NewServeMux()
	s.admin = http.NewServeMux()
	s.registerAdmin()
	s.mux.Handle("/_sim/", s.admin)
	s.mux.HandleFunc("/", s.serveCore) // Entra + ARM: matched by hand (case-insensitive ARM paths)
	apiFamiliesMu.Lock()
	families := append([]func(*Sim){}, apiFamilies...)
	apiFamiliesMu.Unlock()
	for _, fn := range families {
		fn(s)
	}

	s.transport = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.cert.pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
	s.client = &http.Client{Transport: s.transport}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("azuresim: listen: %w", err)
	}
	s.listener = ln
	s.url = "https://" + ln.Addr().String()
	s.server = &http.Server{
		Handler:           s.middleware(s.mux),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.cert.tls}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.serveDone)
		if err := s.server.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("azuresim: serve", "err", err)
		}
	}()
	return s, nil
}

// Close stops the listener, waits for in-flight requests (up to 5 s) and
// closes the shared client transport's idle connections.
func (s *Sim) Close() error {
	var err error
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Client side first: closing our idle HTTP/2 connections spares the
		// server's one-second GOAWAY grace period per connection.
		s.transport.CloseIdleConnections()
		err = s.server.Shutdown(ctx)
		if err != nil {
			_ = s.server.Close()
		}
		<-s.serveDone
		s.transport.CloseIdleConnections()
		s.dropFamilyStates()
	})
	return err
}

// URL is the sim's base URL, e.g. https://127.0.0.1:41234 (no trailing slash).
func (s *Sim) URL() string { return s.url }

// CertPool trusts the sim's certificate.
func (s *Sim) CertPool() *x509.CertPool { return s.cert.pool }

// CACertPEM is the sim's self-signed certificate in PEM, for clients in
// other processes (cmd/azuresim writes it to a file).
func (s *Sim) CACertPEM() []byte { return append([]byte(nil), s.cert.pem...) }

// HTTPClient is an *http.Client that trusts the sim. It is shared; Close
// releases its idle connections.
func (s *Sim) HTTPClient() *http.Client { return s.client }

// Clock is the sim's controllable clock.
func (s *Sim) Clock() *Clock { return s.clock }

// Now is the sim clock's current time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// AdvanceClock moves the sim clock forward.
func (s *Sim) AdvanceClock(d time.Duration) { s.clock.Advance(d) }

// Cloud is the azcore cloud configuration for the sim: every endpoint is the
// sim's URL, every audience the real one.
func (s *Sim) Cloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: s.url + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: s.url, Audience: AudienceARM},
		},
	}
}

// ClientOptions are azcore client options that reach the sim: its Cloud and
// a transport that trusts it. azidentity credentials built with them must
// also set DisableInstanceDiscovery (the sim is not a known authority host).
func (s *Sim) ClientOptions() policy.ClientOptions {
	return policy.ClientOptions{Cloud: s.Cloud(), Transport: s.client}
}

// Handle registers an API family route on the shared listener. Patterns use
// net/http.ServeMux syntax ("GET /v1.0/subscribedSkus"); they must not
// start with /_sim/, /subscriptions/ or /providers/, which the core owns.
func (s *Sim) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc is Handle for a function.
func (s *Sim) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.mux.HandleFunc(pattern, h)
}

// Tenant returns a tenant's live state by id or verified domain.
func (s *Sim) Tenant(idOrDomain string) (*TenantState, bool) {
	t := s.world.tenant(idOrDomain)
	return t, t != nil
}

// Tenants returns every tenant's live state, in world order.
func (s *Sim) Tenants() []*TenantState {
	s.world.mu.RLock()
	defer s.world.mu.RUnlock()
	return append([]*TenantState(nil), s.world.tenantList...)
}

// Workspace finds a workspace by subscription, resource group and name.
func (s *Sim) Workspace(sub, rg, name string) (*WorkspaceState, bool) {
	w := s.world.workspace(sub, rg, name)
	return w, w != nil
}

// WorkspaceByCustomerID finds a workspace by its Log Analytics customerId.
func (s *Sim) WorkspaceByCustomerID(customerID string) (*WorkspaceState, bool) {
	s.world.mu.RLock()
	defer s.world.mu.RUnlock()
	w := s.world.byCustomerID[strings.ToLower(customerID)]
	return w, w != nil
}
