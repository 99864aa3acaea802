package sentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// KindMicrosoftThreatProtection is the Defender XDR connector kind (docs/azure.md §2).
const KindMicrosoftThreatProtection = "MicrosoftThreatProtection"

// DataTypeState values (docs/azure.md §2.3).
const (
	StateEnabled  = "Enabled"
	StateDisabled = "Disabled"
)

// MtpProvider values for filteredProviders.alerts (docs/azure.md §2.3).
const (
	ProviderDefenderForCloudApps = "microsoftDefenderForCloudApps"
	ProviderDefenderForIdentity  = "microsoftDefenderForIdentity"
)

// DataConnector is any data connector as listed (kind decides the properties' shape).
type DataConnector = Resource

// MTPDataConnector is the Microsoft Defender XDR connector (docs/azure.md §2.3).
type MTPDataConnector struct {
	ID         string        `json:"id,omitempty"`
	Name       string        `json:"name,omitempty"`
	Type       string        `json:"type,omitempty"`
	Kind       string        `json:"kind"`
	Etag       string        `json:"etag,omitempty"`
	Properties MTPProperties `json:"properties"`
}

// MTPProperties is MTPDataConnectorProperties. Properties this type does not model are
// kept as read, so PutMTPDataConnector with properties from FindMTPDataConnector sends
// them back.
type MTPProperties struct {
	// TenantID is the customer tenant the incidents and alerts come from (required).
	TenantID  string       `json:"tenantId"`
	DataTypes MTPDataTypes `json:"dataTypes"`
	// FilteredProviders limits which products' alerts flow; nil means all (§2.3).
	FilteredProviders *MTPFilteredProviders `json:"filteredProviders,omitempty"`

	unknown map[string]json.RawMessage
}

// MTPDataTypes selects incidents (required) and alerts (optional). Data types this type
// does not model are kept as read: dropping one from the PUT would turn it off.
type MTPDataTypes struct {
	Incidents DataTypeState  `json:"incidents"`
	Alerts    *DataTypeState `json:"alerts,omitempty"`

	unknown map[string]json.RawMessage
}

// UnmarshalJSON implements json.Unmarshaler, keeping unmodelled properties.
func (p *MTPProperties) UnmarshalJSON(b []byte) error {
	type plain MTPProperties
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	var err error
	p.unknown, err = unknownMembers(b, "tenantId", "dataTypes", "filteredProviders")
	return err
}

// MarshalJSON implements json.Marshaler, sending unmodelled properties back.
func (p MTPProperties) MarshalJSON() ([]byte, error) {
	type plain MTPProperties
	return withMembers(plain(p), p.unknown)
}

// UnmarshalJSON implements json.Unmarshaler, keeping unmodelled data types.
func (d *MTPDataTypes) UnmarshalJSON(b []byte) error {
	type plain MTPDataTypes
	if err := json.Unmarshal(b, (*plain)(d)); err != nil {
		return err
	}
	var err error
	d.unknown, err = unknownMembers(b, "incidents", "alerts")
	return err
}

// MarshalJSON implements json.Marshaler, sending unmodelled data types back.
func (d MTPDataTypes) MarshalJSON() ([]byte, error) {
	type plain MTPDataTypes
	return withMembers(plain(d), d.unknown)
}

// unknownMembers returns the members of the JSON object b whose names are not in known,
// compared case-insensitively as encoding/json matches them to fields.
func unknownMembers(b []byte, known ...string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for name := range all {
		for _, k := range known {
			if strings.EqualFold(name, k) {
				delete(all, name)
				break
			}
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// withMembers marshals v (a struct) and adds extra members it did not write.
func withMembers(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	for name, raw := range extra {
		if _, ok := obj[name]; !ok {
			obj[name] = raw
		}
	}
	return json.Marshal(obj)
}

// DataTypeState is {"state": "Enabled"|"Disabled"}.
type DataTypeState struct {
	State string `json:"state"`
}

// MTPFilteredProviders lists the providers whose alerts are kept; Alerts is required when
// the object is present.
type MTPFilteredProviders struct {
	Alerts []string `json:"alerts"`
}

// DecodeMTP decodes a listed connector of kind MicrosoftThreatProtection.
func DecodeMTP(r DataConnector) (*MTPDataConnector, error) {
	if !strings.EqualFold(r.Kind, KindMicrosoftThreatProtection) {
		return nil, fmt.Errorf("sentinel: data connector %s is of kind %q, not %s", r.Name, r.Kind, KindMicrosoftThreatProtection)
	}
	out := &MTPDataConnector{ID: r.ID, Name: r.Name, Type: r.Type, Kind: r.Kind, Etag: r.Etag}
	if err := json.Unmarshal(r.Properties, &out.Properties); err != nil {
		return nil, fmt.Errorf("sentinel: decode data connector %s: %w", r.Name, err)
	}
	return out, nil
}

// ListDataConnectors lists every connector of the workspace, following nextLink.
// It uses the preview api-version: the stable one cannot describe (and omits) MTP (§2.2).
func (c *Client) ListDataConnectors(ctx context.Context) ([]DataConnector, error) {
	return list[DataConnector](ctx, c, "sentinel.dataConnectors.list", armclient.SecurityInsightsPreview, "dataConnectors", nil)
}

// GetDataConnector reads one connector; a missing one fails with azerr.NotFound.
func (c *Client) GetDataConnector(ctx context.Context, name string) (*DataConnector, error) {
	var r DataConnector
	if err := c.get(ctx, "sentinel.dataConnectors.get", armclient.SecurityInsightsPreview, "dataConnectors", name, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// FindMTPDataConnector returns the workspace's MicrosoftThreatProtection connector, or nil
// when there is none (docs/azure.md §2.4: reuse its name and etag, never create a second).
func (c *Client) FindMTPDataConnector(ctx context.Context) (*MTPDataConnector, error) {
	all, err := c.ListDataConnectors(ctx)
	if err != nil {
		return nil, err
	}
	for _, dc := range all {
		if strings.EqualFold(dc.Kind, KindMicrosoftThreatProtection) {
			return DecodeMTP(dc)
		}
	}
	return nil, nil
}

// PutMTPDataConnector creates or replaces the MTP connector called name. etag is the one
// read from the existing connector ("" when creating); a stale etag fails with
// azerr.EtagConflict. created reports 201 versus 200.
func (c *Client) PutMTPDataConnector(ctx context.Context, name, etag string, props MTPProperties) (dc *MTPDataConnector, created bool, err error) {
	body := MTPDataConnector{Kind: KindMicrosoftThreatProtection, Etag: etag, Properties: props}
	var out MTPDataConnector
	created, err = c.put(ctx, "sentinel.dataConnectors.put", armclient.SecurityInsightsPreview, "dataConnectors", name, body, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, created, nil
}

// DeleteDataConnector deletes a connector; existed is false when ARM answered 204 (absent).
func (c *Client) DeleteDataConnector(ctx context.Context, name string) (existed bool, err error) {
	return c.del(ctx, "sentinel.dataConnectors.delete", armclient.SecurityInsightsPreview, "dataConnectors", name)
}

// Requirements is the answer of dataConnectorsCheckRequirements (docs/azure.md §2.1).
type Requirements struct {
	// AuthorizationState is "Valid" or "Invalid".
	AuthorizationState string `json:"authorizationState"`
	// LicenseState is "Valid", "Invalid" or "Unknown".
	LicenseState string `json:"licenseState"`
}

// Satisfied reports whether the PUT may be attempted: anything but Valid/Valid means stop
// (docs/azure.md §2.5).
func (r Requirements) Satisfied() bool {
	return strings.EqualFold(r.AuthorizationState, "Valid") && strings.EqualFold(r.LicenseState, "Valid")
}

// CheckMTPRequirements asks whether the caller may connect Defender XDR for tenantID.
func (c *Client) CheckMTPRequirements(ctx context.Context, tenantID string) (*Requirements, error) {
	p, err := c.path("dataConnectorsCheckRequirements")
	if err != nil {
		return nil, err
	}
	body := struct {
		Kind       string `json:"kind"`
		Properties struct {
			TenantID string `json:"tenantId"`
		} `json:"properties"`
	}{Kind: KindMicrosoftThreatProtection}
	body.Properties.TenantID = tenantID
	var r Requirements
	_, err = c.arm.DoJSON(ctx, armclient.Request{Operation: "sentinel.dataConnectorsCheckRequirements", Method: http.MethodPost, Path: p,
		APIVersion: armclient.SecurityInsightsPreview, Body: body, OK: []int{http.StatusOK}}, &r)
	if err != nil {
		return nil, err
	}
	return &r, nil
}
