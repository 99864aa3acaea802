package steps

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/xdrlink/xdrlink/azure/streaming"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
)

func portalSteps(ws string, tables []string) []PortalStep {
	out := make([]PortalStep, 0, len(tables))
	for _, name := range tables {
		p := tablestate.PortalStep(ws, name)
		out = append(out, PortalStep{Table: name, URL: p.GetUrl(), Path: p.GetPath()})
	}
	return out
}

// tablesOf maps categories to their tables, in order, dropping unknown ones.
func tablesOf(categories []string) []string {
	var out []string
	for _, c := range categories {
		if t, ok := streaming.TableOf(c); ok {
			out = append(out, t)
		}
	}
	return out
}

// writable maps an entry's enabled categories to the names POST accepts,
// dropping what it refuses (GET may return forms POST rejects, §3.1).
func writable(s streaming.Setting) []string {
	var out []string
	for _, name := range s.EnabledTables() {
		if t, ok := streaming.Lookup(name); ok && t.Support == streaming.SupportAPI {
			out = append(out, t.Category)
		}
	}
	return out
}

// connectEvents makes the workspace's streaming entry
// (SentinelExportSettings-<workspace>, the id the portal uses, so both edit
// one entry) stream exactly the target's API-writable tables; tables only the
// portal can turn on become PortalSteps.
func (r *Runner) connectEvents(ctx context.Context, s *session) (Result, error) {
	if len(s.t.Tables) == 0 {
		return Result{Skipped: true, Message: "not requested: no advanced-hunting tables selected"}, nil
	}
	return r.streamTables(ctx, s)
}

// applyTableSettings is connectEvents for a change of the desired tables:
// an empty set turns off what the entry streams instead of skipping.
func (r *Runner) applyTableSettings(ctx context.Context, s *session) (Result, error) {
	return r.streamTables(ctx, s)
}

// observeEntry records what a delegated read or write of the entry showed:
// every table the API streams, on or off (no entry: all off). A portal-only
// table is recorded only when the entry shows it on: the portal may keep it
// elsewhere (UNCONFIRMED), so its absence from the entry says nothing, and
// its data arriving is what shows it on.
func observeEntry(s *session, res *Result, entry *streaming.Setting, source xdrlinkv1.ObservationSource) {
	if s.plan {
		return // nothing was written, and plans store nothing
	}
	var on []string
	if entry != nil {
		on = entry.EnabledTables()
	}
	now := time.Now()
	if res.Observations == nil {
		res.Observations = map[string]*xdrlinkv1.TableObservation{}
	}
	for _, t := range streaming.Catalog() {
		if t.Support == streaming.SupportNone {
			continue
		}
		st := xdrlinkv1.ObservedState_OBSERVED_STATE_NOT_ENABLED
		switch {
		case slices.Contains(on, t.Name):
			st = xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED
		case t.Support == streaming.SupportPortalOnly:
			continue
		}
		res.Observations[t.Name] = tablestate.Observe(st, source, now, s.t.operationName())
	}
}

// streamTables makes the entry stream exactly the target's API-writable
// tables, recording what it read and wrote.
func (r *Runner) streamTables(ctx context.Context, s *session) (Result, error) {
	sel := streaming.Select(s.t.Tables)
	if len(sel.Unknown) > 0 {
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
			Message: "unknown advanced-hunting tables: " + strings.Join(sel.Unknown, ", "),
			Remedy:  "choose tables from the table catalog (ListTables)"}
	}
	res := Result{PortalSteps: portalSteps(s.t.Workspace.Name, sel.PortalOnly)}
	var notes []string
	if len(sel.PortalOnly) > 0 {
		notes = append(notes, "portal step needed for "+strings.Join(sel.PortalOnly, ", "))
	}
	if len(sel.NotStreamable) > 0 {
		notes = append(notes, "never streamed to Sentinel: "+strings.Join(sel.NotStreamable, ", "))
	}
	note := func(msg string) string { return strings.Join(append([]string{msg}, notes...), "; ") }
	if len(sel.Categories) == 0 && len(s.t.Tables) > 0 {
		res.Message = note("no table the streaming API can turn on")
		return res, nil
	}
	id := streaming.SentinelSettingID(s.t.Workspace.Name)
	desired := streaming.NewSentinelSetting(s.t.Workspace, sel.Categories)
	w := Write{Method: http.MethodPost, Resource: "/api/dataExportSettings/" + id, Description: "stream " + strings.Join(tablesOf(sel.Categories), ", ")}
	if s.plan && s.delegated == nil {
		// validate_only without a sign-in: the entry cannot even be read.
		w.Description += " (create or update: reading the entry needs the delegated sign-in)"
		res.Writes, res.Message = []Write{w}, note("not read: the Defender streaming API needs the delegated sign-in")
		return res, nil
	}
	c, err := r.streamingClient(s)
	if err != nil {
		return Result{}, err
	}
	all, err := c.List(ctx)
	if err != nil {
		return Result{}, r.streamingFailure(s, "GET dataExportSettings", err)
	}
	cur, exists := streaming.Find(all, id)
	if exists {
		observeEntry(s, &res, &cur, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_READ)
	} else {
		observeEntry(s, &res, nil, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_READ)
	}
	if !exists && len(sel.Categories) == 0 {
		res.Skipped, res.Message = true, note("no streaming entry, and no table wanted")
		return res, nil
	}
	if exists && sameSet(cur.EnabledTables(), tablesOf(sel.Categories)) && cur.WorkspaceProperties != nil &&
		strings.EqualFold(cur.WorkspaceProperties.WorkspaceResourceID, s.t.Workspace.Path()) {
		s.a.StreamingEntryID, s.a.StreamingTables = cur.ID, cur.EnabledTables()
		res.Skipped = len(res.PortalSteps) == 0
		res.Message = note("streaming entry " + cur.ID + " already streams " + strings.Join(cur.EnabledTables(), ", "))
		return res, nil
	}
	if !exists && len(all) >= streaming.MaxSettingsPerTenant {
		ids := make([]string, len(all))
		for i, e := range all {
			ids[i] = e.ID
		}
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_ACTION_REQUIRED,
			Message: fmt.Sprintf("the tenant already has the maximum of %d streaming API entries (%s); a new one for %s cannot be added",
				streaming.MaxSettingsPerTenant, strings.Join(ids, ", "), id),
			Remedy: "delete an unused entry in the Microsoft Defender portal (Settings > Microsoft Defender XDR > Streaming API), then run the operation again"}
	}
	if exists {
		desired = cur // keep what xdrlink does not manage (ids, other destinations' fields)
		desired.Logs = streaming.NewSentinelSetting(s.t.Workspace, sel.Categories).Logs
		desired.WorkspaceProperties = streaming.NewSentinelSetting(s.t.Workspace, nil).WorkspaceProperties
		if len(sel.Categories) == 0 {
			// No table wanted: turn off what it streams rather than send an
			// empty list. UNCONFIRMED: whether the API takes "logs": [].
			for _, c := range writable(cur) {
				desired.Logs = append(desired.Logs, streaming.Log{Category: c, Enabled: false})
			}
		}
	}
	if s.a.StreamingEntryID == "" { // the first write: remember what to undo
		s.a.StreamingEntryID, s.a.StreamingEntryCreated = id, !exists
		if exists {
			s.a.StreamingPreviousCategories = writable(cur)
		}
	}
	s.a.StreamingTables = tablesOf(sel.Categories)
	verb := "created"
	if exists {
		verb = "updated"
	}
	if err := r.write(ctx, s, w, func() error { _, err := c.Upsert(ctx, desired); return err }); err != nil {
		return Result{}, r.streamingFailure(s, "POST dataExportSettings "+id, err)
	}
	observeEntry(s, &res, &desired, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_WRITE)
	streamed := strings.Join(s.a.StreamingTables, ", ")
	if streamed == "" {
		streamed = "no table"
	}
	res.Message = note("streaming entry " + id + " " + verb + ": " + streamed)
	return res, nil
}

// disconnectEvents deletes the streaming entry xdrlink created, or puts
// back the categories an existing entry had before xdrlink changed it.
func (r *Runner) disconnectEvents(ctx context.Context, s *session) (Result, error) {
	id := s.a.StreamingEntryID
	if id == "" {
		return Result{Skipped: true, Message: "xdrlink did not write a streaming entry"}, nil
	}
	clear := func() {
		s.a.StreamingEntryID, s.a.StreamingEntryCreated, s.a.StreamingPreviousCategories, s.a.StreamingTables = "", false, nil, nil
	}
	if s.plan && s.delegated == nil {
		w := Write{Method: http.MethodDelete, Resource: "/api/dataExportSettings/" + id, Description: "remove or restore streaming entry " + id + " (not read: needs the delegated sign-in)"}
		return Result{Writes: []Write{w}, Message: "not read: the Defender streaming API needs the delegated sign-in"}, nil
	}
	c, err := r.streamingClient(s)
	if err != nil {
		return Result{}, err
	}
	all, err := c.List(ctx)
	if err != nil {
		return Result{}, r.streamingFailure(s, "GET dataExportSettings", err)
	}
	cur, exists := streaming.Find(all, id)
	if !exists {
		clear()
		return Result{Skipped: true, Message: "streaming entry " + id + " is already gone"}, nil
	}
	if s.a.StreamingEntryCreated {
		w := Write{Method: http.MethodDelete, Resource: "/api/dataExportSettings/" + id, Description: "delete streaming entry " + id}
		if err := r.write(ctx, s, w, func() error { return c.Delete(ctx, cur.ID) }); err != nil {
			return Result{}, r.streamingFailure(s, "DELETE dataExportSettings/"+id, err)
		}
		clear()
		res := Result{Message: "streaming entry " + id + " deleted"}
		observeEntry(s, &res, nil, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_WRITE)
		return res, nil
	}
	prev := s.a.StreamingPreviousCategories
	if slices.Equal(writable(cur), prev) || sameSet(cur.EnabledTables(), tablesOf(prev)) {
		clear()
		return Result{Skipped: true, Message: "streaming entry " + id + " already streams what it did before xdrlink"}, nil
	}
	restored := cur
	restored.Logs = streaming.NewSentinelSetting(s.t.Workspace, prev).Logs
	w := Write{Method: http.MethodPost, Resource: "/api/dataExportSettings/" + id, Description: "restore streaming entry " + id + " to " + strings.Join(tablesOf(prev), ", ")}
	if err := r.write(ctx, s, w, func() error { _, err := c.Upsert(ctx, restored); return err }); err != nil {
		return Result{}, r.streamingFailure(s, "POST dataExportSettings "+id, err)
	}
	clear()
	res := Result{Message: "streaming entry " + id + " restored to what it streamed before xdrlink"}
	observeEntry(s, &res, &restored, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_WRITE)
	return res, nil
}

// streamingFailure: the API refuses a user without the role with 403, and
// an app-only token too (azure/streaming maps that to MissingConsent).
func (r *Runner) streamingFailure(s *session, call string, err error) *Failure {
	f := azureFailure(call, err)
	switch f.Reason {
	case xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_MISSING:
		f.Remedy = "the signed-in user must be a Security Administrator or Global Administrator who is a member of tenant " + s.t.EntraTenantID +
			"; sign in again with such a user"
	case xdrlinkv1.ErrorReason_ERROR_REASON_ACTION_REQUIRED:
		f.SignInRequired, f.SignInAudiences = true, []string{r.access.Endpoints.DefenderStreaming.Scope()}
	}
	return f
}
