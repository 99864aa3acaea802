package azuresim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func TestLoadWorldRejectsBadInput(t *testing.T) {
	cases := map[string]string{
		"unknown field":     `{"tenants":[{"id":"20000000-0000-4000-8000-000000000000","bogus":1}]}`,
		"tenant id":         `{"tenants":[{"id":"contoso"}]}`,
		"foreign workspace": `{"tenants":[{"id":"20000000-0000-4000-8000-000000000000","workspaces":[{"subscriptionId":"20000000-0000-4000-8000-0000000000c1","resourceGroup":"rg","name":"ws","customerId":"20000000-0000-4000-8000-0000000000d1"}]}]}`,
		"unknown role":      `{"tenants":[{"id":"20000000-0000-4000-8000-000000000000","roleAssignments":[{"principalId":"x","roleDefinition":"Wizard","scope":"/subscriptions/x"}]}]}`,
		"duplicate tenant":  `{"tenants":[{"id":"20000000-0000-4000-8000-000000000000"},{"id":"20000000-0000-4000-8000-000000000000"}]}`,
	}
	for name, in := range cases {
		if _, err := LoadWorld(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGenerateWorldSizeAndDeterminism(t *testing.T) {
	w := GenerateWorld(10000, 1)
	if len(w.Tenants) != 10001 {
		t.Fatalf("tenants = %d", len(w.Tenants))
	}
	ws, err := newWorldState(w, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.workspaces) != 10000 {
		t.Fatalf("indexed workspaces = %d", len(ws.workspaces))
	}

	a, _ := json.Marshal(GenerateWorld(50, 9))
	b, _ := json.Marshal(GenerateWorld(50, 9))
	c, _ := json.Marshal(GenerateWorld(50, 10))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different world")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seed, same world")
	}
	// the generated JSON round-trips through the loader (the documented schema)
	if _, err := LoadWorld(bytes.NewReader(a)); err != nil {
		t.Fatal(err)
	}
	// the mix is not trivial
	var consent, locked, noMDI int
	for _, t := range GenerateWorld(1000, 3).Tenants[1:] {
		if t.ConsentNeeded {
			consent++
		}
		if t.UnifiedPortal {
			locked++
		}
		if len(t.MDISensors) == 0 {
			noMDI++
		}
	}
	if consent == 0 || locked == 0 || noMDI == 0 || consent == 1000 {
		t.Fatalf("mix: consent %d locked %d noMDI %d", consent, locked, noMDI)
	}
}

// Many tenants in parallel: the per-tenant locking keeps this race-free
// and the requests independent.
func TestGeneratedWorldConcurrentTenants(t *testing.T) {
	w := GenerateWorld(200, 5)
	s := startSim(t, Options{World: w})
	app := w.Apps[0]
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for _, ten := range w.Tenants[1:41] {
		wg.Add(1)
		go func(ten *Tenant) {
			defer wg.Done()
			tok, err := s.IssueAppToken(ten.ID, app.ClientID, AudienceARM)
			if err != nil {
				errs <- err.Error()
				return
			}
			wsp := ten.Workspaces[0]
			c := armClient(t, s, staticCred{tok}, 0)
			for i := 0; i < 5; i++ {
				r := do(t, c, http.MethodGet, siPath(wsp.SubscriptionID, wsp.ResourceGroup, wsp.Name, "alertRules"), stableAPI, nil)
				want := http.StatusOK
				if s.ProviderRegistrationState(wsp.SubscriptionID, "Microsoft.SecurityInsights") != "Registered" {
					want = http.StatusConflict
				}
				if r.status != want {
					errs <- string(r.raw)
				}
			}
		}(ten)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestGeneratedWorldSignsIn(t *testing.T) {
	w := GenerateWorld(3, 11)
	s := startSim(t, Options{World: w})
	cust := w.Tenants[1]
	cred := appCredentialFor(t, s, cust.ID, w.Apps[0].ClientID, GeneratedAppSecret)
	if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceARM + "/.default"}}); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateWorldCostIsLinear: generating and indexing a world costs the
// same per tenant at 4000 tenants as at 1000 (allocations and bytes, which
// do not depend on how loaded the machine is), so a fleet of 10000 stays
// cheap. BenchmarkGenerateWorld measures the time.
func TestGenerateWorldCostIsLinear(t *testing.T) {
	cost := func(n int) (allocs, bytes float64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := newWorldState(GenerateWorld(n, 1), time.Now()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs-before.Mallocs) / float64(n), float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	}
	cost(100) // warm up anything built once
	a1, b1 := cost(1000)
	a4, b4 := cost(4000)
	t.Logf("per tenant: %.0f allocations, %.0f bytes at 1000; %.0f, %.0f at 4000", a1, b1, a4, b4)
	if a4 > 1.25*a1 || b4 > 1.25*b1 {
		t.Fatalf("per-tenant cost grows with the world: %.0f allocations, %.0f bytes at 1000 tenants; %.0f, %.0f at 4000", a1, b1, a4, b4)
	}
}

func BenchmarkGenerateWorld(b *testing.B) {
	for b.Loop() {
		if _, err := newWorldState(GenerateWorld(10000, 1), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
