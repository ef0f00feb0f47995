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
		b.ReportMetric(float64(res.Plan.Totals.Duration)/float64(idealTime(snap, res.Plan)), "plan/ideal")
		b.ReportMetric(float64(res.Plan.Totals.Steps), "steps")
	}
}

// idealTime is the busiest broker's bytes in or out over the whole plan at
// the plan's throttle, the snapshot's leaders sending.
func idealTime(snap *plans.Snapshot, p *plans.Plan) plans.Duration {
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
	in, out := map[int32]plans.ByteSize{}, map[int32]plans.ByteSize{}
	var most plans.ByteSize
	for _, s := range p.Steps {
		for _, m := range s.Partitions {
			added := m.Adding()
			if len(added) == 0 {
				continue
			}
			for _, id := range added {
				in[id] += m.Size
				most = max(most, in[id])
			}
			sender := m.From[0]
			if l := leader[key{m.Topic, m.Partition}]; contains32(m.From, l) {
				sender = l
			}
			out[sender] += m.Size * plans.ByteSize(len(added))
			most = max(most, out[sender])
		}
	}
	return plans.Duration(p.Throttle.TimeFor(most))
}
