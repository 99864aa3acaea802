package tenantsvc

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
)

// mutablePaths are the update-mask paths a caller may name.
var mutablePaths = []string{
	"display_name", "entra_tenant_id",
	"workspace", "workspace.subscription_id", "workspace.resource_group", "workspace.name", "workspace.region",
	"connector", "connector.incidents", "connector.alerts", "connector.alert_provider_filter",
	"connector.disable_incident_creation_rules", "connector.entity_sync", "connector.tables",
	"credential_profile", "labels", "access_group",
}

// topLevelPaths is what "*" and an omitted mask expand to.
var topLevelPaths = []string{"display_name", "entra_tenant_id", "workspace", "connector", "credential_profile", "labels", "access_group"}

// ignoredPaths may appear in a mask (REST derives the mask from the body,
// which may echo them) but never change anything: identity, the etag
// precondition and output-only fields.
var ignoredPaths = []string{
	"name", "etag", "state", "last_operation", "last_verification", "create_time", "update_time", "workspace.customer_id",
}

// maskPaths resolves the update mask to the mutable paths it names. An
// omitted mask means the populated top-level fields of in (AIP-134).
func maskPaths(in *xdrlinkv1.Tenant, paths []string) ([]string, error) {
	if len(paths) == 0 {
		m := in.ProtoReflect()
		for _, p := range topLevelPaths {
			if m.Has(m.Descriptor().Fields().ByName(protoreflect.Name(p))) {
				paths = append(paths, p)
			}
		}
		return paths, nil
	}
	var out []string
	for _, p := range paths {
		switch {
		case p == "*":
			out = append(out, topLevelPaths...)
		case slices.Contains(mutablePaths, p), strings.HasPrefix(p, "labels.") && len(p) > len("labels."):
			out = append(out, p)
		case slices.Contains(ignoredPaths, p), underOutputOnly(p):
		default:
			return nil, apierr.InvalidArgument(apierr.Violation("update_mask",
				"unknown or immutable field "+p+"; mutable: "+strings.Join(mutablePaths, ", ")))
		}
	}
	return out, nil
}

// underOutputOnly: p names an OUTPUT_ONLY field of Tenant or a field within
// one ("status.applied.connector_name", which REST derives from a body that
// echoes a tenant it read): ignored like the field itself (AIP-203).
func underOutputOnly(p string) bool {
	md := (&xdrlinkv1.Tenant{}).ProtoReflect().Descriptor()
	for _, name := range strings.Split(p, ".") {
		if md == nil {
			return false
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return false
		}
		if outputOnly(fd) {
			return true
		}
		md = fd.Message()
		if fd.IsMap() || fd.IsList() {
			return false
		}
	}
	return false
}

// applyMask copies the fields named by paths from src to dst; a field unset
// in src is cleared in dst. "labels.<key>" sets or removes one label.
func applyMask(dst, src *xdrlinkv1.Tenant, paths []string) {
	for _, p := range paths {
		if key, ok := strings.CutPrefix(p, "labels."); ok {
			if v, has := src.GetLabels()[key]; has {
				if dst.Labels == nil {
					dst.Labels = map[string]string{}
				}
				dst.Labels[key] = v
			} else {
				delete(dst.Labels, key)
			}
			continue
		}
		copyPath(dst.ProtoReflect(), src.ProtoReflect(), strings.Split(p, "."))
	}
}

func copyPath(dst, src protoreflect.Message, path []string) {
	fd := dst.Descriptor().Fields().ByName(protoreflect.Name(path[0]))
	if len(path) == 1 {
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
		return
	}
	copyPath(dst.Mutable(fd).Message(), src.Get(fd).Message(), path[1:])
}
