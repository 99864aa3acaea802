package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tenantsCSV writes n rows; bad(i, row) may spoil row i's fields.
func tenantsCSV(t *testing.T, n int, bad func(i int, f []string)) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,display_name,entra_tenant_id,subscription_id,resource_group,workspace,region,tables,labels\n")
	for i := range n {
		f := []string{
			fmt.Sprintf("cust-%03d", i), fmt.Sprintf("Customer %d", i),
			fmt.Sprintf("%08x-0000-4000-8000-%012x", i+1, i+1), "3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b",
			"rg-sentinel", fmt.Sprintf("ws-cust-%03d", i), "westeurope", "DeviceProcessEvents;DeviceNetworkEvents", "tier=gold;pod=east",
		}
		if bad != nil {
			bad(i, f)
		}
		b.WriteString(strings.Join(f, ",") + "\n")
	}
	p := filepath.Join(t.TempDir(), "tenants.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func countTenants(t *testing.T, s *server, filter string) int {
	t.Helper()
	args := []string{"tenants", "list", "-o", "json"}
	if filter != "" {
		args = append(args, "--filter", filter)
	}
	r := s.run(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("list: %v", r)
	}
	var resp struct {
		Tenants []json.RawMessage `json:"tenants"`
	}
	if err := json.Unmarshal([]byte(r.out), &resp); err != nil {
		t.Fatalf("list -o json is not JSON: %v\n%s", err, r.out)
	}
	return len(resp.Tenants)
}

// TestImport: a 300-row file with bad rows creates nothing and names each
// problem by row and column; fixed, it creates all 300; a row the server
// refuses (already registered) is reported by its file row.
func TestImport(t *testing.T) {
	s := startServer(t, false)
	spoil := map[int]func(f []string){
		10:  func(f []string) { f[2] = "not-a-guid" },                 // row 12
		50:  func(f []string) { f[0] = "cust-049" },                   // row 52: id again
		100: func(f []string) { f[5] = "ws-cust-099" },                // row 102: workspace again
		200: func(f []string) { f[7] = "DeviceProcessEvent" },         // row 202: not in the catalog
		250: func(f []string) { f[5] = "" },                           // row 252: required
		299: func(f []string) { f[8] = "tier=Gold"; f[0] = "Cust_X" }, // row 301: two problems
	}
	bad := tenantsCSV(t, 300, func(i int, f []string) {
		if sp, ok := spoil[i]; ok {
			sp(f)
		}
	})
	r := s.run(t, nil, "tenants", "import", bad)
	if r.code != 1 {
		t.Fatalf("import of a bad file: %v", r)
	}
	for _, want := range []string{
		"7 problems, nothing created",
		"row 12, column entra_tenant_id:",
		"row 52, column id: cust-049 again: first on row 51",
		"row 102, column workspace: the same workspace as row 101",
		`row 202, column tables: "DeviceProcessEvent" is not in the table catalog`,
		"row 252, column workspace: required",
		"row 301, column id:",
		"row 301, column labels:",
	} {
		if !strings.Contains(r.errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
		}
	}
	if n := countTenants(t, s, ""); n != 0 {
		t.Fatalf("%d tenants registered after a refused import", n)
	}

	good := tenantsCSV(t, 300, nil)
	if r := s.run(t, nil, "tenants", "import", good); r.code != 0 || !strings.Contains(r.out, "300 tenants created") {
		t.Fatalf("import: %v", r)
	}
	if n := countTenants(t, s, `labels.tier = "gold"`); n != 300 {
		t.Fatalf("%d tenants after import, want 300", n)
	}

	// The server refuses what only it can know: an id already registered.
	again := filepath.Join(t.TempDir(), "again.yaml")
	if err := os.WriteFile(again, []byte(`
- {id: new-one, entra_tenant_id: 6d1e4f2a-3b5c-4d7e-9f8a-0b1c2d3e4f5a, subscription_id: 3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b, resource_group: rg, workspace: ws-new-one}
- {id: cust-007, entra_tenant_id: 6d1e4f2a-3b5c-4d7e-9f8a-0b1c2d3e4f5b, subscription_id: 3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b, resource_group: rg, workspace: ws-other}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = s.run(t, nil, "tenants", "import", again)
	if r.code != 1 || !strings.Contains(r.errOut, "item 2: tenants/cust-007 already exists") || !strings.Contains(r.out, "0 tenants created, 2 refused") {
		t.Fatalf("import of an existing id: %v", r)
	}
	// --skip-existing finishes such an import: the registered row is left
	// as it is, the new one created.
	r = s.run(t, nil, "tenants", "import", again, "--skip-existing")
	if r.code != 0 || !strings.Contains(r.out, "1 tenants created, 1 already registered and left as they are") {
		t.Fatalf("import --skip-existing: %v", r)
	}
	if r := s.run(t, nil, "tenants", "get", "cust-007", "-o", "json"); r.code != 0 || strings.Contains(r.out, "ws-other") {
		t.Fatalf("the registered tenant was changed by --skip-existing: %v", r)
	}

	// update sends only what is given; get shows it; delete removes it.
	if r := s.run(t, nil, "tenants", "update", "cust-001", "--display-name", "Renamed", "--label", "tier=silver", "--remove-label", "pod"); r.code != 0 ||
		!strings.Contains(r.out, "Renamed") || !strings.Contains(r.out, "tier=silver") || strings.Contains(r.out, "pod=east") {
		t.Fatalf("update: %v", r)
	}
	if r := s.run(t, nil, "tenants", "get", "cust-001", "-o", "yaml"); r.code != 0 || !strings.Contains(r.out, "displayName: Renamed") {
		t.Fatalf("get -o yaml: %v", r)
	}
	if r := s.run(t, nil, "tenants", "delete", "cust-001"); r.code != 0 {
		t.Fatalf("delete: %v", r)
	}
	if r := s.run(t, nil, "tenants", "get", "cust-001"); r.code != 1 || !strings.Contains(r.errOut, "NotFound") {
		t.Fatalf("get after delete: %v", r)
	}
}
