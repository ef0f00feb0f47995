package executor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkadouble"
	"github.com/kshift/kshift/plans"
)

// Throttle overrides: forward steps and resumes run fast, the rollback that
// gets interrupted at a slow rate.
const (
	fastRate plans.Rate = 200 << 20
	slowRate plans.Rate = 1 << 20
)

// interruptedRollback applies every step of p, then rolls back step n and
// interrupts it once the undo has copied something. The double's clock is
// stopped before the rollback and moved on by hand only until some bytes
// have copied, so the undo is still copying when the test looks, however
// loaded the machine; restart lets the clock run again (for a resume). It
// returns the rollback's error and the executor that ran it (whose audit
// log holds the throttles it left).
func interruptedRollback(t *testing.T, c *testCluster, ref PlanRef, n int) (slow *Executor, restart func(), err error) {
	t.Helper()
	fast, _ := testExecutor(t, c, func(o *Options) { o.Throttle = fastRate })
	ctx := testCtx(t, 60*time.Second)
	for i := range ref.Plan.Steps {
		if _, err := fast.Apply(ctx, ref, ref.Plan.Steps[i].Number); err != nil {
			t.Fatalf("apply step %d: %v", ref.Plan.Steps[i].Number, err)
		}
	}
	clock := c.Clock()
	speed := clock.Factor()
	clock.SetFactor(0)
	restart = func() { clock.SetFactor(speed) }
	rctx, cancel := context.WithCancel(ctx)
	slow, _ = testExecutor(t, c, func(o *Options) {
		o.Throttle = slowRate
		o.Progress = func(pr Progress) {
			if pr.BytesCopied > 0 {
				cancel()
				return
			}
			clock.Advance(2 * time.Second) // a few MiB at slowRate, of 64 MiB per replica
		}
	})
	_, err = slow.Rollback(rctx, ref, n, false)
	return slow, restart, err
}

// TestInterruptedRollbackResumes pins an interrupted rollback: the error
// names the forward step being undone and the commands that resume it
// (kshift rollback) or revert it (kshift cancel), never apply; status shows
// the step's undo in flight with its copy progress, not drift; applying the
// step meanwhile is refused with the same advice; and running the rollback
// again resumes it to the step's exact from, with no throttle left.
func TestInterruptedRollbackResumes(t *testing.T) {
	c := startCluster(t, 20, kafkadouble.Config{})
	c.topic(t, "orders", 64<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	slow, restart, err := interruptedRollback(t, c, ref, 3)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted rollback: %v; want ErrInterrupted", err)
	}
	msg := err.Error()
	for _, want := range []string{"the undo of step 3", "orders-0", "resume with: kshift rollback plan.yaml --step 3", "kshift cancel plan.yaml", "step 3's to"} {
		if !strings.Contains(msg, want) {
			t.Errorf("interrupted rollback's message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "kshift apply") || strings.Contains(msg, "step 1") {
		t.Errorf("interrupted rollback's message points at the rollback plan's own step or at apply:\n%s", msg)
	}

	st, err := slow.Status(testCtx(t, 30*time.Second), ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Steps[0].State != StepDone || st.Steps[1].State != StepDone {
		t.Errorf("steps 1-2 while step 3's undo is in flight: %+v", st.Steps[:2])
	}
	s3 := st.Steps[2]
	if s3.State != StepUndoInFlight || s3.UndoInFlight != 2 || s3.Drifted != 0 {
		t.Fatalf("step 3 while its undo is in flight: %+v; want undo-in-flight for both partitions", s3)
	}
	if s3.BytesCopied <= 0 || s3.BytesCopied >= s3.BytesTotal || s3.BytesTotal != 2*3*64<<20 {
		t.Errorf("step 3's undo progress %d / %d; want some of 2 partitions x 3 replicas x 64MiB", s3.BytesCopied, s3.BytesTotal)
	}
	for _, ps := range s3.Problems {
		if ps.State != StateUndoInFlight || !strings.Contains(ps.Detail, "undo") {
			t.Errorf("%s: %s (%s); want undo-in-flight", ps.Name(), ps.State, ps.Detail)
		}
	}

	// Applying the step forward meanwhile is refused with the same advice.
	if _, err := slow.Apply(testCtx(t, 30*time.Second), ref, 3); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "kshift rollback plan.yaml --step 3") {
		t.Errorf("apply of step 3 while its undo is in flight: %v; want a refusal saying how to finish or revert the undo", err)
	}

	restart()
	resume, _ := testExecutor(t, c, func(o *Options) { o.Audit, o.Throttle = slow.opts.Audit, fastRate })
	if _, err := resume.Rollback(testCtx(t, 60*time.Second), ref, 3, false); err != nil {
		t.Fatalf("resumed rollback: %v", err)
	}
	for _, m := range p.Steps[2].Partitions {
		if got := c.replicas(t, m.Topic, m.Partition); !slices.Equal(got.Replicas, m.From) || got.Reassigning || !sameSet(got.ISR, m.From) {
			t.Errorf("after the resumed rollback: %s replicas %v isr %v moving %v; want %v", m.Name(), got.Replicas, got.ISR, got.Reassigning, m.From)
		}
	}
	c.noThrottles(t)
}

// TestCancelRevertsUndoInFlight pins kshift cancel on an interrupted
// rollback: a cancel with another plan does not recognise the undo, so it
// leaves it alone, keeps the throttles it copies under and says so; a
// cancel with the plan reverts the undo (KIP-455 cancel, then the reorder:
// the cancel alone leaves the in-flight order, KAFKA-BEHAVIOUR.md 7) to the
// step's exact to, and clears every throttle.
func TestCancelRevertsUndoInFlight(t *testing.T) {
	c := startCluster(t, 20, kafkadouble.Config{})
	// orders-0 is where step 1 left it: [5,3,4]. Its undo back to
	// [3,4,5,0,1,2] is listed in flight as [3,4,5,0,1,2], so a bare cancel
	// leaves [3,4,5].
	to := []int32{5, 3, 4}
	c.topic(t, "orders", 64<<20, nil, to)
	c.topic(t, "other", 1<<20, nil, []int32{0, 1, 2})
	p := &plans.Plan{Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: c.ClusterID(), Strategy: plans.StrategyPhased, Throttle: 10 << 20,
		Steps: []plans.Step{{Number: 1, Phase: plans.PhaseLowerRF, Partitions: []plans.Move{{Topic: "orders", Partition: 0, From: []int32{3, 4, 5, 0, 1, 2}, To: to, Size: 64 << 20}}}}}
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	slow, _, err := interruptedRollback(t, c, ref, 1)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted rollback: %v; want ErrInterrupted", err)
	}
	if st := c.replicas(t, "orders", 0); !st.Reassigning {
		t.Fatalf("orders-0 not moving after the interrupt: %+v", st)
	}
	ctx := testCtx(t, 30*time.Second)

	// A plan that knows nothing of orders: its throttles stay, named.
	other := &plans.Plan{Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: c.ClusterID(), Strategy: plans.StrategyPhased, Throttle: 10 << 20,
		Steps: []plans.Step{{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{{Topic: "other", Partition: 0, From: []int32{0, 1, 2}, To: []int32{0, 1, 2, 3}}}}}}
	res, err := slow.Cancel(ctx, PlanRef{Plan: other, Path: "other.yaml"})
	if err != nil {
		t.Fatalf("cancel with another plan: %v", err)
	}
	if len(res.Steps) != 0 || len(res.Undos) != 0 || !slices.Equal(res.Unrecognised, []string{"orders-0"}) {
		t.Errorf("cancel with another plan: %+v; want nothing reverted and orders-0 unrecognised", res)
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "orders-0") || !strings.Contains(res.Warnings[0], "kshift throttle clear other.yaml") {
		t.Errorf("cancel with another plan: warnings %q; want orders-0 named and what to do", res.Warnings)
	}
	if cfg, _ := c.TopicConfigs("orders"); !strings.Contains(cfg[FollowerReplicasKey], "0:0") {
		t.Errorf("orders follower throttle after cancel with another plan: %q; want kept while the undo copies", cfg[FollowerReplicasKey])
	}
	if c.BrokerRates(0)[FollowerRateKey] != "1048576" {
		t.Errorf("broker 0 rates after cancel with another plan: %v; want kept while the undo copies", c.BrokerRates(0))
	}
	if st := c.replicas(t, "orders", 0); !st.Reassigning {
		t.Fatalf("cancel with another plan touched orders-0: %+v", st)
	}

	res, err = slow.Cancel(ctx, ref)
	if err != nil || !slices.Equal(res.Undos, []int{1}) || len(res.Steps) != 0 || len(res.Unrecognised) != 0 {
		t.Fatalf("cancel: %+v, %v; want the undo of step 1 reverted", res, err)
	}
	if st := c.replicas(t, "orders", 0); !slices.Equal(st.Replicas, to) || st.Reassigning {
		t.Errorf("after cancel: replicas %v moving %v; want %v exactly", st.Replicas, st.Reassigning, to)
	}
	c.noThrottles(t)
	st, err := slow.Status(ctx, ref)
	if err != nil || st.Steps[0].State != StepDone {
		t.Errorf("status after cancel: %+v, %v; want step 1 done", st, err)
	}
}

// TestInterruptedMoveLeaderRollbackResumes pins the undo of a move-leader
// step interrupted between its elections: the replicas are back at the
// step's from but some leaders are still the targets. Status shows the undo
// in flight (not pending, which would make rollback report nothing to undo),
// and running the rollback again elects the rest.
func TestInterruptedMoveLeaderRollbackResumes(t *testing.T) {
	c := startCluster(t, 20, kafkadouble.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{2, 0, 1})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	e, _ := testExecutor(t, c, nil)
	ctx := testCtx(t, 60*time.Second)
	for n := 1; n <= 2; n++ {
		if _, err := e.Apply(ctx, ref, n); err != nil {
			t.Fatalf("apply step %d: %v", n, err)
		}
	}
	// One election at a time, a second apart: interrupt after the first.
	rctx, cancel := context.WithCancel(ctx)
	slow, _ := testExecutor(t, c, func(o *Options) { o.ElectionBatch, o.ElectionWait = 1, time.Second })
	go func() {
		defer cancel()
		for rctx.Err() == nil {
			for _, m := range p.Steps[1].Partitions {
				if st, _ := c.Partition(m.Topic, m.Partition); st.Leader == m.From[0] {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := slow.Rollback(rctx, ref, 2, false); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted rollback: %v; want ErrInterrupted", err)
	}
	st, err := e.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if s2 := st.Steps[1]; s2.State != StepUndoInFlight || s2.UndoInFlight == 0 || s2.UndoInFlight+s2.Pending != 3 {
		t.Fatalf("step 2 after its undo was interrupted between elections: %+v; want undo-in-flight", s2)
	}
	res, err := e.Rollback(ctx, ref, 2, false)
	if err != nil || res.AlreadyDone {
		t.Fatalf("resumed rollback: %+v, %v; want the remaining elections run", res, err)
	}
	for _, m := range p.Steps[1].Partitions {
		if got := c.replicas(t, m.Topic, m.Partition); !slices.Equal(got.Replicas, m.From) || got.Leader != m.From[0] {
			t.Errorf("after the resumed rollback: %s replicas %v leader %d; want %v led by %d", m.Name(), got.Replicas, got.Leader, m.From, m.From[0])
		}
	}
}
