package azuresim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// The admin API (/_sim/...) drives and inspects the emulator. It needs no
// token: it exists only on the sim's own listener, which is loopback by
// default. Every endpoint has a Go method equivalent on *Sim.
func (s *Sim) registerAdmin() {
	m := s.admin
	m.HandleFunc("GET /_sim/health", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "url": s.URL()})
	})
	m.HandleFunc("GET /_sim/ca.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(s.CACertPEM())
	})
	m.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, s.clockBody())
	})
	m.HandleFunc("POST /_sim/clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Duration Duration `json:"duration"`
		}
		if !decodeAdmin(w, r, &in) {
			return
		}
		if in.Duration <= 0 {
			WriteError(w, http.StatusBadRequest, "BadRequest", `duration must be positive, e.g. {"duration":"1h"}`)
			return
		}
		s.clock.Advance(time.Duration(in.Duration))
		WriteJSON(w, http.StatusOK, s.clockBody())
	})
	m.HandleFunc("GET /_sim/devicecodes", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"value": nonNilSlice(s.PendingDeviceCodes())})
	})
	m.HandleFunc("GET /_sim/customers", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"value": nonNilSlice(s.Customers())})
	})
	// The body is optional: without "user" the tenant's administrator approves.
	m.HandleFunc("POST /_sim/devicecodes/{userCode}/approve", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			User string `json:"user"` // UPN or object id
		}
		if !decodeAdminOptional(w, r, &in) {
			return
		}
		u, err := s.finishDeviceCode(r.PathValue("userCode"), in.User, false)
		if err != nil {
			WriteAPIError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"approved": r.PathValue("userCode"), "user": u.UserPrincipalName, "userId": u.ID})
	})
	m.HandleFunc("POST /_sim/devicecodes/{userCode}/decline", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeclineDeviceCode(r.PathValue("userCode")); err != nil {
			WriteAPIError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"declined": r.PathValue("userCode")})
	})
	m.HandleFunc("GET /_sim/tenants/{tenant}/flags", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.TenantFlagsOf(r.PathValue("tenant"))
		if err != nil {
			WriteError(w, http.StatusNotFound, "NotFound", err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, st)
	})
	m.HandleFunc("PATCH /_sim/tenants/{tenant}/flags", func(w http.ResponseWriter, r *http.Request) {
		var in TenantFlags
		if !decodeAdmin(w, r, &in) {
			return
		}
		st, err := s.SetTenantFlags(r.PathValue("tenant"), in)
		if err != nil {
			WriteError(w, http.StatusNotFound, "NotFound", err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, st)
	})
	m.HandleFunc("GET /_sim/tenants/{tenant}/streaming", func(w http.ResponseWriter, r *http.Request) {
		es, err := s.StreamingEntries(r.PathValue("tenant"))
		if err != nil {
			WriteError(w, http.StatusNotFound, "NotFound", err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"value": es})
	})
	m.HandleFunc("GET /_sim/workspaces/{sub}/{rg}/{ws}", func(w http.ResponseWriter, r *http.Request) {
		snap, err := s.WorkspaceSnapshot(r.PathValue("sub"), r.PathValue("rg"), r.PathValue("ws"))
		if err != nil {
			WriteError(w, http.StatusNotFound, "NotFound", err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, snap)
	})
	m.HandleFunc("GET /_sim/workspaces/{sub}/{rg}/{ws}/{part}", func(w http.ResponseWriter, r *http.Request) {
		snap, err := s.WorkspaceSnapshot(r.PathValue("sub"), r.PathValue("rg"), r.PathValue("ws"))
		if err != nil {
			WriteError(w, http.StatusNotFound, "NotFound", err.Error())
			return
		}
		parts := map[string]any{
			"dataConnectors": snap.DataConnectors, "alertRules": snap.AlertRules,
			"settings": snap.Settings, "contentPackages": snap.ContentPackages, "onboardingState": snap.OnboardingState,
			"ingestion": s.Ingestion(snap.CustomerID), // the ledger per table (Sim.Ingestion)
		}
		v, ok := parts[r.PathValue("part")]
		if !ok {
			WriteError(w, http.StatusNotFound, "NotFound", "unknown part; use dataConnectors, alertRules, settings, contentPackages, onboardingState or ingestion")
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"value": v})
	})
	m.HandleFunc("GET /_sim/staff", func(w http.ResponseWriter, r *http.Request) {
		si, ok := s.StaffIdentity()
		if !ok {
			WriteError(w, http.StatusNotFound, "NotFound", "the world has no staff sign-in setup (DemoWorld and GenerateWorld have one)")
			return
		}
		WriteJSON(w, http.StatusOK, si)
	})
	m.HandleFunc("GET /_sim/signing-keys", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"value": s.SigningKeyIDs()})
	})
	m.HandleFunc("POST /_sim/signing-keys/rotate", func(w http.ResponseWriter, r *http.Request) {
		kid, err := s.RotateSigningKey()
		if err != nil {
			WriteError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"kid": kid, "value": s.SigningKeyIDs()})
	})
	m.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"value": s.RequestCounts()})
	})
	m.HandleFunc("GET /_sim/early-retries", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"total": s.EarlyRetryTotal(), "byKey": s.EarlyRetries()})
	})
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, s.Faults())
	})
	m.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var in FaultConfig
		if !decodeAdmin(w, r, &in) {
			return
		}
		if err := s.SetFaults(in); err != nil {
			WriteError(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, s.Faults())
	})
}

func (s *Sim) clockBody() map[string]any {
	return map[string]any{"now": s.clock.Now().Format(time.RFC3339Nano), "offset": s.clock.Offset().String()}
}

func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// decodeAdminOptional is decodeAdmin for a body that may be left out.
func decodeAdminOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		WriteError(w, http.StatusBadRequest, "BadRequest", "could not read the body: "+err.Error())
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return decodeAdmin(w, r, v)
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
