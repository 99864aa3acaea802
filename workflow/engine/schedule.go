package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// fleetArgs are the arguments of the periodic job that verifies every
// connected tenant. Slot is the start of the interval the run belongs to:
// River inserts the job on its elected leader only, and uniqueness by
// arguments plus the batch's request id (made from Slot) keep a restart or
// a change of leader from verifying the fleet twice in one interval.
type fleetArgs struct {
	Slot time.Time `json:"slot"`
}

func (fleetArgs) Kind() string { return "xdrlink.verify_fleet" }

// ScheduleCaller is the caller named on scheduled verifications.
const ScheduleCaller = "xdrlink-scheduler"

// fleetBatch is the most tenants one scheduled batch holds, as for a
// BatchVerify request; a larger fleet gets several batches.
const fleetBatch = 10000

// verifyFleetJob is the periodic job, or nil when scheduling is off.
func (c *Config) verifyFleetJob() *river.PeriodicJob {
	every := c.VerifyInterval
	if every <= 0 {
		return nil
	}
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return fleetArgs{Slot: time.Now().UTC().Truncate(every)}, &river.InsertOpts{
			MaxAttempts: jobAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true},
		}
	}, &river.PeriodicJobOpts{ID: "verify-fleet", RunOnStart: true}) // a restart inside the interval finds the slot's job and inserts nothing
}

type fleetWorker struct {
	river.WorkerDefaults[fleetArgs]
	e *Engine
}

func (w *fleetWorker) Work(ctx context.Context, job *river.Job[fleetArgs]) error {
	return w.e.verifyFleet(ctx, job.Args.Slot)
}

// verifyFleet starts a BATCH_VERIFY over every ONBOARDED or DEGRADED
// tenant, in batches of at most fleetBatch.
func (e *Engine) verifyFleet(ctx context.Context, slot time.Time) error {
	var names []string
	for _, state := range []xdrlinkv1.Tenant_State{xdrlinkv1.Tenant_STATE_ONBOARDED, xdrlinkv1.Tenant_STATE_DEGRADED} {
		q := store.TenantQuery{State: state.String(), PageSize: store.MaxPageSize}
		for {
			page, err := e.st.ListTenants(ctx, q)
			if err != nil {
				return err
			}
			for _, t := range page.Tenants {
				names = append(names, tenantrecord.NamePrefix+t.ID)
			}
			if q.PageToken = page.NextPageToken; q.PageToken == "" {
				break
			}
		}
	}
	for i := 0; i < len(names); i += fleetBatch {
		chunk := names[i:min(i+fleetBatch, len(names))]
		id := fmt.Sprintf("%s/%d", slot.Format(time.RFC3339), i/fleetBatch)
		op, err := e.SubmitBatch(ctx, BatchRequest{
			Kind: xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_VERIFY, Tenants: chunk,
			Method: "ScheduledVerify", Caller: ScheduleCaller, RequestID: id, Fingerprint: []byte(id),
		})
		if err != nil {
			return err
		}
		e.log.InfoContext(ctx, "scheduled verification started", "operation", op.GetName(), "tenants", len(chunk))
	}
	return nil
}
