package azuresim

import "strings"

// armPath is a parsed ARM request path. ARM matches path segments
// case-insensitively (scripts use "resourcegroups"), so this does too.
type armPath struct {
	raw           string
	subscription  string
	resourceGroup string

	// Resource provider endpoints: /subscriptions/{sub}/providers[/{ns}[/register]].
	providers      bool
	providerNS     string
	providerAction string

	// Resource chain under /providers/{namespace}/{type}/{name}/...
	namespace string   // e.g. Microsoft.OperationalInsights
	segs      []string // type/name pairs after namespace
	workspace string   // when namespace/type is OperationalInsights/workspaces

	// Extension under the workspace: .../workspaces/{ws}/providers/{ext}/...
	ext     string   // e.g. Microsoft.SecurityInsights or Microsoft.Authorization
	extSegs []string // segments after ext
}

// parseARMPath parses an ARM request path (or a resource id). A request
// path must be r.URL.Path, which net/http has already unescaped once.
func parseARMPath(p string) (*armPath, bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	ap := &armPath{raw: p}
	if len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") || parts[1] == "" {
		return nil, false
	}
	ap.subscription = parts[1]
	rest := parts[2:]
	if len(rest) >= 1 && strings.EqualFold(rest[0], "providers") {
		// Subscription-level provider operations: list, get, register.
		switch {
		case len(rest) <= 2:
			ap.providers = true
			if len(rest) == 2 {
				ap.providerNS = rest[1]
			}
			return ap, true
		case len(rest) == 3 && (strings.EqualFold(rest[2], "register") || strings.EqualFold(rest[2], "unregister")):
			ap.providers = true
			ap.providerNS = rest[1]
			ap.providerAction = strings.ToLower(rest[2])
			return ap, true
		}
	}
	if len(rest) >= 2 && strings.EqualFold(rest[0], "resourceGroups") {
		ap.resourceGroup = rest[1]
		rest = rest[2:]
	}
	if len(rest) == 0 {
		return ap, true
	}
	if !strings.EqualFold(rest[0], "providers") || len(rest) < 2 {
		return nil, false
	}
	ap.namespace = rest[1]
	rest = rest[2:]
	// Find a nested /providers/ (extension resource).
	for i, s := range rest {
		if strings.EqualFold(s, "providers") && i+1 < len(rest) {
			ap.segs = rest[:i]
			ap.ext = rest[i+1]
			ap.extSegs = rest[i+2:]
			break
		}
	}
	if ap.ext == "" {
		ap.segs = rest
	}
	if strings.EqualFold(ap.namespace, "Microsoft.OperationalInsights") && len(ap.segs) >= 2 && strings.EqualFold(ap.segs[0], "workspaces") {
		ap.workspace = ap.segs[1]
	}
	return ap, true
}

// scope is the path as an ARM scope (for RBAC), without trailing segments
// that name actions.
func (p *armPath) scope() string { return "/" + strings.Trim(p.raw, "/") }
