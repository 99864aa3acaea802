package loganalytics

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"
)

// resultRows reads typed values from a result table by column name. JSON
// decoding gives numbers as float64 and datetimes as ISO 8601 strings.
type resultRows struct {
	idx  map[string]int
	rows []azquery.Row
}

func shapeError(format string, args ...any) error {
	return fmt.Errorf("loganalytics: unexpected result: "+format, args...)
}

func newResultRows(t *azquery.Table, cols []string) (*resultRows, error) {
	r := &resultRows{idx: map[string]int{}, rows: t.Rows}
	for i, c := range t.Columns {
		if c != nil && c.Name != nil {
			r.idx[*c.Name] = i
		}
	}
	for _, c := range cols {
		if _, ok := r.idx[c]; !ok {
			return nil, shapeError("column %q missing", c)
		}
	}
	for i, row := range t.Rows {
		if len(row) < len(t.Columns) {
			return nil, shapeError("row %d has %d values for %d columns", i, len(row), len(t.Columns))
		}
	}
	return r, nil
}

func (r *resultRows) value(i int, col string) any { return r.rows[i][r.idx[col]] }

func (r *resultRows) str(i int, col string) (string, error) {
	switch v := r.value(i, col).(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	default:
		return "", shapeError("%s is %T, want string", col, v)
	}
}

func (r *resultRows) long(i int, col string) (int64, error) {
	switch v := r.value(i, col).(type) {
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, shapeError("%s = %v is not an integer", col, v)
		}
		return int64(v), nil
	case json.Number:
		return v.Int64()
	case nil:
		return 0, nil
	default:
		return 0, shapeError("%s is %T, want a number", col, v)
	}
}

// time parses a datetime column; null is the zero time.
func (r *resultRows) time(i int, col string) (time.Time, error) {
	switch v := r.value(i, col).(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, shapeError("%s = %q is not a datetime", col, v)
		}
		return t.UTC(), nil
	case nil:
		return time.Time{}, nil
	default:
		return time.Time{}, shapeError("%s is %T, want a datetime string", col, v)
	}
}
