package azuresim

import (
	"net/http"
	"regexp"
	"strings"
)

// filterClauseRe matches one clause of the OData $filter subset the sim
// supports: properties/<field> eq '<value>', joined with "and".
var filterClauseRe = regexp.MustCompile(`^\(?\s*properties/(contentId|displayName|contentKind|contentProductId|version)\s+eq\s+'([^']*)'\s*\)?$`)

// filterAndRe splits a $filter into its clauses.
var filterAndRe = regexp.MustCompile(`(?i)\s+and\s+`)

type filterClause struct{ field, value string }

func parseContentFilter(f string) ([]filterClause, error) {
	if strings.TrimSpace(f) == "" {
		return nil, nil
	}
	var out []filterClause
	for _, part := range filterAndRe.Split(strings.TrimSpace(f), -1) {
		m := filterClauseRe.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return nil, errBadRequest("The $filter '%s' is not supported; use properties/<contentId|displayName|contentKind|contentProductId|version> eq '<value>' joined with 'and'.", f)
		}
		out = append(out, filterClause{m[1], m[2]})
	}
	return out, nil
}

func matchesFilter(r *armResource, clauses []filterClause) bool {
	for _, c := range clauses {
		v, _ := r.Properties[c.field].(string)
		if !strings.EqualFold(v, c.value) {
			return false
		}
	}
	return true
}

func (s *Sim) installedVersions(w *WorkspaceState) map[string]string {
	w.Tenant.mu.Lock()
	defer w.Tenant.mu.Unlock()
	out := map[string]string{}
	for _, p := range w.packages {
		cid, _ := p.Properties["contentId"].(string)
		v, _ := p.Properties["installedVersion"].(string)
		out[strings.ToLower(cid)] = v
	}
	return out
}

func (s *Sim) armProductPackageList(rq *armRequest) error {
	clauses, err := parseContentFilter(rq.r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	expand := strings.Contains(strings.ToLower(rq.r.URL.Query().Get("$expand")), "packagedcontent")
	installed := s.installedVersions(rq.ws)
	var items []*armResource
	for _, p := range ContentCatalog {
		r := p.productResource(rq.ws, installed[strings.ToLower(p.ContentID)], expand)
		if matchesFilter(r, clauses) {
			items = append(items, r)
		}
	}
	return rq.page(s, nonNilSlice(items))
}

func (s *Sim) armProductPackage(rq *armRequest) error {
	name := rq.path.extSegs[1]
	p, ok := catalogByName(name)
	if !ok {
		return errNotFound("Content product package", name)
	}
	installed := s.installedVersions(rq.ws)
	return rq.reply(http.StatusOK, p.productResource(rq.ws, installed[strings.ToLower(p.ContentID)], true))
}

// armContentPackage installs (PUT), reads or uninstalls an installed package.
func (s *Sim) armContentPackage(rq *armRequest) error {
	name := rq.path.extSegs[1]
	key := strings.ToLower(name)
	t := rq.tenant
	if rq.r.Method != http.MethodPut {
		return rq.getOrDeleteChild(rq.ws.packages, key, "Content package", name, childHooks{})
	}
	var in putBody
	if err := rq.decodeBody(&in); err != nil {
		return err
	}
	cid, _ := in.Properties["contentId"].(string)
	ver, _ := in.Properties["version"].(string)
	kind, _ := in.Properties["contentKind"].(string)
	if cid == "" || ver == "" || kind == "" {
		return errBadRequest("The 'properties.contentId', 'properties.contentKind' and 'properties.version' fields are required.")
	}
	if _, ok := catalogByContentID(cid); !ok {
		return errBadRequest("The content '%s' was not found in the Content Hub catalog.", cid)
	}
	t.mu.Lock()
	_, existed := rq.ws.packages[key]
	res := installPackage(rq.ws, cid, ver, name, rq.caller.writer(), s.clock.Now())
	if dn, _ := in.Properties["displayName"].(string); dn != "" {
		res.Properties["displayName"] = dn
	}
	out := res.clone()
	t.mu.Unlock()
	return rq.replyPut(!existed, out)
}

func (s *Sim) armContentPackageList(rq *armRequest) error {
	items := rq.sortedChildren(rq.ws.packages)
	return rq.page(s, items)
}
