package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kshift/kshift/state"
)

// cancelAfter collects output and cancels the run once marker has been
// written n times: how a test plays the operator's Ctrl-C.
type cancelAfter struct {
	mu     sync.Mutex
	out    strings.Builder
	marker string
	n      int
	cancel context.CancelFunc
}

func (w *cancelAfter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(b)
	if strings.Count(w.out.String(), w.marker) >= w.n {
		w.cancel()
	}
	return len(b), nil
}

// TestStatusWatch pins `status --watch`: the status is printed again every
// --interval, reading the cluster each time, until the operator interrupts,
// which ends the watch with exit 0 (not an error).
func TestStatusWatch(t *testing.T) {
	m := newMigration(t, 20, 1, 2, 1<<20, 10<<20, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &cancelAfter{marker: "cluster kill-test", n: 3, cancel: cancel}
	app := newApp()
	app.Writer, app.ErrWriter = out, out
	args := append([]string{"kshift", "status", m.planPath, "--watch", "--interval", "10ms"}, m.connArgs()...)
	err := app.RunContext(ctx, args)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("status --watch ended with exit %d (%v):\n%s", code, err, out.out.String())
	}
	if ctx.Err() != context.Canceled {
		t.Fatalf("status --watch ended before it was interrupted:\n%s", out.out.String())
	}
	if got := strings.Count(out.out.String(), "pending"); got < 3 {
		t.Errorf("want the pending steps shown on every refresh, got %d mentions:\n%s", got, out.out.String())
	}
}

// TestStatusShowsKshiftsState pins what status shows of kshift's own state
// in the cluster: the lock's holder and its lease, every throttle record
// still open with the step it belongs to, and a rate set with throttle set;
// and, without a state store (no --zookeeper), that these were not read.
func TestStatusShowsKshiftsState(t *testing.T) {
	m := newMigration(t, 20, 1, 2, 1<<20, 10<<20, 4)
	store := state.NewMemory()
	ctx := liveCtx(t)
	lease, err := store.Acquire(ctx, state.Holder{Host: "ops-2", PID: 4242, User: "alice", Command: "apply", Plan: "plan.yaml", Step: 3, Since: time.Now()}, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := state.NewThrottleRecord("20261206T120000-step3-1", 10<<20)
	rec.Plan, rec.Step = m.planPath, 3
	rec.Brokers[4] = &state.BrokerThrottle{}
	rec.Topics["topic-0"] = &state.TopicThrottle{Leader: []string{"0:1"}, Follower: []string{"0:4"}}
	if err := lease.PutThrottleRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := store.SetRate(ctx, state.RateOverride{Rate: 5 << 20, User: "bob", Host: "ops-3", Time: time.Now(), Command: "throttle set"}); err != nil {
		t.Fatal(err)
	}
	run := func(withState bool) string {
		var out, errOut syncBuffer
		app := newApp()
		app.Writer, app.ErrWriter = &out, &errOut
		if withState {
			app.Metadata = map[string]any{metaStateStore: store}
		}
		err := app.RunContext(ctx, append([]string{"kshift", "status", m.planPath}, m.connArgs()...))
		if err != nil {
			t.Fatalf("status: %v\n%s%s", err, out.String(), errOut.String())
		}
		return out.String()
	}
	got := run(true)
	for _, want := range []string{"apply on host ops-2 (pid 4242, user alice), plan plan.yaml step 3", "20261206T120000-step3-1", "3 of " + m.planPath, "10 MiB/s", "[4]", "2 on 1 topic(s)", "5.0 MiB/s", "throttle set by bob on ops-3"} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	if got := run(false); !strings.Contains(got, "give --zookeeper to see them") {
		t.Errorf("status without a state store does not say the lock and throttles were not read:\n%s", got)
	}
}
