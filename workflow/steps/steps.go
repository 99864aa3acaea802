package steps

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/outbound"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/prereq"
	"github.com/xdrlink/xdrlink/workflow/verification"
)

// OnboardSteps are the onboarding steps in the order they must run.
var OnboardSteps = []xdrlinkv1.StepKind{
	xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES,
	xdrlinkv1.StepKind_STEP_KIND_ONBOARD_WORKSPACE,
	xdrlinkv1.StepKind_STEP_KIND_INSTALL_SOLUTION,
	xdrlinkv1.StepKind_STEP_KIND_DISABLE_INCIDENT_CREATION_RULES,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS,
	xdrlinkv1.StepKind_STEP_KIND_VERIFY,
}

// OffboardSteps undo the onboarding writes in reverse order: the data flows
// stop before the incident-creation rules come back, so no incident is
// created twice meanwhile.
var OffboardSteps = []xdrlinkv1.StepKind{
	xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_EVENTS,
	xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_ENTITIES,
	xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_INCIDENTS_AND_ALERTS,
	xdrlinkv1.StepKind_STEP_KIND_RESTORE_INCIDENT_CREATION_RULES,
}

// TableSettingsSteps apply a tenant's desired tables to the streaming entry.
var TableSettingsSteps = []xdrlinkv1.StepKind{xdrlinkv1.StepKind_STEP_KIND_APPLY_TABLE_SETTINGS}

// VerifySteps verify a tenant's ingestion.
var VerifySteps = []xdrlinkv1.StepKind{xdrlinkv1.StepKind_STEP_KIND_VERIFY}

// Target is the spec of one tenant: what its Azure side should look like.
type Target struct {
	// Name is the tenant's resource name ("tenants/contoso").
	Name          string
	EntraTenantID string
	Workspace     armclient.Workspace
	// Region is the workspace's location, the solution template's
	// "workspace-location"; empty reads it from the workspace.
	Region string
	// Profile is the credential profile, already defaulted.
	Profile string
	// Incidents and Alerts select the connector's data types.
	Incidents, Alerts bool
	// AlertProviders are sentinel.Provider* values (filteredProviders.alerts);
	// empty means every product's alerts.
	AlertProviders               []string
	DisableIncidentCreationRules bool
	EntitySync                   bool
	// Tables are the advanced-hunting tables to stream.
	Tables []string

	// Observed, Operation and WindowDays are not spec but the run's
	// context: what xdrlink last observed of the tables (status.tables;
	// verification judges against it), the operation running the step
	// (observations name it), and a VERIFY's days of daily counts (0: 14).
	Observed   map[string]*xdrlinkv1.TableObservation
	Operation  string
	WindowDays int
}

// operationName is the running operation's resource name,
// "operations/{id}", as observations and reports name it.
func (t Target) operationName() string {
	if t.Operation == "" {
		return ""
	}
	return "operations/" + t.Operation
}

// Applied is what xdrlink changed in Azure for a tenant, so offboarding
// undoes exactly that and nothing else. Each step records a change before it
// makes it (see Access.Checkpoint), so a record may name a change whose write
// failed; every undo reads first and writes only what differs, which makes
// such a record harmless.
type Applied struct {
	// ConnectorName is the MicrosoftThreatProtection connector xdrlink wrote;
	// ConnectorCreated is true when xdrlink created it (offboarding deletes
	// it) rather than updated one that existed (offboarding leaves it).
	ConnectorName    string `json:"connectorName,omitempty"`
	ConnectorCreated bool   `json:"connectorCreated,omitempty"`
	// DisabledRules are incident-creation rules xdrlink turned off.
	DisabledRules []DisabledRule `json:"disabledRules,omitempty"`
	// EntityProvidersAdded are entity providers xdrlink added to
	// settings/EntityAnalytics; EntityAnalyticsCreated is true when xdrlink
	// created that setting.
	EntityProvidersAdded   []string `json:"entityProvidersAdded,omitempty"`
	EntityAnalyticsCreated bool     `json:"entityAnalyticsCreated,omitempty"`
	// StreamingEntryID is the Defender streaming entry xdrlink wrote;
	// StreamingEntryCreated is true when xdrlink created it. Otherwise
	// StreamingPreviousCategories are the (writable) categories it had
	// before, which offboarding puts back.
	StreamingEntryID            string   `json:"streamingEntryId,omitempty"`
	StreamingEntryCreated       bool     `json:"streamingEntryCreated,omitempty"`
	StreamingPreviousCategories []string `json:"streamingPreviousCategories,omitempty"`
	// StreamingTables are the tables the entry streams as xdrlink left it.
	StreamingTables []string `json:"streamingTables,omitempty"`
	// SolutionVersion is the Content Hub solution version installed (or
	// found installed). Offboarding keeps the solution.
	SolutionVersion string `json:"solutionVersion,omitempty"`
}

// DisabledRule is one incident-creation rule xdrlink turned off.
type DisabledRule struct {
	Name            string `json:"name"`
	ProductFilter   string `json:"productFilter,omitempty"`
	DisplayName     string `json:"displayName,omitempty"`
	PreviousEnabled bool   `json:"previousEnabled"`
}

// clone is a deep copy, so plan mode can run the steps on a scratch copy.
func (a *Applied) clone() *Applied {
	c := *a
	c.DisabledRules = slices.Clone(a.DisabledRules)
	c.EntityProvidersAdded = slices.Clone(a.EntityProvidersAdded)
	c.StreamingPreviousCategories = slices.Clone(a.StreamingPreviousCategories)
	c.StreamingTables = slices.Clone(a.StreamingTables)
	return &c
}

// Write is an Azure write a step made or, in plan mode, would make.
type Write struct {
	Method string `json:"method"`
	// Resource is the ARM id or API path written.
	Resource    string `json:"resource"`
	Description string `json:"description"`
}

// PortalStep is a table the streaming API cannot turn on; a person has to
// tick it in the portal.
type PortalStep struct {
	Table string `json:"table"`
	URL   string `json:"url"`
	// Path is where to click, from the portal's start page.
	Path string `json:"path"`
}

// Result is what a step found and did.
type Result struct {
	// Skipped: nothing to do (already as desired, or not asked for).
	Skipped bool
	// Message tells people what was found and changed.
	Message     string
	Writes      []Write
	PortalSteps []PortalStep
	// Observations are what the step saw of tables in Azure, by table
	// name, to merge into the tenant's status.tables.
	Observations map[string]*xdrlinkv1.TableObservation
	// Report is the VERIFY step's ingestion report, stored with the step's
	// outcome.
	Report *xdrlinkv1.IngestionReport
}

// Failure is the only error type the steps return.
type Failure struct {
	Reason xdrlinkv1.ErrorReason
	// Message says what happened, naming the Azure call.
	Message string
	// Remedy says what a person should do.
	Remedy string
	// Permission names the missing RBAC action or Entra role when Reason is
	// PERMISSION_MISSING and Azure said which.
	Permission  string
	AzureCode   string
	AzureStatus int
	// Transient: running the step again later may succeed without a human.
	Transient  bool
	RetryAfter time.Duration
	// SignInRequired: the step needs the delegated sign-in of a member
	// Security Administrator, with tokens for SignInAudiences (OAuth scopes).
	SignInRequired  bool
	SignInAudiences []string
}

func (f *Failure) Error() string {
	if f.AzureCode != "" {
		return fmt.Sprintf("%s (%s): %s", f.Reason, f.AzureCode, f.Message)
	}
	return fmt.Sprintf("%s: %s", f.Reason, f.Message)
}

// Access is the process-wide Azure state the steps build clients from.
type Access struct {
	Endpoints   cloud.Endpoints
	Outbound    *outbound.Outbound
	Credentials prereq.Credentials
	// DeploymentPollFrequency is how often the solution deployment is polled
	// (default 5s).
	DeploymentPollFrequency time.Duration
	// Thresholds judge verification verdicts; zero means
	// verification.DefaultThresholds.
	Thresholds verification.Thresholds
	// Checkpoint, when set, is called with the tenant's Applied just before
	// each Azure write that Applied records, so the caller can persist the
	// intent: a crash between the write and the end of the step then cannot
	// lose the record of what to undo. An error aborts the step before the
	// write (transient failure).
	Checkpoint func(ctx context.Context, t Target, a Applied) error
}

// Runner runs the steps of one tenant at a time. It is safe for concurrent
// use by many tenants.
type Runner struct {
	access  Access
	checker *prereq.Checker
}

// NewRunner returns a Runner over access.
func NewRunner(access Access) *Runner {
	if access.Thresholds == (verification.Thresholds{}) {
		access.Thresholds = verification.DefaultThresholds()
	}
	return &Runner{access: access, checker: prereq.New(prereq.Access{
		Endpoints: access.Endpoints, Outbound: access.Outbound, Credentials: access.Credentials,
	})}
}

// step is one step's implementation. plan: read only and report the writes.
type step func(r *Runner, ctx context.Context, s *session) (Result, error)

// session is one step call: the target, its records, the clients built so
// far and the writes made.
type session struct {
	t         Target
	a         *Applied
	delegated azcore.TokenCredential
	plan      bool
	cl        *clients
	writes    []Write
}

var onboard = map[xdrlinkv1.StepKind]step{
	xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES:             (*Runner).checkPrerequisites,
	xdrlinkv1.StepKind_STEP_KIND_ONBOARD_WORKSPACE:               (*Runner).onboardWorkspace,
	xdrlinkv1.StepKind_STEP_KIND_INSTALL_SOLUTION:                (*Runner).installSolution,
	xdrlinkv1.StepKind_STEP_KIND_DISABLE_INCIDENT_CREATION_RULES: (*Runner).disableRules,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS:    (*Runner).connectIncidents,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES:                (*Runner).connectEntities,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS:                  (*Runner).connectEvents,
	xdrlinkv1.StepKind_STEP_KIND_VERIFY:                          (*Runner).verify,
	xdrlinkv1.StepKind_STEP_KIND_APPLY_TABLE_SETTINGS:            (*Runner).applyTableSettings,
}

var offboard = map[xdrlinkv1.StepKind]step{
	xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_EVENTS:               (*Runner).disconnectEvents,
	xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_ENTITIES:             (*Runner).disconnectEntities,
	xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_INCIDENTS_AND_ALERTS: (*Runner).disconnectIncidents,
	xdrlinkv1.StepKind_STEP_KIND_RESTORE_INCIDENT_CREATION_RULES: (*Runner).restoreRules,
}

// Onboard runs one onboarding step for t. a holds what earlier steps
// applied; the step adds to it (the caller persists it after the step,
// whatever the outcome). delegated is the customer user's credential from
// the delegated sign-in, nil until there is one. plan (validate_only) reads
// only: no write is made, a is left untouched, and Result.Writes lists the
// writes the step would make. The error is nil or a *Failure.
func (r *Runner) Onboard(ctx context.Context, kind xdrlinkv1.StepKind, t Target, a *Applied, delegated azcore.TokenCredential, plan bool) (Result, error) {
	return r.run(ctx, onboard, kind, t, a, delegated, plan)
}

// Offboard runs one offboarding step: it undoes what a records and clears
// what it undid, so running it again is a no-op. Arguments as for Onboard.
func (r *Runner) Offboard(ctx context.Context, kind xdrlinkv1.StepKind, t Target, a *Applied, delegated azcore.TokenCredential, plan bool) (Result, error) {
	return r.run(ctx, offboard, kind, t, a, delegated, plan)
}

func (r *Runner) run(ctx context.Context, steps map[xdrlinkv1.StepKind]step, kind xdrlinkv1.StepKind, t Target, a *Applied, delegated azcore.TokenCredential, plan bool) (Result, error) {
	fn, ok := steps[kind]
	if !ok {
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL, Message: fmt.Sprintf("%v is not a step of this workflow", kind)}
	}
	if a == nil {
		a = &Applied{}
	}
	if plan {
		a = a.clone() // the step's records of intent are discarded
	}
	s := &session{t: t, a: a, delegated: delegated, plan: plan}
	res, err := fn(r, ctx, s)
	res.Writes = append(s.writes, res.Writes...)
	if err != nil {
		return res, asFailure(err)
	}
	return res, nil
}

// write makes one Azure write through do, checkpointing Applied first (its
// records of intent are already set), and lists it in the step's writes once
// it succeeded. In plan mode do is not called: the write is only listed.
func (r *Runner) write(ctx context.Context, s *session, w Write, do func() error) error {
	if s.plan {
		s.writes = append(s.writes, w)
		return nil
	}
	if r.access.Checkpoint != nil {
		if err := r.access.Checkpoint(ctx, s.t, *s.a); err != nil {
			return &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL, Transient: true,
				Message: "could not record the intended change before writing: " + err.Error(), Remedy: "retry"}
		}
	}
	if err := do(); err != nil {
		return err
	}
	s.writes = append(s.writes, w)
	return nil
}
