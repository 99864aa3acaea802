package azuresim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// deviceCodeLifetime is how long a device code may be redeemed (Entra: 15 min).
const deviceCodeLifetime = 15 * time.Minute

// DeviceCode is a pending or finished device-code sign-in.
type DeviceCode struct {
	UserCode   string    `json:"userCode"`
	TenantID   string    `json:"tenantId"`
	ClientID   string    `json:"clientId"`
	Scopes     []string  `json:"scopes"`
	ExpiresAt  time.Time `json:"expiresAt"`
	ApprovedBy string    `json:"approvedBy,omitempty"` // user object id once approved
	Declined   bool      `json:"declined,omitempty"`
	deviceCode string
}

type deviceCodeStore struct {
	mu       sync.Mutex
	byDevice map[string]*DeviceCode
	byUser   map[string]*DeviceCode
	pruneAt  int // len(byDevice) that triggers the next prune
}

// minDeviceCodePrune is the store size below which add does not prune.
const minDeviceCodePrune = 64

func newDeviceCodeStore() *deviceCodeStore {
	return &deviceCodeStore{byDevice: map[string]*DeviceCode{}, byUser: map[string]*DeviceCode{}}
}

const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newUserCode() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 9)
	for i := range b {
		out[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(out)
}

// add stores a new code. Anyone who knows a public client id can request
// codes, so codes abandoned for deviceCodeLifetime past their expiry (long
// enough for pollers to read expired_token) are pruned whenever the store
// has doubled since the last prune.
func (st *deviceCodeStore) add(dc *DeviceCode, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.byDevice) >= st.pruneAt {
		for k, old := range st.byDevice {
			if !now.Before(old.ExpiresAt.Add(deviceCodeLifetime)) {
				delete(st.byDevice, k)
				delete(st.byUser, old.UserCode)
			}
		}
		st.pruneAt = max(minDeviceCodePrune, 2*len(st.byDevice))
	}
	for {
		dc.UserCode = newUserCode()
		if _, dup := st.byUser[dc.UserCode]; !dup {
			break
		}
	}
	dc.deviceCode = newUUID() + newUUID()
	st.byDevice[dc.deviceCode] = dc
	st.byUser[dc.UserCode] = dc
}

// PendingDeviceCodes lists device codes not yet approved, declined or expired.
func (s *Sim) PendingDeviceCodes() []DeviceCode {
	now := s.clock.Now()
	st := s.deviceCodes
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []DeviceCode
	for _, dc := range st.byUser {
		if dc.ApprovedBy == "" && !dc.Declined && now.Before(dc.ExpiresAt) {
			out = append(out, *dc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserCode < out[j].UserCode })
	return out
}

// ApproveDeviceCode signs in the emulated user (object id or UPN) for a
// pending device code, as if they entered the code in a browser. The user
// must exist in the tenant the code was requested for. An empty user means
// the tenant's administrator: its first member user holding Security
// Administrator or Global Administrator (409 when it has none).
func (s *Sim) ApproveDeviceCode(userCode, user string) error {
	_, err := s.finishDeviceCode(userCode, user, false)
	return err
}

// DeclineDeviceCode makes the next poll answer authorization_declined.
func (s *Sim) DeclineDeviceCode(userCode string) error {
	_, err := s.finishDeviceCode(userCode, "", true)
	return err
}

// finishDeviceCode approves or declines a code; on approval it returns who signed in.
func (s *Sim) finishDeviceCode(userCode, user string, decline bool) (*User, error) {
	st := s.deviceCodes
	st.mu.Lock()
	defer st.mu.Unlock()
	dc, ok := st.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	if !ok {
		return nil, NewAPIError(http.StatusNotFound, "NotFound", "device code %q not found", userCode)
	}
	if !s.clock.Now().Before(dc.ExpiresAt) {
		return nil, NewAPIError(http.StatusConflict, "Expired", "device code %q expired", userCode)
	}
	if dc.ApprovedBy != "" || dc.Declined {
		return nil, NewAPIError(http.StatusConflict, "Conflict", "device code %q already completed", userCode)
	}
	if decline {
		dc.Declined = true
		return nil, nil
	}
	t := s.world.tenant(dc.TenantID)
	if t == nil {
		return nil, NewAPIError(http.StatusNotFound, "NotFound", "tenant %q not found", dc.TenantID)
	}
	var u *User
	if user == "" {
		if u = memberSecurityAdmin(t.Spec); u == nil {
			return nil, NewAPIError(http.StatusConflict, "NoAdministrator",
				"tenant %s has no member user with Security Administrator or Global Administrator; name a user to approve as (\"user\": UPN or object id)", t.Spec.ID)
		}
	} else if u = t.user(user); u == nil {
		return nil, NewAPIError(http.StatusNotFound, "NotFound", "user %q is not in tenant %s", user, t.Spec.ID)
	}
	dc.ApprovedBy = u.ID
	return u, nil
}

// LoseDeviceCodeRedemption approves a pending sign-in and redeems it, as a
// client that redeemed the code and then died before it kept the tokens:
// the client's own redemption that follows fails with invalid_grant, as
// Entra answers a code used before.
func (s *Sim) LoseDeviceCodeRedemption(userCode, user string) error {
	if _, err := s.finishDeviceCode(userCode, user, false); err != nil {
		return err
	}
	st := s.deviceCodes
	st.mu.Lock()
	defer st.mu.Unlock()
	if dc, ok := st.byUser[strings.ToUpper(strings.TrimSpace(userCode))]; ok {
		delete(st.byDevice, dc.deviceCode)
		delete(st.byUser, dc.UserCode)
	}
	return nil
}

// redeem looks up a device code for the token endpoint.
func (st *deviceCodeStore) redeem(deviceCode, clientID string) (DeviceCode, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	dc, ok := st.byDevice[deviceCode]
	if !ok || !strings.EqualFold(dc.ClientID, clientID) {
		return DeviceCode{}, fmt.Errorf("invalid_grant")
	}
	c := *dc
	if dc.ApprovedBy != "" {
		delete(st.byDevice, deviceCode) // one redemption, like Entra
		delete(st.byUser, dc.UserCode)
	}
	return c, nil
}
