package apierr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		code    codes.Code
		reason  xdrlinkv1.ErrorReason
		message string
	}{
		{"tenant not found", ForResource(store.ErrNotFound, "tenants/a"), codes.NotFound,
			xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND, "tenants/a not found"},
		{"operation not found", ForResource(store.ErrNotFound, "operations/x"), codes.NotFound,
			xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND, "operations/x not found"},
		{"wrapped twice", fmt.Errorf("ctx: %w", ForResource(fmt.Errorf("sql: %w", store.ErrEtagMismatch), "tenants/a")),
			codes.Aborted, xdrlinkv1.ErrorReason_ERROR_REASON_ETAG_MISMATCH, ""},
		{"exists", ForResource(store.ErrAlreadyExists, "tenants/a"), codes.AlreadyExists,
			xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_ALREADY_EXISTS, "tenants/a already exists"},
		{"page token", store.ErrInvalidPageToken, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN, ""},
		{"cancelled", fmt.Errorf("query: %w", context.Canceled), codes.Canceled, xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_CANCELLED, ""},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED, ""},
		{"unknown error hides its text", errors.New("pq: password authentication failed for user x"), codes.Internal,
			xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL, "internal error"},
		{"too large", RequestTooLarge(10), codes.ResourceExhausted, xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Status(tt.err)
			if st.Code() != tt.code {
				t.Errorf("code %v, want %v", st.Code(), tt.code)
			}
			if tt.message != "" && st.Message() != tt.message {
				t.Errorf("message %q, want %q", st.Message(), tt.message)
			}
			var info *errdetails.ErrorInfo
			for _, d := range st.Details() {
				if i, ok := d.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
			if info == nil || info.GetReason() != tt.reason.String() || info.GetDomain() != Domain {
				t.Errorf("ErrorInfo %v, want %s/%s", info, Domain, tt.reason)
			}
		})
	}
}

// TestStatusKeepsGRPCStatus: an error that already is a status passes through.
func TestStatusKeepsGRPCStatus(t *testing.T) {
	in := status.Error(codes.PermissionDenied, "no")
	if st := Status(in); st.Code() != codes.PermissionDenied || st.Message() != "no" {
		t.Errorf("Status(%v) = %v", in, st)
	}
	if Status(nil) != nil {
		t.Error("Status(nil) != nil")
	}
}

// TestInvalidArgumentMessageIsBounded: the message spells out the first
// violations and counts the rest; the detail keeps them all.
func TestInvalidArgumentMessageIsBounded(t *testing.T) {
	var vs []*errdetails.BadRequest_FieldViolation
	for i := range 1000 {
		vs = append(vs, Violation(fmt.Sprintf("requests[%d].tenant_id", i), "required"))
	}
	e := InvalidArgument(vs...)
	want := "invalid request: requests[0].tenant_id: required; "
	if len(e.Message) > 600 || e.Message[:len(want)] != want || !strings.HasSuffix(e.Message, "; and 990 more (see the BadRequest details)") {
		t.Errorf("message (%d bytes) %q", len(e.Message), e.Message)
	}
	if len(e.Violations) != 1000 {
		t.Errorf("%d violations kept, want 1000", len(e.Violations))
	}
	if got := InvalidArgument(vs[:2]...).Message; got != "invalid request: requests[0].tenant_id: required; requests[1].tenant_id: required" {
		t.Errorf("message of two violations %q", got)
	}
}
