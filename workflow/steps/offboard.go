package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// disconnectIncidents deletes the connector xdrlink created. One that
// existed before xdrlink updated it stays: restoring its earlier settings is
// out of scope, and deleting it would cut a flow the customer had.
func (r *Runner) disconnectIncidents(ctx context.Context, s *session) (Result, error) {
	name := s.a.ConnectorName
	if name == "" {
		return Result{Skipped: true, Message: "xdrlink did not write a Defender XDR connector"}, nil
	}
	if !s.a.ConnectorCreated {
		s.a.ConnectorName = ""
		return Result{Skipped: true, Message: "connector " + name + " existed before xdrlink; it is left connected with the settings xdrlink gave it"}, nil
	}
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	if _, err := cl.sentinel.GetDataConnector(ctx, name); azerr.Is(err, azerr.NotFound) {
		s.a.ConnectorName, s.a.ConnectorCreated = "", false
		return Result{Skipped: true, Message: "connector " + name + " is already gone"}, nil
	} else if err != nil {
		return Result{}, azureFailure("GET dataConnectors/"+name, err)
	}
	w := Write{Method: http.MethodDelete, Resource: siPath(s, "dataConnectors", name), Description: "delete Defender XDR connector " + name}
	err = r.write(ctx, s, w, func() error {
		_, err := cl.sentinel.DeleteDataConnector(ctx, name)
		if !azerr.Is(err, azerr.MissingConsent) || s.delegated == nil {
			return err
		}
		_, user, err := r.sentinelAs(s, s.delegated)
		if err != nil {
			return err
		}
		_, err = user.DeleteDataConnector(ctx, name)
		return err
	})
	if err != nil {
		f := connectorFailure(s, "DELETE dataConnectors/"+name, err)
		if azerr.Is(err, azerr.MissingConsent) && s.delegated == nil {
			f = signInRequired(s.t, "DELETE dataConnectors/"+name+": Azure wants a signed-in user (Missing consent)", r.access.Endpoints.ResourceManager.Scope())
		}
		return Result{}, f
	}
	s.a.ConnectorName, s.a.ConnectorCreated = "", false
	res := Result{Message: "connector " + name + " deleted"}
	observeConnector(s, &res, nil, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_AZURE_WRITE)
	return res, nil
}

// restoreRules puts each rule xdrlink disabled back to its earlier state,
// read-modify-write with the etag just read. Each record is dropped once
// its rule is as it was (or gone), so a re-run only retries the rest.
func (r *Runner) restoreRules(ctx context.Context, s *session) (Result, error) {
	if len(s.a.DisabledRules) == 0 {
		return Result{Skipped: true, Message: "xdrlink did not disable any incident-creation rule"}, nil
	}
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	var restored, gone, unchanged []string
	for len(s.a.DisabledRules) > 0 {
		d := s.a.DisabledRules[0]
		rule, err := cl.sentinel.GetAlertRule(ctx, d.Name)
		switch {
		case azerr.Is(err, azerr.NotFound):
			gone = append(gone, d.DisplayName)
		case err != nil:
			return Result{}, azureFailure("GET alertRules/"+d.Name, err)
		default:
			var p struct {
				Enabled *bool `json:"enabled"`
			}
			if err := json.Unmarshal(rule.Properties, &p); err != nil {
				return Result{}, asFailure(fmt.Errorf("decode alertRules/%s: %w", d.Name, err))
			}
			if p.Enabled != nil && *p.Enabled == d.PreviousEnabled {
				unchanged = append(unchanged, d.DisplayName)
				break
			}
			next, err := sentinel.WithEnabled(*rule, d.PreviousEnabled)
			if err != nil {
				return Result{}, asFailure(err)
			}
			w := Write{Method: http.MethodPut, Resource: siPath(s, "alertRules", d.Name),
				Description: fmt.Sprintf("set incident-creation rule %s enabled=%v", quote(d.DisplayName), d.PreviousEnabled)}
			if err := r.write(ctx, s, w, func() error { _, _, err := cl.sentinel.PutAlertRule(ctx, next); return err }); err != nil {
				return Result{}, azureFailure("PUT alertRules/"+d.Name, err)
			}
			restored = append(restored, d.DisplayName)
		}
		s.a.DisabledRules = s.a.DisabledRules[1:]
	}
	s.a.DisabledRules = nil
	var parts []string
	if len(restored) > 0 {
		parts = append(parts, fmt.Sprintf("re-enabled %d rule(s)", len(restored)))
	}
	if len(unchanged) > 0 {
		parts = append(parts, fmt.Sprintf("%d rule(s) already as before", len(unchanged)))
	}
	if len(gone) > 0 {
		parts = append(parts, "deleted meanwhile, not restored: "+strings.Join(gone, ", "))
	}
	return Result{Skipped: len(restored) == 0, Message: strings.Join(parts, "; ")}, nil
}

// disconnectEntities removes the entity providers xdrlink added, deleting
// settings/EntityAnalytics when xdrlink created it and nothing else is left
// in it.
func (r *Runner) disconnectEntities(ctx context.Context, s *session) (Result, error) {
	if len(s.a.EntityProvidersAdded) == 0 && !s.a.EntityAnalyticsCreated {
		return Result{Skipped: true, Message: "xdrlink did not add any entity provider"}, nil
	}
	clear := func() { s.a.EntityProvidersAdded, s.a.EntityAnalyticsCreated = nil, false }
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	cur, err := cl.sentinel.GetSetting(ctx, sentinel.SettingEntityAnalytics)
	if azerr.Is(err, azerr.NotFound) {
		clear()
		return Result{Skipped: true, Message: "settings/EntityAnalytics is already gone"}, nil
	}
	if err != nil {
		return Result{}, azureFailure("GET settings/EntityAnalytics", err)
	}
	props := map[string]json.RawMessage{}
	var have []string
	if len(cur.Properties) > 0 {
		if err := json.Unmarshal(cur.Properties, &props); err != nil || props == nil {
			return Result{}, asFailure(fmt.Errorf("decode settings/EntityAnalytics: %v", err))
		}
		if raw, ok := props["entityProviders"]; ok {
			if err := json.Unmarshal(raw, &have); err != nil {
				return Result{}, asFailure(fmt.Errorf("decode settings/EntityAnalytics.entityProviders: %w", err))
			}
		}
	}
	keep := slices.DeleteFunc(slices.Clone(have), func(p string) bool { return containsFold(s.a.EntityProvidersAdded, p) })
	path := siPath(s, "settings", sentinel.SettingEntityAnalytics)
	switch {
	case s.a.EntityAnalyticsCreated && len(keep) == 0:
		w := Write{Method: http.MethodDelete, Resource: path, Description: "delete settings/EntityAnalytics (created by xdrlink)"}
		if err := r.write(ctx, s, w, func() error {
			_, err := cl.arm.Do(ctx, armclient.Request{Operation: "sentinel.settings.delete", Method: http.MethodDelete,
				Path: path, APIVersion: armclient.SecurityInsightsPreview, OK: []int{http.StatusOK, http.StatusNoContent}})
			return err
		}); err != nil {
			return Result{}, azureFailure("DELETE settings/EntityAnalytics", err)
		}
		clear()
		return Result{Message: "settings/EntityAnalytics deleted"}, nil
	case len(keep) == len(have):
		clear()
		return Result{Skipped: true, Message: "the entity providers xdrlink added are already gone"}, nil
	}
	b, err := json.Marshal(keep)
	if err != nil {
		return Result{}, asFailure(err)
	}
	props["entityProviders"] = b
	next := *cur
	next.Kind = sentinel.SettingEntityAnalytics
	if next.Properties, err = json.Marshal(props); err != nil {
		return Result{}, asFailure(err)
	}
	removed := strings.Join(s.a.EntityProvidersAdded, ", ")
	w := Write{Method: http.MethodPut, Resource: path, Description: "remove entity provider(s) " + removed}
	if err := r.write(ctx, s, w, func() error { _, _, err := cl.sentinel.PutSetting(ctx, next); return err }); err != nil {
		return Result{}, azureFailure("PUT settings/EntityAnalytics", err)
	}
	clear()
	return Result{Message: "entity provider(s) " + removed + " removed"}, nil
}
