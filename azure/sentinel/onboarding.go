package sentinel

import (
	"context"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// OnboardingState is Microsoft.SecurityInsights/onboardingStates/default (docs/azure.md §1).
type OnboardingState struct {
	ID         string                    `json:"id,omitempty"`
	Name       string                    `json:"name,omitempty"`
	Type       string                    `json:"type,omitempty"`
	Properties OnboardingStateProperties `json:"properties"`
}

// OnboardingStateProperties is the body's properties object.
type OnboardingStateProperties struct {
	CustomerManagedKey bool `json:"customerManagedKey"`
}

// onboardingStateName is always "default" (docs/azure.md §1).
const onboardingStateName = "default"

// GetOnboardingState reads the workspace's Sentinel onboarding state; a workspace not
// onboarded yet fails with azerr.NotFound.
func (c *Client) GetOnboardingState(ctx context.Context) (*OnboardingState, error) {
	var s OnboardingState
	if err := c.get(ctx, "sentinel.onboardingStates.get", armclient.SecurityInsightsStable, "onboardingStates", onboardingStateName, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// PutOnboardingState onboards the workspace to Sentinel. created is true on 201 (first
// onboarding) and false on 200 (already onboarded or updated).
func (c *Client) PutOnboardingState(ctx context.Context, customerManagedKey bool) (state *OnboardingState, created bool, err error) {
	body := OnboardingState{Properties: OnboardingStateProperties{CustomerManagedKey: customerManagedKey}}
	var s OnboardingState
	created, err = c.put(ctx, "sentinel.onboardingStates.put", armclient.SecurityInsightsStable, "onboardingStates", onboardingStateName, body, &s)
	if err != nil {
		return nil, false, err
	}
	return &s, created, nil
}
