package verification

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Thresholds are the durations verdicts are judged with.
type Thresholds struct {
	// GracePeriod: a signal enabled less than this long ago without rows
	// yet is WITHIN_GRACE_PERIOD, not NO_DATA.
	GracePeriod time.Duration
	// TableStaleAfter: a table whose newest row is older is STALE.
	TableStaleAfter time.Duration
	// AlertsStaleAfter: incidents or alerts whose newest row is older are
	// STALE.
	AlertsStaleAfter time.Duration
}

// DefaultThresholds are a day of grace, tables stale after a day (they
// stream continuously) and incidents and alerts after a week (the
// connector's own "connected" rule: data within 7 days).
func DefaultThresholds() Thresholds {
	return Thresholds{GracePeriod: 24 * time.Hour, TableStaleAfter: 24 * time.Hour, AlertsStaleAfter: 7 * 24 * time.Hour}
}

// Proto is t as the report shows it.
func (t Thresholds) Proto() *xdrlinkv1.VerdictThresholds {
	return &xdrlinkv1.VerdictThresholds{
		GracePeriod:      durationpb.New(t.GracePeriod),
		TableStaleAfter:  durationpb.New(t.TableStaleAfter),
		AlertsStaleAfter: durationpb.New(t.AlertsStaleAfter),
	}
}

// staleAfter is the stale threshold of a kind of signal.
func (t Thresholds) staleAfter(k xdrlinkv1.SignalReport_Kind) time.Duration {
	if k == xdrlinkv1.SignalReport_KIND_TABLE {
		return t.TableStaleAfter
	}
	return t.AlertsStaleAfter
}
