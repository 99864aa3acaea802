package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server/authn"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
)

// auditWriteTimeout bounds the write of one audit event, which outlives a
// call its client cancelled.
const auditWriteTimeout = 5 * time.Second

// auditUnary records every call of a method that changes something
// (authz.Rule.Mutates) by an authenticated caller, allowed or refused, with
// its outcome. It sits outside authorization, so refusals are seen.
// Calls refused before (unauthenticated, over the rate) are logged only:
// nobody can be named.
func auditUnary(st store.AuditStore, log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		rule, _ := authz.MethodRule(info.FullMethod)
		p := authz.FromContext(ctx)
		if !rule.Mutates || p == nil {
			return h(ctx, req)
		}
		resp, err := h(ctx, req)
		e := auditEvent(ctx, p, info.FullMethod, req, resp, err)
		body, merr := proto.Marshal(e)
		if merr == nil {
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
			merr = st.AppendAuditEvent(wctx, &store.AuditEvent{
				ID: strings.TrimPrefix(e.GetName(), "auditEvents/"), Time: e.GetTime().AsTime(), Principal: e.GetPrincipal(),
				Method: e.GetMethod(), Resource: e.GetResource(), Code: e.GetCode().String(), Body: body,
			})
			cancel()
		}
		if merr != nil {
			// The call's outcome stands; the missing record is an error
			// an operator must see.
			log.ErrorContext(ctx, "audit event not recorded", "method", info.FullMethod, "principal", p.ID,
				"resource", e.GetResource(), "request_id", RequestID(ctx), "error", merr.Error())
		}
		return resp, err
	}
}

func auditEvent(ctx context.Context, p *authz.Principal, method string, req, resp any, err error) *xdrlinkv1.AuditEvent {
	now := time.Now().UTC()
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	e := &xdrlinkv1.AuditEvent{
		Name:          fmt.Sprintf("auditEvents/%s%06d-%s", now.Format("20060102t150405"), now.Nanosecond()/1000, hex.EncodeToString(suffix[:])),
		Time:          timestamppb.New(now),
		Principal:     p.ID,
		AuthMethod:    p.Method,
		DisplayName:   p.DisplayName,
		Role:          p.MaxRole(),
		Scoped:        p.Scoped(),
		Method:        method,
		Resource:      auditResource(req, resp),
		RequestId:     RequestID(ctx),
		ClientAddress: authn.ClientAddress(ctx),
	}
	if op, ok := resp.(*longrunningpb.Operation); ok && err == nil {
		e.Operation = op.GetName()
	}
	if err != nil {
		st := apierr.Status(err)
		e.Code = code.Code(st.Code())
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				e.Reason = info.GetReason()
			}
		}
	}
	return e
}

// auditResource names what a call changed: the resource its request
// names, "tenants" for calls on many tenants, the created API key.
func auditResource(req, resp any) string {
	switch r := req.(type) {
	case *xdrlinkv1.CreateTenantRequest:
		return "tenants/" + r.GetTenantId()
	case *xdrlinkv1.UpdateTenantRequest:
		return r.GetTenant().GetName()
	case *xdrlinkv1.UpdateTableSettingsRequest:
		return r.GetTableSettings().GetName()
	case *xdrlinkv1.BatchCreateTenantsRequest, *xdrlinkv1.BatchOnboardRequest, *xdrlinkv1.BatchVerifyRequest:
		return "tenants"
	case *xdrlinkv1.CreateApiKeyRequest:
		if k, ok := resp.(*xdrlinkv1.CreateApiKeyResponse); ok {
			return k.GetApiKey().GetName()
		}
		return "apiKeys"
	case interface{ GetName() string }:
		return r.GetName()
	}
	return ""
}
