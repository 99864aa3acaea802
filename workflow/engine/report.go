package engine

import (
	"context"

	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

// storeReport stores a VERIFY step's report under the operation's id, in
// the transaction that records the step's success (so it is stored once);
// the store keeps the newest VerificationsKept reports of the tenant.
func (e *Engine) storeReport(ctx context.Context, tx store.Tx, tenant, op string, report *xdrlinkv1.IngestionReport) error {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(report)
	if err != nil {
		return err
	}
	return tx.CreateVerification(ctx, &store.Verification{
		ID: op, Tenant: tenant, Operation: op, Verdict: report.GetVerdict().String(), Body: body,
		CreateTime: report.GetVerifyTime().AsTime(),
	}, e.cfg.VerificationsKept)
}
