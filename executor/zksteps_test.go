package executor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// recordingZK is a ZooKeeper step runner that records what the executor
// asks of it; zkops and its tests on real ZooKeeper own the ensemble side.
type recordingZK struct {
	state map[int]StepState
	calls []string
}

func (r *recordingZK) State(_ context.Context, s *plans.Step) (StepState, string, error) {
	return r.state[s.Number], "recorded", nil
}

func (r *recordingZK) Apply(_ context.Context, s *plans.Step) error {
	r.calls = append(r.calls, "apply "+string(s.Phase))
	r.state[s.Number] = StepDone
	return nil
}

func (r *recordingZK) Undo(_ context.Context, s *plans.Step) error {
	r.calls = append(r.calls, "undo "+string(s.Phase))
	r.state[s.Number] = StepPending
	return nil
}

// TestZooKeeperStepsInOrder pins how zk steps run through the executor: the
// step after a pending zk-join is refused, a done zk step is a no-op, the
// zk step is applied under the lock and audited, and its rollback undoes the
// forward step (zkops restores the membership the forward step recorded).
func TestZooKeeperStepsInOrder(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	p := planWithZooKeeperSteps(t, c, false)
	zk := &recordingZK{state: map[int]StepState{1: StepPending}}
	e, audit := testExecutor(t, c, func(o *Options) { o.ZooKeeperSteps = zk })
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	if _, err := e.Apply(ctx, ref, 2); !errors.Is(err, ErrRefused) {
		t.Fatalf("raise-rf before zk-join: %v, want refused", err)
	}
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatal(err)
	}
	if res, err := e.Apply(ctx, ref, 1); err != nil || !res.AlreadyDone {
		t.Fatalf("zk-join again: %+v %v, want already done", res, err)
	}
	if _, err := e.Apply(ctx, ref, 2); err != nil {
		t.Fatalf("raise-rf after zk-join: %v", err)
	}
	if _, err := e.Rollback(ctx, ref, 1, false); !errors.Is(err, ErrRefused) {
		t.Fatalf("rollback of zk-join with raise-rf done: %v, want refused", err)
	}
	if _, err := e.RollbackTo(ctx, ref, 1, false); err != nil {
		t.Fatal(err)
	}
	if want := []string{"apply zk-join", "undo zk-join"}; len(zk.calls) != 2 || zk.calls[0] != want[0] || zk.calls[1] != want[1] {
		t.Errorf("zk calls %v, want %v", zk.calls, want)
	}
	recs, _ := ReadAudit(audit)
	var zkCalls int
	for _, r := range recs {
		if r.Event == state.AuditCall && (r.Call == "zookeeper zk-join" || r.Call == "zookeeper undo zk-join") {
			zkCalls++
		}
	}
	if zkCalls != 2 {
		t.Errorf("audit log has %d zk calls, want 2", zkCalls)
	}
}

// TestDryRunOverZooKeeperSteps pins a dry run across ZooKeeper steps: the
// step after a dry-run zk-join is not refused for it, and a later zk step,
// which the live ensemble shows at neither end because zk-join only ran dry,
// prints its call with a note instead of being refused for drift. Nothing
// is applied.
func TestDryRunOverZooKeeperSteps(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	p := planWithZooKeeperSteps(t, c, true)
	zk := &recordingZK{state: map[int]StepState{1: StepPending, 5: StepDrifted}}
	var out strings.Builder
	e, _ := testExecutor(t, c, func(o *Options) { o.ZooKeeperSteps, o.DryRun, o.DryRunOut = zk, true, &out })
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	for n := 1; n <= 5; n++ {
		if _, err := e.Apply(ctx, ref, n); err != nil {
			t.Fatalf("dry run of step %d: %v\n%s", n, err, out.String())
		}
	}
	for _, want := range []string{"would call zookeeper zk-join", "would call AlterPartitionAssignments: orders-0=[3 4 5]",
		"dry run: step 5 (zk-handover): the live ensemble (recorded) does not show the ZooKeeper steps dry-run before it", "would call zookeeper zk-handover"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
	if len(zk.calls) != 0 {
		t.Errorf("dry run ran zk steps: %v", zk.calls)
	}
	if st := c.replicas(t, "orders", 0); !slices.Equal(st.Replicas, []int32{0, 1, 2}) {
		t.Errorf("dry run changed orders-0: %+v", st)
	}
}

// TestDryRunUndoLeavesZooKeeperStepPending pins the state a dry-run undo
// leaves: after `rollback --step 1 --dry-run` of a done zk-join, the dry run
// shows step 1 pending (status, and the order gate of step 2), although the
// ensemble, which the dry run did not touch, still shows it done.
func TestDryRunUndoLeavesZooKeeperStepPending(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	p := planWithZooKeeperSteps(t, c, false)
	zk := &recordingZK{state: map[int]StepState{1: StepDone}}
	var out strings.Builder
	e, _ := testExecutor(t, c, func(o *Options) { o.ZooKeeperSteps, o.DryRun, o.DryRunOut = zk, true, &out })
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	if _, err := e.Rollback(ctx, ref, 1, false); err != nil {
		t.Fatalf("dry run of the undo of zk-join: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "would call zookeeper undo zk-join") {
		t.Errorf("dry run output lacks the undo of zk-join:\n%s", out.String())
	}
	st, err := e.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Steps[0].State; got != StepPending {
		t.Errorf("status of zk-join after its dry-run undo: %s, want pending", got)
	}
	if _, err := e.Apply(ctx, ref, 2); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "step 1 (zk-join) is pending") {
		t.Errorf("dry run of raise-rf after the dry-run undo of zk-join: %v, want refused for step 1 pending", err)
	}
	if len(zk.calls) != 0 || zk.state[1] != StepDone {
		t.Errorf("dry run changed the ensemble: calls %v, state %s", zk.calls, zk.state[1])
	}
}

// planWithZooKeeperSteps creates topic orders on c and returns its phased
// plan with a zk-join first (step 1) and, with handover, a zk-handover last
// (step 5), both on a made-up ensemble that recordingZK stands in for.
func planWithZooKeeperSteps(t *testing.T, c *testCluster, handover bool) *plans.Plan {
	t.Helper()
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	for i := range p.Steps {
		p.Steps[i].Number++
	}
	zk := &plans.ZooKeeperChange{Connect: "zk1:2181"}
	p.Steps = append([]plans.Step{{Number: 1, Phase: plans.PhaseZKJoin, ZooKeeper: zk}}, p.Steps...)
	if handover {
		p.Steps = append(p.Steps, plans.Step{Number: len(p.Steps) + 1, Phase: plans.PhaseZKHandover, ZooKeeper: zk})
	}
	return p
}

// TestDryRunNeverUndoesForkOrPrune pins that a zk-fork or zk-prune step,
// which has no undo, is refused by rollback, dry run included: the dry run
// must not claim an undo that does not exist.
func TestDryRunNeverUndoesForkOrPrune(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	p := planWithZooKeeperSteps(t, c, false)
	zk := &plans.ZooKeeperChange{Connect: "zk4:2181", Chroot: "/", Sources: []int{1}}
	n := len(p.Steps)
	p.Steps = append(p.Steps, plans.Step{Number: n + 1, Phase: plans.PhaseZKFork, ZooKeeper: zk}, plans.Step{Number: n + 2, Phase: plans.PhaseZKPrune, ZooKeeper: zk})
	rec := &recordingZK{state: map[int]StepState{1: StepDone, n + 1: StepDone, n + 2: StepDone}}
	var out strings.Builder
	e, _ := testExecutor(t, c, func(o *Options) { o.ZooKeeperSteps, o.DryRun, o.DryRunOut = rec, true, &out })
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	for _, k := range []int{n + 2, n + 1} {
		if _, err := e.Rollback(ctx, ref, k, true); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "cannot be undone") {
			t.Errorf("dry run of the undo of step %d (%s): %v, want refused", k, p.Steps[k-1].Phase, err)
		}
	}
	if strings.Contains(out.String(), "would call zookeeper undo zk-fork") || strings.Contains(out.String(), "would call zookeeper undo zk-prune") {
		t.Errorf("the dry run claims an undo of fork or prune:\n%s", out.String())
	}
}
