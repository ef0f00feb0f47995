package planner

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/kshift/kshift/plans"
)

// retireStep is the plan's retire-sources step: the mapping's source
// brokers retired, the clients sent to its targets, whose bootstrap list is
// the listeners the snapshot recorded for them.
func retireStep(snap *plans.Snapshot, m *plans.Mapping) plans.Step {
	r := &plans.RetireChange{Sources: sortedList(m.SourceBrokers), Targets: sortedList(m.TargetBrokers)}
	var addrs []string
	for _, id := range r.Targets {
		for _, b := range snap.Brokers {
			if b.ID == id && b.Host != "" && b.Port > 0 {
				addrs = append(addrs, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
			}
		}
	}
	r.Bootstrap = strings.Join(addrs, ",")
	for _, t := range snap.Topics {
		if !slices.Contains(m.Exclude, t.Name) {
			continue
		}
		if slices.ContainsFunc(t.Partitions, func(p plans.Partition) bool {
			return slices.ContainsFunc(p.Replicas, func(id int32) bool { return slices.Contains(r.Sources, id) })
		}) {
			r.Excluded = append(r.Excluded, t.Name)
		}
	}
	slices.Sort(r.Excluded)
	return plans.Step{Phase: plans.PhaseRetireSources, Retire: r}
}

func sortedList(ids []int32) []int32 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
