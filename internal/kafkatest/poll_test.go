package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPollStopsWhenDoneUnrecoverableOrOutOfTime(t *testing.T) {
	calls := 0
	err := Poll(t.Context(), 10*time.Millisecond, func(context.Context) error {
		if calls++; calls < 3 {
			return fmt.Errorf("not yet (%d)", calls)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Poll = %v after %d calls, want nil after 3", err, calls)
	}

	dead := errors.New("the process exited")
	calls = 0
	err = Poll(t.Context(), 10*time.Millisecond, func(context.Context) error {
		calls++
		return Unrecoverable(dead)
	})
	if err != dead || calls != 1 {
		t.Fatalf("Poll = %v after %d calls, want the unrecoverable error itself after 1", err, calls)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = Poll(ctx, 10*time.Millisecond, func(context.Context) error { return errors.New("still 2 behind") })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still 2 behind") {
		t.Fatalf("Poll out of time = %v, want the deadline and the last reason", err)
	}
}
