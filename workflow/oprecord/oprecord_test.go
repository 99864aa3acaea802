package oprecord

import (
	"regexp"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

// Encode fills the indexed columns from the metadata, and Decode gives back
// the same operation: the two sides of the store can never disagree.
func TestEncodeDecode(t *testing.T) {
	rec := &Record{
		Row: &store.Operation{ID: NewID()},
		Op:  &longrunningpb.Operation{Done: true},
		Metadata: &xdrlinkv1.OperationMetadata{
			Tenant: "tenants/contoso", Parent: "operations/batch", Kind: xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD,
			State: xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED,
			Steps: []*xdrlinkv1.Step{{Kind: xdrlinkv1.StepKind_STEP_KIND_VERIFY, State: xdrlinkv1.StepState_STEP_STATE_SUCCEEDED}},
		},
	}
	if err := rec.Encode(); err != nil {
		t.Fatal(err)
	}
	if r := rec.Row; r.Tenant != "contoso" || r.Parent != "batch" || r.Kind != "OPERATION_KIND_ONBOARD" ||
		r.State != "OPERATION_STATE_SUCCEEDED" || !r.Done {
		t.Fatalf("row %+v", r)
	}
	got, err := Decode(rec.Row)
	if err != nil {
		t.Fatal(err)
	}
	if got.Op.GetName() != NamePrefix+rec.Row.ID || !proto.Equal(got.Metadata, rec.Metadata) || !got.Op.GetDone() {
		t.Errorf("decoded %v / %v", got.Op, got.Metadata)
	}
	if _, err := Decode(&store.Operation{ID: "x", Body: []byte{0xff}}); err == nil {
		t.Error("corrupt body decoded")
	}
}

func TestNewIDFitsTheAPIPattern(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("id %q: pattern %v, repeated %v", id, re.MatchString(id), seen[id])
		}
		seen[id] = true
	}
}
