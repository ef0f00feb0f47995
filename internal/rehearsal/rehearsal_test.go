package rehearsal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
)

func runCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// checkReport pins what every rehearsal of a plan must show: a report line
// per step, ZooKeeper steps skipped, every copy step lasting as long as its
// estimate (the busiest broker's bytes at 0.9x the throttle) within ±20%
// once it is long enough for the clock's resolution, no stall, and totals
// that add up.
func checkReport(t *testing.T, p *plans.Plan, rep *Report) {
	t.Helper()
	if len(rep.Steps) != len(p.Steps) {
		t.Fatalf("report has %d steps, the plan %d", len(rep.Steps), len(p.Steps))
	}
	var sum time.Duration
	for i, s := range rep.Steps {
		ps := &p.Steps[i]
		sum += s.Simulated
		if (ps.Phase.IsZooKeeper() || ps.Phase == plans.PhaseRetireSources) != (s.Skipped != "") {
			t.Errorf("step %d (%s): skipped %q", s.Number, s.Phase, s.Skipped)
		}
		if len(s.Stalls) > 0 {
			t.Errorf("step %d: stalls %v", s.Number, s.Stalls)
		}
		if ps.Phase.IsReassignment() && s.PeakReplicas == 0 {
			t.Errorf("step %d: no peak replica count", s.Number)
		}
		if s.Estimate < 10*rep.Resolution {
			continue
		}
		if s.Ratio < 0.8 || s.Ratio > 1.2 {
			t.Errorf("step %d (%s): simulated %s against an estimate of %s (ratio %.2f): want within ±20%%", s.Number, s.Phase, s.Simulated, s.Estimate, s.Ratio)
		}
	}
	if rep.Simulated != sum {
		t.Errorf("total simulated %s, steps sum to %s", rep.Simulated, sum)
	}
	if rep.Ideal <= 0 || rep.IdealReached <= rep.Ideal || rep.Simulated < rep.IdealReached {
		t.Errorf("ideal %s, at the reached rate %s, simulated %s: want 0 < ideal < reached <= simulated", rep.Ideal, rep.IdealReached, rep.Simulated)
	}
	if rep.PeakExtraBytes <= 0 {
		t.Errorf("peak extra bytes %d: raise-rf steps copy data", rep.PeakExtraBytes)
	}
	for _, b := range p.TargetBrokers {
		if rep.PeakReplicas[b] == 0 {
			t.Errorf("target broker %d never held a replica: %v", b, rep.PeakReplicas)
		}
	}
}

// TestRehearseSixBrokers rehearses the bundled example's plan (38 steps,
// 5h39m estimated at 75 MiB/s) from its snapshot.
func TestRehearseSixBrokers(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "six-brokers")
	snap, _, err := plans.LoadFile[plans.Snapshot](filepath.Join(dir, "snapshot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := plans.LoadFile[plans.Plan](filepath.Join(dir, "plan", "plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(runCtx(t), snap, p, Options{Speed: 4000})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, p, rep)
	t.Logf("simulated %s, estimate %s, ideal %s, %d calls, real %s", rep.Simulated, rep.Estimate, rep.Ideal, rep.Calls, rep.Real)
}

// preferredLeaders makes every partition led by its first replica. The
// plan's estimates assume the first replica of from sends the copies; synth
// makes a few leaders non-preferred, and a step whose busiest sender leads
// more than the plan assumes takes longer than its estimate by that much
// (22% on step 3 of seed 7 at 100 MiB/s): a finding of the rehearsal about
// the estimates, not what this test pins.
func preferredLeaders(s *plans.Snapshot) {
	for i := range s.Topics {
		for j := range s.Topics[i].Partitions {
			p := &s.Topics[i].Partitions[j]
			p.Leader = p.Replicas[0]
		}
	}
}

// TestRehearseSynth rehearses a small synthetic cluster's plan (rack map,
// RF 2 and 3 topics, skewed sizes) and the same plan at twice the throttle:
// the copies take about half as long, and the estimates follow the rate.
func TestRehearseSynth(t *testing.T) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 3, TargetBrokers: 3, Topics: 6, Partitions: 40, TotalBytes: 200 << 30, Seed: 7})
	preferredLeaders(snap)
	m.Limits.PartitionsPerStep = 15
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Plan
	rep, err := Run(runCtx(t), snap, p, Options{Speed: 2000})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, p, rep)

	fast, err := Run(runCtx(t), snap, p, Options{Speed: 2000, Throttle: 2 * p.Throttle})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, p, fast)
	if r := float64(fast.Simulated) / float64(rep.Simulated); r < 0.4 || r > 0.6 {
		t.Errorf("twice the throttle: simulated %s against %s (%.2f), want about half", fast.Simulated, rep.Simulated, r)
	}
	if fast.Throttle != 2*p.Throttle || fast.Estimate >= rep.Estimate {
		t.Errorf("throttle %s, estimate %s (plan's rate: %s): want the override and a shorter estimate", fast.Throttle, fast.Estimate, rep.Estimate)
	}
}

// TestRehearseRefusesOtherSnapshot refuses a snapshot of another cluster.
func TestRehearseRefusesOtherSnapshot(t *testing.T) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 3, TargetBrokers: 3, Topics: 3, Partitions: 6, Seed: 1})
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	other := *snap
	other.ClusterID = "another"
	if _, err := Run(runCtx(t), &other, res.Plan, Options{}); err == nil {
		t.Fatal("a snapshot of another cluster was accepted")
	}
}

// TestRehearseStall produces into every partition faster than a throttled
// copy can follow: the executor reports the stall (inbound traffic above
// the throttle), the rehearsal gives up on the step at its limit and stops
// with an error naming the stall, instead of waiting forever.
func TestRehearseStall(t *testing.T) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 3, TargetBrokers: 3, Topics: 4, Partitions: 24, TotalBytes: 24 << 30, Seed: 5})
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	// About 85 MiB/s into each partition; a copy gets at most 45 MiB/s.
	rep, err := Run(runCtx(t), snap, res.Plan, Options{Speed: 2000, Inbound: 2 << 30, StepLimit: 30 * time.Minute})
	if err == nil || !strings.Contains(err.Error(), "gave up after 30m0s") {
		t.Fatalf("error %v, want the rehearsal to give up", err)
	}
	last := rep.Steps[len(rep.Steps)-1]
	if !last.GaveUp || last.Number != 1 || len(last.Stalls) == 0 || !strings.Contains(strings.Join(last.Stalls, " "), "inbound traffic") {
		t.Errorf("last step %d: gave up %v, stalls %q: want step 1 given up on an inbound stall", last.Number, last.GaveUp, last.Stalls)
	}
}

// TestRehearseSkipsZooKeeperSteps lists a plan's zk-join step as skipped and
// runs the reassignment step after it although the executor cannot tell
// that the ZooKeeper step is done.
func TestRehearseSkipsZooKeeperSteps(t *testing.T) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 3, TargetBrokers: 3, Topics: 3, Partitions: 6, TotalBytes: 6 << 30, Seed: 2})
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Plan
	join := plans.Step{Number: 1, Phase: plans.PhaseZKJoin, ZooKeeper: &plans.ZooKeeperChange{Connect: "127.0.0.1:1",
		Join: []plans.ZKServer{{ID: 4, Host: "127.0.0.1", QuorumPort: 2, ElectionPort: 3, ClientPort: 4, Role: "observer"}}}}
	p.Steps = append([]plans.Step{join}, p.Steps...)
	for i := range p.Steps {
		p.Steps[i].Number = i + 1
	}
	rep, err := Run(runCtx(t), snap, p, Options{Speed: 2000})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, p, rep)
	if rep.Steps[1].Simulated <= 0 {
		t.Errorf("step 2 after the skipped zk-join: simulated %s", rep.Steps[1].Simulated)
	}
}
