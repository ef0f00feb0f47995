package executor

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
)

// orderPlan is a migration of orders-0 and events-0 whose raise-rf is two
// steps, one per partition: 1 raise orders-0, 2 raise events-0, 3
// move-leader, 4 lower-rf. Steps 1 and 2 are independent, so the order
// check is all that ties them.
func orderPlan(t *testing.T) (*testCluster, *plans.Plan) {
	t.Helper()
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	c.topic(t, "events", 1<<20, nil, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders", "events")
	splitStep(t, p, 1)
	if p.Steps[0].Partitions[0].Name() != "orders-0" || p.Steps[1].Partitions[0].Name() != "events-0" || len(p.Steps) != 4 {
		t.Fatalf("unexpected plan: %+v", p.Steps)
	}
	return c, p
}

// at fails unless partition topic-0 has exactly replicas.
func (c *testCluster) at(t *testing.T, topic string, replicas []int32, when string) {
	t.Helper()
	if st := c.replicas(t, topic, 0); !slices.Equal(st.Replicas, replicas) || st.Reassigning {
		t.Errorf("%s: %s-0 replicas %v (moving %v), want %v", when, topic, st.Replicas, st.Reassigning, replicas)
	}
}

// TestForceOrderReassignmentSteps pins --force-order for reassignment
// steps: a step whose previous step is not done is refused, naming that
// step and the flag, and changes nothing; forced, it runs; forcing never
// skips the drift check.
func TestForceOrderReassignmentSteps(t *testing.T) {
	c, p := orderPlan(t)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	e, _ := testExecutor(t, c, nil)
	_, err := e.Apply(ctx, ref, 2)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "step 1 (raise-rf) is pending") || !strings.Contains(err.Error(), "--force-order") {
		t.Fatalf("step 2 with step 1 pending: %v; want refused naming step 1 and --force-order", err)
	}
	c.at(t, "events", p.Steps[1].Partitions[0].From, "after the refusal")
	e.opts.ForceOrder = true
	if _, err := e.Apply(ctx, ref, 2); err != nil {
		t.Fatalf("step 2 with --force-order: %v", err)
	}
	c.at(t, "events", p.Steps[1].Partitions[0].To, "after the forced step 2")
	c.at(t, "orders", p.Steps[0].Partitions[0].From, "after the forced step 2")
	// Step 3 needs orders-0 at step 1's to: forcing the order does not
	// make that drift acceptable.
	_, err = e.Apply(ctx, ref, 3)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "drift") || !strings.Contains(err.Error(), "orders-0") {
		t.Fatalf("forced step 3 with orders-0 still at step 1's from: %v; want a drift refusal naming orders-0", err)
	}
	c.at(t, "events", p.Steps[2].Partitions[1].From, "after the refused step 3")
}

// TestRollbackForce pins rollback --force: undoing step 1 while the later
// step 2 is done is refused, naming step 2 and how to go on, and changes
// nothing; with force it undoes step 1 alone.
func TestRollbackForce(t *testing.T) {
	c, p := orderPlan(t)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	e, _ := testExecutor(t, c, nil)
	for n := 1; n <= 2; n++ {
		if _, err := e.Apply(ctx, ref, n); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.Rollback(ctx, ref, 1, false)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "step 2 is done") || !strings.Contains(err.Error(), "--to-step 1") {
		t.Fatalf("rollback of step 1 with step 2 done: %v; want refused naming step 2 and --to-step", err)
	}
	c.at(t, "orders", p.Steps[0].Partitions[0].To, "after the refused rollback")
	res, err := e.Rollback(ctx, ref, 1, true)
	if err != nil {
		t.Fatalf("rollback --force of step 1: %v", err)
	}
	if res.AlreadyDone || res.Undoes != 1 {
		t.Errorf("rollback --force result %+v; want the undo of step 1 applied", res)
	}
	c.at(t, "orders", p.Steps[0].Partitions[0].From, "after rollback --force of step 1")
	c.at(t, "events", p.Steps[1].Partitions[0].To, "after rollback --force of step 1")
	st, err := e.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Steps[0].State != StepPending || st.Steps[1].State != StepDone {
		t.Errorf("status after rollback --force of step 1: step 1 %s, step 2 %s; want pending, done", st.Steps[0].State, st.Steps[1].State)
	}
	c.noThrottles(t)
}
