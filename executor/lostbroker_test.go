package executor

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
)

// TestKeptBrokerDownNamedAtOnce pins issue 17's dead kept broker: a source
// replica that a raise-rf step keeps stops mid-step; the copies from the
// leader finish, but the reassignment cannot end without it. The stall says
// at once which broker, in what role, not a generic "no progress".
func TestKeptBrokerDownNamedAtOnce(t *testing.T) {
	c := startCluster(t, 50, kafkasim.Config{})
	c.topic(t, "orders", 200<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	stall := applyThroughBrokerOutage(t, c, p, 1, func(o *Options) {
		o.StallAfter = time.Minute // a generic stall would come too late
	}, nil)
	if !strings.Contains(stall, "broker 1 (kept") {
		t.Errorf("stall reason %q does not name kept broker 1", stall)
	}
}

// TestRetargetedMidStepAdvice pins the advice after another tool re-targets
// a partition while a step runs (issue 17): the step stops naming the move
// kshift did not start and where it goes, and points to what works (let it
// finish or cancel it with its tool, then status; re-plan if it ends
// elsewhere), not to `apply --step N`, which would be refused as drift.
func TestRetargetedMidStepAdvice(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{})
	c.topic(t, "orders", 400<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders")
	var mu sync.Mutex
	inflight := false
	e, _ := testExecutor(t, c, func(o *Options) {
		o.SettleTimeout = time.Second
		o.Progress = func(pr Progress) {
			mu.Lock()
			defer mu.Unlock()
			inflight = inflight || pr.BytesCopied > 0
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := e.Apply(testCtx(t, 60*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1)
		done <- err
	}()
	waitFor(t, "copy started", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return inflight })
	c.reassign(t, "orders", 0, []int32{0, 1, 2, 3})
	err := <-done
	if err == nil {
		t.Fatal("the step ended without noticing the re-targeted partition")
	}
	msg := err.Error()
	if !strings.Contains(msg, "re-targeted by another tool") || !strings.Contains(msg, "orders-0 moving to [0 1 2 3]") || strings.Contains(msg, "resume with: kshift apply") {
		t.Fatalf("want the foreign move named and advice that works, not apply --step:\n%s", msg)
	}
}
