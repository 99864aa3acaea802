// Package jobs adapts a River client of either backend to store.Jobs and
// holds it for the backend's transactions.
package jobs

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/xdrlink/xdrlink/store"
)

// Client is where a backend keeps its River client, set once by Open.
type Client[TTx any] struct {
	c atomic.Pointer[river.Client[TTx]]
}

// Open creates the client on driver with cfg; once per store.
func (j *Client[TTx]) Open(driver riverdriver.Driver[TTx], cfg *river.Config) (store.Jobs, error) {
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, err
	}
	if !j.c.CompareAndSwap(nil, c) {
		return nil, errAlreadyOpen
	}
	return jobs[TTx]{c}, nil
}

// InsertTx enqueues a job in tx and returns its id;
// store.ErrJobsNotStarted before Open.
func (j *Client[TTx]) InsertTx(ctx context.Context, tx TTx, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	c := j.c.Load()
	if c == nil {
		return 0, store.ErrJobsNotStarted
	}
	res, err := c.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

var errAlreadyOpen = errors.New("store: job queue already opened")

// jobs is the store.Jobs of a client.
type jobs[TTx any] struct{ c *river.Client[TTx] }

func (j jobs[TTx]) Start(ctx context.Context) error { return j.c.Start(ctx) }
func (j jobs[TTx]) Stop(ctx context.Context) error  { return j.c.Stop(ctx) }
func (j jobs[TTx]) StopAndCancel(ctx context.Context) error {
	return j.c.StopAndCancel(ctx)
}
func (j jobs[TTx]) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := j.c.Insert(ctx, args, opts)
	return err
}

func (j jobs[TTx]) Retry(ctx context.Context, jobID int64) error {
	_, err := j.c.JobRetry(ctx, jobID)
	return err
}

// QueueDepth counts the available and running jobs of each named queue
// (for the engine's queue-depth gauge; not part of store.Jobs, so test
// doubles need not implement it).
func (j jobs[TTx]) QueueDepth(ctx context.Context, queues []string) (available, running map[string]int64, err error) {
	res, err := j.c.Driver().GetExecutor().JobCountByQueueAndState(ctx, &riverdriver.JobCountByQueueAndStateParams{QueueNames: queues})
	if err != nil {
		return nil, nil, err
	}
	available, running = map[string]int64{}, map[string]int64{}
	for _, r := range res {
		available[r.Queue], running[r.Queue] = r.CountAvailable, r.CountRunning
	}
	return available, running, nil
}
