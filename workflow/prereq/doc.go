// Package prereq runs onboarding step 1, CHECK_PREREQUISITES (docs/architecture.md):
// one read-only preflight of a customer tenant that reports every check with
// a verdict and, for each failure, a remediation line.
//
// It only reads Azure. The unified-portal lockout, in particular, is not
// provoked with a write: it is reported when a read reveals it and otherwise
// left SKIPPED, because the only documented symptom is the refusal of the
// connector write itself (docs/azure.md §2.5, §11.7).
//
// A call that fails for a reason that is not a verdict (throttled,
// transient, unknown) is reported as FAILED "could not check" with
// remediation "retry", so the report never claims more than it knows.
package prereq
