package gateway

import (
	"net/url"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestStrictQueryParser: what a query may set is derived from the request
// message (proto and JSON names, nested with dots); anything else is
// refused, naming the parameter; a field mask is taken in lowerCamelCase.
func TestStrictQueryParser(t *testing.T) {
	p := &strictQueryParser{}
	noFilter := utilities.NewDoubleArray(nil)
	for _, q := range []string{
		"tenant.display_name=A", "tenant.displayName=A", "tenant.workspace.resource_group=rg",
		"tenant.workspace.resourceGroup=rg", "updateMask=displayName,workspace.resourceGroup", "tenant.labels[tier]=gold",
	} {
		vals, _ := url.ParseQuery(q)
		req := &xdrlinkv1.UpdateTenantRequest{}
		if err := p.Parse(req, vals, noFilter); err != nil {
			t.Errorf("%s: %v", q, err)
		}
		if strings.HasPrefix(q, "updateMask") {
			if got := strings.Join(req.GetUpdateMask().GetPaths(), ","); got != "display_name,workspace.resource_group" {
				t.Errorf("%s: mask %q", q, got)
			}
		}
	}
	for q, param := range map[string]string{
		"tenant.nope=1":            "tenant.nope",
		"tenant.workspace.nope=1":  "tenant.workspace.nope",
		"tenant.display_name.x=1":  "tenant.display_name.x",
		"nope=1":                   "nope",
		"tenant.labels.x.y=1":      "tenant.labels.x.y",
		"tenant.state=NOT_A_STATE": "tenant.state",
	} {
		vals, _ := url.ParseQuery(q)
		err := p.Parse(&xdrlinkv1.UpdateTenantRequest{}, vals, noFilter)
		if err == nil || !strings.HasPrefix(err.Error(), `parsing field "`+param+`": `) {
			t.Errorf("%s: %v, want an error naming %s", q, err, param)
		}
	}
}
