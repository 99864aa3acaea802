package azuresim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// productFilters are the MicrosoftSecurityProductName values (docs/azure.md §4).
var productFilters = []string{
	"Microsoft Cloud App Security", "Azure Security Center", "Azure Advanced Threat Protection",
	"Azure Active Directory Identity Protection", "Azure Security Center for IoT",
	"Office 365 Advanced Threat Protection", "Microsoft Defender Advanced Threat Protection",
}

var alertRuleKinds = []string{kindIncidentCreation, "Scheduled", "Fusion", "NRT", "MLBehaviorAnalytics", "ThreatIntelligence"}

var severities = []string{"High", "Medium", "Low", "Informational"}

func (s *Sim) armAlertRule(rq *armRequest) error {
	name := rq.path.extSegs[1]
	key := strings.ToLower(name)
	t := rq.tenant
	if rq.r.Method != http.MethodPut {
		return rq.getOrDeleteChild(rq.ws.alertRules, key, "Alert rule", name, childHooks{})
	}
	var in putBody
	if err := rq.decodeBody(&in); err != nil {
		return err
	}
	if !slices.Contains(alertRuleKinds, in.Kind) {
		return errBadRequest("The alert rule kind '%s' is not valid; expected one of %s.", in.Kind, strings.Join(alertRuleKinds, ", "))
	}
	if in.Properties == nil {
		return errBadRequest("The 'properties' object is required for alert rule '%s'.", name)
	}
	if in.Kind == kindIncidentCreation {
		if err := validateIncidentCreationRule(in.Properties); err != nil {
			return err
		}
	}
	out, created, err := func() (*armResource, bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		existing := rq.ws.alertRules[key]
		if existing != nil && existing.Kind != in.Kind {
			return nil, false, errBadRequest("The kind of alert rule '%s' cannot change from '%s' to '%s'.", name, existing.Kind, in.Kind)
		}
		if err := rq.checkETag(in.Etag, existing, "alert rule", name); err != nil {
			return nil, false, err
		}
		props := in.Properties
		if in.Kind == kindIncidentCreation {
			withIncidentRuleDefaults(props)
		}
		props["lastModifiedUtc"] = s.clock.Now().Format(time.RFC3339Nano)
		res := &armResource{ID: childID(rq.ws, "alertRules", name), Name: name, Type: "Microsoft.SecurityInsights/alertRules",
			Kind: in.Kind, Etag: newETag(), Properties: props, SystemData: s.writtenNow(rq, existing)}
		if existing != nil {
			res.ID, res.Name = existing.ID, existing.Name
		}
		rq.ws.alertRules[key] = res
		return res.clone(), existing == nil, nil
	}()
	if err != nil {
		return err
	}
	return rq.replyPut(created, out)
}

// withIncidentRuleDefaults adds the optional MicrosoftSecurityIncidentCreation
// properties a request left out as null, the way the service's responses
// show them (the Create example answers "severitiesFilter": null, ...).
func withIncidentRuleDefaults(p map[string]any) {
	for _, k := range []string{"severitiesFilter", "displayNamesFilter", "displayNamesExcludeFilter", "description", "alertRuleTemplateName"} {
		if _, ok := p[k]; !ok {
			p[k] = nil
		}
	}
}

// validateIncidentCreationRule checks MicrosoftSecurityIncidentCreation
// properties: displayName, enabled and productFilter are required.
func validateIncidentCreationRule(p map[string]any) error {
	if dn, _ := p["displayName"].(string); dn == "" {
		return errBadRequest("The 'properties.displayName' field is required.")
	}
	if _, ok := p["enabled"].(bool); !ok {
		return errBadRequest("The 'properties.enabled' field is required and must be a boolean.")
	}
	pf, _ := p["productFilter"].(string)
	if !slices.Contains(productFilters, pf) {
		return errBadRequest("The 'properties.productFilter' value '%s' is not valid; expected one of: %s.", pf, strings.Join(productFilters, ", "))
	}
	if sf, present := p["severitiesFilter"]; present && sf != nil {
		list, ok := sf.([]any)
		if !ok {
			return errBadRequest("The 'properties.severitiesFilter' field must be an array.")
		}
		for _, v := range list {
			if s, _ := v.(string); !slices.Contains(severities, s) {
				return errBadRequest("The severity '%v' is not valid.", v)
			}
		}
	}
	return nil
}

func (s *Sim) armAlertRuleList(rq *armRequest) error {
	items := rq.sortedChildren(rq.ws.alertRules)
	return rq.page(s, items)
}
