package graph

import (
	"context"
	"strings"
)

// Sku is one subscribed SKU of the tenant.
type Sku struct {
	SkuID            string        `json:"skuId"`
	SkuPartNumber    string        `json:"skuPartNumber"`
	CapabilityStatus string        `json:"capabilityStatus"`
	ServicePlans     []ServicePlan `json:"servicePlans"`
}

// ServicePlan is one capability inside a SKU.
type ServicePlan struct {
	ServicePlanID      string `json:"servicePlanId"`
	ServicePlanName    string `json:"servicePlanName"`
	ProvisioningStatus string `json:"provisioningStatus"`
	AppliesTo          string `json:"appliesTo"`
}

// SubscribedSkus lists the tenant's SKUs with their service plans.
func (c *Client) SubscribedSkus(ctx context.Context) (out []Sku, err error) {
	ctx, end := c.pl.StartSpan(ctx, "graph.SubscribedSkus")
	defer func() { end(err) }()
	return list[Sku](ctx, c, "/subscribedSkus", nil, PermissionSkus)
}

// HasServicePlan reports whether an active SKU (capabilityStatus Enabled,
// or Warning: the grace period) carries the plan (by id, e.g. PlanMTP) with
// provisioning status Success.
func HasServicePlan(skus []Sku, planID string) bool {
	for _, s := range skus {
		if !strings.EqualFold(s.CapabilityStatus, "Enabled") && !strings.EqualFold(s.CapabilityStatus, "Warning") {
			continue
		}
		for _, p := range s.ServicePlans {
			if strings.EqualFold(p.ServicePlanID, planID) && strings.EqualFold(p.ProvisioningStatus, "Success") {
				return true
			}
		}
	}
	return false
}
