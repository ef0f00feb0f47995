package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/poll"
)

// DefaultWait bounds the waits that take no timeout of their own
// (WaitInSync, WaitNoReassignments): generous, because a 2-core machine
// shared with other test binaries can be slow.
const DefaultWait = 90 * time.Second

// attemptTimeout bounds one check inside Poll, so that a request that
// hangs cannot use up the whole wait.
const attemptTimeout = 10 * time.Second

// unrecoverable marks an error that polling again cannot fix.
type unrecoverable struct{ err error }

func (u unrecoverable) Error() string { return u.err.Error() }
func (u unrecoverable) Unwrap() error { return u.err }

// Unrecoverable marks err, returned by a Poll check, as one that waiting
// cannot fix (a process that exited, a refused request): Poll returns it at
// once instead of polling until its deadline.
func Unrecoverable(err error) error { return unrecoverable{err: err} }

// Poll calls check until it returns nil, and then returns nil. It returns
// early with check's error when check marks it Unrecoverable, and with
// ctx's error and check's last error when ctx ends first. Pauses between
// checks start at 50 ms and double up to interval; each call of check gets
// a context bounded to 10 s within ctx. Every wait in this package is built
// on it, and it is built on internal/poll, kshift's one waiting loop.
func Poll(ctx context.Context, interval time.Duration, check func(ctx context.Context) error) error {
	var last, gaveUp error
	err := poll.Until(ctx, poll.Options{First: min(50*time.Millisecond, interval), Interval: interval}, func(ctx context.Context) (bool, error) {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		last = check(actx)
		cancel()
		var u unrecoverable
		if errors.As(last, &u) {
			gaveUp = u.err
			return false, gaveUp
		}
		return last == nil, nil
	})
	switch {
	case err == nil:
		return nil
	case gaveUp != nil:
		return gaveUp
	case last == nil:
		return err
	}
	return fmt.Errorf("%w; last: %w", err, last)
}

// WaitFor polls check (every 200 ms, as Poll) until it returns nil, and
// fails t when timeout passes first, naming what it waited for and check's
// last error.
func WaitFor(t testing.TB, timeout time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	start := time.Now()
	if err := Poll(ctx, 200*time.Millisecond, check); err != nil {
		t.Fatalf("kafkatest: waiting %s for %s: %v", time.Since(start).Round(time.Millisecond), what, err)
	}
}
