package azuresim

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Microsoft Graph v1.0, the calls xdrlink's prerequisite checks make
// (docs/azure.md §8.2-§8.4). The token's tenant decides whose data is read;
// every call checks the audience and one of its permissions.

func init() { registerAPIFamily(registerGraph) }

func registerGraph(s *Sim) {
	s.HandleFunc("GET /v1.0/roleManagement/directory/roleAssignments", s.graphRoleAssignments)
	s.HandleFunc("GET /v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole", s.graphMyDirectoryRoles)
	s.HandleFunc("GET /v1.0/subscribedSkus", s.graphSubscribedSkus)
	s.HandleFunc("GET /v1.0/security/identities/sensors", s.graphMDISensors)
}

// graphError writes Graph's error envelope, with its innerError block.
func graphError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        w.Header().Get("x-ms-request-id"),
			"client-request-id": w.Header().Get("x-ms-correlation-request-id"),
		},
	}})
}

// graphCaller verifies the token and the permission and returns the
// caller's tenant. On failure it has answered.
func (s *Sim) graphCaller(w http.ResponseWriter, r *http.Request, api string, perms []string) (*Caller, *TenantState, bool) {
	SetRequestAPI(r, api)
	c, err := s.RequireToken(r, AudienceGraph, TokenAny)
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			WriteAPIError(w, err)
			return nil, nil, false
		}
		for k, vs := range ae.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		// Graph calls every token failure InvalidAuthenticationToken.
		graphError(w, ae.Status, "InvalidAuthenticationToken", ae.Message)
		return nil, nil, false
	}
	t, ok := s.Tenant(c.TenantID)
	if !ok {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The token's tenant does not exist.")
		return nil, nil, false
	}
	granted := c.Roles
	if c.Kind == TokenDelegated {
		granted = c.Scopes
	}
	for _, p := range perms {
		if slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, p) }) {
			return c, t, true
		}
	}
	graphError(w, graphDeniedStatus, graphDeniedCode, graphDeniedMessage)
	return nil, nil, false
}

// graphList answers a collection with Graph paging: value, and
// @odata.nextLink carrying $skiptoken while more remain.
func (s *Sim) graphList(w http.ResponseWriter, r *http.Request, context string, items []map[string]any) {
	off := 0
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid $skiptoken.")
			return
		}
		off = n
	}
	end := min(off+graphPageSize, len(items))
	page := items[off:end]
	if page == nil {
		page = []map[string]any{}
	}
	body := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + context, "value": page}
	if end < len(items) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(end))
		body["@odata.nextLink"] = s.URL() + (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
	}
	WriteJSON(w, http.StatusOK, body)
}

// graphSelect keeps only the $select-ed properties (and @odata.type).
func graphSelect(r *http.Request, item map[string]any) map[string]any {
	sel := r.URL.Query().Get("$select")
	if sel == "" {
		return item
	}
	out := map[string]any{}
	if v, ok := item["@odata.type"]; ok {
		out["@odata.type"] = v
	}
	for _, f := range strings.Split(sel, ",") {
		if v, ok := item[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}

// graphItems builds a collection's items, one per element of list, each
// with the request's $select applied.
func graphItems[T any](r *http.Request, list []T, item func(T) map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(list))
	for _, v := range list {
		out = append(out, graphSelect(r, item(v)))
	}
	return out
}
