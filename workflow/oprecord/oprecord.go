package oprecord

import (
	"crypto/rand"
	"fmt"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// NamePrefix starts every operation's resource name.
const NamePrefix = "operations/"

// Record is an operation as the engine and the service handle it: the
// stored row with its API message and metadata decoded.
type Record struct {
	Row      *store.Operation
	Op       *longrunningpb.Operation
	Metadata *xdrlinkv1.OperationMetadata
}

// NewID returns a fresh operation id: 26 lower-case base32 characters,
// which fits the API's "operations/[a-z0-9][a-z0-9-]{0,62}" pattern.
func NewID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var b [26]byte
	rand.Read(b[:]) // never fails (Go 1.24+)
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return string(b[:])
}

// Decode reads a stored row.
func Decode(row *store.Operation) (*Record, error) {
	op := &longrunningpb.Operation{}
	if err := proto.Unmarshal(row.Body, op); err != nil {
		return nil, fmt.Errorf("operation %s: %w", row.ID, err)
	}
	md := &xdrlinkv1.OperationMetadata{}
	if op.GetMetadata() != nil {
		if err := op.GetMetadata().UnmarshalTo(md); err != nil {
			return nil, fmt.Errorf("operation %s metadata: %w", row.ID, err)
		}
	}
	op.Name = NamePrefix + row.ID
	op.Done = row.Done
	return &Record{Row: row, Op: op, Metadata: md}, nil
}

// Encode writes the record's Op (with Metadata packed into it) back into its
// row's Body, and the row's indexed columns from the metadata.
func (r *Record) Encode() error {
	md, err := anypb.New(r.Metadata)
	if err != nil {
		return err
	}
	r.Op.Metadata = md
	r.Op.Name = NamePrefix + r.Row.ID
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r.Op)
	if err != nil {
		return err
	}
	r.Row.Body = b
	r.Row.Done = r.Op.GetDone()
	r.Row.State = r.Metadata.GetState().String()
	r.Row.Kind = r.Metadata.GetKind().String()
	r.Row.Tenant = strings.TrimPrefix(r.Metadata.GetTenant(), tenantrecord.NamePrefix)
	r.Row.Parent = strings.TrimPrefix(r.Metadata.GetParent(), NamePrefix)
	return nil
}

// Terminal reports whether state is final.
func Terminal(state xdrlinkv1.OperationState) bool {
	switch state {
	case xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED,
		xdrlinkv1.OperationState_OPERATION_STATE_FAILED,
		xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED:
		return true
	}
	return false
}

// IsBatch reports whether the operation is a batch: a batch has progress
// from its creation on.
func (r *Record) IsBatch() bool { return r.Metadata.GetBatchProgress() != nil }

// Progress turns a batch's child counts into its BatchProgress.
func Progress(c store.ChildCounts) *xdrlinkv1.BatchProgress {
	n := func(s xdrlinkv1.OperationState) int32 { return int32(c.ByState[s.String()]) }
	return &xdrlinkv1.BatchProgress{
		Total:          int32(c.Total),
		Pending:        n(xdrlinkv1.OperationState_OPERATION_STATE_PENDING),
		Running:        n(xdrlinkv1.OperationState_OPERATION_STATE_RUNNING),
		Succeeded:      n(xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED),
		Failed:         n(xdrlinkv1.OperationState_OPERATION_STATE_FAILED),
		ActionRequired: n(xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED),
		Cancelled:      n(xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED),
	}
}
