package executor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// TestApplyPhasedMigration pins the whole apply path on a 2.4 double: each
// step ends at `to` with a full ISR, move-leader puts the target first and
// elects it, nothing is left throttled, and the audit log has every step.
func TestApplyPhasedMigration(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  kafkasim.Config
	}{
		{"kafka-2.4", kafkasim.Config{}},
		// Metadata's ISR trailing the truth by seconds (item 21) must not
		// fail a gate or the verification.
		{"kafka-3.x-isr-lag", kafkasim.Config{Version: kafkasim.V3_x, ISRLag: true, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) { applyPhasedMigration(t, tc.cfg) })
	}
}

func applyPhasedMigration(t *testing.T, cfg kafkasim.Config) {
	c := startCluster(t, 200, cfg)
	c.topic(t, "orders", 8<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{2, 0, 1})
	c.topic(t, "events", 4<<20, map[string]string{"min.insync.replicas": "2"}, []int32{1, 0, 2})
	p := phasedPlan(t, c, 10<<20, "orders", "events")
	var progress []Progress
	e, audit := testExecutor(t, c, func(o *Options) {
		o.Progress = func(pr Progress) { progress = append(progress, pr) }
		o.ChunkSize, o.ElectionBatch = 3, 3 // 4 partitions: two requests each
	})
	ref := PlanRef{Plan: p, Path: "plan.yaml", SHA256: "abc"}
	ctx := testCtx(t, 60*time.Second)
	for n := 1; n <= 3; n++ {
		res, err := e.Apply(ctx, ref, n)
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		if res.AlreadyDone {
			t.Fatalf("step %d reported already done", n)
		}
		for _, m := range p.Steps[n-1].Partitions {
			st := c.replicas(t, m.Topic, m.Partition)
			if !slices.Equal(st.Replicas, m.To) || st.Reassigning {
				t.Errorf("after step %d: %s replicas %v, want %v", n, m.Name(), st.Replicas, m.To)
			}
			if !plans.SameMembers(st.ISR, m.To) {
				t.Errorf("after step %d: %s isr %v, want %v", n, m.Name(), st.ISR, m.To)
			}
			if n >= 2 && st.Leader != m.To[0] {
				t.Errorf("after step %d: %s leader %d, want %d", n, m.Name(), st.Leader, m.To[0])
			}
		}
		c.noThrottles(t)
	}
	// Applying a done step again changes nothing and says so.
	// Step 1 counts as done although later steps moved its partitions on.
	for _, n := range []int{1, 3} {
		res, err := e.Apply(ctx, ref, n)
		if err != nil || !res.AlreadyDone {
			t.Fatalf("re-apply of step %d: %+v, %v; want already done", n, res, err)
		}
	}
	if len(progress) == 0 || progress[0].Step != 1 || progress[0].BytesTotal != 3*(3*(8<<20)+(4<<20)) {
		t.Errorf("copy progress of step 1: %+v; want bytes_total of 3 new replicas of every partition", progress)
	}
	recs, err := ReadAudit(audit)
	if err != nil {
		t.Fatal(err)
	}
	var starts, ends, calls int
	perStep := map[string]int{}
	for _, r := range recs {
		if r.Event == state.AuditCall {
			perStep[fmt.Sprintf("%d %s", r.Step, r.Call)]++
		}
		switch r.Event {
		case state.AuditStart:
			starts++
		case state.AuditEnd:
			ends++
		case state.AuditCall:
			calls++
		}
		if r.ClusterID != c.ClusterID() || r.PlanSHA256 != "abc" || r.User == "" || r.Host == "" {
			t.Errorf("audit record without who/where: %+v", r)
		}
	}
	if starts != 5 || ends != 5 || calls < 6 {
		t.Errorf("audit log: %d starts, %d ends, %d calls; want 5, 5, >= 6", starts, ends, calls)
	}
	for _, key := range []string{"1 AlterPartitionAssignments", "2 AlterPartitionAssignments", "2 ElectLeaders", "3 AlterPartitionAssignments"} {
		if perStep[key] != 2 {
			t.Errorf("audit: %d calls of step/call %q, want 2 (chunks of 3 partitions)", perStep[key], key)
		}
	}
	st, err := e.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Steps {
		if s.State != StepDone {
			t.Errorf("status step %d: %s, want done", s.Number, s.State)
		}
	}
	if st.Lock != nil {
		t.Errorf("lock still held: %v", st.Lock)
	}
}

// TestThrottlePrecedence pins which rate a step throttles at: the
// operator's --throttle (Options.Throttle) over the step's own rate, and
// the step's over the plan's (README "Applying steps", step 3). The rate
// is read from the calls a dry run prints.
func TestThrottlePrecedence(t *testing.T) {
	c := startCluster(t, 200, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	for _, tc := range []struct {
		name                 string
		plan, step, operator plans.Rate
		want                 plans.Rate
	}{
		{"plan only", 10 << 20, 0, 0, 10 << 20},
		{"step over plan", 10 << 20, 20 << 20, 0, 20 << 20},
		{"operator over step and plan", 10 << 20, 20 << 20, 30 << 20, 30 << 20},
		{"operator over plan", 10 << 20, 0, 30 << 20, 30 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := phasedPlan(t, c, tc.plan, "orders")
			p.Steps[0].Throttle = tc.step
			var out strings.Builder
			e, _ := testExecutor(t, c, func(o *Options) { o.Throttle, o.DryRun, o.DryRunOut = tc.operator, true, &out })
			if _, err := e.Apply(testCtx(t, 30*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("SET broker 3 follower.replication.throttled.rate=%q", fmt.Sprint(int64(tc.want)))
			if !strings.Contains(out.String(), want) {
				t.Errorf("dry run lacks %s:\n%s", want, out.String())
			}
		})
	}
}
