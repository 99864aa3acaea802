package graph

// Entra role template ids (docs/azure.md §8.2). For built-in roles the
// roleDefinitionId of a role assignment is the template id.
const (
	RoleGlobalAdministrator   = "62e90394-69f5-4237-9190-012177145e10"
	RoleSecurityAdministrator = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	RoleSecurityReader        = "5d6b6bb7-de71-4623-b4af-96380a352509"
)

// Service plan ids that signal the Defender capabilities (docs/azure.md §8.3).
const (
	PlanMTP                = "bf28f719-7844-4079-9c78-c1307898e192" // Defender XDR
	PlanWINDEFATP          = "871d91ec-ec1a-452b-a83f-bd76c7d770ef" // MDE P2
	PlanMDELite            = "292cc034-7b7c-4950-aaf5-943befd3f1d4" // MDE P1
	PlanATA                = "14ab5db5-e6c4-4b20-b4bc-13e36fd2227f" // MDI
	PlanATPEnterprise      = "f20fedf3-f3c3-43c3-8267-2bfdd51c0939" // MDO P1
	PlanThreatIntelligence = "8e0c0a52-6a6c-4d40-8370-dd62790dcd70" // MDO P2
	PlanMCAS               = "2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2" // Defender for Cloud Apps
	PlanAADPremiumP2       = "eec0eb4f-6444-4f95-aba0-50c24d67f998" // Entra ID P2
)

// SkuM365E5 is the skuId of Microsoft 365 E5 (SPE_E5, docs/azure.md §8.3).
const SkuM365E5 = "06e2b970-d779-4be0-9168-26d6e502024e"
