package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kmsg"
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
// fails the test unless the rollback ends interrupted, and returns that
// error and the executor that ran it (whose audit log holds the throttles
// it left).
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
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted rollback: %v; want ErrInterrupted", err)
	}
	return slow, restart, err
}

// auditRuns returns the step and undoes fields of each start and end record
// command wrote to e's audit log, in order: what an operator reading the log
// learns of each run.
func auditRuns(t *testing.T, e *Executor, command string) []string {
	t.Helper()
	recs, err := ReadAudit(e.opts.Audit.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Command == command && (r.Event == state.AuditStart || r.Event == state.AuditEnd) {
			out = append(out, fmt.Sprintf("%s step=%d undoes=%d", r.Event, r.Step, r.Undoes))
		}
	}
	return out
}

// TestInterruptedRollbackResumes pins an interrupted rollback: the error
// names the forward step being undone and the commands that resume it
// (kshift rollback) or revert it (kshift cancel), never apply; status shows
// the step's undo in flight with its copy progress, not drift; applying the
// step meanwhile is refused with the same advice; and running the rollback
// again resumes it to the step's exact from, with no throttle left.
func TestInterruptedRollbackResumes(t *testing.T) {
	c := startCluster(t, 20, heldClock())
	c.topic(t, "orders", 64<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	slow, restart, err := interruptedRollback(t, c, ref, 3)
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
	// The health gates read the step by its number in the plan they are
	// given: for an undo, the derived rollback plan, which lists it.
	var gated []string
	resume, _ := testExecutor(t, c, func(o *Options) {
		o.Audit, o.Throttle = slow.opts.Audit, fastRate
	})
	resume.gates = append(slices.Clone(resume.gates), inspect.GateDef{ID: "test-seen", Kind: inspect.KindSafety, Run: func(in *inspect.GateInput) inspect.GateResult {
		gp, n := in.Scope.Plan, in.Scope.Step
		gated = append(gated, fmt.Sprintf("%s plan, its step %d is %s", gp.Kind, n, gp.Step(n).Label()))
		return inspect.GateResult{Gate: "test-seen", Status: inspect.StatusPass}
	}})
	if _, err := resume.Rollback(testCtx(t, 60*time.Second), ref, 3, false); err != nil {
		t.Fatalf("resumed rollback: %v", err)
	}
	if want := []string{"rollback plan, its step 1 is undo of step 3"}; !slices.Equal(slices.Compact(gated), want) {
		t.Errorf("health gates of the resumed rollback (before and under the lock) saw %q, want %q", gated, want)
	}
	for _, m := range p.Steps[2].Partitions {
		if got := c.replicas(t, m.Topic, m.Partition); !slices.Equal(got.Replicas, m.From) || got.Reassigning || !plans.SameMembers(got.ISR, m.From) {
			t.Errorf("after the resumed rollback: %s replicas %v isr %v moving %v; want %v", m.Name(), got.Replicas, got.ISR, got.Reassigning, m.From)
		}
	}
	c.noThrottles(t)
	// The audit log numbers the undo as the step it undoes, and says so.
	want := []string{"start step=3 undoes=3", "end step=3 undoes=3"}
	if got := auditRuns(t, slow, "rollback"); !slices.Equal(got, append(want, want...)) {
		t.Errorf("audit log of the rollback and its resume: %q; want %q twice", got, want)
	}
}

// TestRollbackAfterUndoFinishedInKafka: an interrupted rollback leaves its
// undo to finish inside Kafka under kshift's throttles. Running the rollback
// again then finds nothing to undo and clears those throttles, as apply does
// for a step already done (DESIGN invariant 8).
func TestRollbackAfterUndoFinishedInKafka(t *testing.T) {
	c := startCluster(t, 20, heldClock())
	c.topic(t, "orders", 64<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	slow, _, _ := interruptedRollback(t, c, ref, 3)
	c.Clock().SetFactor(2000) // let the undo finish in Kafka quickly
	ctx := testCtx(t, 60*time.Second)
	for {
		st, err := slow.Status(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if st.Steps[2].State == StepPending {
			break // the undo finished inside Kafka
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the undo left in flight never finished: %+v", st.Steps[2])
		case <-time.After(20 * time.Millisecond):
		}
	}
	if cfg, _ := c.TopicConfigs("orders"); cfg[LeaderReplicasKey] == "" {
		t.Fatalf("the interrupted rollback left no throttle to clear: %v", cfg)
	}
	again, _ := testExecutor(t, c, func(o *Options) { o.Audit = slow.opts.Audit })
	res, err := again.Rollback(ctx, ref, 3, false)
	if err != nil || !res.AlreadyDone || len(res.ClearedLeftovers) == 0 {
		t.Fatalf("rollback of step 3 after its undo finished: %+v, %v; want nothing to undo, the leftover throttles cleared", res, err)
	}
	c.noThrottles(t)
	// Once cleared, running it again finds nothing left.
	if res, err := again.Rollback(ctx, ref, 3, false); err != nil || !res.AlreadyDone || len(res.ClearedLeftovers) > 0 {
		t.Errorf("rollback of step 3 a second time: %+v, %v; want nothing to undo and nothing to clear", res, err)
	}
}

// TestCancelRevertsUndoInFlight pins kshift cancel on an interrupted
// rollback: a cancel with another plan does not recognise the undo, so it
// leaves it alone, keeps the throttles it copies under and says so; a
// cancel with the plan reverts the undo (KIP-455 cancel, then the reorder:
// the cancel alone leaves the in-flight order, docs/kafka-behaviour.md 7) to the
// step's exact to, and clears every throttle.
func TestCancelRevertsUndoInFlight(t *testing.T) {
	c := startCluster(t, 20, heldClock())
	// orders-0 is where step 1 left it: [5,3,4]. Its undo back to
	// [3,4,5,0,1,2] is listed in flight as [3,4,5,0,1,2], so a bare cancel
	// leaves [3,4,5].
	to := []int32{5, 3, 4}
	c.topic(t, "orders", 64<<20, nil, to)
	c.topic(t, "other", 1<<20, nil, []int32{0, 1, 2})
	p := &plans.Plan{Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: c.ClusterID(), Strategy: plans.StrategyPhased, Throttle: 10 << 20,
		Steps: []plans.Step{{Number: 1, Phase: plans.PhaseLowerRF, Partitions: []plans.Move{{Topic: "orders", Partition: 0, From: []int32{3, 4, 5, 0, 1, 2}, To: to, Size: 64 << 20}}}}}
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	slow, _, _ := interruptedRollback(t, c, ref, 1)
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
	if len(res.Steps) != 0 || len(cancelled(res, true)) != 0 || !slices.Equal(res.Unrecognised, []string{"orders-0"}) {
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
	if err != nil || !slices.Equal(cancelled(res, true), []int{1}) || len(cancelled(res, false)) != 0 || len(res.Unrecognised) != 0 {
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

// electingExecutor returns an executor electing one partition per batch
// and a context it cancels as the first ElectLeaders answer arrives: a run
// of a move-leader step (or its undo) is interrupted between its first and
// second election, whatever the machine's speed.
func electingExecutor(t *testing.T, c *testCluster, parent context.Context) (*Executor, context.Context) {
	t.Helper()
	ctx, cancel := context.WithCancel(parent)
	t.Cleanup(cancel)
	e, _ := testExecutor(t, c, func(o *Options) { o.ElectionBatch = 1 })
	recorded(e).onAnswer = func(req kmsg.Request, _ kmsg.Response) {
		if req.Key() == kmsg.ElectLeaders.Int16() {
			cancel()
		}
	}
	return e, ctx
}

// TestInterruptedMoveLeaderRollbackResumes pins the undo of a move-leader
// step interrupted between its elections: the replicas are back at the
// step's from but some leaders are still the targets. The interrupt says
// how to resume (kshift rollback) or revert (kshift cancel); status shows
// the undo in flight (not pending, which would make rollback report nothing
// to undo); applying the step meanwhile is refused and changes nothing;
// running the rollback again elects the rest. A second interrupted undo is
// reverted by kshift cancel: its unelected partitions go back to the step's
// to exactly, led by to's first replica, and apply finishes the step.
func TestInterruptedMoveLeaderRollbackResumes(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{2, 0, 1})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	lead := p.Steps[1].Partitions
	e, _ := testExecutor(t, c, nil)
	ctx := testCtx(t, 60*time.Second)
	for n := 1; n <= 2; n++ {
		if _, err := e.Apply(ctx, ref, n); err != nil {
			t.Fatalf("apply step %d: %v", n, err)
		}
	}
	// Where each partition of step 2 is: replicas and leader.
	at := func(m plans.Move) string {
		got := c.replicas(t, m.Topic, m.Partition)
		return fmt.Sprintf("%v led by %d", got.Replicas, got.Leader)
	}
	want := func(replicas []int32) string { return fmt.Sprintf("%v led by %d", replicas, replicas[0]) }
	unelected := func() string { return fmt.Sprintf("%v led by %d", lead[1].From, lead[1].To[0]) }

	slow, rctx := electingExecutor(t, c, ctx)
	_, err := slow.Rollback(rctx, ref, 2, false)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted rollback: %v; want ErrInterrupted", err)
	}
	for _, want := range []string{"the undo of step 2", "orders-1; orders-2", "resume with: kshift rollback plan.yaml --step 2", "kshift cancel plan.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("interrupted rollback's message lacks %q:\n%v", want, err)
		}
	}
	if got := at(lead[1]); got != unelected() {
		t.Fatalf("orders-1 after the interrupt: %s; want %s (reordered back, not elected)", got, unelected())
	}
	st, err := e.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if s2 := st.Steps[1]; s2.State != StepUndoInFlight || s2.UndoInFlight != 2 || s2.Pending != 1 {
		t.Fatalf("step 2 after its undo was interrupted between elections: %+v; want undo-in-flight", s2)
	}
	// Applying the step meanwhile is refused, and changes nothing.
	if _, err := e.Apply(ctx, ref, 2); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "kshift rollback plan.yaml --step 2") || !strings.Contains(err.Error(), "kshift cancel plan.yaml") {
		t.Errorf("apply of step 2 while its undo is between elections: %v; want a refusal saying how to finish or revert the undo", err)
	}
	if got := at(lead[1]); got != unelected() {
		t.Errorf("orders-1 after the refused apply: %s; want %s", got, unelected())
	}
	res, err := e.Rollback(ctx, ref, 2, false)
	if err != nil || res.AlreadyDone {
		t.Fatalf("resumed rollback: %+v, %v; want the remaining elections run", res, err)
	}
	for _, m := range lead {
		if got := at(m); got != want(m.From) {
			t.Errorf("after the resumed rollback: %s %s; want %s", m.Name(), got, want(m.From))
		}
	}

	// Forward again, a second interrupted undo, and kshift cancel.
	if _, err := e.Apply(ctx, ref, 2); err != nil {
		t.Fatalf("apply step 2 again: %v", err)
	}
	slow, rctx = electingExecutor(t, c, ctx)
	if _, err := slow.Rollback(rctx, ref, 2, false); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("second interrupted rollback: %v; want ErrInterrupted", err)
	}
	cres, err := e.Cancel(ctx, ref)
	if err != nil || !slices.Equal(cancelled(cres, true), []int{2}) || len(cancelled(cres, false)) != 0 {
		t.Fatalf("cancel: %+v, %v; want the undo of step 2 reverted", cres, err)
	}
	if got, want := auditRuns(t, e, "apply"), []string{"start step=2 undoes=2", "end step=2 undoes=2", "end step=0 undoes=0"}; len(got) < 3 || !slices.Equal(got[len(got)-3:], want) {
		t.Errorf("audit log of the cancel: %q; want it to end with %q", got, want)
	}
	if got := at(lead[0]); got != want(lead[0].From) {
		t.Errorf("after cancel: orders-0 (its undo finished) %s; want %s", got, want(lead[0].From))
	}
	for _, m := range lead[1:] {
		if got := at(m); got != want(m.To) {
			t.Errorf("after cancel: %s %s; want step 2's to, %s", m.Name(), got, want(m.To))
		}
	}
	if st, err = e.Status(ctx, ref); err != nil || st.Steps[1].State != StepPartial || st.Steps[1].Done != 2 {
		t.Errorf("status after cancel: %+v, %v; want step 2 partial, 2 partitions done", st.Steps[1], err)
	}
	if _, err := e.Apply(ctx, ref, 2); err != nil {
		t.Fatalf("apply step 2 after the cancel: %v", err)
	}
	for _, m := range lead {
		if got := at(m); got != want(m.To) {
			t.Errorf("after apply: %s %s; want %s", m.Name(), got, want(m.To))
		}
	}
}

// TestMoveLeaderInterruptedBetweenElections pins a move-leader step
// interrupted between its elections (nothing moves in Kafka, some leaders
// not yet elected): the interrupt says how to resume or revert it; status
// shows it in flight; kshift cancel reorders the unelected partitions back
// to the step's from, their old leader still first (the elected one stays
// done); apply then finishes the step.
func TestMoveLeaderInterruptedBetweenElections(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{2, 0, 1})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	lead := p.Steps[1].Partitions
	e, _ := testExecutor(t, c, nil)
	ctx := testCtx(t, 60*time.Second)
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatalf("apply step 1: %v", err)
	}
	slow, sctx := electingExecutor(t, c, ctx)
	_, err := slow.Apply(sctx, ref, 2)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted apply: %v; want ErrInterrupted", err)
	}
	for _, want := range []string{"2 partition(s) of step 2", "election has not run", "orders-1; orders-2", "resume with: kshift apply plan.yaml --step 2 (it runs the elections left", "or revert with: kshift cancel plan.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("interrupted apply's message lacks %q:\n%v", want, err)
		}
	}
	st, err := e.Status(ctx, ref)
	if err != nil || st.Steps[1].State != StepInFlight || st.Steps[1].InFlight != 2 {
		t.Fatalf("status after the interrupt: %+v, %v; want step 2 in flight for 2 partitions", st, err)
	}
	res, err := e.Cancel(ctx, ref)
	if err != nil || !slices.Equal(cancelled(res, false), []int{2}) || len(cancelled(res, true)) != 0 {
		t.Fatalf("cancel: %+v, %v; want step 2 reverted", res, err)
	}
	if got, want := auditRuns(t, e, "apply"), []string{"start step=2 undoes=0", "end step=2 undoes=0", "end step=0 undoes=0"}; len(got) < 3 || !slices.Equal(got[len(got)-3:], want) {
		t.Errorf("audit log of the cancel: %q; want it to end with %q", got, want)
	}
	for i, m := range lead {
		want := m.From
		if i == 0 {
			want = m.To // elected before the interrupt: done, left so
		}
		if got := c.replicas(t, m.Topic, m.Partition); !slices.Equal(got.Replicas, want) || got.Leader != want[0] {
			t.Errorf("after cancel: %s replicas %v leader %d; want %v led by %d", m.Name(), got.Replicas, got.Leader, want, want[0])
		}
	}
	if st, err = e.Status(ctx, ref); err != nil || st.Steps[1].State != StepPartial {
		t.Errorf("status after cancel: %+v, %v; want step 2 partial", st.Steps[1], err)
	}
	if _, err := e.Apply(ctx, ref, 2); err != nil {
		t.Fatalf("apply step 2 after the cancel: %v", err)
	}
	for _, m := range lead {
		if got := c.replicas(t, m.Topic, m.Partition); !slices.Equal(got.Replicas, m.To) || got.Leader != m.To[0] {
			t.Errorf("after apply: %s replicas %v leader %d; want %v led by %d", m.Name(), got.Replicas, got.Leader, m.To, m.To[0])
		}
	}
}

// TestRollbackToRefusedPartway: rolling back several steps stops at the
// first step refused before it starts, and its result comes last, so the
// steps undone before it are reported as done and the error belongs to it.
func TestRollbackToRefusedPartway(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "a", 1<<20, nil, []int32{0, 1, 2})
	c.topic(t, "b", 1<<20, nil, []int32{1, 2, 0})
	// One step per topic and phase: a's steps are 1, 3, 5, b's 2, 4, 6.
	p := phasedPlan(t, c, 10<<20, "a", "b")
	var split []plans.Step
	for _, s := range p.Steps {
		for _, m := range s.Partitions {
			split = append(split, plans.Step{Number: len(split) + 1, Phase: s.Phase, Partitions: []plans.Move{m}})
		}
	}
	p.Steps = split
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	e, _ := testExecutor(t, c, nil)
	ctx := testCtx(t, 30*time.Second)
	for _, s := range p.Steps {
		if _, err := e.Apply(ctx, ref, s.Number); err != nil {
			t.Fatalf("apply step %d: %v", s.Number, err)
		}
	}
	c.reassign(t, "a", 0, []int32{5, 4, 3}) // a reorder by hand: step 5 drifts
	results, err := e.RollbackTo(ctx, ref, 1, false)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "step 5 is drifted") {
		t.Fatalf("rollback to step 1: %v; want a refusal of step 5 as drifted", err)
	}
	var got []string
	for _, r := range results {
		got = append(got, fmt.Sprintf("%s submitted=%d", plans.StepLabel(r.Step, r.Undoes), r.Submitted))
	}
	if want := []string{"undo of step 6 submitted=1", "undo of step 5 submitted=0"}; !slices.Equal(got, want) {
		t.Errorf("results %q, want %q", got, want)
	}
}

// TestMoveLeaderUndoWaitingOnStoppedLeader: a move-leader undo stopped
// between its elections, whose old leader then stops (out of the ISR, as
// when the elections timed out waiting for it). The plan's chain cannot
// tell those partitions from pending ones, but the undo itself can: running
// the rollback again must not report nothing to undo while the targets
// still lead; it is refused, changes nothing, and finishes once the broker
// is back.
func TestMoveLeaderUndoWaitingOnStoppedLeader(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{1, 0, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	e, _ := testExecutor(t, c, nil)
	ctx := testCtx(t, 60*time.Second)
	for n := 1; n <= 2; n++ {
		if _, err := e.Apply(ctx, ref, n); err != nil {
			t.Fatalf("apply step %d: %v", n, err)
		}
	}
	slow, rctx := electingExecutor(t, c, ctx)
	if _, err := slow.Rollback(rctx, ref, 2, false); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted rollback: %v; want ErrInterrupted", err)
	}
	// The partitions still led by a target are those whose old leader is 1.
	var waiting []plans.Move
	for _, m := range p.Steps[1].Partitions {
		if got := c.replicas(t, m.Topic, m.Partition); got.Leader != m.From[0] {
			waiting = append(waiting, m)
		}
	}
	if len(waiting) == 0 {
		t.Fatal("the interrupt left no election undone")
	}
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	for _, m := range waiting {
		for slices.Contains(c.replicas(t, m.Topic, m.Partition).ISR, 1) {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: broker 1 never left the ISR", m.Name())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	res, err := e.Rollback(ctx, ref, 2, false)
	if err == nil || (res != nil && res.AlreadyDone) {
		t.Fatalf("rollback of step 2 with its old leader stopped: %+v, %v; want it refused, not reported as nothing to undo", res, err)
	}
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "broker 1") {
		t.Errorf("rollback of step 2 with its old leader stopped: %v; want a refusal naming broker 1", err)
	}
	for _, m := range waiting {
		if got := c.replicas(t, m.Topic, m.Partition); got.Leader == m.From[0] {
			t.Errorf("%s: led by %d after the refused rollback", m.Name(), got.Leader)
		}
	}
	if err := c.StartBroker(1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Rollback(ctx, ref, 2, false); err != nil {
		t.Fatalf("rollback of step 2 once broker 1 is back: %v", err)
	}
	for _, m := range p.Steps[1].Partitions {
		if got := c.replicas(t, m.Topic, m.Partition); got.Leader != m.From[0] || !slices.Equal(got.Replicas, m.From) {
			t.Errorf("%s after the rollback: %v led by %d; want %v led by %d", m.Name(), got.Replicas, got.Leader, m.From, m.From[0])
		}
	}
}
