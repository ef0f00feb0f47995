package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reassign starts a reassignment by hand, as another tool would.
func (c *testCluster) reassign(t *testing.T, topic string, p int32, replicas []int32) {
	t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = p, replicas
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), c.client)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range resp.Topics {
		for _, pp := range tt.Partitions {
			if pp.ErrorCode != 0 {
				t.Fatalf("reassign %s-%d: code %d", topic, p, pp.ErrorCode)
			}
		}
	}
}

// reassignSeen is reassign followed by a wait until every broker's
// Metadata shows the partition at replicas, with nothing in flight: what an
// operator who changed it by hand sees once Metadata caught up with the
// controller (docs/kafka-behaviour.md 24).
func (c *testCluster) reassignSeen(t *testing.T, topic string, p int32, replicas []int32) {
	t.Helper()
	c.reassign(t, topic, p, replicas)
	c.waitSeen(t, fmt.Sprintf("%s-%d at %v", topic, p, replicas), topic, p, func(mp kmsg.MetadataResponseTopicPartition) bool {
		return slices.Equal(mp.Replicas, replicas) && !c.replicas(t, topic, p).Reassigning
	})
}

// waitSeen waits until every live broker's Metadata shows partition p of
// topic as ok says (docs/kafka-behaviour.md 24: they learn a change one by
// one).
func (c *testCluster) waitSeen(t *testing.T, what, topic string, p int32, ok func(kmsg.MetadataResponseTopicPartition) bool) {
	t.Helper()
	waitFor(t, "every broker to show "+what, 10*time.Second, func() bool {
		for b := int32(0); b < 6; b++ {
			if !c.BrokerAlive(b) {
				continue
			}
			req := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(context.Background(), c.client.Broker(int(b)))
			if err != nil || len(resp.Topics) != 1 || int(p) >= len(resp.Topics[0].Partitions) || !ok(resp.Topics[0].Partitions[p]) {
				return false
			}
		}
		return true
	})
}

// alterConfig sets configs by hand, as another tool would.
func (c *testCluster) alterConfig(t *testing.T, typ kmsg.ConfigResourceType, name string, kv map[string]string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = typ, name
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(kv[k])
		r.Configs = append(r.Configs, cfg)
	}
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(context.Background(), c.client)
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range resp.Resources {
		if rr.ErrorCode != 0 {
			t.Fatalf("alter config %s: code %d", name, rr.ErrorCode)
		}
	}
}

// TestRollbackRestoresFromExactly pins rollback of each phase type: after
// the undo every partition is at the forward step's from, in order, led by
// its first replica, with nothing left throttled.
func TestRollbackRestoresFromExactly(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 4<<20, nil, []int32{0, 1, 2}, []int32{2, 0, 1})
	p := phasedPlan(t, c, 10<<20, "orders")
	e, _ := testExecutor(t, c, nil)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 60*time.Second)
	for n := 1; n <= 3; n++ {
		for _, round := range []string{"apply", "rollback", "re-apply"} {
			var err error
			if round == "rollback" {
				_, err = e.Rollback(ctx, ref, n, false)
			} else {
				_, err = e.Apply(ctx, ref, n)
			}
			if err != nil {
				t.Fatalf("step %d %s: %v", n, round, err)
			}
			want := func(m plans.Move) []int32 { return m.To }
			if round == "rollback" {
				want = func(m plans.Move) []int32 { return m.From }
			}
			for _, m := range p.Steps[n-1].Partitions {
				st := c.replicas(t, m.Topic, m.Partition)
				w := want(m)
				if !slices.Equal(st.Replicas, w) || st.Reassigning || !plans.SameMembers(st.ISR, w) {
					t.Errorf("step %d %s: %s replicas %v isr %v, want %v", n, round, m.Name(), st.Replicas, st.ISR, w)
				}
				if p.Steps[n-1].Phase == plans.PhaseMoveLeader && st.Leader != w[0] {
					t.Errorf("step %d %s: %s leader %d, want %d", n, round, m.Name(), st.Leader, w[0])
				}
			}
			c.noThrottles(t)
		}
	}
	// Rolling back step 1 while step 3 is done is refused; --to-step unwinds in order.
	if _, err := e.Rollback(ctx, ref, 1, false); !errors.Is(err, ErrRefused) {
		t.Fatalf("rollback of step 1 with later steps done: %v, want refused", err)
	}
	if _, err := e.RollbackTo(ctx, ref, 1, false); err != nil {
		t.Fatal(err)
	}
	for _, m := range p.Steps[0].Partitions {
		if st := c.replicas(t, m.Topic, m.Partition); !slices.Equal(st.Replicas, m.From) || st.Leader != m.From[0] {
			t.Errorf("after rollback --to-step 1: %s replicas %v leader %d, want %v", m.Name(), st.Replicas, st.Leader, m.From)
		}
	}
}

// TestDriftRefused pins invariant 2: a partition changed by hand between
// steps makes the next step refuse, naming it, and change nothing.
func TestDriftRefused(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders")
	e, _ := testExecutor(t, c, nil)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatal(err)
	}
	c.reassign(t, "orders", 1, []int32{1, 2, 0, 5, 4, 3}) // a reorder: completes at once
	_, err := e.Apply(ctx, ref, 2)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "orders-1") || strings.Contains(err.Error(), "orders-0:") {
		t.Fatalf("apply after drift: %v; want a refusal naming orders-1 only", err)
	}
	if st := c.replicas(t, "orders", 0); !slices.Equal(st.Replicas, p.Steps[1].Partitions[0].From) {
		t.Errorf("refused step changed orders-0: %v", st.Replicas)
	}
}

// TestForeignReassignmentRefused pins invariant 3: a reassignment kshift did
// not start, anywhere in the cluster, refuses the step and is named.
func TestForeignReassignmentRefused(t *testing.T) {
	c := startCluster(t, 1, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	c.topic(t, "other", 1<<30, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	c.alterConfig(t, kmsg.ConfigResourceTypeBroker, "5", map[string]string{FollowerRateKey: "1"})
	c.alterConfig(t, kmsg.ConfigResourceTypeTopic, "other", map[string]string{FollowerReplicasKey: "0:5"})
	c.reassign(t, "other", 0, []int32{0, 1, 5})
	e, _ := testExecutor(t, c, func(o *Options) { o.AcceptUnknownRates = true })
	_, err := e.Apply(testCtx(t, 30*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "other-0") {
		t.Fatalf("apply with a foreign reassignment: %v; want a refusal naming other-0", err)
	}
	if st := c.replicas(t, "orders", 0); !slices.Equal(st.Replicas, []int32{0, 1, 2}) {
		t.Errorf("refused step changed orders-0: %v", st.Replicas)
	}
}

// TestForeignThrottlesIntact pins docs/design.md "Throttles": throttle configs
// another tool set on the step's topics and brokers are the same afterwards
// (3.x, where rates are readable), and on 2.4 a rate that cannot be read
// refuses the step unless accepted. A list comes back as Kafka reads it
// (docs/kafka-behaviour.md 14: "1:1, 0:0" reads as "1:1,0:0"), the form
// kshift saw and restores.
func TestForeignThrottlesIntact(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{Version: kafkasim.V3_x})
	c.topic(t, "orders", 2<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders")
	c.alterConfig(t, kmsg.ConfigResourceTypeTopic, "orders", map[string]string{LeaderReplicasKey: "1:1, 0:0", FollowerReplicasKey: "0:3"})
	c.alterConfig(t, kmsg.ConfigResourceTypeBroker, "0", map[string]string{LeaderRateKey: "777"})
	c.alterConfig(t, kmsg.ConfigResourceTypeBroker, "4", map[string]string{FollowerRateKey: "888", LeaderRateKey: "999"})
	topicBefore, _ := c.TopicConfigs("orders")
	brokersBefore := map[int32]map[string]string{}
	for b := int32(0); b < 6; b++ {
		brokersBefore[b] = c.BrokerDynamicConfigs(b)
	}
	e, _ := testExecutor(t, c, nil)
	ctx := testCtx(t, 30*time.Second)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	var during map[string]string
	e.opts.Progress = func(Progress) {
		if during == nil {
			during, _ = c.TopicConfigs("orders")
		}
	}
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(during[FollowerReplicasKey], "0:4") || !strings.HasPrefix(during[FollowerReplicasKey], "0:3") {
		t.Errorf("follower list while the step ran: %q; want the foreign 0:3 kept and kshift's entries merged in", during[FollowerReplicasKey])
	}
	topicAfter, _ := c.TopicConfigs("orders")
	if !maps.EqualFunc(topicBefore, topicAfter, sameListValue) {
		t.Errorf("topic configs changed: before %v, after %v", topicBefore, topicAfter)
	}
	for b := int32(0); b < 6; b++ {
		if after := c.BrokerDynamicConfigs(b); !maps.Equal(brokersBefore[b], after) {
			t.Errorf("broker %d configs changed: before %v, after %v", b, brokersBefore[b], after)
		}
	}

	// 2.4 hides rates: an existing one refuses the step unless accepted.
	c24 := startCluster(t, 200, kafkasim.Config{})
	c24.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	p24 := phasedPlan(t, c24, 10<<20, "orders")
	c24.alterConfig(t, kmsg.ConfigResourceTypeBroker, "3", map[string]string{FollowerRateKey: "12345"})
	e24, _ := testExecutor(t, c24, nil)
	_, err := e24.Apply(ctx, PlanRef{Plan: p24, Path: "plan.yaml"}, 1)
	if !errors.Is(err, ErrUnknownRate) || !strings.Contains(err.Error(), "broker 3") {
		t.Fatalf("2.4 with a hidden rate: %v; want ErrUnknownRate naming broker 3", err)
	}
	if c24.BrokerDynamicConfigs(3)[FollowerRateKey] != "12345" {
		t.Errorf("refused step changed broker 3's rate")
	}
	e24.opts.AcceptUnknownRates = true
	res, err := e24.Apply(ctx, PlanRef{Plan: p24, Path: "plan.yaml"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "broker 3") {
		t.Errorf("warnings %v; want one saying broker 3's unknown rate is deleted", res.Warnings)
	}
}

// TestTargetBrokerStopsMidStep pins item 11 and the stall report: a target
// broker stopping mid-copy is reported as a stall naming it, the step keeps
// waiting, and completes once the broker returns.
func TestTargetBrokerStopsMidStep(t *testing.T) {
	c := startCluster(t, 50, kafkasim.Config{})
	c.topic(t, "orders", 200<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	stall := applyThroughBrokerOutage(t, c, p, 4, nil, func() {
		if st := c.replicas(t, "orders", 0); !st.Reassigning {
			t.Fatalf("the move ended while broker 4 was down: %+v", st)
		}
	})
	if !strings.Contains(stall, "4") {
		t.Errorf("stall reason %q does not name broker 4", stall)
	}
	if st := c.replicas(t, "orders", 0); !slices.Equal(st.Replicas, []int32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("replicas %v after the step", st.Replicas)
	}
	c.noThrottles(t)
}

// TestAutoRebalanceMovesNoLeaderBeforeMoveLeader pins invariant 4 with item
// 19: with automatic leader rebalancing on and checking often, no raise-rf
// step moves a leader; only the move-leader step does. Two control cases
// show the check can fail: the double's rebalancer does move a leader that
// is off its preferred replica, and a raise-rf that puts a target first
// has its leader moved and caught by the same check.
func TestAutoRebalanceMovesNoLeaderBeforeMoveLeader(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{RebalanceInterval: 10 * time.Second})
	c.topic(t, "orders", 4<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{2, 0, 1})
	c.topic(t, "wrong", 4<<20, nil, []int32{0, 1, 2})
	ctx := testCtx(t, 60*time.Second)
	e, _ := testExecutor(t, c, nil)
	// movedLeaders lets an hour of rebalance checks pass, then names the
	// partitions of moves not led by want(m).
	movedLeaders := func(moves []plans.Move, want func(plans.Move) int32) []string {
		c.Clock().Advance(time.Hour)
		var moved []string
		for _, m := range moves {
			if st := c.replicas(t, m.Topic, m.Partition); st.Leader != want(m) {
				moved = append(moved, fmt.Sprintf("%s: leader %d, want %d", m.Name(), st.Leader, want(m)))
			}
		}
		return moved
	}
	fromFirst := func(m plans.Move) int32 { return m.From[0] }

	// Control: the rebalancer is on. orders-1 fails over to broker 2
	// while its preferred broker 1 is down; once 1 is back, the rebalancer
	// (nothing else) makes it leader again.
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	if st := c.replicas(t, "orders", 1); st.Leader != 2 {
		t.Fatalf("control: orders-1 leader %d with broker 1 down, want 2", st.Leader)
	}
	if err := c.StartBroker(1); err != nil {
		t.Fatal(err)
	}
	c.Clock().Advance(time.Hour)
	if st := c.replicas(t, "orders", 1); st.Leader != 1 {
		t.Fatalf("control: orders-1 leader %d after an hour of rebalance checks with broker 1 back, want 1: the rebalancer does not run", st.Leader)
	}

	// Control: a raise-rf that puts a target first has its leader moved
	// by the rebalancer, and the check catches it.
	wrongFrom := []int32{0, 1, 2}
	wrong := &plans.Plan{Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: c.ClusterID(), Strategy: plans.StrategyPhased, Throttle: 10 << 20,
		Steps: []plans.Step{{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{{Topic: "wrong", Partition: 0, From: wrongFrom, To: []int32{3, 0, 1, 2, 4, 5}}}}}}
	if _, err := e.Apply(ctx, PlanRef{Plan: wrong, Path: "wrong.yaml"}, 1); err != nil {
		t.Fatal(err)
	}
	if moved := movedLeaders(wrong.Steps[0].Partitions, fromFirst); len(moved) != 1 {
		t.Fatalf("control: a raise-rf putting broker 3 first: moved leaders %v; want wrong-0 moved to 3 and caught", moved)
	}

	// The plan: raise-rf one partition per step, then move-leader and
	// lower-rf. No leader moves until move-leader; then each partition is
	// led by its first target and stays so.
	p := phasedPlan(t, c, 10<<20, "orders")
	splitStep(t, p, 1)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	var raises []plans.Move
	for _, s := range p.Steps {
		if s.Phase == plans.PhaseRaiseRF {
			raises = append(raises, s.Partitions...)
		}
	}
	raised := 0
	for _, s := range p.Steps {
		if _, err := e.Apply(ctx, ref, s.Number); err != nil {
			t.Fatalf("step %d: %v", s.Number, err)
		}
		switch s.Phase {
		case plans.PhaseRaiseRF:
			raised++
			// Every partition: those raised and those still waiting.
			if moved := movedLeaders(raises, fromFirst); len(moved) > 0 {
				t.Errorf("after raise-rf step %d and an hour of rebalance checks: %v", s.Number, moved)
			}
		default:
			if moved := movedLeaders(s.Partitions, func(m plans.Move) int32 { return m.To[0] }); len(moved) > 0 {
				t.Errorf("after %s step %d and an hour of rebalance checks: %v", s.Phase, s.Number, moved)
			}
		}
	}
	if raised != 3 || len(raises) != 3 {
		t.Errorf("%d raise-rf steps checked over %d partitions, want 3 over 3", raised, len(raises))
	}
}

// TestLockRefusesSecondRun pins the operator lock: while one kshift holds
// it, another is refused with the holder's details and changes nothing;
// --break-lock takes it from a holder that is alive, which is fenced from
// then on, and the break is in the audit trail.
func TestLockRefusesSecondRun(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	ctx := testCtx(t, 30*time.Second)
	first := c.holdLock(t, "plan.yaml", 7)
	second, secondAudit := testExecutor(t, c, nil)
	_, err := second.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1)
	var locked *state.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, ErrRefused) {
		t.Fatalf("second run: %v; want a LockedError", err)
	}
	if h := locked.Holder; h.Plan != "plan.yaml" || h.Step != 7 || h.PID == 0 || h.Host == "" || h.Since.IsZero() {
		t.Errorf("holder %+v lacks plan/step/pid/host/time", h)
	}
	if st := c.replicas(t, "orders", 0); st.Reassigning || len(st.Replicas) != 3 {
		t.Errorf("refused run changed orders-0: %+v", st)
	}
	// The first holder must be stopped: --break-lock takes over.
	second.opts.BreakLock = true
	if _, err := second.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1); err != nil {
		t.Fatalf("with --break-lock: %v", err)
	}
	if h, err := second.ReadLock(ctx); err != nil || h != nil {
		t.Errorf("lock after the run: %v, %v; want released", h, err)
	}
	if err := first.Check(ctx); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("the broken holder's lease: %v; want it fenced (ErrLockLost)", err)
	}
	recs, err := ReadAudit(secondAudit)
	if err != nil {
		t.Fatal(err)
	}
	broke := false
	for _, r := range recs {
		broke = broke || (r.Event == state.AuditCall && r.Call == "break-lock" && strings.Contains(fmt.Sprint(r.Request), "step 7"))
	}
	if !broke {
		t.Errorf("the second run's audit log does not record the lock it broke: %+v", recs)
	}
}

// TestInterruptLeavesMoveToFinish pins the default Ctrl-C behaviour: the
// reassignment keeps going in Kafka, only its throttles stay, the error says
// how to resume, and the next apply resumes, verifies and clears them.
func TestInterruptLeavesMoveToFinish(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{})
	c.topic(t, "orders", 100<<20, nil, []int32{0, 1, 2})
	c.topic(t, "small", 1<<10, nil, []int32{1, 2, 0})
	p := phasedPlan(t, c, 10<<20, "orders", "small")
	ctx, cancel := context.WithCancel(testCtx(t, 60*time.Second))
	e, _ := testExecutor(t, c, func(o *Options) {
		o.Progress = func(pr Progress) {
			if pr.BytesCopied > 0 && pr.Done == 1 {
				cancel()
			}
		}
	})
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	_, err := e.Apply(ctx, ref, 1)
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "kshift apply plan.yaml --step 1") {
		t.Fatalf("interrupted apply: %v", err)
	}
	if st := c.replicas(t, "orders", 0); !st.Reassigning {
		t.Fatalf("orders-0 is not moving after the interrupt: %+v", st)
	}
	cfg, _ := c.TopicConfigs("orders")
	if cfg[FollowerReplicasKey] != "0:3,0:4,0:5" {
		t.Errorf("orders follower throttle after the interrupt: %q; want kept", cfg[FollowerReplicasKey])
	}
	if cfg, _ := c.TopicConfigs("small"); cfg[FollowerReplicasKey] != "" || cfg[LeaderReplicasKey] != "" {
		t.Errorf("throttles of the finished partition kept: %v", cfg)
	}
	if len(c.BrokerRates(3)) == 0 {
		t.Errorf("rates removed while a move still needs them")
	}
	e2, _ := testExecutor(t, c, func(o *Options) { o.Audit = e.opts.Audit })
	if _, err := e2.Apply(testCtx(t, 60*time.Second), ref, 1); err != nil {
		t.Fatalf("resume: %v", err)
	}
	c.noThrottles(t)
}

// TestCancelRestoresFromOrder pins item 7 for cancel, both from
// --cancel-on-interrupt and from kshift cancel: the partition ends at the
// exact from list, not the set in the in-flight order, and no throttle is left.
func TestCancelRestoresFromOrder(t *testing.T) {
	for _, viaCommand := range []bool{false, true} {
		c := startCluster(t, 20, kafkasim.Config{})
		c.topic(t, "orders", 200<<20, nil, []int32{2, 0, 1})
		from := []int32{2, 0, 1}
		p := &plans.Plan{Version: 1, Kind: plans.KindMigration, ClusterID: c.ClusterID(), Strategy: plans.StrategyPhased, Throttle: 10 << 20,
			Steps: []plans.Step{{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{{Topic: "orders", Partition: 0, From: from, To: []int32{1, 0, 3}}}}}}
		ctx, cancel := context.WithCancel(testCtx(t, 60*time.Second))
		e, _ := testExecutor(t, c, func(o *Options) {
			o.CancelOnInterrupt = !viaCommand
			o.Progress = func(pr Progress) {
				if pr.BytesCopied > 0 {
					cancel()
				}
			}
		})
		ref := PlanRef{Plan: p, Path: "plan.yaml"}
		if _, err := e.Apply(ctx, ref, 1); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("interrupted apply: %v", err)
		}
		if viaCommand {
			if st := c.replicas(t, "orders", 0); !st.Reassigning {
				t.Fatalf("not in flight before kshift cancel: %+v", st)
			}
			res, err := e.Cancel(testCtx(t, 30*time.Second), ref)
			if err != nil || !slices.Equal(cancelled(res, false), []int{1}) {
				t.Fatalf("cancel: %+v, %v", res, err)
			}
		}
		if st := c.replicas(t, "orders", 0); !slices.Equal(st.Replicas, from) || st.Reassigning {
			t.Errorf("after cancel (command %v): replicas %v, want %v exactly", viaCommand, st.Replicas, from)
		}
		c.noThrottles(t)
	}
}

// TestThrottleSetAndClear pins `throttle set` (the rate of kshift's brokers
// changes, nothing else) and `throttle clear` (kshift's entries go, others stay;
// --all removes every throttle).
func TestThrottleSetAndClear(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{Version: kafkasim.V3_x})
	c.topic(t, "orders", 400<<20, nil, []int32{0, 1, 2})
	c.topic(t, "other", 1<<20, map[string]string{LeaderReplicasKey: "0:0"}, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	ctx, cancel := context.WithCancel(testCtx(t, 60*time.Second))
	e, _ := testExecutor(t, c, func(o *Options) {
		o.Progress = func(pr Progress) {
			if pr.BytesCopied > 0 {
				cancel()
			}
		}
	})
	if _, err := e.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted apply: %v", err)
	}
	ctx = testCtx(t, 30*time.Second)
	res, err := e.SetThrottleRate(ctx, PlanRef{}, 20<<20)
	if err != nil || !slices.Equal(res.Brokers, []int32{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("throttle set: %+v, %v", res, err)
	}
	if got := c.BrokerRates(3)[FollowerRateKey]; got != "20971520" {
		t.Errorf("broker 3 follower rate %q after throttle set", got)
	}
	if _, err := e.ClearThrottles(ctx, PlanRef{}, false); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := c.TopicConfigs("orders"); len(cfg) != 0 || len(c.BrokerRates(3)) != 0 {
		t.Errorf("kshift's throttles left after clear: %v %v", cfg, c.BrokerRates(3))
	}
	if cfg, _ := c.TopicConfigs("other"); cfg[LeaderReplicasKey] != "0:0" {
		t.Errorf("throttle clear removed another tool's throttle: %v", cfg)
	}
	if _, err := e.ClearThrottles(ctx, PlanRef{}, true); err != nil {
		t.Fatal(err)
	}
	c.noThrottles(t)
}

// TestThrottleClearAllRemovesClusterDefaultRates pins the cluster-default
// rates (broker resource <default>): Kafka 2.4 stores them without
// enforcing them and hides their values (docs/kafka-behaviour.md 12, 13). A step
// and a plain `throttle clear` leave them as they are (kshift did not set
// them); `throttle clear --all` deletes them and nothing else of the default
// resource, and the audit log says so.
func TestThrottleClearAllRemovesClusterDefaultRates(t *testing.T) {
	c := startCluster(t, 50, kafkasim.Config{})
	c.topic(t, "orders", 4<<20, nil, []int32{0, 1, 2})
	ctx := testCtx(t, 60*time.Second)
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, ""
	for key, value := range map[string]string{LeaderRateKey: "1000", FollowerRateKey: "2000", "message.max.bytes": "2000000"} {
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Op, cfg.Value = key, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(value)
		res.Configs = append(res.Configs, cfg)
	}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, c.client)
	if err != nil || resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("setting the cluster-default rates: %v %+v", err, resp)
	}
	wantDefaults := map[string]string{LeaderRateKey: "1000", FollowerRateKey: "2000", "message.max.bytes": "2000000"}
	if got := c.BrokerDynamicConfigs(-1); !maps.Equal(got, wantDefaults) {
		t.Fatalf("cluster defaults %v, want %v", got, wantDefaults)
	}
	p := phasedPlan(t, c, 10<<20, "orders")
	e, audit := testExecutor(t, c, nil)
	if _, err := e.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1); err != nil {
		t.Fatalf("apply step 1: %v", err)
	}
	if _, err := e.ClearThrottles(ctx, PlanRef{}, false); err != nil {
		t.Fatal(err)
	}
	if got := c.BrokerDynamicConfigs(-1); !maps.Equal(got, wantDefaults) {
		t.Errorf("a step and throttle clear changed the cluster defaults kshift did not set: %v, want %v", got, wantDefaults)
	}
	cleared, err := e.ClearThrottles(ctx, PlanRef{}, true)
	if err != nil {
		t.Fatalf("throttle clear --all: %v", err)
	}
	if !cleared.ClusterDefault {
		t.Errorf("throttle clear --all does not report the cluster-default rates: %+v", cleared)
	}
	c.noThrottles(t)
	if got := c.BrokerDynamicConfigs(-1); !maps.Equal(got, map[string]string{"message.max.bytes": "2000000"}) {
		t.Errorf("cluster defaults after throttle clear --all: %v, want only message.max.bytes left", got)
	}
	recs, err := ReadAudit(audit)
	if err != nil {
		t.Fatal(err)
	}
	logged := false
	for _, r := range recs {
		if r.Event == state.AuditCall && r.Call == "IncrementalAlterConfigs" && r.Result == "ok" && strings.Contains(fmt.Sprint(r.Request), "DELETE broker <default> "+LeaderRateKey) {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the audit log has no call deleting the cluster-default rates: %+v", recs)
	}
}

// TestDryRunChangesNothing pins --dry-run: every mutating call is printed,
// none is made, no lock is taken. Over several steps (--through, --all),
// each step after the first is gated against what the dry-run steps before
// it would leave, not against the live cluster where nothing was applied,
// and each prints its calls through the end-of-step throttle removal.
func TestDryRunChangesNothing(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	prior := map[string]string{LeaderReplicasKey: "0:0"} // another tool's throttle
	c.topic(t, "orders", 1<<20, prior, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	var out strings.Builder
	e, audit := testExecutor(t, c, func(o *Options) { o.DryRun, o.DryRunOut = true, &out })
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	wants := map[int][]string{
		1: {`would call IncrementalAlterConfigs: SET topic orders leader.replication.throttled.replicas="0:0,0:1,0:2"`,
			"would call AlterPartitionAssignments: orders-0=[0 1 2 3 4 5]",
			// the end-of-step restore: the prior list back, kshift's
			// entries and rates removed
			`would call IncrementalAlterConfigs: SET topic orders leader.replication.throttled.replicas="0:0", DELETE topic orders follower.replication.throttled.replicas`,
			"DELETE broker 3 follower.replication.throttled.rate"},
		2: {"dry run: step 2 is checked against the cluster as the 1 step(s) dry-run before it would leave it",
			"would call AlterPartitionAssignments: orders-0=[3 4 5 0 1 2]", "would call ElectLeaders: orders-0"},
		3: {"dry run: step 3 is checked against the cluster as the 2 step(s) dry-run before it would leave it",
			"would call AlterPartitionAssignments: orders-0=[3 4 5]"},
	}
	for n := 1; n <= 3; n++ {
		out.Reset()
		res, err := e.Apply(ctx, ref, n)
		if err != nil {
			t.Fatalf("dry run of step %d: %v\n%s", n, err, out.String())
		}
		if !res.DryRun || res.WouldSubmit != 1 || res.Submitted != 0 {
			t.Errorf("dry run of step %d: result %+v, want dry run, 1 to submit, none submitted", n, res)
		}
		for _, want := range wants[n] {
			if !strings.Contains(out.String(), want) {
				t.Errorf("dry run of step %d: output lacks %q:\n%s", n, want, out.String())
			}
		}
	}
	if st := c.replicas(t, "orders", 0); !slices.Equal(st.Replicas, []int32{0, 1, 2}) || st.Reassigning || st.Leader != 0 {
		t.Errorf("dry run changed orders-0: %+v", st)
	}
	if cfg, _ := c.TopicConfigs("orders"); len(cfg) != 1 || cfg[LeaderReplicasKey] != "0:0" {
		t.Errorf("dry run changed the throttles of orders: %v, want %v", cfg, prior)
	}
	for b := int32(0); b < 6; b++ {
		if r := c.BrokerRates(b); len(r) > 0 {
			t.Errorf("dry run set rates on broker %d: %v", b, r)
		}
	}
	if recs, _ := ReadAudit(audit); len(recs) != 0 {
		t.Errorf("dry run wrote %d audit records", len(recs))
	}
	// A real run sees the live cluster, where the dry run changed
	// nothing: step 2 is refused because step 1 is not done.
	real, _ := testExecutor(t, c, nil)
	if _, err := real.Apply(ctx, ref, 2); !errors.Is(err, ErrRefused) {
		t.Errorf("real step 2 after the dry run: %v, want refused (step 1 not applied)", err)
	}
}

// TestInboundAboveThrottleReportsStall pins the stall report for a copy that
// can never finish: producers write faster than the throttle lets the new
// replica copy, so it copies without getting closer, and kshift says to
// raise the throttle (item 16).
func TestInboundAboveThrottleReportsStall(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{})
	c.topic(t, "orders", 20<<20, nil, []int32{0, 1, 2})
	if err := c.SetInboundRate("orders", 0, 4<<20); err != nil {
		t.Fatal(err)
	}
	p := phasedPlan(t, c, 1<<20, "orders")
	ctx, cancel := context.WithCancel(testCtx(t, 60*time.Second))
	var reason string
	e, _ := testExecutor(t, c, func(o *Options) {
		o.StallAfter = 300 * time.Millisecond
		o.Progress = func(pr Progress) {
			if pr.Stalled && reason == "" {
				reason = pr.StallReason
				cancel()
			}
		}
	})
	if _, err := e.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("apply: %v; want interrupted after the stall", err)
	}
	if !strings.Contains(reason, "inbound traffic") || !strings.Contains(reason, "throttle set") {
		t.Errorf("stall reason %q; want inbound traffic above the throttle and what to do", reason)
	}
}

// TestDoneStepNeedsNoLock: applying a step already done, with no throttle
// left by an earlier run, changes nothing, so it says so without the lock
// another run holds; a step that would change something is still refused.
func TestDoneStepNeedsNoLock(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	e, _ := testExecutor(t, c, nil)
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatal(err)
	}
	c.holdLock(t, "plan.yaml", 2)
	if res, err := e.Apply(ctx, ref, 1); err != nil || !res.AlreadyDone {
		t.Errorf("apply of done step 1 while another run holds the lock: %+v, %v; want already done", res, err)
	}
	var locked *state.LockedError
	if _, err := e.Apply(ctx, ref, 2); !errors.As(err, &locked) {
		t.Errorf("apply of pending step 2 while another run holds the lock: %v; want a LockedError", err)
	}
}

// sameListValue reports whether two config values are the same list as
// Kafka parses one: the same entries in the same order, the spaces around
// the commas aside (item 14).
func sameListValue(a, b string) bool {
	parse := func(v string) []string {
		entries := strings.Split(strings.TrimSpace(v), ",")
		for i, e := range entries {
			entries[i] = strings.TrimSpace(e)
		}
		return entries
	}
	return slices.Equal(parse(a), parse(b))
}
