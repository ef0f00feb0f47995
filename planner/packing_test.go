package planner

import (
	"testing"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/plans"
)

// BenchmarkPacking10k reports how close the steps of the executor
// benchmark's cluster (10,000 partitions, 2 TiB skewed, 60 -> 60 brokers,
// phased, default limits) pack to the ideal: the plan's estimated total over
// the busiest broker's bytes in or out at the throttle. The plan estimates at
// 0.9 x the throttle, so a perfect packing reports 1.11.
//
//	go test ./planner -run '^$' -bench Packing10k -benchtime 1x
func BenchmarkPacking10k(b *testing.B) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Topics: 200, Partitions: 10000, TotalBytes: 2 << 40, Seed: 7})
	for b.Loop() {
		res, err := Build(Input{Snapshot: snap, Mapping: m})
		if err != nil {
			b.Fatal(err)
		}
		_, busiest := plans.BusiestTotal(res.Plan, snap)
		b.ReportMetric(float64(res.Plan.Totals.Duration)/float64(res.Plan.Throttle.TimeFor(busiest)), "plan/ideal")
		b.ReportMetric(float64(res.Plan.Totals.Steps), "steps")
	}
}
