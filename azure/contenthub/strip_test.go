package contenthub

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStripPostDeployment(t *testing.T) {
	in := `{
 "metadata": {"postDeployment": ["top <b>&</b>"], "author": "x"},
 "contentVersion": "3.0.11",
 "resources": [
  {"type": "Microsoft.OperationalInsights/workspaces/providers/contentTemplates", "properties": {
    "mainTemplate": {"resources": [{"metadata": {"postDeployment": "nested"}, "properties": {"retention": 12345678901234567890}}]},
    "metadata": {"source": {"kind": "Solution"}}
  }},
  {"name": "[concat(parameters('workspace'),'/x')]", "metadata": {"postDeployment": {"a": 1}}}
 ]
}`
	out, err := StripPostDeployment(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "postDeployment") {
		t.Fatalf("postDeployment left: %s", s)
	}
	for _, keep := range []string{`"author":"x"`, `12345678901234567890`, `[concat(parameters('workspace'),'/x')]`, `"kind":"Solution"`, `"contentVersion":"3.0.11"`} {
		if !strings.Contains(s, keep) {
			t.Errorf("lost %s in %s", keep, s)
		}
	}
	for _, bad := range []string{`[]`, `"x"`, `{`} {
		if _, err := StripPostDeployment(json.RawMessage(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestDeploymentName(t *testing.T) {
	if got := DeploymentName(DefenderXDRContentID, "3.0.11"); got != "xdrlink-microsoft365defender-3.0.11" {
		t.Fatal(got)
	}
	long := DeploymentName(strings.Repeat("a", 100)+"/weird id", "1.2.3")
	if len(long) > 64 || !strings.HasSuffix(long, "-1.2.3") || strings.ContainsAny(long, "/ ") {
		t.Fatal(long)
	}
	// A version longer than ARM's limit comes from the catalog (service data): no panic.
	huge := DeploymentName(DefenderXDRContentID, strings.Repeat("9", 70))
	if len(huge) != 64 || strings.Trim(huge, "-9") != "" {
		t.Fatal(huge)
	}
}
