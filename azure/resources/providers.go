package resources

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/internal/guid"
)

// Client calls Microsoft.Resources on one subscription.
type Client struct {
	arm          *armclient.Client
	subscription string
}

// New returns a client for the subscription.
func New(arm *armclient.Client, subscriptionID string) (*Client, error) {
	if !guid.Valid(subscriptionID) {
		return nil, fmt.Errorf("resources: subscription id %q is not a GUID", subscriptionID)
	}
	return &Client{arm: arm, subscription: subscriptionID}, nil
}

// Resource provider namespaces xdrlink needs registered (docs/azure.md §8.1).
const (
	ProviderOperationalInsights = "Microsoft.OperationalInsights"
	ProviderSecurityInsights    = "Microsoft.SecurityInsights"
	// ProviderInsights is needed for the Defender streaming API (§3.1, §8.1).
	ProviderInsights = "Microsoft.Insights"
)

// RequiredProviders are the namespaces the onboarding prerequisites check.
var RequiredProviders = []string{ProviderOperationalInsights, ProviderSecurityInsights, ProviderInsights}

// Provider is a resource provider's registration in the subscription.
type Provider struct {
	ID                string `json:"id,omitempty"`
	Namespace         string `json:"namespace"`
	RegistrationState string `json:"registrationState"`
}

// Registered reports whether the provider can be used.
func (p Provider) Registered() bool { return strings.EqualFold(p.RegistrationState, "Registered") }

var namespacePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$`)

func (c *Client) providerPath(namespace string) (string, error) {
	if !namespacePattern.MatchString(namespace) {
		return "", fmt.Errorf("resources: invalid provider namespace %q", namespace)
	}
	return "/subscriptions/" + url.PathEscape(c.subscription) + "/providers/" + namespace, nil
}

// GetProvider reads the registration state of namespace.
func (c *Client) GetProvider(ctx context.Context, namespace string) (*Provider, error) {
	p, err := c.providerPath(namespace)
	if err != nil {
		return nil, err
	}
	var out Provider
	if _, err := c.arm.DoJSON(ctx, armclient.Request{Operation: "resources.providers.get", Method: http.MethodGet, Path: p,
		APIVersion: armclient.ResourcesProviders, OK: []int{http.StatusOK}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegisterProvider starts registering namespace and returns the state ARM reports
// ("Registering" until done; poll GetProvider). Needs <namespace>/register/action.
func (c *Client) RegisterProvider(ctx context.Context, namespace string) (*Provider, error) {
	p, err := c.providerPath(namespace)
	if err != nil {
		return nil, err
	}
	var out Provider
	if _, err := c.arm.DoJSON(ctx, armclient.Request{Operation: "resources.providers.register", Method: http.MethodPost, Path: p + "/register",
		APIVersion: armclient.ResourcesProviders, OK: []int{http.StatusOK}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
