package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// ReadinessFunc reports whether the backend can serve (e.g. store.Ready).
type ReadinessFunc func(ctx context.Context) error

// WatchReadiness keeps h's overall status and each of services' statuses in
// step with ready, checking every interval until ctx ends. It checks once
// before returning, so health is accurate from the first request.
func WatchReadiness(ctx context.Context, h *health.Server, ready ReadinessFunc, interval time.Duration, services []string, log *slog.Logger) {
	last := healthpb.HealthCheckResponse_UNKNOWN
	check := func() {
		cctx, cancel := context.WithTimeout(ctx, interval)
		err := ready(cctx)
		cancel()
		st := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		if st != last {
			if err != nil {
				log.Warn("store not ready", "error", err.Error())
			} else {
				log.Info("store ready")
			}
			last = st
		}
		h.SetServingStatus("", st)
		for _, s := range services {
			h.SetServingStatus(s, st)
		}
	}
	check()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				check()
			}
		}
	}()
}
