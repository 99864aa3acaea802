package daemon

import (
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// listServices asks reflection for the services, without credentials.
func listServices(t *testing.T, d *Daemon) ([]string, error) {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(plainConn(t, d)).ServerReflectionInfo(t.Context())
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.CloseSend() }()
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

// TestAuthReflection: with --auth=required, reflection (describing the
// API, reading no data) and health answer callers without credentials;
// with --no-reflection the reflection service is not served at all.
func TestAuthReflection(t *testing.T) {
	for _, off := range []bool{false, true} {
		name := "reflection on"
		if off {
			name = "no reflection"
		}
		t.Run(name, func(t *testing.T) {
			d := startAuthDaemon(t, nil, func(c *Config) { c.NoReflection = off })
			resp, err := healthpb.NewHealthClient(plainConn(t, d)).Check(t.Context(), &healthpb.HealthCheckRequest{})
			// Answered, not refused (SERVING or not: a loaded machine may
			// still be checking the store).
			if err != nil || resp.GetStatus() == healthpb.HealthCheckResponse_UNKNOWN {
				t.Errorf("health without credentials: %v %v", resp, err)
			}
			services, err := listServices(t, d)
			if off {
				if status.Code(err) != codes.Unimplemented {
					t.Errorf("reflection with --no-reflection: %v %v, want UNIMPLEMENTED", services, err)
				}
				for svc := range d.grpc.GetServiceInfo() {
					if svc == "grpc.reflection.v1.ServerReflection" || svc == "grpc.reflection.v1alpha.ServerReflection" {
						t.Errorf("%s registered with --no-reflection", svc)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("reflection without credentials: %v", err)
			}
			found := false
			for _, s := range services {
				found = found || s == "xdrlink.v1.TenantService"
			}
			if !found {
				t.Errorf("reflection lists %v, without xdrlink.v1.TenantService", services)
			}
		})
	}
}
