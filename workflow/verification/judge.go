package verification

import (
	"fmt"
	"time"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// judge applies the verdict rules of the package doc, in their order. last
// is the newest row known, total the rows in the window.
func judge(now time.Time, th Thresholds, ev Evidence, total int64, last time.Time) (xdrlinkv1.Verdict, string) {
	if !ev.Desired {
		msg := "not requested in the desired settings"
		if ev.Err != nil {
			msg += "; its query failed: " + ev.Err.Error()
		}
		return xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, msg
	}
	if ev.Err != nil {
		return xdrlinkv1.Verdict_VERDICT_ERROR, ev.Err.Error()
	}
	age := now.Sub(last)
	if !last.IsZero() && age <= th.staleAfter(ev.Kind) {
		return xdrlinkv1.Verdict_VERDICT_HEALTHY, fmt.Sprintf("%s in the window; last at %s (%s ago)", rows(total), stamp(last), span(age))
	}
	if ev.PortalOnly && last.IsZero() {
		return xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED, fmt.Sprintf("no rows yet: only the Microsoft Defender portal can turn on streaming of %s to Microsoft Sentinel", ev.Table)
	}
	if ev.Observed == xdrlinkv1.ObservedState_OBSERVED_STATE_NOT_ENABLED {
		msg := "desired but not enabled in Azure: " + notDelivered(ev)
		if !last.IsZero() {
			msg += fmt.Sprintf("; last row at %s", stamp(last))
		}
		return xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, msg
	}
	if !last.IsZero() {
		return xdrlinkv1.Verdict_VERDICT_STALE, fmt.Sprintf("no rows for %s; last at %s", span(age), stamp(last))
	}
	if !ev.EnableTime.IsZero() && now.Sub(ev.EnableTime) < th.GracePeriod {
		return xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, fmt.Sprintf("no rows yet; enabled at %s, within the grace period until %s",
			stamp(ev.EnableTime), stamp(ev.EnableTime.Add(th.GracePeriod)))
	}
	msg := "no rows received, and when it was enabled is unknown"
	if !ev.EnableTime.IsZero() {
		msg = fmt.Sprintf("no rows since it was enabled at %s (%s ago)", stamp(ev.EnableTime), span(now.Sub(ev.EnableTime)))
	}
	if ev.Observed != xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED {
		// Whether Azure delivers it could not be read: say so, it is the
		// first thing to check.
		msg += "; " + unknownDelivery(ev.Kind)
	}
	return xdrlinkv1.Verdict_VERDICT_NO_DATA, msg
}

// unknownDelivery says what could not be read.
func unknownDelivery(k xdrlinkv1.SignalReport_Kind) string {
	if k == xdrlinkv1.SignalReport_KIND_TABLE {
		return "whether the Defender streaming entry includes the table is unknown (reading it needs a delegated sign-in)"
	}
	return "whether the Microsoft Defender XDR connector delivers them is unknown"
}

// notDelivered says what is off in Azure.
func notDelivered(ev Evidence) string {
	switch ev.Kind {
	case xdrlinkv1.SignalReport_KIND_TABLE:
		return "the Defender streaming entry does not include " + ev.Table
	case xdrlinkv1.SignalReport_KIND_INCIDENTS:
		return "the Microsoft Defender XDR connector does not deliver incidents"
	}
	return "the Microsoft Defender XDR connector does not deliver alerts"
}

// rows is "1 row" or "n rows".
func rows(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// stamp is t for people: RFC 3339 in UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// span is d for people in its two largest units: 3d2h, 5h30m, 18m, 40s.
func span(d time.Duration) string {
	const day = 24 * time.Hour
	d = max(d, 0)
	switch {
	case d >= day:
		return pair(int64(d/day), "d", int64(d%day/time.Hour), "h")
	case d >= time.Hour:
		return pair(int64(d/time.Hour), "h", int64(d%time.Hour/time.Minute), "m")
	case d >= time.Minute:
		return pair(int64(d/time.Minute), "m", int64(d%time.Minute/time.Second), "s")
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// pair renders a value in two units, leaving out a zero second one.
func pair(a int64, ua string, b int64, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, ua)
	}
	return fmt.Sprintf("%d%s%d%s", a, ua, b, ub)
}
