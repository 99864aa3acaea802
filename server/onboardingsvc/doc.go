// Package onboardingsvc implements xdrlink.v1.OnboardingService:
// CheckPrerequisites, the read-only preflight of onboarding step 1, and the
// long-running Onboard, BatchOnboard and Offboard, which it hands to the
// workflow engine.
package onboardingsvc
