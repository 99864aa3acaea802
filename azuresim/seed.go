package azuresim

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"
)

// IncidentCreationProduct is a product of the MicrosoftSecurityIncidentCreation
// rules (docs/azure.md §4): its productFilter string and built-in template id.
type IncidentCreationProduct struct {
	ProductFilter string
	TemplateID    string
}

// IncidentCreationProducts are the products whose rules a workspace gets by
// default (seeded enabled unless the world says otherwise).
var IncidentCreationProducts = []IncidentCreationProduct{
	{"Azure Active Directory Identity Protection", "532c1811-79ee-4d9f-8d4d-6304c840daa1"},
	{"Azure Security Center", "90586451-7ba8-4c1e-9904-7d1b7c3cc4d6"},
	{"Azure Advanced Threat Protection", "40ba9493-4183-4eee-974f-87fe39c8f267"},
	{"Microsoft Cloud App Security", "b3cfc7c0-092c-481c-a55b-34a3979758cb"},
	{"Office 365 Advanced Threat Protection", "ee1d718b-9ed9-4a71-90cd-a483a4f008df"},
	{"Microsoft Defender Advanced Threat Protection", "327cd4ed-ca42-454b-887c-54e1c91363c6"},
}

// stableUUID derives a UUID from strings, so seeded names are deterministic.
func stableUUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var b [16]byte
	copy(b[:], sum[:16])
	return formatUUID(b)
}

// seedWorkspace fills a workspace's initial Sentinel state from its spec.
func seedWorkspace(w *WorkspaceState, now time.Time) {
	spec := w.Spec
	if spec.SentinelOnboarded {
		w.onboarded = onboardingResource(w, seeded(now))
		seedDefaultSettings(w, now)
	}
	ts := now.Format(time.RFC3339Nano)
	if spec.AlertRules == nil {
		for _, p := range IncidentCreationProducts {
			name := stableUUID(spec.CustomerID, p.TemplateID)
			props := map[string]any{
				"productFilter":         p.ProductFilter,
				"displayName":           "Create incidents based on " + p.ProductFilter + " alerts",
				"description":           "Create incidents based on all alerts generated in " + p.ProductFilter,
				"enabled":               true,
				"alertRuleTemplateName": p.TemplateID,
				"lastModifiedUtc":       ts,
			}
			withIncidentRuleDefaults(props)
			w.alertRules[strings.ToLower(name)] = &armResource{
				ID: childID(w, "alertRules", name), Name: name, Type: "Microsoft.SecurityInsights/alertRules",
				Kind: kindIncidentCreation, Etag: newETag(), Properties: props, SystemData: seeded(now),
			}
		}
	}
	for i, raw := range spec.AlertRules {
		var r armResource
		if err := json.Unmarshal(raw, &r); err != nil || r.Kind == "" {
			continue // validated in LoadWorld
		}
		if r.Name == "" {
			r.Name = stableUUID(spec.CustomerID, "rule", string(rune('a'+i)))
		}
		r.ID = childID(w, "alertRules", r.Name)
		r.Type = "Microsoft.SecurityInsights/alertRules"
		if r.Etag == "" {
			r.Etag = newETag()
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		if _, ok := r.Properties["lastModifiedUtc"]; !ok {
			r.Properties["lastModifiedUtc"] = ts
		}
		if r.Kind == kindIncidentCreation {
			withIncidentRuleDefaults(r.Properties)
		}
		r.SystemData = seeded(now)
		w.alertRules[strings.ToLower(r.Name)] = &r
	}
	for contentID, version := range spec.InstalledPackages {
		installPackage(w, contentID, version, "", seedWriterOf, now)
	}
}

// seeded is the systemData of state the emulator creates on its own.
func seeded(now time.Time) *SystemData {
	return newSystemData(seedWriterOf, now, nil)
}

func onboardingResource(w *WorkspaceState, sd *SystemData) *armResource {
	return &armResource{
		ID: childID(w, "onboardingStates", "default"), Name: "default", Type: "Microsoft.SecurityInsights/onboardingStates",
		Etag: newETag(), Properties: map[string]any{"customerManagedKey": false}, SystemData: sd,
	}
}

// seedDefaultSettings creates the settings Sentinel has after onboarding
// (EyesOn and Anomalies exist and are enabled; EntityAnalytics/Ueba do not).
func seedDefaultSettings(w *WorkspaceState, now time.Time) {
	for _, name := range []string{"EyesOn", "Anomalies"} {
		if _, ok := w.settings[strings.ToLower(name)]; ok {
			continue
		}
		w.settings[strings.ToLower(name)] = &armResource{
			ID: childID(w, "settings", name), Name: name, Type: "Microsoft.SecurityInsights/settings",
			Kind: name, Etag: newETag(), Properties: map[string]any{"isEnabled": true}, SystemData: seeded(now),
		}
	}
}
