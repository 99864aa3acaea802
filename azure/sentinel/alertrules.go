package sentinel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// KindIncidentCreation is the Microsoft incident-creation rule kind (docs/azure.md §4).
const KindIncidentCreation = "MicrosoftSecurityIncidentCreation"

// productFilter values, MicrosoftSecurityProductName (docs/azure.md §4).
const (
	ProductCloudAppSecurity          = "Microsoft Cloud App Security"
	ProductSecurityCenter            = "Azure Security Center"
	ProductAdvancedThreatProtection  = "Azure Advanced Threat Protection"
	ProductIdentityProtection        = "Azure Active Directory Identity Protection"
	ProductSecurityCenterIoT         = "Azure Security Center for IoT"
	ProductOffice365ATP              = "Office 365 Advanced Threat Protection"
	ProductDefenderAdvancedThreatPro = "Microsoft Defender Advanced Threat Protection"
)

// XDRProducts are the products whose incident-creation rules duplicate the XDR connector's
// incidents and are turned off: MDATP, O365 ATP, AATP, MCAS and AADIP (docs/azure.md §4).
// Azure Security Center rules stay on (§4, §2.6).
// UNCONFIRMED (docs/azure.md §4): exactly which products the portal checkbox covers.
var XDRProducts = []string{
	ProductDefenderAdvancedThreatPro,
	ProductOffice365ATP,
	ProductAdvancedThreatProtection,
	ProductCloudAppSecurity,
	ProductIdentityProtection,
}

// AlertRule is any analytics rule; Properties stay raw so an update preserves fields this
// code does not model.
type AlertRule = Resource

// IncidentCreationProperties are the fields of a MicrosoftSecurityIncidentCreation rule
// xdrlink reads (docs/azure.md §4).
type IncidentCreationProperties struct {
	DisplayName           string   `json:"displayName"`
	Enabled               bool     `json:"enabled"`
	ProductFilter         string   `json:"productFilter"`
	SeveritiesFilter      []string `json:"severitiesFilter,omitempty"`
	DisplayNamesFilter    []string `json:"displayNamesFilter,omitempty"`
	Description           string   `json:"description,omitempty"`
	AlertRuleTemplateName string   `json:"alertRuleTemplateName,omitempty"`
}

// IncidentCreation decodes the properties of a MicrosoftSecurityIncidentCreation rule.
func IncidentCreation(r AlertRule) (*IncidentCreationProperties, error) {
	if r.Kind != KindIncidentCreation {
		return nil, fmt.Errorf("sentinel: alert rule %s is of kind %q, not %s", r.Name, r.Kind, KindIncidentCreation)
	}
	var p IncidentCreationProperties
	if err := json.Unmarshal(r.Properties, &p); err != nil {
		return nil, fmt.Errorf("sentinel: decode alert rule %s: %w", r.Name, err)
	}
	return &p, nil
}

// IsXDRIncidentCreationRule reports whether r is an incident-creation rule for one of
// XDRProducts.
func IsXDRIncidentCreationRule(r AlertRule) bool {
	p, err := IncidentCreation(r)
	if err != nil {
		return false
	}
	for _, prod := range XDRProducts {
		if strings.EqualFold(p.ProductFilter, prod) {
			return true
		}
	}
	return false
}

// WithEnabled returns a copy of r whose properties.enabled is set, every other property
// byte-for-byte as read (key order may change).
func WithEnabled(r AlertRule, enabled bool) (AlertRule, error) {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(r.Properties, &props); err != nil || props == nil {
		return AlertRule{}, fmt.Errorf("sentinel: alert rule %s has no properties object", r.Name)
	}
	props["enabled"] = json.RawMessage(fmt.Sprint(enabled))
	b, err := json.Marshal(props)
	if err != nil {
		return AlertRule{}, err
	}
	out := r
	out.Properties = b
	return out, nil
}

// ListAlertRules lists the workspace's analytics rules, following nextLink.
func (c *Client) ListAlertRules(ctx context.Context) ([]AlertRule, error) {
	return list[AlertRule](ctx, c, "sentinel.alertRules.list", armclient.SecurityInsightsStable, "alertRules", nil)
}

// GetAlertRule reads one rule; a missing one fails with azerr.NotFound.
func (c *Client) GetAlertRule(ctx context.Context, name string) (*AlertRule, error) {
	var r AlertRule
	if err := c.get(ctx, "sentinel.alertRules.get", armclient.SecurityInsightsStable, "alertRules", name, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PutAlertRule writes r (kind, etag and raw properties) under r.Name. A stale etag fails
// with azerr.EtagConflict.
func (c *Client) PutAlertRule(ctx context.Context, r AlertRule) (rule *AlertRule, created bool, err error) {
	if len(bytes.TrimSpace(r.Properties)) == 0 {
		return nil, false, fmt.Errorf("sentinel: alert rule %s has no properties", r.Name)
	}
	var out AlertRule
	created, err = c.put(ctx, "sentinel.alertRules.put", armclient.SecurityInsightsStable, "alertRules", r.Name,
		putBody{Kind: r.Kind, Etag: r.Etag, Properties: r.Properties}, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, created, nil
}

// SetAlertRuleEnabled reads the rule and, when its enabled flag differs, writes it back
// with the flag changed and the etag it read. changed is false when nothing was written.
func (c *Client) SetAlertRuleEnabled(ctx context.Context, name string, enabled bool) (rule *AlertRule, changed bool, err error) {
	cur, err := c.GetAlertRule(ctx, name)
	if err != nil {
		return nil, false, err
	}
	var flag struct {
		Enabled *bool `json:"enabled"`
	}
	if err := json.Unmarshal(cur.Properties, &flag); err != nil {
		return nil, false, fmt.Errorf("sentinel: decode alert rule %s: %w", name, err)
	}
	if flag.Enabled != nil && *flag.Enabled == enabled {
		return cur, false, nil
	}
	next, err := WithEnabled(*cur, enabled)
	if err != nil {
		return nil, false, err
	}
	out, _, err := c.PutAlertRule(ctx, next)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
