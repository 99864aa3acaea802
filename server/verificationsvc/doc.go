// Package verificationsvc implements xdrlink.v1.VerificationService: Verify
// and BatchVerify start the engine's operations that query a tenant's
// workspace and store an IngestionReport; ListVerifications and
// GetVerification read the stored reports. A batch selects its tenants as
// BatchOnboard does (tenantsvc.Select).
package verificationsvc
