package executor

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestLegacyRecordsOnlyFromAnOlderKshift pins which throttle records of the
// local audit log a run moves into the cluster's store. A run killed
// between deleting its record from the store and copying that to the local
// log leaves the record open in the local log only: that record is the
// store's (it names its run in the cluster's trail), and it is not moved
// back, restored a second time from its old priors, nor announced as an
// older kshift's. A record an older kshift wrote (no run in the cluster)
// is moved, and the run restores it.
func TestLegacyRecordsOnlyFromAnOlderKshift(t *testing.T) {
	c := startCluster(t, 50, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 50<<20, "orders")
	e, audit := testExecutor(t, c, nil)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 60*time.Second)
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatalf("step 1: %v", err)
	}
	// The kill: the local log lacks the record's closing line.
	recs, err := ReadAudit(audit)
	if err != nil {
		t.Fatal(err)
	}
	var kept []state.AuditRecord
	closed := 0
	for _, r := range recs {
		if r.Event == state.AuditThrottlesCleared {
			closed++
			continue
		}
		kept = append(kept, r)
	}
	if closed == 0 {
		t.Fatalf("step 1 closed no throttle record in the local log: %+v", recs)
	}
	writeAudit(t, audit, kept)
	res, err := e.Apply(ctx, ref, 2)
	if err != nil {
		t.Fatalf("step 2: %v", err)
	}
	for _, n := range res.Notes {
		if strings.Contains(n, "older kshift") {
			t.Errorf("step 2 took this kshift's own record for an older kshift's: %s", n)
		}
	}
	after, _ := ReadAudit(audit)
	for _, r := range after {
		if r.Result == "moved to the cluster's state store" {
			t.Errorf("step 2 moved record %s from the local log into the store", r.Throttles.ID)
		}
	}

	// An older kshift's record: a rate it set on broker 3 and left.
	adm := kadm.NewClient(c.client)
	if rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: FollowerRateKey, Value: kadm.StringPtr("1000")}}, 3); err != nil || rs[0].Err != nil {
		t.Fatalf("setting the older kshift's rate: %v %v", err, rs)
	}
	old := state.NewThrottleRecord("older-step1", 1000)
	old.Brokers[3] = &state.BrokerThrottle{}
	after = append(after, state.AuditRecord{Time: time.Now().UTC(), ClusterID: c.ClusterID(), Command: "apply", Event: state.AuditThrottles, Throttles: old})
	writeAudit(t, audit, after)
	res, err = e.Apply(ctx, ref, 3)
	if err != nil {
		t.Fatalf("step 3: %v", err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "older-step1") {
		t.Errorf("step 3 did not move the older kshift's record: notes %q", res.Notes)
	}
	c.noThrottles(t)
}

func writeAudit(t *testing.T, path string, recs []state.AuditRecord) {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRestoredRateNotReportedAsChanged pins the cleanup of a throttle
// record whose rates a run had restored when it was stopped, before it
// could record that: a rate back at its value from before kshift is left
// as it is, with no warning that someone else changed it.
func TestRestoredRateNotReportedAsChanged(t *testing.T) {
	// 3.x shows the rates (2.4 hides them): the value is compared.
	c := startCluster(t, 50, kafkasim.Config{Version: kafkasim.V3_x})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
	p := phasedPlan(t, c, 50<<20, "orders")
	ctx := testCtx(t, 60*time.Second)
	const operators = "31457280"
	adm := kadm.NewClient(c.client)
	if rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: FollowerRateKey, Value: kadm.StringPtr(operators)}}, 3); err != nil || rs[0].Err != nil {
		t.Fatalf("setting the operator's rate: %v %v", err, rs)
	}
	e, _ := testExecutor(t, c, nil)
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	if _, err := e.Apply(ctx, ref, 1); err != nil {
		t.Fatalf("step 1: %v", err)
	}
	// Step 1's record as it stood when its run, restoring, was stopped
	// after the configs and before the record.
	rec := state.NewThrottleRecord("stopped-step1", 50<<20)
	rec.Plan, rec.Step = ref.Path, 1
	rec.Brokers[3] = &state.BrokerThrottle{PriorFollowerRate: state.PriorValue{Present: true, Known: true, Value: operators}}
	lease, err := c.store.Acquire(ctx, state.Holder{Command: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.PutThrottleRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := lease.Release(); err != nil {
		t.Fatal(err)
	}
	res, err := e.Apply(ctx, ref, 2)
	if err != nil {
		t.Fatalf("step 2: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("step 2 warned: %s", w)
	}
	if got := c.BrokerRates(3)[FollowerRateKey]; got != operators {
		t.Errorf("broker 3 %s = %q, want the operator's %s", FollowerRateKey, got, operators)
	}
	if recs, err := c.store.ThrottleRecords(ctx); err != nil || len(recs) > 0 {
		t.Errorf("records left: %v %v", recs, err)
	}
}

// TestResumeFromAnotherHostAdoptsTheRecord: a step interrupted on one host
// and resumed on another, where the same plan has another path, resumes
// the first host's throttle record (matched by the plan's hash) instead of
// opening a second one whose "prior" rates would be kshift's own: the
// resume warns of nothing and leaves no throttle.
func TestResumeFromAnotherHostAdoptsTheRecord(t *testing.T) {
	c := startCluster(t, 20, heldClock())
	held, _ := heldStep(t, c)
	ref := PlanRef{Plan: held.Plan, Path: "/home/alice/migration/plan.yaml", SHA256: "same-plan"}
	recs, err := c.store.ThrottleRecords(testCtx(t, 5*time.Second))
	if err != nil || len(recs) != 1 {
		t.Fatalf("open records after the interrupt: %d, %v; want 1", len(recs), err)
	}
	recs[0].Plan, recs[0].PlanSHA256 = ref.Path, ref.SHA256 // as host A wrote it
	lease, err := c.store.Acquire(testCtx(t, 5*time.Second), state.Holder{Host: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.PutThrottleRecord(testCtx(t, 5*time.Second), recs[0]); err != nil {
		t.Fatal(err)
	}
	lease.Release()
	c.Clock().SetFactor(20)
	other := PlanRef{Plan: held.Plan, Path: "/srv/ops/prod-move.yaml", SHA256: "same-plan"}
	b, _ := testExecutor(t, c, nil)
	res, err := b.Apply(testCtx(t, 60*time.Second), other, 1)
	if err != nil {
		t.Fatalf("resume on the second host: %v", err)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("resume on the second host warns: %q; want none (the rates are kshift's own)", res.Warnings)
	}
	c.noThrottles(t)
}

// TestWatchStopsWhenTheLockIsLost: a run whose lock is broken while it
// watches a copy stops at its next poll, saying it lost the lock, and makes
// no more changes (the run that holds the lock now owns the step).
func TestWatchStopsWhenTheLockIsLost(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{})
	c.topic(t, "orders", 256<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 1<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	broken := false
	e, _ := testExecutor(t, c, func(o *Options) {
		o.Progress = func(pr Progress) {
			if !broken {
				broken = true
				lease, err := c.store.Acquire(testCtx(t, 5*time.Second), state.Holder{Host: "other-host", Command: "apply"}, true)
				if err != nil {
					t.Error(err)
					return
				}
				t.Cleanup(func() { lease.Release() })
			}
		}
	})
	start := time.Now()
	_, err := e.Apply(testCtx(t, 60*time.Second), ref, 1)
	if !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("apply whose lock was broken while it watched: %v; want ErrLockLost", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("apply went on for %s after losing the lock", d)
	}
	if st := c.replicas(t, "orders", 0); !st.Reassigning {
		t.Errorf("orders-0 %+v: the copy must go on under its throttles for the new holder", st)
	}
}

// TestOlderKshiftsTopicLock: a cluster where an older kshift's lock topic
// (__kshift_lock, with its holder record topic) still exists is refused,
// saying an older kshift may hold it; with --break-lock the topics are
// deleted, the lock taken in the state store, and the step runs.
func TestOlderKshiftsTopicLock(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	for _, name := range []string{legacyLockTopic, legacyLockTopic + "_holder_abc"} {
		if err := c.CreateTopic(name, [][]int32{{0}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 30*time.Second)
	e, _ := testExecutor(t, c, nil)
	_, err := e.Apply(ctx, ref, 1)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "older kshift") || !strings.Contains(err.Error(), "--break-lock") {
		t.Fatalf("apply with an older kshift's lock topic: %v; want refused, naming it and --break-lock", err)
	}
	if st := c.replicas(t, "orders", 0); st.Reassigning || len(st.Replicas) != 3 {
		t.Errorf("the refused apply changed orders-0: %+v", st)
	}
	e.opts.BreakLock = true
	res, err := e.Apply(ctx, ref, 1)
	if err != nil {
		t.Fatalf("apply --break-lock: %v", err)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "deleted an older kshift's lock topics") }) {
		t.Errorf("apply --break-lock notes %q; want the deleted lock topics named", res.Notes)
	}
	for _, name := range c.Topics() {
		if strings.HasPrefix(name, legacyLockTopic) {
			t.Errorf("lock topic %s left", name)
		}
	}
}

// TestRateChangedBySomeoneElseIsLeft: a rate another tool changes on a
// broker while a step runs is left as it is at the end of the step, and a
// warning says so with the value from before kshift; the rates kshift
// still owns are restored (a Kafka 3.x simulator shows rates, so kshift can
// tell the values apart without ZooKeeper).
func TestRateChangedBySomeoneElseIsLeft(t *testing.T) {
	c := startCluster(t, 20, kafkasim.Config{Version: kafkasim.V3_x})
	c.topic(t, "orders", 64<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	e, _ := testExecutor(t, c, func(o *Options) {
		o.Progress = duringStep(func() {
			c.alterConfig(t, kmsg.ConfigResourceTypeBroker, "3", map[string]string{FollowerRateKey: "7777777"})
		})
	})
	res, err := e.Apply(testCtx(t, 60*time.Second), ref, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BrokerRates(3)[FollowerRateKey]; got != "7777777" {
		t.Errorf("broker 3's follower rate after the step: %q, want the other tool's 7777777 left as it is", got)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool {
		return strings.Contains(w, "broker 3 "+FollowerRateKey+" was changed by someone else") && strings.Contains(w, "before kshift it was not set")
	}) {
		t.Errorf("warnings %q: want one naming broker 3's follower rate, changed by someone else", res.Warnings)
	}
	if got := c.BrokerRates(4)[FollowerRateKey]; got != "" {
		t.Errorf("broker 4's follower rate after the step: %q, want kshift's removed", got)
	}
}

// TestLeftoversNamedByTheirStep: a run that clears throttles an earlier run
// left names the step they belong to (issue 11: they were attributed to the
// step being applied). Step 1 is interrupted and finishes in Kafka under
// its throttles; applying step 2 clears them and says they were step 1's.
func TestLeftoversNamedByTheirStep(t *testing.T) {
	// 400 MiB at 10 MiB/s copies for about 30 simulated seconds beyond
	// Kafka's initial burst (docs/kafka-behaviour.md 32): at 40x about 0.75 s,
	// long enough for the interrupt to land while it copies on a loaded
	// machine (a copy done inside the burst let the first run clean up).
	c := startCluster(t, 40, kafkasim.Config{})
	c.topic(t, "orders", 400<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	ctx := testCtx(t, 60*time.Second)
	rctx, cancel := context.WithCancel(ctx)
	first, _ := testExecutor(t, c, func(o *Options) { o.Progress = func(Progress) { cancel() } })
	if _, err := first.Apply(rctx, ref, 1); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted step 1: %v", err)
	}
	waitFor(t, "step 1 to finish in Kafka", 30*time.Second, func() bool { return !c.replicas(t, "orders", 0).Reassigning })
	e, _ := testExecutor(t, c, nil)
	res, err := e.Apply(ctx, ref, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ClearedLeftovers) != 1 || !strings.HasPrefix(res.ClearedLeftovers[0], "step 1 (record ") {
		t.Errorf("step 2 cleared %q; want step 1's throttle record, named as step 1's", res.ClearedLeftovers)
	}
	c.noThrottles(t)
}
