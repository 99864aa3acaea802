package authz

import (
	"maps"
	"slices"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Rule is what one RPC needs.
type Rule struct {
	// Role is the least role the caller must hold over some tenant; 0
	// means any authenticated caller. The services check each tenant the
	// call touches against the caller's role over its access group.
	Role Role
	// Mutates marks calls that change something: they are audited.
	Mutates bool
}

var (
	read   = Rule{Role: Viewer}
	change = Rule{Role: Operator, Mutates: true}
	admin  = Rule{Role: Admin}
)

// methods holds every RPC of the API. A method missing here is refused
// (tests check that every registered method has a rule), so a new RPC is
// never served without a decision about who may call it.
var methods = map[string]Rule{
	xdrlinkv1.AccessService_GetCaller_FullMethodName:    {},
	xdrlinkv1.AccessService_CreateApiKey_FullMethodName: {Role: Admin, Mutates: true},
	xdrlinkv1.AccessService_GetApiKey_FullMethodName:    admin,
	xdrlinkv1.AccessService_ListApiKeys_FullMethodName:  admin,
	xdrlinkv1.AccessService_RevokeApiKey_FullMethodName: {Role: Admin, Mutates: true},

	xdrlinkv1.AuditService_ListAuditEvents_FullMethodName: admin,

	// Prerequisite checks only read, from Azure: viewers may run them.
	xdrlinkv1.OnboardingService_CheckPrerequisites_FullMethodName: read,
	xdrlinkv1.OnboardingService_Onboard_FullMethodName:            change,
	xdrlinkv1.OnboardingService_BatchOnboard_FullMethodName:       change,
	xdrlinkv1.OnboardingService_Offboard_FullMethodName:           change,

	xdrlinkv1.OperationService_ResumeOperation_FullMethodName: change,
	xdrlinkv1.OperationService_WatchOperation_FullMethodName:  read,
	longrunningpb.Operations_ListOperations_FullMethodName:    read,
	longrunningpb.Operations_GetOperation_FullMethodName:      read,
	longrunningpb.Operations_WaitOperation_FullMethodName:     read,
	longrunningpb.Operations_CancelOperation_FullMethodName:   change,
	longrunningpb.Operations_DeleteOperation_FullMethodName:   change,

	xdrlinkv1.TableService_ListTables_FullMethodName:          read,
	xdrlinkv1.TableService_GetTableSettings_FullMethodName:    read,
	xdrlinkv1.TableService_UpdateTableSettings_FullMethodName: change,

	xdrlinkv1.TenantService_CreateTenant_FullMethodName:       change,
	xdrlinkv1.TenantService_BatchCreateTenants_FullMethodName: change,
	xdrlinkv1.TenantService_GetTenant_FullMethodName:          read,
	xdrlinkv1.TenantService_ListTenants_FullMethodName:        read,
	xdrlinkv1.TenantService_UpdateTenant_FullMethodName:       change,
	xdrlinkv1.TenantService_DeleteTenant_FullMethodName:       change,

	xdrlinkv1.VerificationService_Verify_FullMethodName:            change,
	xdrlinkv1.VerificationService_BatchVerify_FullMethodName:       change,
	xdrlinkv1.VerificationService_ListVerifications_FullMethodName: read,
	xdrlinkv1.VerificationService_GetVerification_FullMethodName:   read,
}

// MethodRule returns the rule of a full gRPC method name; false when the
// method has none (refuse it).
func MethodRule(fullMethod string) (Rule, bool) {
	r, ok := methods[fullMethod]
	return r, ok
}

// Public says whether a method needs no authentication: health checks
// (load balancers and probes carry no credentials) and, when it is served,
// reflection, which describes the API but reads no data.
func Public(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// Methods lists the methods that have a rule, sorted.
func Methods() []string {
	return slices.Sorted(maps.Keys(methods))
}
