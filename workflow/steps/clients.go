package steps

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/streaming"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// clients are the app-only clients of one step call.
type clients struct {
	cred     azcore.TokenCredential
	arm      *armclient.Client
	sentinel *sentinel.Client
}

// app builds (once per step call) the clients that act as the MSSP app.
func (r *Runner) app(s *session) (*clients, error) {
	if s.cl != nil {
		return s.cl, nil
	}
	cred, err := r.access.Credentials.Get(s.t.Profile, s.t.EntraTenantID)
	if err != nil {
		return nil, credentialFailure(s.t, err)
	}
	arm, sc, err := r.sentinelAs(s, cred)
	if err != nil {
		return nil, err
	}
	s.cl = &clients{cred: cred, arm: arm, sentinel: sc}
	return s.cl, nil
}

// sentinelAs builds an ARM and a Sentinel client that authenticate with cred.
func (r *Runner) sentinelAs(s *session, cred azcore.TokenCredential) (*armclient.Client, *sentinel.Client, error) {
	opts := *r.access.Outbound.ARMClientOptions(s.t.EntraTenantID, s.t.Workspace.SubscriptionID)
	// azcore registers a missing resource provider on the 409 it causes: a
	// write, which plan mode must not make.
	opts.DisableRPRegistration = s.plan
	arm, err := armclient.New(cred, &opts)
	if err != nil {
		return nil, nil, asFailure(err)
	}
	sc, err := sentinel.New(arm, s.t.Workspace)
	if err != nil {
		return nil, nil, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT, Message: err.Error(),
			Remedy: "fix the tenant's workspace (subscription id, resource group, name)"}
	}
	return arm, sc, nil
}

// streamingClient is the Defender streaming API client on the delegated
// credential; it refuses app-only tokens (docs/azure.md §3.1), so without a
// sign-in the step must pause.
func (r *Runner) streamingClient(s *session) (*streaming.Client, error) {
	if s.delegated == nil {
		return nil, signInRequired(s.t, "the Defender streaming API accepts only a signed-in user's token",
			r.access.Endpoints.DefenderStreaming.Scope())
	}
	opts := r.access.Outbound.ClientOptions(outbound.APIDefenderStreaming, s.t.EntraTenantID)
	c, err := streaming.NewClient(r.access.Endpoints.DefenderStreaming, s.delegated, &opts)
	if err != nil {
		return nil, asFailure(err)
	}
	return c, nil
}

// logsClient is the Log Analytics query client as the MSSP app.
func (r *Runner) logsClient(s *session) (*loganalytics.Client, error) {
	cl, err := r.app(s)
	if err != nil {
		return nil, err
	}
	opts := r.access.Outbound.ClientOptions(outbound.APILogAnalytics, s.t.EntraTenantID)
	c, err := loganalytics.NewClient(r.access.Endpoints.LogAnalytics, cl.cred, &opts)
	if err != nil {
		return nil, asFailure(err)
	}
	return c, nil
}

func credentialFailure(t Target, err error) *Failure {
	if errors.Is(err, credential.ErrUnknownProfile) {
		return &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_UNKNOWN_CREDENTIAL_PROFILE, Message: err.Error(),
			Remedy: "configure credential profile " + quote(t.Profile) + " on the server, or change the tenant's profile"}
	}
	f := azureFailure("credential "+quote(t.Profile), err)
	f.Remedy = "fix credential profile " + quote(t.Profile) + " (its secret or certificate) and make sure its app is consented in tenant " + t.EntraTenantID
	return f
}
