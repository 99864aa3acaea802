package tenantfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Columns are the file's columns (CSV header names, YAML keys).
const (
	ColID                = "id"
	ColDisplayName       = "display_name"
	ColEntraTenantID     = "entra_tenant_id"
	ColSubscriptionID    = "subscription_id"
	ColResourceGroup     = "resource_group"
	ColWorkspace         = "workspace"
	ColRegion            = "region"
	ColTables            = "tables"
	ColLabels            = "labels"
	ColAccessGroup       = "access_group"
	ColCredentialProfile = "credential_profile"
	ColIncidents         = "incidents"
	ColAlerts            = "alerts"
	ColDisableRules      = "disable_incident_creation_rules"
	ColEntitySync        = "entity_sync"
)

var (
	known    = []string{ColID, ColDisplayName, ColEntraTenantID, ColSubscriptionID, ColResourceGroup, ColWorkspace, ColRegion, ColTables, ColLabels, ColAccessGroup, ColCredentialProfile, ColIncidents, ColAlerts, ColDisableRules, ColEntitySync}
	required = []string{ColID, ColEntraTenantID, ColSubscriptionID, ColResourceGroup, ColWorkspace}
)

// Row is one tenant of the file: where it is and its raw values.
type Row struct {
	// Line is the CSV line, or the YAML list item (from 1).
	Line   int
	Values map[string]string
	// Tables and Labels are parsed from their columns.
	Tables []string
	Labels map[string]string
	// Width, when set, says the CSV row has another number of fields
	// than the header.
	Width string
}

// Problem is one thing wrong with the file.
type Problem struct {
	Line   int // 0: the file as a whole
	Column string
	Msg    string
	// Item says "row" (CSV) or "item" (YAML).
	Item string
}

func (p Problem) String() string {
	switch {
	case p.Line == 0:
		return p.Msg
	case p.Column == "":
		return fmt.Sprintf("%s %d: %s", p.Item, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s %d, column %s: %s", p.Item, p.Line, p.Column, p.Msg)
}

// Problems is every problem found; it is an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// File is a parsed tenant file.
type File struct {
	Rows []Row
	// Item is "row" for CSV and "item" for YAML, for messages.
	Item string
}

// Parse reads a CSV file (header row first) or, when yamlList, a YAML list
// of objects with the same keys (tables a list, labels a map).
func Parse(r io.Reader, yamlList bool) (*File, error) {
	if yamlList {
		return parseYAML(r)
	}
	return parseCSV(r)
}

func parseCSV(r io.Reader) (*File, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1 // a short row is reported with its line, not as a parse failure
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read the header row: %w", err)
	}
	var ps Problems
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		header[i] = h
		if !slices.Contains(known, h) {
			ps = append(ps, Problem{Line: 1, Item: "row", Column: h, Msg: "unknown column; the columns are " + strings.Join(known, ", ")})
		}
	}
	for _, c := range required {
		if !slices.Contains(header, c) {
			ps = append(ps, Problem{Line: 1, Item: "row", Column: c, Msg: "required column missing from the header"})
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	f := &File{Item: "row"}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // a csv.ParseError names its line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := Row{Line: line, Values: map[string]string{}}
		if len(rec) != len(header) {
			row.Width = fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))
		}
		for i, v := range rec {
			if i < len(header) {
				row.Values[header[i]] = strings.TrimSpace(v)
			}
		}
		f.Rows = append(f.Rows, row)
	}
	return f, nil
}

func parseYAML(r io.Reader) (*File, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var items []map[string]any
	if err := yaml.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("not a YAML list of tenants: %w", err)
	}
	f := &File{Item: "item"}
	for i, it := range items {
		row := Row{Line: i + 1, Values: map[string]string{}}
		for k, v := range it {
			switch k {
			case ColTables:
				list, ok := v.([]any)
				if !ok {
					row.Values[k] = fmt.Sprint(v)
					continue
				}
				row.Values[k] = fmt.Sprint(list...)
				for _, t := range list {
					row.Tables = append(row.Tables, fmt.Sprint(t))
				}
			case ColLabels:
				m, ok := v.(map[string]any)
				if !ok {
					row.Values[k] = fmt.Sprint(v)
					continue
				}
				row.Labels = map[string]string{}
				for lk, lv := range m {
					row.Labels[lk] = fmt.Sprint(lv)
				}
				row.Values[k] = "set"
			default:
				if v != nil {
					row.Values[k] = strings.TrimSpace(fmt.Sprint(v))
				}
			}
		}
		f.Rows = append(f.Rows, row)
	}
	return f, nil
}

// IsYAML says whether a file name is YAML by its extension.
func IsYAML(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")
}

// The API's rules (tenant.proto), checked here so a whole file is judged
// before anything is created.
var (
	idRE      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	uuidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	rgRE      = regexp.MustCompile(`^[-\w.()]{0,89}[-\w()]$`)
	wsRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$`)
	regionRE  = regexp.MustCompile(`^[a-z][a-z0-9]{1,39}$`)
	profileRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)
	lkeyRE    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	lvalRE    = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
)

// Catalog says whether a table may be streamed: known to ListTables and
// ingested into Sentinel.
type Catalog map[string]bool

// NewCatalog builds a Catalog from ListTables.
func NewCatalog(tables []*xdrlinkv1.Table) Catalog {
	c := Catalog{}
	for _, t := range tables {
		c[t.GetName()] = t.GetEnablement() != xdrlinkv1.Enablement_ENABLEMENT_NOT_INGESTED
	}
	return c
}

// Check finds every problem in every row, parsing tables and labels on the
// way; it returns nil when the file can be sent as it is.
func (f *File) Check(catalog Catalog) Problems {
	var ps Problems
	add := func(r Row, col, format string, a ...any) {
		ps = append(ps, Problem{Line: r.Line, Item: f.Item, Column: col, Msg: fmt.Sprintf(format, a...)})
	}
	if len(f.Rows) == 0 {
		return Problems{{Msg: "the file lists no tenants"}}
	}
	ids, workspaces := map[string]int{}, map[string]int{}
	for i := range f.Rows {
		r := &f.Rows[i]
		v := r.Values
		if r.Width != "" {
			add(*r, "", "%s", r.Width)
		}
		for _, c := range required {
			if v[c] == "" {
				add(*r, c, "required")
			}
		}
		if id := v[ColID]; id != "" {
			if !idRE.MatchString(id) {
				add(*r, ColID, "%q is not a tenant id: 1-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit", id)
			} else if first, dup := ids[id]; dup {
				add(*r, ColID, "%s again: first on %s %d", id, f.Item, first)
			} else {
				ids[id] = r.Line
			}
		}
		for _, c := range []string{ColEntraTenantID, ColSubscriptionID} {
			if s := v[c]; s != "" && !uuidRE.MatchString(s) {
				add(*r, c, "%q is not a GUID", s)
			}
		}
		if s := v[ColResourceGroup]; s != "" && !rgRE.MatchString(s) {
			add(*r, ColResourceGroup, "%q is not a resource group name: 1-90 letters, digits, _ - . ( ), not ending in a period", s)
		}
		if s := v[ColWorkspace]; s != "" && !wsRE.MatchString(s) {
			add(*r, ColWorkspace, "%q is not a workspace name: 4-63 letters, digits and hyphens, starting and ending with a letter or digit", s)
		}
		if v[ColSubscriptionID] != "" && v[ColResourceGroup] != "" && v[ColWorkspace] != "" {
			key := strings.ToLower(v[ColSubscriptionID] + "/" + v[ColResourceGroup] + "/" + v[ColWorkspace])
			if first, dup := workspaces[key]; dup {
				add(*r, ColWorkspace, "the same workspace as %s %d: one tenant per workspace", f.Item, first)
			} else {
				workspaces[key] = r.Line
			}
		}
		if s := v[ColRegion]; s != "" && !regionRE.MatchString(s) {
			add(*r, ColRegion, "%q is not an Azure region name such as westeurope", s)
		}
		if s := v[ColDisplayName]; len(s) > 200 {
			add(*r, ColDisplayName, "longer than 200 characters")
		}
		if s := v[ColAccessGroup]; s != "" && !idRE.MatchString(s) {
			add(*r, ColAccessGroup, "%q is not an access group: lower-case letters, digits and hyphens", s)
		}
		if s := v[ColCredentialProfile]; s != "" && !profileRE.MatchString(s) {
			add(*r, ColCredentialProfile, "%q is not a credential profile name", s)
		}
		for _, c := range []string{ColIncidents, ColAlerts, ColDisableRules, ColEntitySync} {
			if s := v[c]; s != "" {
				if _, err := strconv.ParseBool(s); err != nil {
					add(*r, c, "%q is not true or false", s)
				}
			}
		}
		if r.Tables == nil && v[ColTables] != "" {
			r.Tables = strings.FieldsFunc(v[ColTables], func(c rune) bool { return c == ';' || c == ' ' || c == '|' })
		}
		seen := map[string]bool{}
		for _, t := range r.Tables {
			streamable, ok := catalog[t]
			switch {
			case seen[t]:
				add(*r, ColTables, "%s twice", t)
			case !ok:
				add(*r, ColTables, "%q is not in the table catalog (xdrlink tables list; names are case-sensitive)", t)
			case !streamable:
				add(*r, ColTables, "%s is never streamed to Microsoft Sentinel", t)
			}
			seen[t] = true
		}
		if len(r.Tables) > 64 {
			add(*r, ColTables, "%d tables; at most 64", len(r.Tables))
		}
		if r.Labels == nil && v[ColLabels] != "" {
			r.Labels = map[string]string{}
			for _, kv := range strings.FieldsFunc(v[ColLabels], func(c rune) bool { return c == ';' || c == ' ' }) {
				k, val, ok := strings.Cut(kv, "=")
				if !ok {
					add(*r, ColLabels, "%q is not key=value", kv)
					continue
				}
				r.Labels[k] = val
			}
		}
		for k, val := range r.Labels {
			if !lkeyRE.MatchString(k) {
				add(*r, ColLabels, "label key %q: lower-case letters, digits, _ and -, starting with a letter", k)
			}
			if !lvalRE.MatchString(val) {
				add(*r, ColLabels, "label %s=%q: the value may hold lower-case letters, digits, _ and - only", k, val)
			}
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return ps
}

// Requests turns checked rows into CreateTenantRequests, in file order.
func (f *File) Requests() []*xdrlinkv1.CreateTenantRequest {
	out := make([]*xdrlinkv1.CreateTenantRequest, len(f.Rows))
	for i, r := range f.Rows {
		v := r.Values
		t := &xdrlinkv1.Tenant{
			DisplayName:   v[ColDisplayName],
			EntraTenantId: v[ColEntraTenantID],
			Workspace: &xdrlinkv1.Workspace{
				SubscriptionId: v[ColSubscriptionID],
				ResourceGroup:  v[ColResourceGroup],
				Name:           v[ColWorkspace],
				Region:         v[ColRegion],
			},
			CredentialProfile: v[ColCredentialProfile],
			Labels:            r.Labels,
			AccessGroup:       v[ColAccessGroup],
		}
		// The server's defaults apply only when the connector is omitted
		// as a whole, so it is sent only when a row says something about it;
		// then the same defaults are filled in here.
		if len(r.Tables) > 0 || v[ColIncidents] != "" || v[ColAlerts] != "" || v[ColDisableRules] != "" || v[ColEntitySync] != "" {
			t.Connector = &xdrlinkv1.ConnectorSettings{
				Incidents:                    boolOr(v[ColIncidents], true),
				Alerts:                       boolOr(v[ColAlerts], true),
				DisableIncidentCreationRules: boolOr(v[ColDisableRules], true),
				EntitySync:                   boolOr(v[ColEntitySync], false),
				Tables:                       r.Tables,
			}
		}
		out[i] = &xdrlinkv1.CreateTenantRequest{TenantId: v[ColID], Tenant: t}
	}
	return out
}

func boolOr(s string, def bool) bool {
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	return def
}

// ColumnOf names the file column of a field path inside one
// CreateTenantRequest (e.g. "tenant.workspace.name" is the workspace column).
func ColumnOf(field string) string {
	field = strings.TrimPrefix(field, ".")
	for _, m := range []struct{ prefix, col string }{
		{"tenant_id", ColID},
		{"tenant.display_name", ColDisplayName},
		{"tenant.entra_tenant_id", ColEntraTenantID},
		{"tenant.workspace.subscription_id", ColSubscriptionID},
		{"tenant.workspace.resource_group", ColResourceGroup},
		{"tenant.workspace.name", ColWorkspace},
		{"tenant.workspace.region", ColRegion},
		{"tenant.workspace", ColWorkspace},
		{"tenant.connector.tables", ColTables},
		{"tenant.connector.incidents", ColIncidents},
		{"tenant.connector.alerts", ColAlerts},
		{"tenant.connector.disable_incident_creation_rules", ColDisableRules},
		{"tenant.connector.entity_sync", ColEntitySync},
		{"tenant.labels", ColLabels},
		{"tenant.access_group", ColAccessGroup},
		{"tenant.credential_profile", ColCredentialProfile},
	} {
		if strings.HasPrefix(field, m.prefix) {
			return m.col
		}
	}
	return ""
}

var itemRE = regexp.MustCompile(`^requests\[(\d+)\]\.?(.*)$`)

// SplitItemPath splits "requests[3].tenant.workspace.name" into 3 and
// "tenant.workspace.name"; ok is false for other paths.
func SplitItemPath(path string) (index int, rest string, ok bool) {
	m := itemRE.FindStringSubmatch(path)
	if m == nil {
		return 0, "", false
	}
	i, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", false
	}
	return i, m[2], true
}

// Chunks splits n items into consecutive [from, to) ranges of at most size.
func Chunks(n, size int) [][2]int {
	var out [][2]int
	for from := 0; from < n; from += size {
		out = append(out, [2]int{from, min(from+size, n)})
	}
	return out
}
