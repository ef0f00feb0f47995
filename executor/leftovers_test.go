package executor

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kadm"
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
