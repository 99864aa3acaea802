package azuresim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// deployment is a Microsoft.Resources/deployments LRO. It stays Running for
// Options.DeploymentPolls status polls (or until Options.DeploymentDuration
// of sim-clock time has passed, when set), then applies its effects and
// reads Succeeded, or Failed when an effect cannot be applied.
type deployment struct {
	id, name, sub, rg string
	opID              string
	correlationID     string
	mode              string
	parameters        map[string]any
	resources         []templateResource
	started           time.Time
	finished          time.Time
	polls             int
	state             string // Running, Succeeded, Failed
	errCode, errMsg   string
	by                writer // who deployed, for the systemData of what it installs
}

// templateResource is one evaluated template resource.
type templateResource struct {
	Type       string
	Name       string
	Properties map[string]any
}

const contentPackageType = "microsoft.operationalinsights/workspaces/providers/contentpackages"

func deploymentOp(method string, p *armPath) (*armOp, *APIError) {
	versions := apiVersionsResources
	switch {
	case len(p.segs) == 2 && method == http.MethodPut:
		return &armOp{api: "arm.deployments", action: "Microsoft.Resources/deployments/write", versions: versions, handle: (*Sim).armPutDeployment}, nil
	case len(p.segs) == 2 && method == http.MethodGet:
		return &armOp{api: "arm.deployments", action: "Microsoft.Resources/deployments/read", versions: versions, handle: (*Sim).armGetDeployment}, nil
	case len(p.segs) == 4 && strings.EqualFold(p.segs[2], "operationStatuses") && method == http.MethodGet:
		return &armOp{api: "arm.deployments.operationStatuses", action: "Microsoft.Resources/deployments/operationstatuses/read", versions: versions, handle: (*Sim).armDeploymentStatus}, nil
	}
	return nil, NewAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '%s' is not allowed for '%s'.", method, p.raw)
}

func deploymentKey(sub, rg, name string) string { return strings.ToLower(sub + "/" + rg + "/" + name) }

type deploymentBody struct {
	Properties *deploymentProperties `json:"properties"`
}

type deploymentProperties struct {
	Mode         string          `json:"mode"`
	Template     map[string]any  `json:"template"`
	TemplateLink json.RawMessage `json:"templateLink"`
	Parameters   map[string]struct {
		Value any `json:"value"`
	} `json:"parameters"`
}

func invalidTemplate(format string, args ...any) *APIError {
	return NewAPIError(http.StatusBadRequest, "InvalidTemplate", "Deployment template validation failed: '"+format+"'.", args...)
}

func (s *Sim) armPutDeployment(rq *armRequest) error {
	p := rq.path
	name := p.segs[1]
	if !s.resourceGroupExists(rq.tenant, p.subscription, p.resourceGroup) {
		return NewAPIError(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", p.resourceGroup)
	}
	var in deploymentBody
	if err := rq.decodeBody(&in); err != nil {
		return err
	}
	if in.Properties == nil {
		return errBadRequest("The 'properties' object is required.")
	}
	mode := in.Properties.Mode
	if !strings.EqualFold(mode, "Incremental") && !strings.EqualFold(mode, "Complete") {
		return NewAPIError(http.StatusBadRequest, "InvalidDeploymentMode", "The deployment mode '%s' is not valid; use 'Incremental' or 'Complete'.", mode)
	}
	if len(in.Properties.TemplateLink) > 0 {
		return errBadRequest("azuresim does not fetch templateLink; send the template inline.")
	}
	if in.Properties.Template == nil {
		return NewAPIError(http.StatusBadRequest, "InvalidTemplate", "The 'properties.template' object is required.")
	}
	params := map[string]any{}
	for k, v := range in.Properties.Parameters {
		params[k] = v.Value
	}
	resources, aerr := evaluateTemplate(in.Properties.Template, params)
	if aerr != nil {
		return aerr
	}
	// ARM checks the caller may write every resource the template deploys.
	for _, r := range resources {
		if strings.EqualFold(r.Type, contentPackageType) {
			wsName, _, _ := strings.Cut(r.Name, "/")
			scope := "/subscriptions/" + p.subscription + "/resourceGroups/" + p.resourceGroup +
				"/providers/Microsoft.OperationalInsights/workspaces/" + wsName + "/providers/Microsoft.SecurityInsights/contentPackages"
			if !s.allowed(rq.tenant, rq.caller.ObjectID, scope, "Microsoft.SecurityInsights/contentPackages/write") {
				return NewAPIError(http.StatusForbidden, "AuthorizationFailed",
					"The client '%s' with object id '%s' does not have authorization to perform action 'Microsoft.SecurityInsights/contentPackages/write' over scope '%s' or the scope is invalid.",
					rq.caller.AppID, rq.caller.ObjectID, scope)
			}
		}
	}
	key := deploymentKey(p.subscription, p.resourceGroup, name)
	t := rq.tenant
	t.mu.Lock()
	prev := t.deployments[key]
	if prev != nil {
		// A client that lost track of its deployment retries the PUT: count it
		// as a poll, so a deployment nobody polls still ends.
		prev.polls++
		s.progressLocked(t, prev)
	}
	if prev != nil && prev.state == "Running" {
		t.mu.Unlock()
		return NewAPIError(http.StatusConflict, "DeploymentActive",
			"Unable to edit or replace deployment '%s': previous deployment from '%s' is still active (current provisioning state is 'Running'). Please see https://aka.ms/arm-deploy for usage details.",
			name, prev.started.Format(time.RFC1123))
	}
	d := &deployment{
		id:   "/subscriptions/" + p.subscription + "/resourceGroups/" + p.resourceGroup + "/providers/Microsoft.Resources/deployments/" + name,
		name: name, sub: p.subscription, rg: p.resourceGroup, opID: newUUID(), correlationID: rq.w.Header().Get("x-ms-correlation-request-id"),
		mode: mode, parameters: in.Properties.parameterValues(), resources: resources, started: s.clock.Now(), state: "Running",
		by: rq.caller.writer(),
	}
	t.deployments[key] = d
	body := d.body("Accepted")
	t.mu.Unlock()

	statusURL := fmt.Sprintf("%s/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Resources/deployments/%s/operationStatuses/%s?api-version=%s",
		s.URL(), p.subscription, p.resourceGroup, name, d.opID, rq.apiVersion)
	rq.w.Header().Set("Azure-AsyncOperation", statusURL)
	if prev != nil {
		return rq.reply(http.StatusOK, body)
	}
	return rq.reply(http.StatusCreated, body)
}

// parameterValues keeps the {"name":{"value":…}} shape for the response.
func (p *deploymentProperties) parameterValues() map[string]any {
	out := map[string]any{}
	for k, v := range p.Parameters {
		out[k] = map[string]any{"type": "String", "value": v.Value}
	}
	return out
}

// evaluateTemplate validates parameters and evaluates the resources.
func evaluateTemplate(tpl map[string]any, given map[string]any) ([]templateResource, *APIError) {
	declared, _ := tpl["parameters"].(map[string]any)
	params := map[string]any{}
	for name, decl := range declared {
		if v, ok := given[name]; ok {
			params[name] = v
			continue
		}
		d, _ := decl.(map[string]any)
		if dv, ok := d["defaultValue"]; ok {
			params[name] = dv
			continue
		}
		return nil, invalidTemplate("The value for the template parameter '%s' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details", name)
	}
	for name := range given {
		if _, ok := declared[name]; !ok {
			return nil, invalidTemplate("The template parameters '%s' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time", name)
		}
	}
	vars, _ := tpl["variables"].(map[string]any)
	ev := &templateEval{params: params, vars: vars}
	rawRes, _ := tpl["resources"].([]any)
	var out []templateResource
	for i, rr := range rawRes {
		m, ok := rr.(map[string]any)
		if !ok {
			return nil, invalidTemplate("resource %d is not an object", i)
		}
		typ, _ := m["type"].(string)
		nameV, err := ev.evalValue(m["name"])
		if err != nil {
			return nil, invalidTemplate("%v", err)
		}
		propsV, err := ev.evalValue(m["properties"])
		if err != nil {
			return nil, invalidTemplate("%v", err)
		}
		name, _ := nameV.(string)
		props, _ := propsV.(map[string]any)
		if typ == "" || name == "" {
			return nil, invalidTemplate("resource %d needs a type and a name", i)
		}
		out = append(out, templateResource{Type: typ, Name: name, Properties: props})
	}
	return out, nil
}

// progress completes a running deployment when it is due; the caller holds
// the tenant lock. Effects are applied exactly once, on completion.
func (s *Sim) progressLocked(t *TenantState, d *deployment) {
	if d.state != "Running" {
		return
	}
	due := d.polls > s.opts.DeploymentPolls
	if s.opts.DeploymentDuration > 0 && !s.clock.Now().Before(d.started.Add(s.opts.DeploymentDuration)) {
		due = true
	}
	if !due {
		return
	}
	d.finished = s.clock.Now()
	for _, r := range d.resources {
		if !strings.EqualFold(r.Type, contentPackageType) {
			continue // other resource types are accepted and not modelled
		}
		parts := strings.Split(r.Name, "/")
		if len(parts) != 3 || !strings.EqualFold(parts[1], "Microsoft.SecurityInsights") {
			d.state, d.errCode, d.errMsg = "Failed", "InvalidResourceName", fmt.Sprintf("The resource name '%s' is not valid for type '%s'.", r.Name, r.Type)
			return
		}
		ws := t.workspace(d.sub, d.rg, parts[0])
		if ws == nil {
			d.state, d.errCode = "Failed", "ResourceNotFound"
			d.errMsg = fmt.Sprintf("The Resource 'Microsoft.OperationalInsights/workspaces/%s' under resource group '%s' was not found.", parts[0], d.rg)
			return
		}
		cid, _ := r.Properties["contentId"].(string)
		ver, _ := r.Properties["version"].(string)
		if cid == "" || ver == "" {
			d.state, d.errCode, d.errMsg = "Failed", "BadRequest", "contentPackages needs properties.contentId and properties.version"
			return
		}
		installPackage(ws, cid, ver, parts[2], d.by, s.clock.Now())
	}
	d.state = "Succeeded"
}

func (d *deployment) body(state string) map[string]any {
	props := map[string]any{
		"provisioningState": state, "mode": d.mode, "correlationId": d.correlationID,
		"timestamp": d.started.Format(time.RFC3339Nano), "parameters": d.parameters,
		"outputs": map[string]any{}, "templateHash": stableUUID(d.id),
	}
	if !d.finished.IsZero() {
		props["timestamp"] = d.finished.Format(time.RFC3339Nano)
		props["duration"] = "PT" + fmt.Sprint(d.finished.Sub(d.started).Seconds()) + "S"
	}
	if d.state == "Failed" {
		props["error"] = map[string]any{"code": "DeploymentFailed", "message": "At least one resource deployment operation failed.",
			"details": []any{map[string]any{"code": d.errCode, "message": d.errMsg}}}
	}
	return map[string]any{"id": d.id, "name": d.name, "type": "Microsoft.Resources/deployments", "properties": props}
}

func (s *Sim) lookupDeployment(rq *armRequest) (*deployment, error) {
	d := rq.tenant.deployments[deploymentKey(rq.path.subscription, rq.path.resourceGroup, rq.path.segs[1])]
	if d == nil {
		return nil, NewAPIError(http.StatusNotFound, "DeploymentNotFound", "Deployment '%s' could not be found.", rq.path.segs[1])
	}
	return d, nil
}

func (s *Sim) armGetDeployment(rq *armRequest) error {
	t := rq.tenant
	t.mu.Lock()
	d, err := s.lookupDeployment(rq)
	if err != nil {
		t.mu.Unlock()
		return err
	}
	s.progressLocked(t, d)
	body := d.body(d.state)
	t.mu.Unlock()
	return rq.reply(http.StatusOK, body)
}

// armDeploymentStatus is the Azure-AsyncOperation status resource.
func (s *Sim) armDeploymentStatus(rq *armRequest) error {
	t := rq.tenant
	t.mu.Lock()
	d, err := s.lookupDeployment(rq)
	if err == nil && !strings.EqualFold(d.opID, rq.path.segs[3]) {
		err = NewAPIError(http.StatusNotFound, "OperationNotFound", "The operation '%s' could not be found.", rq.path.segs[3])
	}
	if err != nil {
		t.mu.Unlock()
		return err
	}
	d.polls++
	s.progressLocked(t, d)
	body := map[string]any{"status": d.state}
	if d.state == "Failed" {
		body["error"] = map[string]any{"code": d.errCode, "message": d.errMsg}
	}
	t.mu.Unlock()
	return rq.reply(http.StatusOK, body)
}
