// Package steps holds the Azure side of onboarding and offboarding one
// customer tenant: one idempotent function per step in docs/architecture.md
// ("Steps"), run by the workflow engine one at a time.
//
// Each step reads Azure, compares it with the tenant's Target and writes
// only what differs, so running a step again, after success or after a crash
// at any point, changes nothing more. Where a retry could otherwise create a
// second resource the step finds the existing one first or uses a
// deterministic name (ConnectorName, the solution's deployment name, the
// portal's streaming entry id).
//
// What onboarding changed is recorded in Applied, which the caller persists
// with the tenant's status; offboarding undoes exactly those records and
// clears each as it goes, leaving everything xdrlink found in place alone.
// The records are written before the change (Access.Checkpoint lets the
// caller persist them at that moment), because some changes cannot be
// attributed afterwards: a disabled rule looks the same whoever disabled it.
// Sentinel onboarding and the Content Hub solution are not undone.
//
// Plan mode (validate_only) runs the same reads and lists the writes a step
// would make, without making any and without touching Applied.
//
// Steps fail only with *Failure: an ErrorReason, a remedy for people, the
// Azure code, and whether a retry may help (azerr's classification). Two
// steps need a person: the first Defender XDR connect when Azure answers
// "Missing consent", and every Defender streaming API call; without a
// delegated credential they fail with SignInRequired and the token audiences
// the sign-in must cover.
package steps
