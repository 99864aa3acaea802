package daemon

import (
	"context"
	"time"

	"github.com/xdrlink/xdrlink/workflow/oprecord"
)

// replicaPrefix keys the leases by which replicas on one database count
// each other.
const replicaPrefix = "replica/"

// shareARMLimits keeps this replica's share of ARM's limits at 1/n, n the
// replicas heard from within the last three heartbeats, until ctx ends;
// then it leaves the count. ARM's buckets count per app (principal) and
// subscription, and every replica calls as the same app: together they
// must stay under one set of buckets. A replica that dies stops counting
// when its lease expires; until then the others run a little slower, never
// faster, than they may.
func (d *Daemon) shareARMLimits(ctx context.Context) {
	id := oprecord.NewID()
	every := d.cfg.ReplicaHeartbeat
	ttl := 3 * every
	n := 1
	beat := func() {
		if _, err := d.store.AcquireLease(ctx, replicaPrefix+id, id, ttl); err != nil {
			d.log.Warn("replica heartbeat failed", "error", err)
			return
		}
		live, err := d.store.CountLeases(ctx, replicaPrefix)
		if err != nil || live == n {
			return
		}
		d.log.Info("replicas sharing ARM's limits", "replicas", live, "was", n)
		n = live
		d.azure.outbound.SetReplicas(n)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for beat(); ; beat() {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := d.store.ReleaseLease(cctx, replicaPrefix+id, id); err != nil {
				d.log.Warn("could not leave the replica count", "error", err)
			}
			return
		case <-t.C:
		}
	}
}
