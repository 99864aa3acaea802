package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// listenMetrics binds MetricsAddr, if set (serveMetrics serves it). It is a
// listener of its own so that scrapes need no API credentials and the API's
// timeouts and access log stay the API's.
func (d *Daemon) listenMetrics() error {
	if d.cfg.MetricsAddr == "" {
		return nil
	}
	var err error
	if d.metricsLis, err = net.Listen("tcp", d.cfg.MetricsAddr); err != nil {
		return fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.tel.MetricsHandler())
	d.metrics = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// serveMetrics serves /metrics in the background, if listenMetrics bound it.
func (d *Daemon) serveMetrics() {
	if d.metrics == nil {
		return
	}
	srv, lis := d.metrics, d.metricsLis
	go func() {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			d.serveErr <- err
		}
	}()
}

// MetricsAddr is the bound metrics address, or "" without MetricsAddr.
func (d *Daemon) MetricsAddr() string {
	if d.metricsLis == nil {
		return ""
	}
	return d.metricsLis.Addr().String()
}
