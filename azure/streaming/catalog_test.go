package streaming

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

func TestSelectSplitsTablesBySupport(t *testing.T) {
	got := Select([]string{
		"DeviceProcessEvents", "IdentityLogonEvents", "CloudAppEvents", "AlertEvidence",
		"EmailEvents", "UrlClickEvents", "DeviceTvmSoftwareInventory", "BehaviorInfo",
		"NoSuchTable", "deviceinfo", "DeviceProcessEvents",
	})
	want := Selection{
		Categories:    []string{"AdvancedHunting-DeviceProcessEvents", "IdentityLogonEvents", "CloudAppEvents", "AdvancedHunting-AlertEvidence"},
		PortalOnly:    []string{"EmailEvents", "UrlClickEvents"},
		NotStreamable: []string{"DeviceTvmSoftwareInventory", "BehaviorInfo"},
		Unknown:       []string{"NoSuchTable", "deviceinfo"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Select = %+v\nwant %+v", got, want)
	}
}

func TestCatalogCategories(t *testing.T) {
	counts := map[Support]int{}
	for _, tb := range Catalog() {
		counts[tb.Support]++
		switch {
		case tb.Support != SupportAPI && tb.Category != "":
			t.Errorf("%s: %s table has category %q", tb.Name, tb.Support, tb.Category)
		case tb.Product == ProductIdentity || tb.Product == ProductCloudApps:
			if tb.Category != tb.Name {
				t.Errorf("%s: MDI/MDA category %q, want the short name", tb.Name, tb.Category)
			}
		case tb.Support == SupportAPI && tb.Category != "AdvancedHunting-"+tb.Name:
			t.Errorf("%s: category %q, want AdvancedHunting-%s", tb.Name, tb.Category, tb.Name)
		}
	}
	// docs/azure.md §3.2: 10 MDE + 3 MDI + 1 MDA + 2 XDR writable, 5 MDO portal-only.
	if counts[SupportAPI] != 16 || counts[SupportPortalOnly] != 5 {
		t.Errorf("support counts = %v", counts)
	}
}

func TestTableOfReadsBothForms(t *testing.T) {
	for cat, want := range map[string]string{
		"AdvancedHunting-DeviceInfo":          "DeviceInfo",
		"IdentityLogonEvents":                 "IdentityLogonEvents",
		"AdvancedHunting-IdentityLogonEvents": "IdentityLogonEvents",
		"AdvancedHunting-EmailEvents":         "EmailEvents",
		"Alert":                               "",
	} {
		if got, _ := TableOf(cat); got != want {
			t.Errorf("TableOf(%q) = %q, want %q", cat, got, want)
		}
	}
}

// The wire shape is docs/azure.md §3.1 exactly, nulls included.
func TestSettingWireShape(t *testing.T) {
	s := NewSentinelSetting(armclient.Workspace{SubscriptionID: "s1", ResourceGroup: "rg", Name: "ws"},
		[]string{"AdvancedHunting-DeviceInfo", "IdentityLogonEvents"})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"SentinelExportSettings-ws","designatedTenantId":null,"eventHubProperties":null,"storageAccountProperties":null,` +
		`"workspaceProperties":{"workspaceResourceId":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws","subscriptionId":"s1","resourceGroup":"rg","name":"ws"},` +
		`"logs":[{"category":"AdvancedHunting-DeviceInfo","enabled":true},{"category":"IdentityLogonEvents","enabled":true}]}`
	if string(b) != want {
		t.Fatalf("json =\n%s\nwant\n%s", b, want)
	}
	if got := s.EnabledTables(); !reflect.DeepEqual(got, []string{"DeviceInfo", "IdentityLogonEvents"}) {
		t.Fatalf("EnabledTables = %v", got)
	}
}
