package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xdrlink/xdrlink/azuresim"
	xclient "github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/telemetry"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/accesssvc"
	"github.com/xdrlink/xdrlink/server/auditsvc"
	"github.com/xdrlink/xdrlink/server/gateway"
	"github.com/xdrlink/xdrlink/server/onboardingsvc"
	"github.com/xdrlink/xdrlink/server/operationsvc"
	"github.com/xdrlink/xdrlink/server/tablesvc"
	"github.com/xdrlink/xdrlink/server/tenantsvc"
	"github.com/xdrlink/xdrlink/server/verificationsvc"
	"github.com/xdrlink/xdrlink/store/storeopen"
	"github.com/xdrlink/xdrlink/workflow/engine"
	"github.com/xdrlink/xdrlink/workflow/prereq"
	"github.com/xdrlink/xdrlink/workflow/verification"
)

// Config is everything xdrlinkd serve needs.
type Config struct {
	// GRPCAddr and HTTPAddr are listen addresses; port 0 picks a free port.
	GRPCAddr string
	HTTPAddr string
	// DB is a SQLite file path or a postgres:// DSN.
	DB string
	// AutoMigrate applies pending migrations at start.
	AutoMigrate bool
	// MaxBodyBytes bounds a request (REST body or gRPC message).
	MaxBodyBytes int64
	// ReadinessInterval is how often health re-checks the store.
	ReadinessInterval time.Duration
	// ShutdownTimeout bounds the graceful part of shutdown.
	ShutdownTimeout time.Duration
	// SyncCallTimeout bounds each synchronous (unary) call, unless the
	// caller's deadline is sooner; WaitOperation bounds itself. 0: no bound.
	SyncCallTimeout time.Duration
	// AzureConfigFile is the --azure-config file (cloud and credential
	// profiles). Empty means sandbox mode: an embedded azuresim.
	AzureConfigFile string
	// SandboxTenants is the size of the sandbox's generated world.
	SandboxTenants int
	// SandboxAddr is the sandbox emulator's listen address.
	SandboxAddr string
	// SandboxCAOut, when set, receives the sandbox emulator's CA certificate.
	SandboxCAOut string
	// SecretKeyFile holds the key (32 bytes, base64) that seals secrets at
	// rest (the delegated sign-ins' device codes and refresh tokens).
	// Required with AzureConfigFile; in sandbox mode, empty means
	// SandboxSecretKey, created on first start.
	SecretKeyFile string
	// SandboxSecretKey is the sandbox's generated key file.
	SandboxSecretKey string
	// PageTokenKeyFile holds the key (32 bytes, base64) that signs list
	// page tokens; empty derives one from the secret key (SecretKeyFile or
	// SandboxSecretKey), so tokens survive restarts and replicas sharing
	// the secret key share tokens.
	PageTokenKeyFile string
	// SandboxRegister registers the emulator's customers as tenants when
	// the registry is empty.
	SandboxRegister bool
	// PostgresMaxConns caps the PostgreSQL connection pool (API and River
	// share it); 0 is pgx's default.
	PostgresMaxConns int32
	// Workers is how many operations this process advances at once.
	Workers int
	// DeploymentPollInterval is how often the Content Hub solution's ARM
	// deployment is polled when ARM gives no Retry-After (0: 5s).
	DeploymentPollInterval time.Duration
	// ReplicaHeartbeat is how often this replica tells the others on its
	// database that it runs, to share ARM's limits among them.
	ReplicaHeartbeat time.Duration
	// BatchConcurrency is a batch's max_concurrency when its request leaves
	// it 0 (0: the engine's default, 100).
	BatchConcurrency int
	// StepTimeout bounds one workflow step, Azure retries included.
	StepTimeout time.Duration
	// JobPollInterval is how often idle workers look for jobs (0: River's default).
	JobPollInterval time.Duration
	// AzureMaxConcurrent bounds the Azure requests in flight process-wide
	// (0: outbound.DefaultMaxConcurrent; negative: unlimited). Raise it with
	// Workers: each running operation has one request in flight, a few
	// during its prerequisite checks.
	AzureMaxConcurrent int
	// VerifyInterval is how often every connected tenant is verified (0: never).
	VerifyInterval time.Duration
	// Thresholds judge verification verdicts.
	Thresholds verification.Thresholds
	// VerificationsKept is how many reports are kept per tenant (0: 100).
	VerificationsKept int
	// HTTP server timeouts: reading a request's headers, reading a whole
	// request, writing a response, and keeping an idle connection (0: none).
	// The watch endpoint's stream is exempt from the read and write ones.
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPWriteTimeout      time.Duration
	HTTPIdleTimeout       time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// in the REST access log.
	TrustedProxies []netip.Prefix
	// TLSCertFile and TLSKeyFile (PEM, both or neither) make both listeners
	// serve TLS (REST as HTTPS); the pair is loaded again when the files
	// change, checked at each handshake.
	TLSCertFile string
	TLSKeyFile  string
	// AllowUnauthenticatedNetwork lets the API listen on a non-loopback
	// address with Auth "none", and the sandbox (its API or its emulator)
	// listen on one at all; without it Start refuses. With it, Start warns.
	AllowUnauthenticatedNetwork bool
	// Auth is AuthNone (every caller is an admin) or AuthRequired.
	Auth string
	// OIDCIssuer and OIDCAudiences accept bearer tokens from that issuer
	// with one of those audiences; OIDCRolesClaim names the claim with the
	// caller's role values (authz.ParseGrant); OIDCCAFile, when set, is
	// the CA the issuer's HTTPS certificate is checked against. In sandbox
	// mode an empty issuer means the emulator's Entra.
	OIDCIssuer     string
	OIDCAudiences  []string
	OIDCRolesClaim string
	OIDCCAFile     string
	// TLSClientCAFile, when set, makes gRPC accept client certificates
	// issued by this CA as credentials (with TLSCertFile).
	TLSClientCAFile string
	// RateLimit is each caller's sustained calls per second, RateBurst
	// its burst (0: no limit).
	RateLimit float64
	RateBurst int
	// AuditRetention is how long audit events are kept (0: forever).
	AuditRetention time.Duration
	// NoReflection leaves out gRPC reflection.
	NoReflection bool
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on this
	// address (no authentication; the labels carry no tenant or operation).
	MetricsAddr string
	// TracerProvider, when set, receives every span (tests record them);
	// nil builds one from the OTEL_* environment (see internal/telemetry):
	// no export unless those ask for it.
	TracerProvider trace.TracerProvider
	Logger         *slog.Logger

	// sandboxWorld, when set, gives the sandbox's emulator this world and
	// these customers instead of the demo world (tests with a world of
	// their own).
	sandboxWorld func() (*azuresim.World, []azuresim.DemoCustomer)
}

// Defaults returns the configuration of `xdrlinkd serve` without flags.
func Defaults() Config {
	return Config{
		GRPCAddr:          "127.0.0.1:9090",
		HTTPAddr:          "127.0.0.1:8080",
		DB:                "./data/xdrlink.db",
		AutoMigrate:       true,
		MaxBodyBytes:      1 << 20,
		ReadinessInterval: 5 * time.Second,
		ShutdownTimeout:   15 * time.Second,
		SyncCallTimeout:   server.DefaultSyncCallTimeout,
		SandboxAddr:       "127.0.0.1:8443",
		SandboxCAOut:      "./data/sandbox-ca.pem",
		SandboxSecretKey:  "./data/sandbox-secret.key",
		SandboxRegister:   true,
		Workers:           32,
		ReplicaHeartbeat:  10 * time.Second,
		StepTimeout:       3 * time.Minute,
		VerifyInterval:    24 * time.Hour,
		Thresholds:        verification.DefaultThresholds(),
		VerificationsKept: 100,
		// Reads: long enough for a slow client's 1 MiB body, short enough
		// to shed stalled connections. Writes: longer than the longest
		// :wait call (WaitOperation caps its timeout at 10 minutes).
		HTTPReadHeaderTimeout: 10 * time.Second,
		HTTPReadTimeout:       30 * time.Second,
		HTTPWriteTimeout:      11 * time.Minute,
		HTTPIdleTimeout:       2 * time.Minute,
		Auth:                  AuthNone,
		OIDCRolesClaim:        "roles",
		// A person or portal rarely passes a few calls a second; a
		// service polling a fleet stays well under this. Batches are one
		// call for up to 10,000 tenants.
		RateLimit:      50,
		RateBurst:      100,
		AuditRetention: 365 * 24 * time.Hour,
	}
}

// Daemon is a running xdrlinkd.
type Daemon struct {
	cfg    Config
	log    *slog.Logger
	store  storeopen.Backend
	azure  *azureAccess
	engine *engine.Engine
	// engineMu guards engineState: the engine starts once the store is
	// ready, which may be after Start returned, and never after Shutdown.
	engineMu    sync.Mutex
	engineState int // 0 not started, 1 running, 2 stopped
	// stopReplicas ends the replica heartbeat (shareARMLimits), which closes
	// replicasDone; both set while the engine runs.
	stopReplicas context.CancelFunc
	replicasDone chan struct{}
	grpc         *grpc.Server
	health       *health.Server
	http         *http.Server
	conn         *grpc.ClientConn
	grpcLis      net.Listener
	httpLis      net.Listener
	inprocLis    *inprocListener
	certs        *certReloader // nil without TLS
	tel          *telemetry.Telemetry
	// serving is set once the servers are started: until then, close
	// releases the listeners and the gRPC server itself (Start failed).
	serving      bool
	metrics      *http.Server // nil without MetricsAddr
	metricsLis   net.Listener
	knownMethods func() map[string]bool
	cancel       context.CancelFunc
	serveErr     chan error
}

// Start opens the store, binds both listeners and serves in the background.
func Start(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{cfg: cfg, log: log, serveErr: make(chan error, 4)}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	// Before anything is opened: where it may listen, and its certificate.
	if err = d.checkNetworkExposure(); err != nil {
		return nil, err
	}
	if err = checkTLSFiles(cfg); err != nil {
		return nil, err
	}
	if err = checkAuthConfig(cfg); err != nil {
		return nil, err
	}
	if d.tel, err = telemetry.New(ctx, telemetry.Options{Metrics: cfg.MetricsAddr != "", TracerProvider: cfg.TracerProvider}); err != nil {
		return nil, err
	}
	// Only registered methods are traced and measured: a client may send
	// any method name. d.grpc is set before the first call arrives.
	d.knownMethods = sync.OnceValue(func() map[string]bool {
		known := map[string]bool{}
		for svc, info := range d.grpc.GetServiceInfo() {
			for _, m := range info.Methods {
				known["/"+svc+"/"+m.Name] = true
			}
		}
		return known
	})
	grpcOpts := []grpc.ServerOption{grpc.StatsHandler(d.tel.GRPCServerHandler(func(m string) bool { return d.knownMethods()[m] }))}
	if cfg.TLSCertFile != "" {
		if d.certs, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log); err != nil {
			return nil, err
		}
		grpcTLS := d.certs.serverTLS()
		if cfg.TLSClientCAFile != "" {
			// Certificates are one way in among others (tokens, keys), so
			// a client without one still connects.
			if grpcTLS.ClientCAs, err = xclient.CertPool(cfg.TLSClientCAFile); err != nil {
				return nil, fmt.Errorf("--tls-client-ca-file: %w", err)
			}
			grpcTLS.ClientAuth = tls.VerifyClientCertIfGiven
		}
		grpcOpts = append(grpcOpts, grpc.Creds(tlsOrInproc{credentials.NewTLS(grpcTLS)}))
	}

	if d.store, err = openStore(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if cfg.AutoMigrate {
		if err = d.store.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrate store: %w", err)
		}
	}

	if d.azure, err = newAzureAccess(cfg, log, d.tel); err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}

	var bgCtx context.Context
	bgCtx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	auth, err := d.newAuthenticator(bgCtx)
	if err != nil {
		return nil, err
	}
	limiter, err := newRateLimiter(cfg)
	if err != nil {
		return nil, err
	}
	failures, err := newAuthFailureLimiter(cfg)
	if err != nil {
		return nil, err
	}
	if d.grpc, err = server.New(server.Options{Logger: log, MaxRecvBytes: int(cfg.MaxBodyBytes), SyncCallTimeout: cfg.SyncCallTimeout,
		ServerOptions: grpcOpts, Authenticator: auth, Audit: d.store, RateLimiter: limiter, AuthFailures: failures, NoReflection: cfg.NoReflection}); err != nil {
		return nil, err
	}
	xdrlinkv1.RegisterTenantServiceServer(d.grpc, tenantsvc.New(d.store, d.azure.profileNames()))
	xdrlinkv1.RegisterAccessServiceServer(d.grpc, accesssvc.New(d.store, auth))
	xdrlinkv1.RegisterAuditServiceServer(d.grpc, auditsvc.New(d.store))
	if d.engine, err = d.newEngine(); err != nil {
		return nil, err
	}
	xdrlinkv1.RegisterTableServiceServer(d.grpc, tablesvc.New(d.store, d.engine))
	xdrlinkv1.RegisterVerificationServiceServer(d.grpc, verificationsvc.New(d.store, d.engine))
	xdrlinkv1.RegisterOnboardingServiceServer(d.grpc,
		onboardingsvc.New(d.store, prereq.New(d.azure.prereqAccess()), d.engine, d.azure.cfg.DefaultProfile))
	ops := operationsvc.New(d.store, d.engine, operationsvc.Options{})
	longrunningpb.RegisterOperationsServer(d.grpc, ops)
	xdrlinkv1.RegisterOperationServiceServer(d.grpc, ops)
	d.health = health.NewServer()
	healthpb.RegisterHealthServer(d.grpc, d.health)

	server.WatchReadiness(bgCtx, d.health, d.store.Ready, cfg.ReadinessInterval, serviceNames(d.grpc), log)

	if d.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("grpc listen: %w", err)
	}
	if d.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("http listen: %w", err)
	}
	if err = d.listenMetrics(); err != nil {
		return nil, err
	}
	// The gateway is a client of the same gRPC server, so REST gets the same
	// interceptors; it dials an in-memory listener that server also serves
	// (inprocListener), so no call crosses the network in plaintext, TLS or
	// not. The connection is lazy.
	d.inprocLis = newInprocListener()
	if d.conn, err = grpc.NewClient(inprocTarget, append(d.inprocLis.dialOptions(),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(int(cfg.MaxBodyBytes)+4096)),
		// Carries the REST request's trace context to the gRPC server.
		grpc.WithStatsHandler(d.tel.GRPCClientHandler()),
	)...); err != nil {
		return nil, err
	}
	gw, err := gateway.New(bgCtx, gateway.Options{Conn: d.conn, MaxBodyBytes: cfg.MaxBodyBytes, Logger: log, TrustedProxies: cfg.TrustedProxies,
		Telemetry: d.tel, ServerName: d.HTTPAddr()})
	if err != nil {
		return nil, err
	}
	d.http = &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if d.certs != nil {
		d.http.TLSConfig = d.certs.serverTLS()
	}

	// The engine (and the sandbox's registrations) need the migrated store:
	// at once when it is, else as soon as `xdrlinkd migrate` has run.
	if d.store.Ready(ctx) == nil {
		if err = d.startWorkflows(bgCtx); err != nil {
			return nil, err
		}
	} else {
		go d.startWorkflowsWhenReady(bgCtx)
	}
	go d.pruneAudit(bgCtx)
	d.serving = true
	d.serveMetrics()
	go func() { d.serveErr <- d.grpc.Serve(d.grpcLis) }()
	go func() {
		if err := d.grpc.Serve(d.inprocLis); err != nil {
			d.serveErr <- err
		}
	}()
	go func() {
		serve := d.http.Serve
		if d.certs != nil {
			serve = func(l net.Listener) error { return d.http.ServeTLS(l, "", "") }
		}
		if err := serve(d.httpLis); !errors.Is(err, http.ErrServerClosed) {
			d.serveErr <- err
		}
	}()
	log.Info("xdrlinkd serving", "grpc", d.GRPCAddr(), "http", d.HTTPAddr(), "tls", d.certs != nil, "auth", cfg.Auth,
		"db", redactDSN(cfg.DB), "metrics", d.MetricsAddr(), "trace_export", d.tel.Exporter)
	return d, nil
}

// GRPCAddr is the bound gRPC address.
func (d *Daemon) GRPCAddr() string { return d.grpcLis.Addr().String() }

// HTTPAddr is the bound REST address.
func (d *Daemon) HTTPAddr() string { return d.httpLis.Addr().String() }

// Run starts the daemon and serves until ctx ends or a listener fails, then
// shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	d, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		err = nil
	case err = <-d.serveErr:
	}
	return errors.Join(err, d.Shutdown())
}

// Shutdown reports NOT_SERVING (so balancers drain), finishes in-flight REST
// and gRPC requests within the timeout, then closes the store.
func (d *Daemon) Shutdown() error {
	d.log.Info("xdrlinkd shutting down")
	d.health.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	err := d.http.Shutdown(ctx)
	// Running steps finish (or stop at the deadline and resume at the next
	// start) before the store they write to closes.
	err = errors.Join(err, d.stopWorkflows(ctx))
	if d.metrics != nil {
		err = errors.Join(err, d.metrics.Shutdown(ctx))
	}
	stopped := make(chan struct{})
	go func() { d.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		d.grpc.Stop() // streams still open past the deadline are cut
		<-stopped
	}
	err = errors.Join(err, d.close())
	// Last, so the spans of the shutdown's own calls are flushed too.
	return errors.Join(err, d.tel.Shutdown(ctx))
}

// close releases whatever Start managed to open.
func (d *Daemon) close() error {
	if d.cancel != nil {
		d.cancel()
	}
	var errs []error
	if d.conn != nil {
		errs = append(errs, d.conn.Close())
	}
	if d.grpc != nil && !d.serving { // Start failed before serving
		d.grpc.Stop()
	}
	listeners := []net.Listener{d.grpcLis, d.httpLis, d.metricsLis}
	if d.inprocLis != nil {
		listeners = append(listeners, d.inprocLis)
	}
	for _, l := range listeners {
		if l != nil && !d.serving {
			_ = l.Close()
		}
	}
	if d.azure != nil {
		d.azure.close()
	}
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	if d.tel != nil && !d.serving { // Start failed; Shutdown flushes otherwise
		errs = append(errs, d.tel.Shutdown(context.Background()))
	}
	return errors.Join(errs...)
}

func serviceNames(s *grpc.Server) []string {
	var names []string
	for name := range s.GetServiceInfo() {
		names = append(names, name)
	}
	return names
}
