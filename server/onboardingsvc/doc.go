// Package onboardingsvc implements xdrlink.v1.OnboardingService. So far only
// CheckPrerequisites, the read-only preflight of onboarding step 1; the
// long-running Onboard, BatchOnboard and Offboard are still unimplemented.
package onboardingsvc
