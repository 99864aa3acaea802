package prereq

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/outbound"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Credentials hands out the app-only credential of a profile in a customer
// tenant; *credential.Provider implements it.
type Credentials interface {
	Get(profile, tenantID string) (*credential.Credential, error)
}

// Access is the process-wide Azure state the checks build their clients from.
type Access struct {
	Endpoints   cloud.Endpoints
	Outbound    *outbound.Outbound
	Credentials Credentials
}

// Tenant is what the checks need to know about a registered tenant.
type Tenant struct {
	// Name is the resource name ("tenants/contoso") the report is about.
	Name          string
	EntraTenantID string
	Workspace     armclient.Workspace
	// Profile is the credential profile, already defaulted.
	Profile string
	// EntitySync makes missing Defender for Identity sensors a warning.
	EntitySync bool
}

// TenantFrom reads a registered tenant; defaultProfile applies when the tenant
// names none.
func TenantFrom(t *xdrlinkv1.Tenant, defaultProfile string) Tenant {
	profile := t.GetCredentialProfile()
	if profile == "" {
		profile = defaultProfile
	}
	return Tenant{
		Name:          t.GetName(),
		EntraTenantID: t.GetEntraTenantId(),
		Workspace: armclient.Workspace{
			SubscriptionID: t.GetWorkspace().GetSubscriptionId(),
			ResourceGroup:  t.GetWorkspace().GetResourceGroup(),
			Name:           t.GetWorkspace().GetName(),
		},
		Profile:    profile,
		EntitySync: t.GetConnector().GetEntitySync(),
	}
}

// Checker runs the prerequisite checks.
type Checker struct {
	access Access
}

// New returns a Checker over access.
func New(access Access) *Checker {
	return &Checker{access: access}
}

// Check runs every check against t and returns the report. It never fails:
// whatever goes wrong becomes a FAILED check with a remediation.
func (c *Checker) Check(ctx context.Context, t Tenant) *xdrlinkv1.PrerequisiteReport {
	report := &xdrlinkv1.PrerequisiteReport{Tenant: t.Name, CheckTime: timestamppb.Now()}
	cl, err := c.clients(ctx, t)
	if err != nil {
		report.Checks = credentialFailed(t, err)
		return report
	}
	// The groups are independent reads; each fills its own slot so the
	// report keeps a stable order whatever finishes first.
	groups := []func(context.Context, *clients) []*xdrlinkv1.PrerequisiteCheck{
		checkWorkspace, checkProviders, checkRBAC, checkEntraRoles, checkLicenses,
		checkConnectorRequirements, checkDefenderForIdentity,
	}
	results := make([][]*xdrlinkv1.PrerequisiteCheck, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { results[i] = g(ctx, cl) })
	}
	wg.Wait()
	for _, r := range results {
		report.Checks = append(report.Checks, r...)
	}
	report.Ready = ready(report.Checks)
	return report
}

// ready: nothing FAILED and nothing left unknown. Warnings and skipped
// checks do not block onboarding.
func ready(checks []*xdrlinkv1.PrerequisiteCheck) bool {
	for _, ch := range checks {
		switch ch.GetResult() {
		case xdrlinkv1.PrerequisiteCheck_RESULT_FAILED, xdrlinkv1.PrerequisiteCheck_RESULT_UNKNOWN:
			return false
		}
	}
	return true
}

// credentialFailed fails every check: without a token nothing was checked.
func credentialFailed(t Tenant, err error) []*xdrlinkv1.PrerequisiteCheck {
	msg := fmt.Sprintf("could not check: no token for credential profile %q in tenant %s: %s", t.Profile, t.EntraTenantID, kindOf(err))
	remedy := fmt.Sprintf("fix credential profile %q (its secret or certificate) and make sure its app is consented in tenant %s", t.Profile, t.EntraTenantID)
	var out []*xdrlinkv1.PrerequisiteCheck
	for _, e := range catalog() {
		out = append(out, failed(e.id, e.category, msg, remedy))
	}
	return out
}
