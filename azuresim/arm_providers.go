package azuresim

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// Resource provider registration. POST .../register moves a provider to
// "Registering"; it reads "Registered" once Options.RPRegistrationDelay of
// sim-clock time has passed (default 0: the next GET). That is the sequence
// azcore's RP-registration policy drives after a 409 MissingSubscriptionRegistration.

// alwaysRegistered are namespaces ARM never asks to register.
var alwaysRegistered = map[string]bool{
	"microsoft.resources": true, "microsoft.authorization": true, "microsoft.features": true,
}

// knownProviders are the namespaces the providers list reports.
var knownProviders = []string{"Microsoft.Insights", "Microsoft.OperationalInsights", "Microsoft.OperationsManagement", "Microsoft.SecurityInsights"}

// providerRegistered reports whether ns is registered in the subscription,
// completing a pending registration when its delay has passed.
func (s *Sim) providerRegistered(t *TenantState, sub, ns string) bool {
	return s.providerState(t, sub, ns) == "Registered"
}

func (s *Sim) providerState(t *TenantState, sub, ns string) string {
	if alwaysRegistered[strings.ToLower(ns)] {
		return "Registered"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.providers[strings.ToLower(sub)][strings.ToLower(ns)]
	switch {
	case ps == nil:
		return "NotRegistered"
	case ps.registered:
		return "Registered"
	case !ps.registeringAt.IsZero():
		if !s.clock.Now().Before(ps.registeringAt.Add(s.opts.RPRegistrationDelay)) {
			ps.registered = true
			ps.registeringAt = time.Time{}
			return "Registered"
		}
		return "Registering"
	}
	return "NotRegistered"
}

func (s *Sim) providerBody(t *TenantState, sub, ns string) map[string]any {
	return map[string]any{
		"id":                 "/subscriptions/" + sub + "/providers/" + ns,
		"namespace":          ns,
		"registrationState":  s.providerState(t, sub, ns),
		"registrationPolicy": "RegistrationRequired",
		"resourceTypes":      []any{},
	}
}

func (s *Sim) armGetProvider(rq *armRequest) error {
	return rq.reply(http.StatusOK, s.providerBody(rq.tenant, rq.path.subscription, rq.path.providerNS))
}

func (s *Sim) armListProviders(rq *armRequest) error {
	names := append([]string{}, knownProviders...)
	rq.tenant.mu.Lock()
	for ns := range rq.tenant.providers[strings.ToLower(rq.path.subscription)] {
		found := false
		for _, n := range names {
			found = found || strings.EqualFold(n, ns)
		}
		if !found {
			names = append(names, ns)
		}
	}
	rq.tenant.mu.Unlock()
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, n := range names {
		out = append(out, s.providerBody(rq.tenant, rq.path.subscription, n))
	}
	return rq.reply(http.StatusOK, map[string]any{"value": out})
}

func (s *Sim) armRegisterProvider(rq *armRequest) error {
	ns := rq.path.providerNS
	if !alwaysRegistered[strings.ToLower(ns)] {
		t := rq.tenant
		t.mu.Lock()
		subKey := strings.ToLower(rq.path.subscription)
		if t.providers[subKey] == nil {
			t.providers[subKey] = map[string]*providerState{}
		}
		ps := t.providers[subKey][strings.ToLower(ns)]
		if ps == nil {
			ps = &providerState{}
			t.providers[subKey][strings.ToLower(ns)] = ps
		}
		if !ps.registered && ps.registeringAt.IsZero() {
			ps.registeringAt = s.clock.Now()
		}
		t.mu.Unlock()
	}
	body := s.providerBody(rq.tenant, rq.path.subscription, ns)
	return rq.reply(http.StatusOK, body)
}

func (s *Sim) armUnregisterProvider(rq *armRequest) error {
	t := rq.tenant
	t.mu.Lock()
	delete(t.providers[strings.ToLower(rq.path.subscription)], strings.ToLower(rq.path.providerNS))
	t.mu.Unlock()
	return rq.reply(http.StatusOK, s.providerBody(t, rq.path.subscription, rq.path.providerNS))
}

// RegisterProvider registers a namespace in a subscription at once (setup helper).
func (s *Sim) RegisterProvider(subscriptionID, namespace string) error {
	t := s.world.subscriptionOwner(subscriptionID)
	if t == nil {
		return NewAPIError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", subscriptionID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := strings.ToLower(subscriptionID)
	if t.providers[k] == nil {
		t.providers[k] = map[string]*providerState{}
	}
	t.providers[k][strings.ToLower(namespace)] = &providerState{registered: true}
	return nil
}

// ProviderRegistrationState returns "Registered", "Registering" or "NotRegistered".
func (s *Sim) ProviderRegistrationState(subscriptionID, namespace string) string {
	t := s.world.subscriptionOwner(subscriptionID)
	if t == nil {
		return "NotRegistered"
	}
	return s.providerState(t, subscriptionID, namespace)
}
