package azuresim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// WorkspaceHistory is what happened to a workspace before the emulator
// started, dated back from the start of the Sim clock. Start turns it into
// the live state the APIs would have left (see applyHistory), so data
// already flows and ingestion has a past to verify.
type WorkspaceHistory struct {
	// ConnectedAgo: Sentinel onboarded, the MicrosoftThreatProtection
	// connector on (incidents and alerts), and the streaming entry
	// SentinelExportSettings-<workspace> created with Tables, this long
	// before start.
	ConnectedAgo Duration `json:"connectedAgo"`
	// Tables are the advanced-hunting tables streamed from ConnectedAgo on.
	// Defender for Office 365 tables (which only the portal can turn on)
	// are streamed as Sim.PortalStreamTable does, outside the entry.
	Tables []string `json:"tables,omitempty"`
	// StreamingChanges are later edits of that entry (as someone in the
	// portal would make them), each dated back from start, oldest first.
	StreamingChanges []StreamingChange `json:"streamingChanges,omitempty"`
	// Silent: tables whose data stopped arriving this long before start
	// although the entry still streams them (the product stopped sending,
	// e.g. sensors offboarded). They stay silent afterwards, whatever the
	// entry says.
	Silent map[string]Duration `json:"silent,omitempty"`
}

// StreamingChange is one edit of the history's streaming entry: tables
// turned on and off this long before start.
type StreamingChange struct {
	Ago     Duration `json:"ago"`
	Enable  []string `json:"enable,omitempty"`
	Disable []string `json:"disable,omitempty"`
}

// validate refuses a history the live APIs could not have produced (no
// licence, nobody to sign in, Sentinel's provider unregistered), unknown
// tables and times out of order. A nil history is valid.
func (h *WorkspaceHistory) validate(t *Tenant, w *Workspace) error {
	if h == nil {
		return nil
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("azuresim: workspace %s: history: %s", w.Name, fmt.Sprintf(format, args...))
	}
	if h.ConnectedAgo < 0 {
		return fail("connectedAgo %v is negative", time.Duration(h.ConnectedAgo))
	}
	if !hasServicePlan(t, "MTP") {
		return fail("tenant %s has no Defender XDR licence (service plan MTP), so the connector could not have been connected", t.ID)
	}
	if memberSecurityAdmin(t) == nil {
		return fail("tenant %s has no member Security Administrator or Global Administrator who could have connected it", t.ID)
	}
	if !subscriptionRegistered(t, w.SubscriptionID, "Microsoft.SecurityInsights") {
		return fail("Microsoft.SecurityInsights is not registered on subscription %s, so Sentinel could not have been onboarded", w.SubscriptionID)
	}
	// Replay the streamed set to check every edit and to know when each
	// table was first streamed.
	streamed := map[string]bool{}
	firstStreamedAgo := map[string]Duration{}
	change := func(where string, ago Duration, enable, disable []string) error {
		for _, table := range slices.Concat(enable, disable) {
			if !isHuntingTable(table) {
				return fail("%s: %q is not an advanced-hunting table the streaming API or the portal can turn on", where, table)
			}
		}
		for _, table := range enable {
			if streamed[table] {
				return fail("%s: enables %s, which is already streamed", where, table)
			}
			streamed[table] = true
			if _, seen := firstStreamedAgo[table]; !seen {
				firstStreamedAgo[table] = ago
			}
		}
		for _, table := range disable {
			if !streamed[table] || slices.Contains(enable, table) {
				return fail("%s: disables %s, which is not streamed before it", where, table)
			}
			streamed[table] = false
		}
		return nil
	}
	if err := change("tables", h.ConnectedAgo, h.Tables, nil); err != nil {
		return err
	}
	prev := h.ConnectedAgo
	for i, c := range h.StreamingChanges {
		where := fmt.Sprintf("streamingChanges[%d]", i)
		if c.Ago < 0 || c.Ago > prev {
			return fail("%s: ago %v must lie between 0 and %v (the connect's or the previous change's); list changes oldest first",
				where, time.Duration(c.Ago), time.Duration(prev))
		}
		prev = c.Ago
		if err := change(where, c.Ago, c.Enable, c.Disable); err != nil {
			return err
		}
	}
	for _, table := range slices.Sorted(maps.Keys(h.Silent)) {
		ago := h.Silent[table]
		first, ok := firstStreamedAgo[table]
		switch {
		case !ok:
			return fail("silent: %s is never streamed", table)
		case ago < 0 || ago > first:
			return fail("silent: %s falls silent %v before start, which is not between its first streaming (%v before start) and start",
				table, time.Duration(ago), time.Duration(first))
		}
	}
	return nil
}

// subscriptionRegistered reports whether the tenant's subscription has the
// resource provider registered at start.
func subscriptionRegistered(t *Tenant, subscriptionID, namespace string) bool {
	for _, s := range t.Subscriptions {
		if strings.EqualFold(s.ID, subscriptionID) {
			return slices.ContainsFunc(s.RegisteredProviders, func(p string) bool { return strings.EqualFold(p, namespace) })
		}
	}
	return false
}

// describe says in words what the history is, for a customer's description.
// Streamed lists the tables the history leaves the streaming entry sending:
// Tables with the StreamingChanges applied, in order of first mention.
func (h *WorkspaceHistory) Streamed() []string {
	if h == nil {
		return nil
	}
	out := slices.Clone(h.Tables)
	for _, c := range h.StreamingChanges {
		out = slices.DeleteFunc(out, func(t string) bool { return slices.Contains(c.Disable, t) })
		for _, t := range c.Enable {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

func (h *WorkspaceHistory) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Connected %s before the emulator started: Sentinel onboarded, the Defender XDR connector sending incidents and alerts",
		agoText(h.ConnectedAgo))
	if len(h.Tables) > 0 {
		fmt.Fprintf(&b, ", and the streaming entry sending %s", strings.Join(h.Tables, ", "))
	}
	b.WriteString(".")
	for _, c := range h.StreamingChanges {
		fmt.Fprintf(&b, " Then, %s before start, someone changed the entry in the portal", agoText(c.Ago))
		if len(c.Enable) > 0 {
			fmt.Fprintf(&b, ", turning on %s", strings.Join(c.Enable, ", "))
		}
		if len(c.Disable) > 0 {
			fmt.Fprintf(&b, ", turning off %s", strings.Join(c.Disable, ", "))
		}
		b.WriteString(".")
	}
	for _, table := range slices.Sorted(maps.Keys(h.Silent)) {
		fmt.Fprintf(&b, " %s stopped arriving %s before start although the entry still streams it.", table, agoText(h.Silent[table]))
	}
	return b.String()
}

// agoText writes a whole number of days as days, anything else as a Go duration.
func agoText(d Duration) string {
	const day = 24 * time.Hour
	switch v := time.Duration(d); {
	case v == day:
		return "1 day"
	case v > 0 && v%day == 0:
		return fmt.Sprintf("%d days", v/day)
	default:
		return v.String()
	}
}
