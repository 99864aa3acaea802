package azuresim

import (
	"net/http"
	"strings"
)

func (s *Sim) graphSubscribedSkus(w http.ResponseWriter, r *http.Request) {
	_, t, ok := s.graphCaller(w, r, "graph.subscribedSkus", graphSkuPermissions)
	if !ok {
		return
	}
	items := graphItems(r, t.Spec.Licenses, func(l License) map[string]any {
		plans := make([]map[string]any, 0, len(l.ServicePlans))
		for _, p := range l.ServicePlans {
			status := p.ProvisioningStatus
			if status == "" {
				status = "Success"
			}
			plans = append(plans, map[string]any{
				"servicePlanId": p.ServicePlanID, "servicePlanName": p.ServicePlanName,
				"provisioningStatus": status, "appliesTo": "User",
			})
		}
		return map[string]any{
			"id":               t.Spec.ID + "_" + strings.ToLower(l.SkuID),
			"accountId":        t.Spec.ID,
			"accountName":      t.Spec.DisplayName,
			"appliesTo":        "User",
			"capabilityStatus": "Enabled",
			"consumedUnits":    0,
			"skuId":            l.SkuID,
			"skuPartNumber":    l.SkuPartNumber,
			"prepaidUnits":     map[string]any{"enabled": l.Enabled, "suspended": 0, "warning": 0, "lockedOut": 0},
			"servicePlans":     plans,
		}
	})
	s.graphList(w, r, "subscribedSkus", items)
}
