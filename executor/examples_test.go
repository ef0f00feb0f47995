package executor

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// TestExamplesMigrateEndToEnd pins the bundled examples (the planner's plans
// for examples/six-brokers and examples/rack-to-zone) applied step by step to
// a double seeded from their snapshots: every partition ends on target
// brokers only at its target RF, led by its preferred replica, leaders are
// spread evenly over the target brokers, no throttle config and no lock is left, and the audit log has a
// start, calls and an end for every step.
func TestExamplesMigrateEndToEnd(t *testing.T) {
	for _, name := range []string{"six-brokers", "rack-to-zone"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "examples", name)
			snap, _, err := plans.LoadFile[plans.Snapshot](filepath.Join(dir, "snapshot.yaml"))
			if err != nil {
				t.Fatalf("example snapshot: %v", err)
			}
			p, sum, err := plans.LoadFile[plans.Plan](filepath.Join(dir, "plan", "plan.yaml"))
			if err != nil {
				t.Fatalf("example plan: %v", err)
			}
			var brokers []kafkasim.BrokerConfig
			for _, b := range snap.Brokers {
				brokers = append(brokers, kafkasim.BrokerConfig{ID: b.ID, Rack: b.Rack, DiskCapacity: int64(b.DiskCapacity)})
			}
			// Hours of simulated copying in seconds.
			c := startCluster(t, 5000, kafkasim.Config{ClusterID: snap.ClusterID, Brokers: brokers, NetworkRate: 1 << 30})
			if err := c.LoadSnapshot(snap); err != nil {
				t.Fatal(err)
			}
			e, audit := testExecutor(t, c, func(o *Options) { o.PollInterval = 10 * time.Millisecond })
			ref := PlanRef{Plan: p, Path: filepath.Join(dir, "plan", "plan.yaml"), SHA256: sum}
			ctx := testCtx(t, 3*time.Minute)
			for _, s := range p.Steps {
				if s.Phase.IsZooKeeper() {
					continue
				}
				if s.Phase == plans.PhaseRetireSources && len(s.Retire.Excluded) > 0 {
					// Stopping the sources would lose the excluded topics.
					_, err := e.Apply(ctx, ref, s.Number)
					if err == nil || !strings.Contains(err.Error(), "of topics the mapping excluded still have a replica on a source broker") {
						t.Errorf("step %d (%s) with excluded topics %v on the sources: %v", s.Number, s.Phase, s.Retire.Excluded, err)
					}
					continue
				}
				if _, err := e.Apply(ctx, ref, s.Number); err != nil {
					t.Fatalf("step %d (%s): %v", s.Number, s.Phase, err)
				}
			}
			targets := map[int32]bool{}
			for _, b := range p.TargetBrokers {
				targets[b] = true
			}
			final := map[string]plans.Move{}
			for _, s := range p.Steps {
				for _, m := range s.Partitions {
					final[m.Name()] = m
				}
			}
			leaders := map[int32]int{}
			for _, m := range final {
				st := c.replicas(t, m.Topic, m.Partition)
				if !slices.Equal(st.Replicas, m.To) || st.Reassigning || !plans.SameMembers(st.ISR, m.To) {
					t.Errorf("%s: replicas %v isr %v, want %v", m.Name(), st.Replicas, st.ISR, m.To)
				}
				for _, r := range st.Replicas {
					if !targets[r] {
						t.Errorf("%s: replica on non-target broker %d", m.Name(), r)
					}
				}
				if st.Leader != m.To[0] {
					t.Errorf("%s: led by %d, not its preferred replica %d", m.Name(), st.Leader, m.To[0])
				}
				leaders[st.Leader]++
			}
			// Spread: every target leads, and no two differ by more than 2
			// (the planner keeps each within 1 of its rack peers' mean).
			most, least := 0, len(final)
			for b := range targets {
				most, least = max(most, leaders[b]), min(least, leaders[b])
			}
			if least == 0 || most-least > 2 {
				t.Errorf("leaders per target broker %v: from %d to %d, want every target leading and within 2", leaders, least, most)
			}
			c.noThrottlesOn(t, p.SourceBrokers, p.TargetBrokers)
			if h, err := e.ReadLock(ctx); err != nil || h != nil {
				t.Errorf("lock left: %v %v", h, err)
			}
			recs, err := ReadAudit(audit)
			if err != nil {
				t.Fatal(err)
			}
			started, ended, called := map[int]bool{}, map[int]string{}, map[int]bool{}
			for _, r := range recs {
				switch r.Event {
				case state.AuditStart:
					started[r.Step] = true
				case state.AuditEnd:
					ended[r.Step] = r.Result
				case state.AuditCall:
					called[r.Step] = true
				}
			}
			for _, s := range p.Steps {
				if s.Phase.IsZooKeeper() || s.Phase == plans.PhaseRetireSources {
					continue // no ZooKeeper here; the retire step changes nothing in Kafka then
				}
				if !started[s.Number] || ended[s.Number] != "ok" || !called[s.Number] {
					t.Errorf("audit log of step %d: start %v, end %q, calls %v", s.Number, started[s.Number], ended[s.Number], called[s.Number])
				}
			}
			t.Logf("%d steps, %d partitions, %d Kafka calls, leaders per target %v", len(p.Steps), len(final), e.Calls(), leaders)
		})
	}
}

// noThrottlesOn fails if any topic or the listed brokers keep a throttle config.
func (c *testCluster) noThrottlesOn(t *testing.T, brokerLists ...[]int32) {
	t.Helper()
	for _, name := range c.Topics() {
		cfg, _ := c.TopicConfigs(name)
		for _, k := range []string{LeaderReplicasKey, FollowerReplicasKey} {
			if v, ok := cfg[k]; ok {
				t.Errorf("topic %s still has %s=%q", name, k, v)
			}
		}
	}
	for _, bs := range brokerLists {
		for _, b := range bs {
			if r := c.BrokerRates(b); len(r) > 0 {
				t.Errorf("broker %d still has rates %v", b, r)
			}
		}
	}
}
