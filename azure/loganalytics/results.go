package loganalytics

import (
	"context"
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"
)

// IsUnresolvedTable recognises the semantic error for a table the workspace
// does not have (yet: the service creates a table with its first data). The detail is nested in the body's innererror, so it is
// read from the raw response.
func IsUnresolvedTable(err error) bool {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) || re.RawResponse == nil || re.ErrorCode != "BadArgumentError" {
		return false
	}
	body, perr := runtime.Payload(re.RawResponse)
	return perr == nil && strings.Contains(string(body), "Failed to resolve table")
}

// primary runs q and returns its first table, checking that it has the
// columns the caller reads.
func (c *Client) primary(ctx context.Context, workspaceID, q string, span azquery.TimeInterval, cols ...string) (*resultRows, error) {
	tables, err := c.Query(ctx, workspaceID, q, span)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, shapeError("no result table")
	}
	return newResultRows(tables[0], cols)
}
