package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Plain prints one line per change, for pipes and logs.
type Plain struct {
	W    io.Writer
	last string
}

// Update prints the counts when they changed.
func (p *Plain) Update(s Snapshot) {
	line := fmt.Sprintf("%s %s", s.Operation, s.Counts)
	if line != p.last {
		p.last = line
		fmt.Fprintln(p.W, line)
	}
}

// NeedsPerson prints the action.
func (p *Plain) NeedsPerson(a Action) { fmt.Fprintln(p.W, "action required: "+a.String()) }

// Close does nothing: every line is out already.
func (p *Plain) Close() {}

// Bar is a live progress bar for a terminal, with the counts per state
// beside it and the actions printed above it.
type Bar struct {
	p   *mpb.Progress
	bar *mpb.Bar

	mu     sync.Mutex
	counts Counts
	done   bool
}

// NewBar starts a bar titled title writing to w (a terminal).
func NewBar(w io.Writer, title string) *Bar {
	b := &Bar{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))}
	b.bar = b.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(title+" ", decor.WC{C: decor.DindentRight}), decor.CountersNoUnit("%d/%d")),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			b.mu.Lock()
			defer b.mu.Unlock()
			c := b.counts
			return fmt.Sprintf(" ✓ %d  ✗ %d  ⊘ %d  ▶ %d  ⚑ %d  … %d", c.Succeeded, c.Failed, c.Cancelled, c.Running, c.ActionRequired, c.Pending)
		})),
	)
	return b
}

// Update moves the bar.
func (b *Bar) Update(s Snapshot) {
	b.mu.Lock()
	b.counts = s.Counts
	b.done = s.Done
	b.mu.Unlock()
	b.bar.SetTotal(int64(max(s.Counts.Total, 1)), false)
	b.bar.SetCurrent(int64(s.Counts.Finished()))
	if s.Done {
		b.bar.SetTotal(-1, true)
	}
}

// NeedsPerson prints the action above the bar.
func (b *Bar) NeedsPerson(a Action) { fmt.Fprintln(b.p, "⚑ "+a.String()) }

// Close draws the last frame and stops.
func (b *Bar) Close() {
	if !b.bar.Completed() {
		b.bar.Abort(false)
	}
	b.p.Wait()
}
