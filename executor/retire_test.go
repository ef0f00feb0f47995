package executor

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
)

// withRetire appends the retire-sources step to a phasedPlan.
func withRetire(p *plans.Plan) *plans.Plan {
	p.Steps = append(p.Steps, plans.Step{Number: len(p.Steps) + 1, Phase: plans.PhaseRetireSources,
		Retire: &plans.RetireChange{Sources: p.SourceBrokers, Targets: p.TargetBrokers}})
	return p
}

// TestRetireStep walks the retire-sources step on the simulator kept in a
// real ZooKeeper: refused while a source holds a replica or a partition the
// plan does not cover; then the controller moved off the sources by
// deleting /controller (the simulator, like Kafka, elects another broker;
// a source wins twice before a target does); the checklist and the stop
// order (status: waiting for the operator); rollback saying there is
// nothing to undo; the sources stopped one by one, the earlier steps' undo
// refused while they are gone, the step done once they all left; and its
// undo waiting for them to start again.
func TestRetireStep(t *testing.T) {
	zktest.Require(t)
	ens := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	conn := zktest.Dial(t, ens.Connect(), false)
	c := startCluster(t, 200, kafkasim.Config{Controller: 0})
	ctx := testCtx(t, 120*time.Second)
	if err := c.RegisterZooKeeper(ctx, conn, "/kafka"); err != nil {
		t.Fatal(err)
	}
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := withRetire(phasedPlan(t, c, 50<<20, "orders"))
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	c.alterConfig(t, kmsg.ConfigResourceTypeBroker, "0", map[string]string{"log.cleaner.threads": "2"})
	e, _ := testExecutor(t, c, func(o *Options) { o.ZooKeeper, o.ZooKeeperChroot = conn, "/kafka" })
	retire := len(p.Steps)

	// Before the moves: refused, the sources hold everything.
	if _, err := e.Apply(ctx, ref, retire); err == nil || !strings.Contains(err.Error(), "apply it first") {
		t.Fatalf("retire before lower-rf: %v, want the previous step refused", err)
	}
	for n := 1; n < retire; n++ {
		if _, err := e.Apply(ctx, ref, n); err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
	}
	// Someone else's throttle naming a source: on the checklist.
	c.alterConfig(t, kmsg.ConfigResourceTypeTopic, "orders", map[string]string{"leader.replication.throttled.replicas": "0:1"})
	// A topic created after the plan, on a source: uncovered, refused.
	c.topic(t, "late", 1<<10, nil, []int32{3, 1})
	_, err := e.Apply(ctx, ref, retire)
	if err == nil || !strings.Contains(err.Error(), "the plan does not cover") || !strings.Contains(err.Error(), "late-0 on [3 1]") {
		t.Fatalf("retire with an uncovered partition: %v", err)
	}
	if got := c.Controller(); got != 0 {
		t.Fatalf("a refused retire step moved the controller to %d", got)
	}
	adm := kadm.NewClient(c.client)
	if _, err := adm.DeleteTopics(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	st := status(t, e, ref, retire)
	if st.State != StepPending || !strings.Contains(st.Detail, "controller is source broker 0") {
		t.Errorf("status before the step: %s (%s)", st.State, st.Detail)
	}

	res, err := e.Apply(ctx, ref, retire)
	if err != nil {
		t.Fatalf("retire step: %v", err)
	}
	rep := res.Retire
	if rep == nil || rep.Controller != 3 || c.Controller() != 3 || !strings.Contains(rep.ControllerMoved, "after 3 election(s)") {
		t.Fatalf("controller: report %+v, cluster %d; want moved to 3 after 3 elections (0, 1 and 2 are sources)", rep, c.Controller())
	}
	if !rep.Waiting || !slices.Equal(rep.StopOrder, []int32{0, 1, 2}) || !slices.Equal(rep.Registered, []int32{0, 1, 2}) {
		t.Errorf("report %+v: want waiting, stop order [0 1 2]", rep)
	}
	if want := strings.Join(c.addrs(3, 4, 5), ","); rep.Bootstrap != want {
		t.Errorf("bootstrap %q, want %q", rep.Bootstrap, want)
	}
	if !slices.ContainsFunc(rep.Checklist, func(s string) bool {
		return strings.Contains(s, "/kafka/config/brokers/0") && strings.Contains(s, "log.cleaner.threads")
	}) {
		t.Errorf("checklist %q does not name broker 0's config", rep.Checklist)
	}
	if !slices.ContainsFunc(rep.Checklist, func(s string) bool {
		return strings.Contains(s, "topic orders: leader.replication.throttled.replicas=0:1 names source broker 1")
	}) {
		t.Errorf("checklist %q does not name the throttle list naming broker 1", rep.Checklist)
	}
	if st := status(t, e, ref, retire); st.State != StepWaiting || !strings.Contains(st.Detail, "stop source brokers [0 1 2]") {
		t.Errorf("status after the step: %s (%s)", st.State, st.Detail)
	}
	rb, err := e.Rollback(ctx, ref, retire, false)
	if err != nil || !rb.AlreadyDone || !strings.Contains(strings.Join(rb.Notes, " "), "nothing to undo") {
		t.Errorf("rollback of the retire step with the sources running: %+v, %v", rb, err)
	}

	// The operator stops the sources, controller's broker last.
	for _, id := range []int32{0, 1} {
		if err := c.StopBroker(id); err != nil {
			t.Fatal(err)
		}
	}
	waitRegistered(t, c, conn, 4)
	if res, err = e.Apply(ctx, ref, retire); err != nil || !res.Retire.Waiting || !slices.Equal(res.Retire.Registered, []int32{2}) {
		t.Fatalf("retire with broker 2 running: %+v, %v", res.Retire, err)
	}
	if _, err := e.Rollback(ctx, ref, retire-1, false); err == nil || !strings.Contains(err.Error(), "brokers [0 1] have left: start them again first") {
		t.Errorf("rollback of lower-rf with sources stopped: %v", err)
	}
	if err := c.StopBroker(2); err != nil {
		t.Fatal(err)
	}
	waitRegistered(t, c, conn, 3)
	if res, err = e.Apply(ctx, ref, retire); err != nil || res.Retire.Waiting {
		t.Fatalf("retire with every source stopped: %+v, %v", res.Retire, err)
	}
	if st := status(t, e, ref, retire); st.State != StepDone {
		t.Errorf("status once the sources left: %s (%s)", st.State, st.Detail)
	}

	// Its undo: start the sources again.
	rb, err = e.Rollback(ctx, ref, retire, false)
	if err != nil || !rb.Retire.Waiting || !strings.Contains(strings.Join(rb.Notes, " "), "start [0 1 2] again") {
		t.Fatalf("rollback of the retire step with the sources stopped: %+v, %v", rb, err)
	}
	for _, id := range []int32{0, 1, 2} {
		if err := c.StartBroker(id); err != nil {
			t.Fatal(err)
		}
	}
	waitRegistered(t, c, conn, 6)
	if rb, err = e.Rollback(ctx, ref, retire, false); err != nil || !rb.AlreadyDone {
		t.Errorf("rollback of the retire step with the sources back: %+v, %v", rb, err)
	}
}

// TestRetireControllerFallback: when the sources keep winning the
// controller elections kshift causes (here the cap is 1, and the simulator
// elects 1), the step says so and puts the controller's broker last
// in the stop order; stopping it last leaves only targets to elect, and the
// step is done once the sources left.
func TestRetireControllerFallback(t *testing.T) {
	zktest.Require(t)
	ens := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	conn := zktest.Dial(t, ens.Connect(), false)
	c := startCluster(t, 200, kafkasim.Config{Controller: 0})
	ctx := testCtx(t, 120*time.Second)
	if err := c.RegisterZooKeeper(ctx, conn, "/kafka"); err != nil {
		t.Fatal(err)
	}
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	p := withRetire(phasedPlan(t, c, 50<<20, "orders"))
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	e, _ := testExecutor(t, c, func(o *Options) {
		o.ZooKeeper, o.ZooKeeperChroot = conn, "/kafka"
		o.ControllerElections = 1
	})
	for n := 1; n < len(p.Steps); n++ {
		if _, err := e.Apply(ctx, ref, n); err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
	}
	res, err := e.Apply(ctx, ref, len(p.Steps))
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Retire
	if rep.Controller != 1 || rep.ControllerMoved != "" || !slices.Equal(rep.StopOrder, []int32{0, 2, 1}) ||
		!strings.Contains(strings.Join(res.Warnings, " "), "source broker 1 is the controller: stop it last") {
		t.Fatalf("report %+v, warnings %q: want controller 1 (a source), stopped last, and a warning", rep, res.Warnings)
	}
	for _, id := range rep.StopOrder {
		if err := c.StopBroker(id); err != nil {
			t.Fatal(err)
		}
	}
	waitRegistered(t, c, conn, 3)
	if res, err = e.Apply(ctx, ref, len(p.Steps)); err != nil || res.Retire.Waiting || res.Retire.Controller < 3 {
		t.Fatalf("with the sources stopped: %+v, %v; want done with a target controller", res.Retire, err)
	}
}

func status(t *testing.T, e *Executor, ref PlanRef, n int) StepStatus {
	t.Helper()
	st, err := e.Status(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return st.Steps[n-1]
}

func (c *testCluster) addrs(ids ...int32) []string {
	var out []string
	for _, id := range ids {
		a, _ := c.Addr(id)
		out = append(out, a)
	}
	return out
}

// waitRegistered waits until /kafka/brokers/ids lists n brokers.
func waitRegistered(t *testing.T, c *testCluster, conn ZooKeeperAdmin, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.SyncZooKeeper(context.Background()); err != nil {
			t.Fatal(err)
		}
		ids, _, err := conn.Children("/kafka/brokers/ids")
		if err == nil && len(ids) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("registered brokers %v, want %d", ids, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
