// Package poll waits for a condition read from a live system: a value that
// settles (Kafka's Metadata trailing its controller, an ISR catching up, a
// ZooKeeper member joining) is read again until it holds or a deadline
// passes. It is the one waiting loop of kshift: callers say what to check,
// how long to wait and how often to look, and never hand-write the loop.
//
// It owns no state, prints nothing and never sleeps past its context.
package poll

import (
	"context"
	"errors"
	"time"
)

// ErrTimeout is returned (wrapped by the caller's own message) when the
// condition did not hold within the timeout.
var ErrTimeout = errors.New("did not settle in time")

// Options say how long and how often to look.
type Options struct {
	// Timeout bounds the whole wait; 0 waits until ctx ends.
	Timeout time.Duration
	// First is the pause after the first failed check. Pauses double after
	// each failed check up to Interval: a value that settles within
	// milliseconds (most do) is seen at once, and a long wait does not
	// hammer the cluster. 0 starts at Interval.
	First time.Duration
	// Interval is the longest pause between checks.
	Interval time.Duration
}

// Until calls check until it reports done or fails, ctx ends, or the
// timeout passes (ErrTimeout). check is always called at least once, even
// with a timeout already past, so a caller always gets a fresh reading.
func Until(ctx context.Context, o Options, check func(context.Context) (done bool, err error)) error {
	var deadline time.Time
	if o.Timeout > 0 {
		deadline = time.Now().Add(o.Timeout)
	}
	pause := o.First
	if pause <= 0 || pause > o.Interval {
		pause = o.Interval
	}
	for {
		done, err := check(ctx)
		if err != nil || done {
			return err
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return ErrTimeout
		}
		wait := pause
		if !deadline.IsZero() {
			wait = min(wait, time.Until(deadline))
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
		pause = min(2*pause, o.Interval)
	}
}

// Sleep waits d or until ctx is done, returning ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
