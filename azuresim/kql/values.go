package kql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// compareValues orders two non-null values of compatible types. ok is false
// when they cannot be compared (type mismatch, dynamic, NaN).
func compareValues(a, b any) (c int, ok bool) {
	switch x := a.(type) {
	case string:
		if y, isStr := b.(string); isStr {
			return strings.Compare(x, y), true
		}
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y), true
		case float64:
			return cmpFloat(float64(x), y)
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmpFloat(x, float64(y))
		case float64:
			return cmpFloat(x, y)
		}
	case time.Time:
		if y, isTime := b.(time.Time); isTime {
			return x.Compare(y), true
		}
	case time.Duration:
		if y, isSpan := b.(time.Duration); isSpan {
			return cmpOrdered(x, y), true
		}
	case bool:
		if y, isBool := b.(bool); isBool {
			return cmpOrdered(b2i(x), b2i(y)), true
		}
	}
	return 0, false
}

func cmpOrdered[T int64 | time.Duration | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) (int, bool) {
	if math.IsNaN(a) || math.IsNaN(b) {
		return 0, false
	}
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendKey appends a type-tagged encoding of v, used as a group key.
func appendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 'n', 0)
	case string:
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(append(b, x...), 0)
	case int64:
		return append(strconv.AppendInt(append(b, 'i'), x, 10), 0)
	case float64:
		return append(strconv.AppendUint(append(b, 'f'), math.Float64bits(x), 16), 0)
	case time.Time:
		return append(strconv.AppendInt(append(b, 't'), x.UnixNano(), 10), 0)
	case time.Duration:
		return append(strconv.AppendInt(append(b, 'd'), int64(x), 10), 0)
	case bool:
		return append(b, 'b', byte('0'+b2i(x)), 0)
	}
	s := fmt.Sprintf("%T:%v", v, v)
	b = strconv.AppendInt(append(b, 'x'), int64(len(s)), 10)
	return append(append(append(b, ':'), s...), 0)
}

// FormatValue renders a result value the way the Log Analytics API puts it
// in JSON: datetimes as ISO 8601 UTC strings, timespans as [d.]hh:mm:ss[.f],
// non-finite reals as strings. Other values pass through.
func FormatValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return formatSpan(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	}
	return v
}

// formatSpan renders Kusto's timespan text form, e.g. "1.02:03:04.5000000".
func formatSpan(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		if d == math.MinInt64 {
			d++ // one tick off is invisible at 100ns precision
		}
		d = -d
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		fmt.Fprintf(&b, "%d.", days)
	}
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
	if frac := d % time.Second; frac != 0 {
		fmt.Fprintf(&b, ".%07d", frac/100)
	}
	return b.String()
}
