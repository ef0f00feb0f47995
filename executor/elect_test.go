package executor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// electedPartitions returns the partitions each ElectLeaders request
// named, as "topic-N", one slice per request.
func electedPartitions(t *testing.T, reqs []kmsg.Request) [][]string {
	t.Helper()
	var out [][]string
	for _, r := range reqs {
		er := r.(*kmsg.ElectLeadersRequest)
		if er.Topics == nil {
			t.Fatalf("ElectLeaders with null topics: that elects every partition of the cluster")
		}
		var names []string
		for _, rt := range er.Topics {
			for _, p := range rt.Partitions {
				names = append(names, fmt.Sprintf("%s-%d", rt.Topic, p))
			}
		}
		out = append(out, names)
	}
	return out
}

// TestElectOnlyFirstReplicasInISR pins invariant 5 for move-leader: a
// partition whose new first replica is alive but out of the ISR is never
// sent to ElectLeaders; the step waits for it, then fails naming it and the
// ISR, while the other partitions are elected; once the replica is back in
// sync, apply again finishes the step.
func TestElectOnlyFirstReplicasInISR(t *testing.T) {
	// Producers writing faster than a broker's network can copy keep a
	// restarted replica out of the ISR for as long as they write.
	c := startCluster(t, 200, kafkasim.Config{NetworkRate: 2 << 20})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 60*time.Second)
	e, _ := testExecutor(t, c, func(o *Options) { o.SettleTimeout = 300 * time.Millisecond })
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatal(err)
	}
	// After the reorder, before the election: broker 3, orders-0's new
	// first replica, drops out of orders-0's ISR and cannot catch up.
	e.opts.Progress = duringStep(func() {
		for _, err := range []error{c.SetInboundRate("orders", 0, 3<<20), c.StopBroker(3), c.StartBroker(3)} {
			if err != nil {
				t.Error(err)
			}
		}
		// Kafka refuses to elect a replica out of the ISR anyway; kshift
		// must not even ask once the brokers show it out.
		c.waitSeen(t, "broker 3 out of orders-0's isr", "orders", 0, func(mp kmsg.MetadataResponseTopicPartition) bool { return !slices.Contains(mp.ISR, 3) })
	})
	k := recorded(e)
	_, err := e.Apply(ctx, ref, 2)
	reqs, _ := k.requests(kmsg.ElectLeaders.Int16())
	batches := electedPartitions(t, reqs)
	if len(batches) == 0 {
		t.Error("no ElectLeaders request sent")
	}
	for _, b := range batches {
		if slices.Contains(b, "orders-0") {
			t.Errorf("ElectLeaders %v names orders-0 while its first replica is out of the isr", b)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "orders-0: broker 3 not in isr") || strings.Contains(err.Error(), "orders-1") {
		t.Fatalf("move-leader with broker 3 out of orders-0's isr: %v; want a failure naming orders-0 and its isr only", err)
	}
	if st := c.replicas(t, "orders", 0); st.Leader != 0 || slices.Contains(st.ISR, 3) || !c.BrokerAlive(3) {
		t.Fatalf("orders-0: leader %d isr %v (broker 3 alive %v); want led by 0 with alive broker 3 out of the isr", st.Leader, st.ISR, c.BrokerAlive(3))
	}
	if st := c.replicas(t, "orders", 1); st.Leader != 4 {
		t.Errorf("orders-1, whose first replica 4 is in sync: leader %d, want 4", st.Leader)
	}
	st, err := e.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Steps[1]; s.State != StepInFlight || s.Done != 1 || s.InFlight != 1 || len(s.Problems) != 1 || s.Problems[0].Name() != "orders-0" {
		t.Errorf("status of step 2 after the failed election: %+v; want in-flight with orders-0 awaiting its election", s)
	}
	// The producers stop and broker 3 catches up: apply again elects it.
	if err := c.SetInboundRate("orders", 0, 0); err != nil {
		t.Fatal(err)
	}
	c.Clock().Advance(time.Hour)
	e.opts.Progress = nil
	if _, err := e.Apply(ctx, ref, 2); err != nil {
		t.Fatalf("apply again with broker 3 in sync: %v", err)
	}
	if st := c.replicas(t, "orders", 0); st.Leader != 3 {
		t.Errorf("orders-0 leader %d after the second apply, want 3", st.Leader)
	}
}

// TestElectionBatchesPaced pins --election-batch and --election-wait: the
// step's partitions are elected in requests of at most the batch size,
// each partition once, every request naming its partitions (never null),
// with at least the wait between one request and the next.
func TestElectionBatchesPaced(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	var assign [][]int32
	for i := range 7 {
		assign = append(assign, []int32{int32(i) % 3, int32(i+1) % 3, int32(i+2) % 3})
	}
	c.topic(t, "orders", 1<<20, nil, assign...)
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 60*time.Second)
	const wait = 150 * time.Millisecond
	e, _ := testExecutor(t, c, func(o *Options) { o.ElectionBatch, o.ElectionWait = 3, wait })
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatal(err)
	}
	k := recorded(e)
	res, err := e.Apply(ctx, ref, 2)
	if err != nil {
		t.Fatal(err)
	}
	reqs, at := k.requests(kmsg.ElectLeaders.Int16())
	batches := electedPartitions(t, reqs)
	var sizes []int
	seen := map[string]int{}
	for _, b := range batches {
		sizes = append(sizes, len(b))
		for _, name := range b {
			seen[name]++
		}
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("ElectLeaders batch sizes %v, want [3 3 1] (7 partitions, batch 3)", sizes)
	}
	for _, m := range p.Steps[1].Partitions {
		if seen[m.Name()] != 1 {
			t.Errorf("%s named in %d ElectLeaders requests, want 1", m.Name(), seen[m.Name()])
		}
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < wait {
			t.Errorf("ElectLeaders %d sent %v after the one before, want at least --election-wait %v", i+1, gap, wait)
		}
	}
	if res.Elected != 7 {
		t.Errorf("result: %d elected, want 7", res.Elected)
	}
}
