package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

func TestSnapshotOfSingleAndBatch(t *testing.T) {
	op := &longrunningpb.Operation{Name: "operations/a"}
	s := SnapshotOf(op, &xdrlinkv1.OperationMetadata{State: xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED})
	if s.Counts != (Counts{Total: 1, ActionRequired: 1}) {
		t.Errorf("single: %+v", s.Counts)
	}
	s = SnapshotOf(op, &xdrlinkv1.OperationMetadata{BatchProgress: &xdrlinkv1.BatchProgress{Total: 5, Succeeded: 2, Failed: 1, Running: 2}})
	if s.Counts.Finished() != 3 || s.Counts.Total != 5 {
		t.Errorf("batch: %+v", s.Counts)
	}
}

func TestPlainPrintsChangesOnly(t *testing.T) {
	var b bytes.Buffer
	p := &Plain{W: &b}
	snap := Snapshot{Operation: "operations/a", Counts: Counts{Total: 2, Running: 2}}
	p.Update(snap)
	p.Update(snap)
	snap.Counts = Counts{Total: 2, Succeeded: 2}
	p.Update(snap)
	p.NeedsPerson(Action{Tenant: "tenants/t", Operation: "operations/a-1", Who: "an admin", URI: "https://x/devicelogin", Code: "ABC", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.Local)})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "operations/a 2/2 done: 2 succeeded") ||
		lines[2] != "action required: tenants/t: an admin: open https://x/devicelogin and enter code ABC (expires 00:00:00) [operations/a-1]" {
		t.Errorf("plain output:\n%s", b.String())
	}
}
