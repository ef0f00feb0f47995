package executor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// heldStep applies the one raise-rf step of a plan moving orders-0 from
// [0,1,2] to [0,1,2,3] on a stopped clock and interrupts it at its first
// progress report: the move stays in flight under kshift's throttles for as
// long as the test looks. It returns the plan and the executor that ran it
// (whose audit log holds the throttles).
func heldStep(t *testing.T, c *testCluster) (PlanRef, *Executor) {
	t.Helper()
	c.topic(t, "orders", 64<<20, nil, []int32{0, 1, 2})
	p := &plans.Plan{Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: c.ClusterID(), Strategy: plans.StrategyPhased, Throttle: 10 << 20,
		Steps: []plans.Step{{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{{Topic: "orders", Partition: 0, From: []int32{0, 1, 2}, To: []int32{0, 1, 2, 3}, Size: 64 << 20}}}}}
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	c.Clock().SetFactor(0)
	ctx, cancel := context.WithCancel(testCtx(t, 30*time.Second))
	e, _ := testExecutor(t, c, func(o *Options) { o.Progress = func(Progress) { cancel() } })
	if _, err := e.Apply(ctx, ref, 1); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted apply: %v", err)
	}
	if st := c.replicas(t, "orders", 0); !st.Reassigning {
		t.Fatalf("orders-0 not in flight after the interrupt: %+v", st)
	}
	return ref, e
}

// TestCancelDryRunShowsThrottleRemoval pins kshift cancel --dry-run: it
// prints the calls the real cancel makes, the removal of the broker rates
// included (the move it would cancel does not keep them), and changes
// nothing; the real cancel then removes them.
func TestCancelDryRunShowsThrottleRemoval(t *testing.T) {
	c := startCluster(t, 20, heldClock())
	ref, applied := heldStep(t, c)
	ctx := testCtx(t, 30*time.Second)
	var out strings.Builder
	dry, _ := testExecutor(t, c, func(o *Options) { o.Audit, o.DryRun, o.DryRunOut = applied.opts.Audit, true, &out })
	res, err := dry.Cancel(ctx, ref)
	if err != nil || !slices.Equal(cancelled(res, false), []int{1}) {
		t.Fatalf("cancel --dry-run: %+v, %v", res, err)
	}
	for _, want := range []string{"would call AlterPartitionAssignments: orders-0=cancel",
		"DELETE topic orders follower.replication.throttled.replicas",
		"DELETE broker 0 leader.replication.throttled.rate", "DELETE broker 3 follower.replication.throttled.rate"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("cancel --dry-run output lacks %q:\n%s", want, out.String())
		}
	}
	if st := c.replicas(t, "orders", 0); !st.Reassigning {
		t.Errorf("cancel --dry-run touched orders-0: %+v", st)
	}
	if c.BrokerRates(3)[FollowerRateKey] == "" {
		t.Errorf("cancel --dry-run removed broker 3's rate: %v", c.BrokerRates(3))
	}
	if _, err := applied.Cancel(ctx, ref); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if st := c.replicas(t, "orders", 0); st.Reassigning || !slices.Equal(st.Replicas, []int32{0, 1, 2}) {
		t.Errorf("after cancel: %+v; want [0 1 2], nothing in flight", st)
	}
	c.noThrottles(t)
}

// cancelsLost answers every AlterPartitionAssignments with success without
// sending it, as if the controller lost it: the move stays in flight.
type cancelsLost struct{ kafkaapi.Requester }

// Broker passes FreshMetadata's per-broker reads through.
func (k cancelsLost) Broker(id int) *kgo.Broker {
	return k.Requester.(kafkaapi.BrokerRequester).Broker(id)
}

func (k cancelsLost) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.AlterPartitionAssignmentsRequest)
	if !ok {
		return k.Requester.Request(ctx, req)
	}
	resp := kmsg.NewPtrAlterPartitionAssignmentsResponse()
	for _, t := range r.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = p.Partition
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// TestCancelThatFailsKeepsThrottlesAndSaysSo pins a cancel whose revert
// fails (the move is still in flight after the KIP-455 cancel): the
// throttles stay, since the move may still copy, and the error says so and
// what to run; running cancel again, once Kafka takes it, clears them.
func TestCancelThatFailsKeepsThrottlesAndSaysSo(t *testing.T) {
	c := startCluster(t, 20, heldClock())
	ref, applied := heldStep(t, c)
	ctx := testCtx(t, 30*time.Second)
	lost, _ := testExecutor(t, c, func(o *Options) { o.Audit, o.SettleTimeout = applied.opts.Audit, 100*time.Millisecond })
	lost.kafka.Wrap(func(k kafkaapi.Requester) kafkaapi.Requester { return cancelsLost{k} })
	_, err := lost.Cancel(ctx, ref)
	if err == nil {
		t.Fatal("cancel with the cancel lost: no error")
	}
	for _, want := range []string{"still in flight after the cancel", "throttles left in place", "kshift cancel plan.yaml again", "kshift throttle clear plan.yaml once nothing moves"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("failed cancel's error lacks %q: %v", want, err)
		}
	}
	if c.BrokerRates(3)[FollowerRateKey] == "" {
		t.Errorf("failed cancel removed broker 3's rate while orders-0 still copies: %v", c.BrokerRates(3))
	}
	if _, err := applied.Cancel(ctx, ref); err != nil {
		t.Fatalf("cancel again: %v", err)
	}
	c.noThrottles(t)
}
