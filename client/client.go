package client

import (
	"context"
	"crypto/tls"
	"errors"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Options say how to reach the server.
type Options struct {
	// Insecure dials without TLS (loopback and tests only).
	Insecure bool
	// TLS configures TLS; nil means the system roots. Ignored when Insecure.
	TLS *tls.Config
	// PerRPC attaches credentials (e.g. a bearer token) to every call.
	PerRPC credentials.PerRPCCredentials
	// DialOptions are appended last, so they can override the above.
	DialOptions []grpc.DialOption
}

// Client holds one connection and a typed client per service.
type Client struct {
	conn *grpc.ClientConn

	Tenants       xdrlinkv1.TenantServiceClient
	Onboarding    xdrlinkv1.OnboardingServiceClient
	Tables        xdrlinkv1.TableServiceClient
	Verifications xdrlinkv1.VerificationServiceClient
	// Operations gets, lists, cancels and waits for operations.
	Operations longrunningpb.OperationsClient
	// OperationControl resumes and watches operations.
	OperationControl xdrlinkv1.OperationServiceClient
	// Access says who the caller is and manages API keys; Audit lists the
	// audit log.
	Access xdrlinkv1.AccessServiceClient
	Audit  xdrlinkv1.AuditServiceClient
	Health healthpb.HealthClient
}

// New returns a client for target ("host:port"). The connection is made
// lazily on the first call.
func New(target string, opts Options) (*Client, error) {
	if target == "" {
		return nil, errors.New("client: empty target")
	}
	creds := insecure.NewCredentials()
	if !opts.Insecure {
		creds = credentials.NewTLS(opts.TLS)
	}
	dial := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if opts.PerRPC != nil {
		dial = append(dial, grpc.WithPerRPCCredentials(opts.PerRPC))
	}
	conn, err := grpc.NewClient(target, append(dial, opts.DialOptions...)...)
	if err != nil {
		return nil, err
	}
	return &Client{
		conn:             conn,
		Tenants:          xdrlinkv1.NewTenantServiceClient(conn),
		Onboarding:       xdrlinkv1.NewOnboardingServiceClient(conn),
		Tables:           xdrlinkv1.NewTableServiceClient(conn),
		Verifications:    xdrlinkv1.NewVerificationServiceClient(conn),
		Operations:       longrunningpb.NewOperationsClient(conn),
		OperationControl: xdrlinkv1.NewOperationServiceClient(conn),
		Access:           xdrlinkv1.NewAccessServiceClient(conn),
		Audit:            xdrlinkv1.NewAuditServiceClient(conn),
		Health:           healthpb.NewHealthClient(conn),
	}, nil
}

// Bearer sends "Authorization: Bearer {credential}" (an OIDC access token
// or an xdrlink API key) on every call, for Options.PerRPC. gRPC refuses to
// send it over a plaintext connection unless allowPlaintext (loopback).
func Bearer(credential string, allowPlaintext bool) credentials.PerRPCCredentials {
	return bearer{value: "Bearer " + credential, plaintext: allowPlaintext}
}

type bearer struct {
	value     string
	plaintext bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.value}, nil
}

func (b bearer) RequireTransportSecurity() bool { return !b.plaintext }

// Conn is the underlying connection, for clients of other services.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }
