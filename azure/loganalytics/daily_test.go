package loganalytics_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
)

// Daily and Last against canned Log Analytics answers: how rows, keys,
// nulls, unresolved tables, partial errors and malformed results are read.

const cannedWorkspace = "11111111-2222-4333-8444-555555555555"

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// canned is one answer of the fake service and the request it got.
type canned struct {
	status int
	body   string
	got    struct {
		path, auth string
		body       map[string]any
	}
}

// cannedClient serves c to a real Client (TLS: azcore sends bearer tokens
// only over https).
func cannedClient(t *testing.T, c *canned) *loganalytics.Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.got.path, c.got.auth = r.URL.Path, r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		c.got.body = nil
		_ = json.Unmarshal(b, &c.got.body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		_, _ = io.WriteString(w, c.body)
	}))
	t.Cleanup(srv.Close)
	client, err := loganalytics.NewClient(cloud.Service{Endpoint: srv.URL, Audience: "https://api.loganalytics.io"}, staticToken{},
		&policy.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func table(cols, rows string) string {
	return `{"tables":[{"name":"PrimaryResult","columns":` + cols + `,"rows":` + rows + `}]}`
}

const (
	dailyCols = `[{"name":"Table","type":"string"},{"name":"Day","type":"datetime"},{"name":"Rows","type":"long"},{"name":"Last","type":"datetime"}]`
	// unresolvedBody is the service's answer for a table the workspace does
	// not have: the detail is only in the nested innererror.
	unresolvedBody = `{"error":{"code":"BadArgumentError","message":"The request had some invalid properties","correlationId":"c",` +
		`"innererror":{"code":"SemanticError","message":"A semantic error occurred.",` +
		`"innererror":{"code":"SEM0100","message":"'union' operator: Failed to resolve table expression named 'DeviceNetworkEvents'"}}}}`
	syntaxBody = `{"error":{"code":"BadArgumentError","message":"The request had some invalid properties",` +
		`"innererror":{"code":"SyntaxError","message":"A recognition error occurred in the query.",` +
		`"innererror":{"code":"SYN0002","message":"Query could not be parsed at 'x' on line [1,2]"}}}}`
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDailyReadsRows(t *testing.T) {
	w := loganalytics.NewWindow(at("2026-11-30T02:13:35.1234567Z"), 14)
	tq, _ := loganalytics.TablesDailyQuery(w, []string{"DeviceProcessEvents", "EmailEvents"})
	for _, tc := range []struct {
		name string
		q    loganalytics.Query
		body string
		want []loganalytics.DailyRows
	}{
		{"tables", tq, table(dailyCols, `[["DeviceProcessEvents","2026-11-29T00:00:00Z",12000,"2026-11-29T23:55:00Z"],`+
			`["EmailEvents","2026-11-30T00:00:00Z",3,"2026-11-30T01:00:00.1234567Z"]]`),
			[]loganalytics.DailyRows{
				{Key: "DeviceProcessEvents", Day: at("2026-11-29T00:00:00Z"), Rows: 12000, Last: at("2026-11-29T23:55:00Z")},
				{Key: "EmailEvents", Day: at("2026-11-30T00:00:00Z"), Rows: 3, Last: at("2026-11-30T01:00:00.1234567Z")},
			}},
		{"alerts", loganalytics.AlertsDailyQuery(w),
			table(`[{"name":"ProductName","type":"string"},{"name":"Day","type":"datetime"},{"name":"Rows","type":"long"},{"name":"Last","type":"datetime"}]`,
				`[["Azure Advanced Threat Protection","2026-11-20T00:00:00Z",7,"2026-11-20T10:00:00Z"]]`),
			[]loganalytics.DailyRows{{Key: "Azure Advanced Threat Protection", Day: at("2026-11-20T00:00:00Z"), Rows: 7, Last: at("2026-11-20T10:00:00Z")}}},
		{"incidents have no key", loganalytics.IncidentsDailyQuery(w),
			table(`[{"name":"Day","type":"datetime"},{"name":"Rows","type":"long"},{"name":"Last","type":"datetime"}]`, `[["2026-11-16T00:00:00Z",4,"2026-11-16T18:00:00Z"]]`),
			[]loganalytics.DailyRows{{Day: at("2026-11-16T00:00:00Z"), Rows: 4, Last: at("2026-11-16T18:00:00Z")}}},
		{"no rows", tq, table(dailyCols, `[]`), []loganalytics.DailyRows{}},
		{"unresolved table", tq, "", nil},
	} {
		c := &canned{status: http.StatusOK, body: tc.body}
		if tc.body == "" {
			c.status, c.body = http.StatusBadRequest, unresolvedBody
		}
		got, err := cannedClient(t, c).Daily(context.Background(), cannedWorkspace, tc.q)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Daily = %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
		want := map[string]any{"query": tc.q.Text, "timespan": tc.q.Timespan}
		if c.got.path != "/v1/workspaces/"+cannedWorkspace+"/query" || c.got.auth != "Bearer t" || !reflect.DeepEqual(c.got.body, want) {
			t.Errorf("%s: request %s %q %v", tc.name, c.got.path, c.got.auth, c.got.body)
		}
	}
}

func TestLastReadsNewestPerKey(t *testing.T) {
	start := at("2026-11-16T00:00:00Z")
	tq, _ := loganalytics.TablesLastQuery(start, []string{"DeviceProcessEvents", "EmailEvents"})
	lastCol := `{"name":"Last","type":"datetime"}`
	for _, tc := range []struct {
		name string
		q    loganalytics.Query
		body string
		want map[string]time.Time
	}{
		// summarize without by over nothing: one row, Last null.
		{"incidents, none", loganalytics.IncidentsLastQuery(start), table(`[`+lastCol+`]`, `[[null]]`), map[string]time.Time{}},
		{"incidents", loganalytics.IncidentsLastQuery(start), table(`[`+lastCol+`]`, `[["2026-11-02T03:04:05Z"]]`), map[string]time.Time{"": at("2026-11-02T03:04:05Z")}},
		{"alerts", loganalytics.AlertsLastQuery(start), table(`[{"name":"ProductName","type":"string"},`+lastCol+`]`, `[["Microsoft 365 Defender","2026-10-01T00:00:00Z"]]`),
			map[string]time.Time{"Microsoft 365 Defender": at("2026-10-01T00:00:00Z")}},
		{"tables, a key twice", tq, table(`[{"name":"Table","type":"string"},`+lastCol+`]`,
			`[["EmailEvents","2026-11-01T00:00:00Z"],["EmailEvents","2026-11-03T00:00:00Z"],["EmailEvents","2026-11-02T00:00:00Z"],["DeviceProcessEvents",null]]`),
			map[string]time.Time{"EmailEvents": at("2026-11-03T00:00:00Z")}},
		{"unresolved table", tq, "", map[string]time.Time{}},
	} {
		c := &canned{status: http.StatusOK, body: tc.body}
		if tc.body == "" {
			c.status, c.body = http.StatusBadRequest, unresolvedBody
		}
		got, err := cannedClient(t, c).Last(context.Background(), cannedWorkspace, tc.q)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Last = %v, %v, want %v", tc.name, got, err, tc.want)
		}
		// No timespan: the query looks back as far as the workspace keeps data.
		if !reflect.DeepEqual(c.got.body, map[string]any{"query": tc.q.Text}) {
			t.Errorf("%s: request body %v", tc.name, c.got.body)
		}
	}
}

func TestDailyAndLastErrors(t *testing.T) {
	w := loganalytics.NewWindow(at("2026-11-30T02:13:35Z"), 14)
	q, _ := loganalytics.TablesDailyQuery(w, []string{"DeviceProcessEvents"})
	for _, tc := range []struct {
		name   string
		status int
		body   string
		check  func(error) bool
	}{
		{"partial error", http.StatusOK, `{"tables":[{"name":"PrimaryResult","columns":` + dailyCols + `,"rows":[]}],` +
			`"error":{"code":"PartialError","message":"There were some errors when processing your request.","details":[{"code":"EngineError","message":"limits"}]}}`,
			func(err error) bool {
				var pe *loganalytics.PartialError
				return errors.As(err, &pe) && pe.Code == "PartialError"
			}},
		{"other bad request", http.StatusBadRequest, syntaxBody, func(err error) bool { return err != nil && !loganalytics.IsUnresolvedTable(err) }},
		{"forbidden", http.StatusForbidden, `{"error":{"code":"InsufficientAccessError","message":"no"}}`, func(err error) bool { return err != nil }},
		{"missing column", http.StatusOK, table(`[{"name":"Table","type":"string"},{"name":"Day","type":"datetime"},{"name":"Rows","type":"long"}]`, `[]`), isShapeError},
		{"two keys", http.StatusOK, table(`[{"name":"Table","type":"string"},{"name":"ProductName","type":"string"},{"name":"Day","type":"datetime"},{"name":"Rows","type":"long"},{"name":"Last","type":"datetime"}]`, `[]`), isShapeError},
		{"rows not a number", http.StatusOK, table(dailyCols, `[["T","2026-11-29T00:00:00Z","many","2026-11-29T01:00:00Z"]]`), isShapeError},
		{"day not a datetime", http.StatusOK, table(dailyCols, `[["T","yesterday",1,"2026-11-29T01:00:00Z"]]`), isShapeError},
		{"short row", http.StatusOK, table(dailyCols, `[["T","2026-11-29T00:00:00Z"]]`), isShapeError},
		{"no table", http.StatusOK, `{"tables":[]}`, isShapeError},
	} {
		c := cannedClient(t, &canned{status: tc.status, body: tc.body})
		if rows, err := c.Daily(context.Background(), cannedWorkspace, q); rows != nil || !tc.check(err) {
			t.Errorf("%s: Daily = %v, %v", tc.name, rows, err)
		}
	}
	// Last needs its Last column too.
	c := cannedClient(t, &canned{status: http.StatusOK, body: table(`[{"name":"Table","type":"string"}]`, `[["T"]]`)})
	if got, err := c.Last(context.Background(), cannedWorkspace, loganalytics.IncidentsLastQuery(w.Start)); got != nil || !isShapeError(err) {
		t.Errorf("Last without its column = %v, %v", got, err)
	}
}

// isShapeError recognises the package's own "unexpected result" errors.
func isShapeError(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "loganalytics: unexpected result: ")
}
