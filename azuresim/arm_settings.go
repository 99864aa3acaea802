package azuresim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

var (
	settingNameRe   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]*$`)
	settingKinds    = []string{"Anomalies", "EyesOn", "EntityAnalytics", "Ueba"}
	entityProviders = []string{"ActiveDirectory", "AzureActiveDirectory"}
	uebaDataSources = []string{"AuditLogs", "AzureActivity", "SecurityEvent", "SigninLogs"}
)

// canonicalSetting maps a settings name to its kind ("ueba" -> "Ueba").
func canonicalSetting(name string) (string, bool) {
	for _, k := range settingKinds {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func (s *Sim) armSetting(rq *armRequest) error {
	name := rq.path.extSegs[1]
	if !settingNameRe.MatchString(name) {
		return errBadRequest("The settings name '%s' is invalid; it must match '^[a-zA-Z][a-zA-Z0-9]*$'.", name)
	}
	kind, ok := canonicalSetting(name)
	if !ok {
		return errBadRequest("The settings name '%s' is not supported; expected one of %s.", name, strings.Join(settingKinds, ", "))
	}
	key := strings.ToLower(kind)
	t := rq.tenant
	if rq.r.Method != http.MethodPut {
		return rq.getOrDeleteChild(rq.ws.settings, key, "Setting", name, childHooks{})
	}
	var in putBody
	if err := rq.decodeBody(&in); err != nil {
		return err
	}
	if !strings.EqualFold(in.Kind, kind) {
		return errBadRequest("The settings kind '%s' does not match the settings name '%s'.", in.Kind, name)
	}
	props := in.Properties
	if props == nil {
		props = map[string]any{}
	}
	switch kind {
	case "EntityAnalytics":
		list, err := enumList(props, "entityProviders", entityProviders)
		if err != nil {
			return err
		}
		if slices.Contains(list, "ActiveDirectory") && len(t.Spec.MDISensors) == 0 {
			return NewAPIError(noMDISensorStatus, noMDISensorCode, noMDISensorMessage, t.Spec.ID)
		}
	case "Ueba":
		if _, err := enumList(props, "dataSources", uebaDataSources); err != nil {
			return err
		}
	default: // Anomalies, EyesOn: isEnabled is read-only; a PUT turns them on
		props = map[string]any{"isEnabled": true}
	}
	out, created, err := func() (*armResource, bool, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		existing := rq.ws.settings[key]
		if err := rq.checkETag(in.Etag, existing, "settings", kind); err != nil {
			return nil, false, err
		}
		res := &armResource{ID: childID(rq.ws, "settings", kind), Name: kind, Type: "Microsoft.SecurityInsights/settings",
			Kind: kind, Etag: newETag(), Properties: props, SystemData: s.writtenNow(rq, existing)}
		rq.ws.settings[key] = res
		return res.clone(), existing == nil, nil
	}()
	if err != nil {
		return err
	}
	return rq.replyPut(created, out)
}

// enumList reads properties[field] as a list of allowed strings.
func enumList(props map[string]any, field string, allowed []string) ([]string, error) {
	raw, ok := props[field].([]any)
	if !ok {
		return nil, errBadRequest("The 'properties.%s' field is required and must be an array.", field)
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		if !slices.Contains(allowed, s) {
			return nil, errBadRequest("The value '%v' in 'properties.%s' is not valid; expected one of %s.", v, field, strings.Join(allowed, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

func (s *Sim) armSettingList(rq *armRequest) error {
	items := rq.sortedChildren(rq.ws.settings)
	return rq.reply(http.StatusOK, map[string]any{"value": items})
}
