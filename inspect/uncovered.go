package inspect

import (
	"slices"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
)

// Uncovered returns the live partitions (replica lists by partition) that
// no step of p moves and that still have a replica on one of p's source
// brokers, sorted: partitions created or added after the plan was made,
// which the plan would leave behind on brokers about to be stopped. The
// cover is a new snapshot and plan (or a catch-up plan for just these).
//
// It is the one check of "nothing uncovered" that the retire-sources step
// runs; coverage reporting in status, check and apply is to use it too.
func Uncovered(p *plans.Plan, replicas map[kafkaapi.TP][]int32) []kafkaapi.TP {
	covered := map[kafkaapi.TP]bool{}
	for i := range p.Steps {
		for _, m := range p.Steps[i].Partitions {
			covered[kafkaapi.TP{Topic: m.Topic, Partition: m.Partition}] = true
		}
	}
	var out []kafkaapi.TP
	for key, reps := range replicas {
		if covered[key] || plans.IsKshiftTopic(key.Topic) {
			continue
		}
		if slices.ContainsFunc(reps, func(id int32) bool { return slices.Contains(p.SourceBrokers, id) }) {
			out = append(out, key)
		}
	}
	slices.SortFunc(out, func(a, b kafkaapi.TP) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return out
}
