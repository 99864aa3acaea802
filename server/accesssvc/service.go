package accesssvc

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/authn"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
)

// Forgetter drops a revoked key from the authenticator's cache;
// *authn.Authenticator implements it.
type Forgetter interface {
	ForgetAPIKey(id string)
}

// Service implements xdrlinkv1.AccessServiceServer.
type Service struct {
	xdrlinkv1.UnimplementedAccessServiceServer
	store  store.APIKeyStore
	forget Forgetter
	now    func() time.Time
}

// New returns the service over st.
func New(st store.APIKeyStore, forget Forgetter) *Service {
	return &Service{store: st, forget: forget, now: time.Now}
}

const namePrefix = "apiKeys/"

// GetCaller returns the authenticated caller.
func (s *Service) GetCaller(ctx context.Context, _ *xdrlinkv1.GetCallerRequest) (*xdrlinkv1.Caller, error) {
	p := authz.FromContext(ctx)
	if p == nil {
		return nil, apierr.Unauthenticated("no caller")
	}
	return p.Proto(), nil
}

// CreateApiKey stores a new key's hash and returns the key, once.
func (s *Service) CreateApiKey(ctx context.Context, req *xdrlinkv1.CreateApiKeyRequest) (*xdrlinkv1.CreateApiKeyResponse, error) {
	return Create(ctx, s.store, req.GetApiKey(), server.Caller(ctx), s.now())
}

// Create stores a new API key like in (display name, role, access groups,
// expiry) made by creator, and returns it with the key itself. It is
// CreateApiKey without a server, for `xdrlinkd create-api-key`, which
// makes the first admin key of a deployment without OIDC.
func Create(ctx context.Context, st store.APIKeyStore, in *xdrlinkv1.ApiKey, creator string, now time.Time) (*xdrlinkv1.CreateApiKeyResponse, error) {
	if in.GetRole() == authz.Admin && len(in.GetAccessGroups()) > 0 {
		return nil, apierr.InvalidArgument(apierr.Violation("api_key.access_groups",
			"an admin key cannot be scoped: admins manage keys and read the audit log for every tenant; give it the operator role instead"))
	}
	if exp := in.GetExpireTime(); exp != nil && !exp.AsTime().After(now) {
		return nil, apierr.InvalidArgument(apierr.Violation("api_key.expire_time", "must be in the future"))
	}
	id, key, hash := authn.NewAPIKey()
	k := &xdrlinkv1.ApiKey{
		Name: namePrefix + id, DisplayName: in.GetDisplayName(), Role: in.GetRole(),
		AccessGroups: in.GetAccessGroups(), ExpireTime: in.GetExpireTime(), Creator: creator,
	}
	body, err := proto.Marshal(k)
	if err != nil {
		return nil, err
	}
	rec, err := st.CreateAPIKey(ctx, &store.APIKey{ID: id, SecretHash: hash, Body: body})
	if err != nil {
		return nil, apierr.ForResource(err, k.Name)
	}
	out, err := decode(rec, now)
	if err != nil {
		return nil, err
	}
	return &xdrlinkv1.CreateApiKeyResponse{ApiKey: out, Key: key}, nil
}

// GetApiKey returns one key, without its secret.
func (s *Service) GetApiKey(ctx context.Context, req *xdrlinkv1.GetApiKeyRequest) (*xdrlinkv1.ApiKey, error) {
	rec, err := s.store.GetAPIKey(ctx, strings.TrimPrefix(req.GetName(), namePrefix))
	if err != nil {
		return nil, apierr.ForResource(err, req.GetName())
	}
	return s.decode(rec)
}

// ListApiKeys returns a page of keys, newest first.
func (s *Service) ListApiKeys(ctx context.Context, req *xdrlinkv1.ListApiKeysRequest) (*xdrlinkv1.ListApiKeysResponse, error) {
	page, err := s.store.ListAPIKeys(ctx, store.APIKeyQuery{
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(), ShowRevoked: req.GetShowRevoked(),
	})
	if err != nil {
		return nil, apierr.ForResource(err, "apiKeys")
	}
	resp := &xdrlinkv1.ListApiKeysResponse{NextPageToken: page.NextPageToken}
	for _, rec := range page.APIKeys {
		k, err := s.decode(rec)
		if err != nil {
			return nil, err
		}
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp, nil
}

// RevokeApiKey revokes a key; revoking a revoked key changes nothing.
func (s *Service) RevokeApiKey(ctx context.Context, req *xdrlinkv1.RevokeApiKeyRequest) (*xdrlinkv1.ApiKey, error) {
	id := strings.TrimPrefix(req.GetName(), namePrefix)
	rec, err := s.store.GetAPIKey(ctx, id)
	if err != nil {
		return nil, apierr.ForResource(err, req.GetName())
	}
	if !rec.Revoked {
		k := &xdrlinkv1.ApiKey{}
		if err := proto.Unmarshal(rec.Body, k); err != nil {
			return nil, err
		}
		k.Revoker = server.Caller(ctx)
		body, err := proto.Marshal(k)
		if err != nil {
			return nil, err
		}
		if rec, err = s.store.RevokeAPIKey(ctx, id, body); err != nil {
			return nil, apierr.ForResource(err, req.GetName())
		}
	}
	s.forget.ForgetAPIKey(id)
	return s.decode(rec)
}

// decode is a stored key as the API shows it, with its state now.
func (s *Service) decode(rec *store.APIKey) (*xdrlinkv1.ApiKey, error) {
	return decode(rec, s.now())
}

func decode(rec *store.APIKey, now time.Time) (*xdrlinkv1.ApiKey, error) {
	k := &xdrlinkv1.ApiKey{}
	if err := proto.Unmarshal(rec.Body, k); err != nil {
		return nil, err
	}
	k.CreateTime = timestamppb.New(rec.CreateTime)
	k.State = xdrlinkv1.ApiKey_STATE_ACTIVE
	switch {
	case rec.Revoked:
		k.State = xdrlinkv1.ApiKey_STATE_REVOKED
		k.RevokeTime = timestamppb.New(rec.RevokeTime)
	case k.GetExpireTime() != nil && !now.Before(k.GetExpireTime().AsTime()):
		k.State = xdrlinkv1.ApiKey_STATE_EXPIRED
	}
	return k, nil
}
