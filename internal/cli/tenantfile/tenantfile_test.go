package tenantfile

import (
	"strings"
	"testing"
)

func TestCheckReportsEveryProblemWithRowAndColumn(t *testing.T) {
	const in = `id,entra_tenant_id,subscription_id,resource_group,workspace,tables,labels
good,0f9c2e8a-1b2c-4d3e-8f4a-5b6c7d8e9f00,3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b,rg,ws-good,DeviceProcessEvents,tier=gold
Bad_Id,not-a-guid,3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b,rg,ws-two,NoSuchTable,tier=Gold
good,0f9c2e8a-1b2c-4d3e-8f4a-5b6c7d8e9f00,3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b,rg,ws-good,,
`
	f, err := Parse(strings.NewReader(in), false)
	if err != nil {
		t.Fatal(err)
	}
	ps := f.Check(Catalog{"DeviceProcessEvents": true})
	got := ps.Error()
	for _, want := range []string{
		"row 3, column id:", "row 3, column entra_tenant_id:", "row 3, column tables:", "row 3, column labels:",
		"row 4, column id: good again: first on row 2", "row 4, column workspace: the same workspace as row 2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "row 2,") {
		t.Errorf("row 2 is fine, but:\n%s", got)
	}
}

func TestParseRefusesUnknownAndMissingColumns(t *testing.T) {
	_, err := Parse(strings.NewReader("id,colour\nx,red\n"), false)
	if err == nil || !strings.Contains(err.Error(), "column colour: unknown column") || !strings.Contains(err.Error(), "column workspace: required column missing") {
		t.Fatalf("err = %v", err)
	}
}

func TestYAMLAndRequests(t *testing.T) {
	const in = `
- id: a
  entra_tenant_id: 0f9c2e8a-1b2c-4d3e-8f4a-5b6c7d8e9f00
  subscription_id: 3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b
  resource_group: rg
  workspace: ws-a
  tables: [DeviceProcessEvents]
  labels: {tier: gold}
`
	f, err := Parse(strings.NewReader(in), true)
	if err != nil {
		t.Fatal(err)
	}
	if ps := f.Check(Catalog{"DeviceProcessEvents": true}); ps != nil {
		t.Fatal(ps)
	}
	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].GetTenantId() != "a" || reqs[0].GetTenant().GetLabels()["tier"] != "gold" ||
		!reqs[0].GetTenant().GetConnector().GetIncidents() || reqs[0].GetTenant().GetConnector().GetTables()[0] != "DeviceProcessEvents" {
		t.Fatalf("requests = %v", reqs)
	}
}

func TestItemPaths(t *testing.T) {
	i, rest, ok := SplitItemPath("requests[12].tenant.workspace.name")
	if !ok || i != 12 || ColumnOf(rest) != ColWorkspace {
		t.Fatalf("%d %q %v", i, rest, ok)
	}
	if got := Chunks(2500, 1000); len(got) != 3 || got[2] != [2]int{2000, 2500} {
		t.Fatalf("chunks %v", got)
	}
}
