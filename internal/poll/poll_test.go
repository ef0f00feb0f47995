package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntilReturnsWhenDone(t *testing.T) {
	calls := 0
	err := Until(context.Background(), Options{Timeout: time.Second, First: time.Millisecond, Interval: 10 * time.Millisecond}, func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want nil after 3", err, calls)
	}
}

func TestUntilTimesOutAfterAFinalCheck(t *testing.T) {
	calls := 0
	start := time.Now()
	err := Until(context.Background(), Options{Timeout: 50 * time.Millisecond, First: time.Millisecond, Interval: 20 * time.Millisecond}, func(context.Context) (bool, error) {
		calls++
		return false, nil
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Fatalf("gave up after %s, before the 50ms timeout", time.Since(start))
	}
	if calls < 3 {
		t.Fatalf("checked %d times in 50ms with pauses from 1ms: the backoff does not start small", calls)
	}
}

func TestUntilChecksOnceWithoutTime(t *testing.T) {
	calls := 0
	err := Until(context.Background(), Options{Timeout: time.Nanosecond, Interval: time.Hour}, func(context.Context) (bool, error) {
		time.Sleep(time.Millisecond)
		calls++
		return false, nil
	})
	if calls != 1 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("checked %d times (err %v), want exactly one fresh reading, then ErrTimeout", calls, err)
	}
}

func TestUntilStopsOnErrorAndContext(t *testing.T) {
	boom := errors.New("boom")
	if err := Until(context.Background(), Options{Interval: time.Millisecond}, func(context.Context) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v, want the check's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Until(ctx, Options{Interval: time.Hour}, func(context.Context) (bool, error) {
		calls++
		cancel()
		return false, nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("err %v after %d calls, want context.Canceled after 1 (no hour-long sleep)", err, calls)
	}
}
