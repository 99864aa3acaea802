package auditsvc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/aipfilter"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
)

// Service implements xdrlinkv1.AuditServiceServer.
type Service struct {
	xdrlinkv1.UnimplementedAuditServiceServer
	store store.AuditStore
}

// New returns the service over st.
func New(st store.AuditStore) *Service { return &Service{store: st} }

// ListAuditEvents returns a page of events, newest first.
func (s *Service) ListAuditEvents(ctx context.Context, req *xdrlinkv1.ListAuditEventsRequest) (*xdrlinkv1.ListAuditEventsResponse, error) {
	q, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	q.PageSize, q.PageToken = int(req.GetPageSize()), req.GetPageToken()
	page, err := s.store.ListAuditEvents(ctx, q)
	if err != nil {
		return nil, apierr.ForResource(err, "auditEvents")
	}
	resp := &xdrlinkv1.ListAuditEventsResponse{NextPageToken: page.NextPageToken}
	for _, rec := range page.AuditEvents {
		e := &xdrlinkv1.AuditEvent{}
		if err := proto.Unmarshal(rec.Body, e); err != nil {
			return nil, fmt.Errorf("audit event %s: corrupt body: %w", rec.ID, err)
		}
		resp.AuditEvents = append(resp.AuditEvents, e)
	}
	return resp, nil
}

const filterable = "filterable: principal, resource, method, code"

// parseFilter reads equality terms on the indexed fields; code is a
// google.rpc.Code name (OK, PERMISSION_DENIED, ...).
func parseFilter(expr string) (store.AuditQuery, error) {
	var q store.AuditQuery
	terms, err := aipfilter.Parse(expr)
	if err != nil {
		return q, apierr.InvalidFilter("filter", err)
	}
	for _, term := range terms {
		var dst *string
		v := term.Value
		switch term.Field {
		case "principal":
			dst = &q.Principal
		case "resource":
			dst = &q.Resource
		case "method":
			dst = &q.Method
		case "code":
			if _, ok := code.Code_value[v]; !ok {
				return q, apierr.InvalidFilter("filter", errors.New("unknown code "+v+"; e.g. OK, PERMISSION_DENIED"))
			}
			dst = &q.Code
		default:
			return q, apierr.InvalidFilter("filter", errors.New("unknown field "+term.Field+"; "+filterable))
		}
		if *dst != "" && *dst != v {
			return q, apierr.InvalidFilter("filter", errors.New(term.Field+" given twice with different values"))
		}
		*dst = v
	}
	return q, nil
}
