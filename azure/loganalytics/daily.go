package loganalytics

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"
)

// DailyRows is one group of a daily query: Key is the table
// (TablesDailyQuery), the ProductName (AlertsDailyQuery) or ""
// (IncidentsDailyQuery).
type DailyRows struct {
	Key  string
	Day  time.Time // UTC midnight
	Rows int64
	Last time.Time // newest row of the group
}

// Daily runs a daily query. A table the workspace does not have yet
// (IsUnresolvedTable) is no rows, not an error.
func (c *Client) Daily(ctx context.Context, workspaceID string, q Query) ([]DailyRows, error) {
	rows, key, err := c.keyed(ctx, workspaceID, q, "Day", "Rows", "Last")
	if err != nil || rows == nil {
		return nil, err
	}
	out := make([]DailyRows, len(rows.rows))
	for i := range rows.rows {
		if out[i].Key, err = rows.key(i, key); err != nil {
			return nil, err
		}
		if out[i].Day, err = rows.time(i, "Day"); err != nil {
			return nil, err
		}
		if out[i].Rows, err = rows.long(i, "Rows"); err != nil {
			return nil, err
		}
		if out[i].Last, err = rows.time(i, "Last"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Last runs a last-received query: the newest row per key ("" for
// incidents); keys without rows are absent. A table the workspace does not
// have yet is no rows.
func (c *Client) Last(ctx context.Context, workspaceID string, q Query) (map[string]time.Time, error) {
	rows, key, err := c.keyed(ctx, workspaceID, q, "Last")
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	if rows == nil {
		return out, nil
	}
	for i := range rows.rows {
		k, err := rows.key(i, key)
		if err != nil {
			return nil, err
		}
		last, err := rows.time(i, "Last")
		if err != nil {
			return nil, err
		}
		// summarize without by answers one row with a null Last when
		// nothing matched.
		if !last.IsZero() && last.After(out[k]) {
			out[k] = last
		}
	}
	return out, nil
}

// keyColumns are the group keys the verification queries use besides Day.
var keyColumns = []string{"Table", "ProductName"}

// keyed runs q and returns its rows (nil for an unresolved table) and the
// name of its key column ("" when it has none).
func (c *Client) keyed(ctx context.Context, workspaceID string, q Query, cols ...string) (*resultRows, string, error) {
	rows, err := c.primary(ctx, workspaceID, q.Text, azquery.TimeInterval(q.Timespan), cols...)
	if IsUnresolvedTable(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	key := ""
	for _, k := range keyColumns {
		if _, ok := rows.idx[k]; ok {
			if key != "" {
				return nil, "", shapeError("both %s and %s columns", key, k)
			}
			key = k
		}
	}
	return rows, key, nil
}

// key is row i's key, "" for keyless queries.
func (r *resultRows) key(i int, col string) (string, error) {
	if col == "" {
		return "", nil
	}
	return r.str(i, col)
}
