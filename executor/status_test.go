package executor

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
)

// stepCounts is a step status's partition counts.
type stepCounts struct {
	state                            StepState
	done, inFlight, pending, drifted int
}

func countsOf(s StepStatus) stepCounts {
	return stepCounts{s.State, s.Done, s.InFlight, s.Pending, s.Drifted}
}

// TestStatusPartialAndDrifted pins what status reports for a step some of
// whose partitions are at `to` and the others at `from` (partial, which
// apply resumes), and for a partition changed by hand (drifted in every
// step of its chain, named with its live replicas).
func TestStatusPartialAndDrifted(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{2, 0, 1})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	e, _ := testExecutor(t, c, nil)
	status := func() []StepStatus {
		t.Helper()
		st, err := e.Status(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return st.Steps
	}

	// orders-0 alone moved to step 1's to, as an interrupted run leaves it.
	c.reassignSeen(t, "orders", 0, p.Steps[0].Partitions[0].To)
	st := status()
	for i, want := range []stepCounts{{StepPartial, 1, 0, 2, 0}, {StepPending, 0, 0, 3, 0}, {StepPending, 0, 0, 3, 0}} {
		if got := countsOf(st[i]); got != want || len(st[i].Problems) != 0 {
			t.Errorf("partial: step %d %+v, problems %+v; want %+v", i+1, got, st[i].Problems, want)
		}
	}

	// orders-1 reordered by hand: at neither end of any of its steps.
	c.reassignSeen(t, "orders", 1, []int32{2, 1, 0})
	st = status()
	for i, want := range []stepCounts{{StepDrifted, 1, 0, 1, 1}, {StepDrifted, 0, 0, 2, 1}, {StepDrifted, 0, 0, 2, 1}} {
		if got := countsOf(st[i]); got != want {
			t.Errorf("drifted: step %d %+v; want %+v", i+1, got, want)
		}
		if pr := st[i].Problems; len(pr) != 1 || pr[0].Name() != "orders-1" || pr[0].State != StateDrifted ||
			!slices.Equal(pr[0].Replicas, []int32{2, 1, 0}) || !strings.Contains(pr[0].Detail, "replicas are [2 1 0]") {
			t.Errorf("drifted: step %d problems %+v; want orders-1 drifted with its live replicas [2 1 0]", i+1, pr)
		}
	}

	// Put back, the partial step resumes: only the pending partitions are
	// submitted, and the step is done.
	c.reassignSeen(t, "orders", 1, []int32{1, 2, 0})
	res, err := e.Apply(ctx, ref, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.AlreadyDone || res.Submitted != 2 {
		t.Errorf("resuming the partial step: %+v; want 2 partitions submitted", res)
	}
	if got := countsOf(status()[0]); got != (stepCounts{StepDone, 3, 0, 0, 0}) {
		t.Errorf("step 1 after resuming: %+v; want done", got)
	}
}
