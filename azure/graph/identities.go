package graph

import "context"

// Sensor is a Defender for Identity sensor.
type Sensor struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	SensorType   string `json:"sensorType"`
	HealthStatus string `json:"healthStatus"`
	Version      string `json:"version"`
}

// MDISensors lists the tenant's Defender for Identity sensors; none means
// MDI is not deployed, so entity sync from Active Directory cannot work
// (docs/azure.md §8.4).
func (c *Client) MDISensors(ctx context.Context) (out []Sensor, err error) {
	ctx, end := c.pl.StartSpan(ctx, "graph.MDISensors")
	defer func() { end(err) }()
	return list[Sensor](ctx, c, "/security/identities/sensors", nil, PermissionSensors)
}
