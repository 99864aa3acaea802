package azuresim

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// parseTimespan reads the query body's ISO 8601 timespan relative to now:
// a duration ("P1D", "PT2H", "P1DT30M", "P2W"), "start/end",
// "start/duration" or "duration/end". Years and months are refused
// (their length is ambiguous). "" means no timespan.
func parseTimespan(s string, now time.Time) (kql.Window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return kql.Window{}, nil
	}
	a, b, isInterval := strings.Cut(s, "/")
	if !isInterval {
		d, err := parseISODuration(a)
		if err != nil {
			return kql.Window{}, err
		}
		return kql.Window{From: now.Add(-d), To: now}, nil
	}
	var w kql.Window
	switch {
	case strings.HasPrefix(a, "P") && strings.HasPrefix(b, "P"):
		return w, errors.New("an interval needs at least one instant")
	case strings.HasPrefix(a, "P"):
		d, err := parseISODuration(a)
		if err != nil {
			return w, err
		}
		end, err := time.Parse(time.RFC3339Nano, b)
		if err != nil {
			return w, errors.New("invalid end time")
		}
		w = kql.Window{From: end.Add(-d).UTC(), To: end.UTC()}
	default:
		start, err := time.Parse(time.RFC3339Nano, a)
		if err != nil {
			return w, errors.New("invalid start time")
		}
		w.From = start.UTC()
		if strings.HasPrefix(b, "P") {
			d, err := parseISODuration(b)
			if err != nil {
				return w, err
			}
			w.To = start.Add(d).UTC()
		} else if w.To, err = time.Parse(time.RFC3339Nano, b); err != nil {
			return w, errors.New("invalid end time")
		}
		w.To = w.To.UTC()
	}
	if w.To.Before(w.From) {
		return w, errors.New("the interval ends before it starts")
	}
	return w, nil
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

func parseISODuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, errors.New("invalid ISO 8601 duration " + strconv.Quote(s))
	}
	units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil || f*float64(u) > float64(100*365*24*time.Hour) {
			return 0, errors.New("duration out of range " + strconv.Quote(s))
		}
		d += time.Duration(f * float64(u))
	}
	return d, nil
}
