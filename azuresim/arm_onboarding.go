package azuresim

import "net/http"

// onboardingStates/default: PUT answers 201 when it creates the state and
// 200 when it already existed (docs/azure.md §1).
func (s *Sim) armOnboardingState(rq *armRequest) error {
	name := rq.path.extSegs[1]
	if name != "default" {
		return errBadRequest("The onboarding state name must be 'default', not '%s'.", name)
	}
	t := rq.tenant
	switch rq.r.Method {
	case http.MethodGet:
		t.mu.Lock()
		cur := rq.ws.onboarded.clone()
		t.mu.Unlock()
		if cur == nil {
			return errNotFound("Sentinel onboarding state", name)
		}
		return rq.reply(http.StatusOK, cur)
	case http.MethodPut:
		var in putBody
		if err := rq.decodeBody(&in); err != nil {
			return err
		}
		cmk := false
		if v, ok := in.Properties["customerManagedKey"].(bool); ok {
			cmk = v
		}
		t.mu.Lock()
		created := rq.ws.onboarded == nil
		if created {
			rq.ws.onboarded = onboardingResource(rq.ws, nil)
			seedDefaultSettings(rq.ws, s.clock.Now())
		}
		rq.ws.onboarded.Properties["customerManagedKey"] = cmk
		rq.ws.onboarded.SystemData = s.writtenNow(rq, rq.ws.onboarded)
		out := rq.ws.onboarded.clone()
		t.mu.Unlock()
		if created {
			return rq.reply(http.StatusCreated, out)
		}
		return rq.reply(http.StatusOK, out)
	default: // DELETE
		t.mu.Lock()
		existed := rq.ws.onboarded != nil
		rq.ws.onboarded = nil
		t.mu.Unlock()
		if !existed {
			rq.w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return rq.reply(http.StatusOK, map[string]any{})
	}
}

func (s *Sim) armOnboardingStateList(rq *armRequest) error {
	rq.tenant.mu.Lock()
	cur := rq.ws.onboarded.clone()
	rq.tenant.mu.Unlock()
	out := []*armResource{}
	if cur != nil {
		out = append(out, cur)
	}
	return rq.reply(http.StatusOK, map[string]any{"value": out})
}
