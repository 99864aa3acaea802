package azuresim

import "net/http"

// graphMDISensors answers /security/identities/sensors: the tenant's
// Defender for Identity sensors, empty when MDI is not deployed (§8.4).
func (s *Sim) graphMDISensors(w http.ResponseWriter, r *http.Request) {
	_, t, ok := s.graphCaller(w, r, "graph.mdiSensors", graphSensorPermissions)
	if !ok {
		return
	}
	items := graphItems(r, t.Spec.MDISensors, func(sn MDISensor) map[string]any {
		return map[string]any{
			"id": sn.ID, "displayName": sn.DisplayName, "sensorType": sn.SensorType,
			"healthStatus": sn.HealthStatus, "version": sn.Version,
		}
	})
	s.graphList(w, r, "security/identities/sensors", items)
}
