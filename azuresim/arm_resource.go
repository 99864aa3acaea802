package azuresim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// armResource is a stored Sentinel child resource in its wire shape.
type armResource struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Kind       string         `json:"kind,omitempty"`
	Etag       string         `json:"etag,omitempty"`
	Properties map[string]any `json:"properties"`
	// SystemData is never changed in place (a write replaces it), so
	// clones may share it.
	SystemData *SystemData `json:"systemData,omitempty"`
}

// SystemData is ARM's record of who created and last changed a resource.
type SystemData struct {
	CreatedBy          string `json:"createdBy"`
	CreatedByType      string `json:"createdByType"` // "User" or "Application"
	CreatedAt          string `json:"createdAt"`
	LastModifiedBy     string `json:"lastModifiedBy"`
	LastModifiedByType string `json:"lastModifiedByType"`
	LastModifiedAt     string `json:"lastModifiedAt"`
}

// writer is who writes a resource, as systemData names it.
type writer struct{ name, typ string }

// seedWriterOf writes what the emulator creates on its own.
var seedWriterOf = writer{seedWriter, seedWriterType}

// newSystemData records a write by w at now; an update keeps the creation
// fields of the previous version.
func newSystemData(w writer, now time.Time, prev *armResource) *SystemData {
	at := now.UTC().Format(time.RFC3339Nano)
	sd := &SystemData{CreatedBy: w.name, CreatedByType: w.typ, CreatedAt: at, LastModifiedBy: w.name, LastModifiedByType: w.typ, LastModifiedAt: at}
	if prev != nil && prev.SystemData != nil {
		sd.CreatedBy, sd.CreatedByType, sd.CreatedAt = prev.SystemData.CreatedBy, prev.SystemData.CreatedByType, prev.SystemData.CreatedAt
	}
	return sd
}

// writer names a caller as systemData does: the UPN of a user, else the
// client id of an app.
func (c *Caller) writer() writer {
	if c.Kind == TokenDelegated {
		return writer{c.UPN, "User"}
	}
	return writer{c.AppID, "Application"}
}

// writtenNow is the systemData of a resource this request writes now.
func (s *Sim) writtenNow(rq *armRequest, prev *armResource) *SystemData {
	return newSystemData(rq.caller.writer(), s.clock.Now(), prev)
}

// clone deep-copies a resource so callers never share maps with the store.
// The result is what a JSON round trip gives (nil properties become {});
// properties of JSON's own types are copied directly, anything else goes
// through encoding/json.
func (r *armResource) clone() *armResource {
	if r == nil {
		return nil
	}
	c := *r
	props, ok := copyJSONValue(r.Properties)
	if !ok {
		b, _ := json.Marshal(r)
		c = armResource{}
		_ = json.Unmarshal(b, &c)
		props = c.Properties
	}
	c.Properties, _ = props.(map[string]any)
	if c.Properties == nil {
		c.Properties = map[string]any{}
	}
	return &c
}

// copyJSONValue deep-copies a value made of the types encoding/json decodes
// into; ok is false when it meets any other type. Like a round trip, a nil
// map or slice copies as nil.
func copyJSONValue(v any) (_ any, ok bool) {
	switch v := v.(type) {
	case nil, string, bool, float64:
		return v, true
	case map[string]any:
		if v == nil {
			return nil, true
		}
		m := make(map[string]any, len(v))
		for k, e := range v {
			if m[k], ok = copyJSONValue(e); !ok {
				return nil, false
			}
		}
		return m, true
	case []any:
		if v == nil {
			return nil, true
		}
		s := make([]any, len(v))
		for i, e := range v {
			if s[i], ok = copyJSONValue(e); !ok {
				return nil, false
			}
		}
		return s, true
	}
	return nil, false
}

// Resource is a Sentinel child resource as the admin API and Go accessors
// return it (a copy; changing it changes nothing).
type Resource = armResource

// putBody is the common shape of PUT bodies for Sentinel child resources.
type putBody struct {
	Kind       string         `json:"kind"`
	Etag       string         `json:"etag"`
	Properties map[string]any `json:"properties"`
}

// normalizeETag strips quoting and the weak prefix so "\"x\"" == "x".
func normalizeETag(e string) string {
	e = strings.TrimSpace(e)
	e = strings.TrimPrefix(e, "W/")
	return strings.Trim(e, `"`)
}

// checkETag enforces the optimistic-concurrency rule on update: when the
// client sends an etag (body or If-Match) it must match the stored one.
func (rq *armRequest) checkETag(bodyETag string, existing *armResource, kind, name string) error {
	want := bodyETag
	if existing == nil && createIgnoresBodyETag {
		want = ""
	}
	if im := rq.r.Header.Get("If-Match"); im != "" && im != "*" {
		want = im
	}
	if want == "" {
		return nil
	}
	if existing == nil || normalizeETag(existing.Etag) != normalizeETag(want) {
		return NewAPIError(etagMismatchStatus, etagMismatchCode,
			"The etag '%s' provided for %s '%s' does not match the current etag of the resource. Read the resource again and retry with its etag.", want, kind, name)
	}
	return nil
}

// sortedResources returns clones sorted by name.
func sortedResources(m map[string]*armResource) []*armResource {
	out := make([]*armResource, 0, len(m))
	for _, r := range m {
		out = append(out, r.clone())
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// sortedChildren is sortedResources of one of the workspace's child
// resource maps, read under the tenant lock.
func (rq *armRequest) sortedChildren(m map[string]*armResource) []*armResource {
	rq.tenant.mu.Lock()
	defer rq.tenant.mu.Unlock()
	return sortedResources(m)
}

// page answers a list with ARM paging: {value, nextLink}; nextLink repeats
// the request URL with $skipToken set to the next offset.
func (rq *armRequest) page(s *Sim, items []*armResource) error {
	off := 0
	if tok := rq.r.URL.Query().Get("$skipToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return errBadRequest("The $skipToken '%s' is invalid.", tok)
		}
		off = n
	}
	if off > len(items) {
		off = len(items)
	}
	// Compared as n < len-off, not off+n < len: both come from the query
	// and their sum can overflow.
	if top := rq.r.URL.Query().Get("$top"); top != "" {
		if n, err := strconv.Atoi(top); err == nil && n >= 0 && n < len(items)-off {
			items = items[:off+n]
		}
	}
	end := min(off+armPageSize, len(items))
	body := map[string]any{"value": items[off:end]}
	if end < len(items) {
		q := rq.r.URL.Query()
		q.Set("$skipToken", strconv.Itoa(end))
		u := url.URL{Path: rq.r.URL.Path, RawQuery: q.Encode()}
		body["nextLink"] = s.URL() + u.String()
	}
	return rq.reply(http.StatusOK, body)
}

// childID is the ARM id of a SecurityInsights child resource.
func childID(ws *WorkspaceState, typ, name string) string {
	return ws.Spec.ResourceID() + "/providers/Microsoft.SecurityInsights/" + typ + "/" + name
}

// childHooks are what one type of Sentinel child resource adds to the shared
// GET and DELETE handling of getOrDeleteChild; the zero value adds nothing.
type childHooks struct {
	// readable, when set, may refuse to return a found resource on GET.
	readable func(cur *armResource) error
	// deletable, when set, may refuse to delete a found resource. It runs
	// outside the tenant lock, so lookup and removal are then two sections.
	deletable func(cur *armResource) error
	// deletedLocked, when set, runs in the tenant-locked section that
	// removes the resource (so before the 200 reply).
	deletedLocked func()
}

// getOrDeleteChild answers a GET or DELETE (any method but GET is taken for
// DELETE; the type's handler keeps PUT) of the child resource m[key]: GET
// replies 200 with a copy, or 404 NotFound "<noun> '<name>' was not found."
// when absent; DELETE removes it and replies 200 {}, or 204 when absent.
func (rq *armRequest) getOrDeleteChild(m map[string]*armResource, key, noun, name string, h childHooks) error {
	t := rq.tenant
	if rq.r.Method == http.MethodGet {
		t.mu.Lock()
		cur := m[key].clone()
		t.mu.Unlock()
		if cur == nil {
			return errNotFound(noun, name)
		}
		if h.readable != nil {
			if err := h.readable(cur); err != nil {
				return err
			}
		}
		return rq.reply(http.StatusOK, cur)
	}
	remove := func() { // the caller holds t.mu
		delete(m, key)
		if h.deletedLocked != nil {
			h.deletedLocked()
		}
	}
	t.mu.Lock()
	cur := m[key]
	if cur != nil && h.deletable == nil { // no guard: look up and remove in one section
		remove()
	}
	t.mu.Unlock()
	if cur == nil {
		rq.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if h.deletable != nil {
		if err := h.deletable(cur); err != nil {
			return err
		}
		t.mu.Lock()
		remove()
		t.mu.Unlock()
	}
	return rq.reply(http.StatusOK, map[string]any{})
}
