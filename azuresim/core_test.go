package azuresim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func TestClientSecretTokenRoutesAuthenticatedARMRequest(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	r := do(t, c, http.MethodGet, wsPath(contosoSub, contosoRG, contosoWS), "2022-10-01", nil)
	wantStatus(t, r, http.StatusOK)
	props := r.body["properties"].(map[string]any)
	if props["customerId"] != "20000000-0000-4000-8000-0000000000d1" {
		t.Fatalf("customerId = %v", props["customerId"])
	}
	if r.header.Get("x-ms-request-id") == "" || r.header.Get("x-ms-ratelimit-remaining-subscription-reads") == "" {
		t.Fatalf("missing ARM headers: %v", r.header)
	}
}

// clone copies JSON-shaped properties directly; its result must be what the
// JSON round trip it replaces gave, and share nothing with the original.
func TestResourceCloneMatchesJSONRoundTrip(t *testing.T) {
	roundTrip := func(r *armResource) *armResource {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var c armResource
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if c.Properties == nil {
			c.Properties = map[string]any{}
		}
		return &c
	}
	cases := map[string]*armResource{
		"json types": {ID: "/x", Name: "n", Type: "T", Kind: "K", Etag: `"e"`, Properties: map[string]any{
			"s": "v", "b": true, "f": 1.5, "null": nil, "emptyList": []any{}, "nilList": []any(nil), "nilMap": map[string]any(nil),
			"nested": map[string]any{"list": []any{"a", 2.0, map[string]any{"deep": false}}},
		}},
		"nil properties": {Name: "n"},
		"go types":       {Name: "n", Properties: map[string]any{"n": 3, "l": []string{"a"}, "m": map[string]string{"k": "v"}}},
	}
	for name, r := range cases {
		got, want := r.clone(), roundTrip(r)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: clone = %#v, round trip = %#v", name, got, want)
		}
	}
	orig := cases["json types"]
	c := orig.clone()
	c.Properties["nested"].(map[string]any)["list"].([]any)[2].(map[string]any)["deep"] = true
	c.Properties["s"] = "changed"
	if orig.Properties["nested"].(map[string]any)["list"].([]any)[2].(map[string]any)["deep"] != false || orig.Properties["s"] != "v" {
		t.Fatal("clone shares properties with the original")
	}
	if (*armResource)(nil).clone() != nil {
		t.Fatal("clone of nil is not nil")
	}
}
