package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// sandboxTables are what the sandbox's tenants ask to stream: two tables
// the streaming API writes and one it refuses (a portal step), so a tour
// shows both. Customers connected before the sandbox started ask for what
// they already stream, so their first verification shows their past as it
// was (a table that stopped, say) rather than a change xdrlink makes.
var sandboxTables = []string{"DeviceProcessEvents", "DeviceNetworkEvents", "EmailEvents"}

// sandboxGroups are the access groups the sandbox's customers are dealt
// into, in turn: the emulator's demo staff hold roles scoped to them
// (east-operator@ operates pod-east, west-viewer@ views pod-west).
var sandboxGroups = []string{"pod-east", "pod-west"}

// registerSandboxCustomers registers the emulator's customers (label
// sandbox=true) when the registry is empty, so a newcomer's first start
// has tenants to try. A registry that has any tenant is left alone.
func registerSandboxCustomers(ctx context.Context, st store.Store, customers []azuresim.DemoCustomer) (int, error) {
	page, err := st.ListTenants(ctx, store.TenantQuery{PageSize: 1})
	if err != nil || len(page.Tenants) > 0 {
		return 0, err
	}
	n := 0
	for _, c := range customers {
		if c.WorkspaceName == "" {
			continue // a tenant without a workspace cannot be onboarded
		}
		tables := sandboxTables
		if len(c.Tables) > 0 {
			tables = c.Tables
		}
		labels := map[string]string{"sandbox": "true"}
		if c.Kind != "" {
			labels["kind"] = string(c.Kind)
		}
		t := &xdrlinkv1.Tenant{
			DisplayName: c.DisplayName, EntraTenantId: c.EntraTenantID,
			Workspace: &xdrlinkv1.Workspace{SubscriptionId: c.SubscriptionID, ResourceGroup: c.ResourceGroup,
				Name: c.WorkspaceName, Region: c.Region},
			Connector: &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true, DisableIncidentCreationRules: true,
				EntitySync: true, Tables: tables},
			Labels:      labels,
			State:       xdrlinkv1.Tenant_STATE_REGISTERED,
			AccessGroup: sandboxGroups[n%len(sandboxGroups)],
		}
		rec, err := tenantrecord.Spec(c.ID, t)
		if err != nil {
			return n, err
		}
		if _, err := st.CreateTenant(ctx, rec); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return n, fmt.Errorf("sandbox tenant %s: %w", c.ID, err)
		}
		n++
	}
	return n, nil
}
