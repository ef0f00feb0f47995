package kafkasim

import (
	"fmt"
	"math"
	"testing"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
)

// BenchmarkRaiseRFReplay10k replays the raise-rf steps of a plan for the
// executor benchmark's cluster (10,000 partitions, 2 TiB skewed, 60 -> 60
// brokers, 50 MiB/s, default limits) through the double's copy-rate model
// alone: each step's copies start together, share every broker's throttle
// max-min fair (fillRates, at 0.9 x the rate) and run until the last ends.
// It reports the summed time over the ideal (plans.BusiestTotal at the
// throttle) and over the plan's estimate: what BenchmarkPhasedMigration10k
// in ./executor measures through the Kafka protocol in 40 s, in a second, so
// that a packing change can be tried on several clusters. The seeds are the
// executor benchmark's (7) and five more of the same shape; 2, 3 and 5 hold
// partitions that alone take longer than max_step_duration.
//
//	go test ./kafkasim -run '^$' -bench RaiseRFReplay10k -benchtime 1x
func BenchmarkRaiseRFReplay10k(b *testing.B) {
	for _, seed := range []uint64{7, 1, 4, 2, 3, 5} {
		b.Run(fmt.Sprintf("seed-%d", seed), func(b *testing.B) {
			for b.Loop() {
				r, err := replay10k(seed)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.replayed/r.ideal, "replay/ideal")
				b.ReportMetric(r.estimated/r.ideal, "plan/ideal")
				b.ReportMetric(r.replayed/r.estimated, "replay/plan")
			}
		})
	}
}

// TestRaiseRFReplayWithinBound guards the executor benchmark's target (the
// simulated migration at most 1.15 x the ideal) against packing changes: it
// replays the benchmark cluster's raise-rf steps, where all the copying is,
// and also the seed whose partitions outlast max_step_duration. Simulated
// seconds, so the machine's speed does not matter.
func TestRaiseRFReplayWithinBound(t *testing.T) {
	if testing.Short() {
		t.Skip("plans a 10,000-partition cluster twice")
	}
	for _, tc := range []struct {
		seed  uint64
		bound float64
	}{
		{7, 1.15}, // the executor benchmark's cluster: the target
		// 1.160 when written, 12.2 before such partitions shared steps; 1.179
		// since placement balances bytes under each disk's fill limit (issue
		// 14): its 23 partitions of 49-69 GB leave less room beside them in
		// the longest step. Deterministic, so a rise past 1.18 is a change.
		{2, 1.18},
	} {
		r, err := replay10k(tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.replayed / r.ideal; got > tc.bound {
			t.Errorf("seed %d: raise-rf steps take %.3f x the ideal in the rate model, above %.2f", tc.seed, got, tc.bound)
		}
	}
}

// replayResult holds seconds: the raise-rf steps replayed, their estimates
// summed, and the ideal (plans.BusiestTotal at the throttle).
type replayResult struct{ replayed, estimated, ideal float64 }

// replay10k plans the executor benchmark's cluster shape with seed and
// replays its raise-rf steps.
func replay10k(seed uint64) (replayResult, error) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Topics: 200, Partitions: 10000, TotalBytes: 2 << 40, Seed: seed})
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		return replayResult{}, err
	}
	var r replayResult
	r.replayed, r.estimated = replayRaiseRF(snap, res.Plan)
	_, busiest := plans.BusiestTotal(res.Plan, snap)
	r.ideal = res.Plan.Throttle.TimeFor(busiest).Seconds()
	return r, nil
}

// replayRaiseRF returns the seconds p's raise-rf steps take in the rate
// model, one after another, and the seconds their estimates sum to.
func replayRaiseRF(snap *plans.Snapshot, p *plans.Plan) (replayed, estimated float64) {
	type key struct {
		topic string
		id    int32
	}
	leader := map[key]int32{}
	for _, t := range snap.Topics {
		for _, pt := range t.Partitions {
			leader[key{t.Name, pt.ID}] = pt.Leader
		}
	}
	slot := map[int32]int32{}
	for i, br := range snap.Brokers {
		slot[br.ID] = int32(i) * slotsPerBroker
	}
	rate := float64(p.Throttle) * throttleEfficiency
	for _, s := range p.Steps {
		if s.Phase != plans.PhaseRaiseRF {
			continue
		}
		var copies []replayCopy
		for _, mv := range s.Partitions {
			for _, to := range mv.Adding() {
				copies = append(copies, replayCopy{from: leader[key{mv.Topic, mv.Partition}], to: to, left: float64(mv.Size)})
			}
		}
		replayed += replayStep(copies, slot, rate, len(snap.Brokers))
		estimated += float64(s.Estimate.BusiestBrokerBytes) / rate
	}
	return replayed, estimated
}

// replayCopy is one replica being copied: left bytes from its leader.
type replayCopy struct {
	from, to int32
	left     float64
}

// replayStep runs copies to the end, recomputing the max-min fair rates each
// time one ends, and returns the seconds it took.
func replayStep(copies []replayCopy, slot map[int32]int32, rate float64, brokers int) float64 {
	caps := make([]float64, slotsPerBroker*brokers)
	for i := range caps {
		caps[i] = rate
	}
	elapsed := 0.0
	for len(copies) > 0 {
		flows := make([]copyFlow, len(copies))
		for i, c := range copies {
			flows[i].ncons = 2
			flows[i].cons[0] = slot[c.to] + followerIn
			flows[i].cons[1] = slot[c.from] + leaderOut
		}
		fillRates(flows, caps)
		next := math.Inf(1)
		for i := range copies {
			next = min(next, copies[i].left/flows[i].rate)
		}
		elapsed += next
		running := copies[:0]
		for i, c := range copies {
			c.left -= flows[i].rate * next
			if c.left > 1 { // a byte left is rounding, not a copy
				running = append(running, c)
			}
		}
		copies = running
	}
	return elapsed
}
