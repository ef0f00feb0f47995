package inspect

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
)

// Coverage compares the cluster's partitions with a plan's: the one place
// kshift decides whether a plan leaves data behind on its source brokers.
// `kshift status`, `kshift check --plan` (GateCoverage) and every `kshift
// apply` report it, and no migration reports itself finished while
// OnSources is not zero.
type Coverage struct {
	// Uncovered are the partitions the plan has no move for that have a
	// replica on a source broker (created after the snapshot, a topic's
	// partitions added since, or a topic the mapping excluded): stopping the
	// sources loses them unless a plan moves them.
	Uncovered []UncoveredPartition `json:"uncovered,omitempty" yaml:"uncovered,omitempty"`
	// OnSources counts every partition with a replica on a source broker,
	// covered by the plan or not.
	OnSources int `json:"on_sources" yaml:"on_sources"`
	// Partitions counts the cluster's partitions.
	Partitions int `json:"partitions" yaml:"partitions"`
}

// UncoveredPartition is a partition no move of the plan covers that has a
// replica on a source broker.
type UncoveredPartition struct {
	PartitionID `yaml:",inline"`
	Replicas    []int32 `json:"replicas" yaml:"replicas,flow"`
	// OnSources are its replicas on source brokers.
	OnSources []int32 `json:"on_sources" yaml:"on_sources,flow"`
}

// Name is the partition's "topic-N" name.
func (u UncoveredPartition) Name() string { return u.PartitionID.String() }

// PlanCoverage compares replicas, the cluster's partitions and their
// replica lists, with plan p's moves. kshift's own topics (an older
// kshift's lock) are not the cluster's data and count nowhere.
func PlanCoverage(p *plans.Plan, replicas map[PartitionID][]int32) *Coverage {
	return planCoverage(p, maps.All(replicas))
}

// planCoverage is PlanCoverage of the partitions and replica lists
// replicas yields.
func planCoverage(p *plans.Plan, replicas iter.Seq2[PartitionID, []int32]) *Coverage {
	covered := coveredBy(p)
	onSource := func(r int32) bool { return slices.Contains(p.SourceBrokers, r) }
	c := &Coverage{}
	for id, rs := range replicas {
		if plans.IsKshiftTopic(id.Topic) {
			continue // kshift's own state, not the cluster's data
		}
		c.Partitions++
		if !slices.ContainsFunc(rs, onSource) {
			continue
		}
		c.OnSources++
		if !covered.has(id) {
			on := slices.DeleteFunc(slices.Clone(rs), func(r int32) bool { return !onSource(r) })
			c.Uncovered = append(c.Uncovered, UncoveredPartition{PartitionID: id, Replicas: rs, OnSources: on})
		}
	}
	slices.SortFunc(c.Uncovered, func(a, b UncoveredPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return c
}

// ReadCoverage reads every partition of the cluster (one Metadata request
// for every topic) and compares them with plan p (PlanCoverage).
func ReadCoverage(ctx context.Context, k *kafkaapi.Client, p *plans.Plan) (*Coverage, error) {
	md, err := k.Metadata(ctx, kafkaapi.AllTopics)
	if err != nil {
		return nil, fmt.Errorf("reading every partition to compare with the plan: %w", err)
	}
	return MetadataCoverage(p, md), nil
}

// MetadataCoverage compares every partition of md, a Metadata of every
// topic, with plan p (PlanCoverage).
func MetadataCoverage(p *plans.Plan, md *kafkaapi.Metadata) *Coverage {
	return planCoverage(p, func(yield func(PartitionID, []int32) bool) {
		for key, part := range md.Partitions {
			if !yield(PartitionID{key.Topic, key.Partition}, part.Replicas) {
				return
			}
		}
	})
}

// coveredSet is the partitions a plan moves: per topic, by partition id
// (ids past 1<<16 in odd). A 200,000-partition plan names its topics in
// runs over 600,000 moves, so it costs one map lookup per run, not a hash of
// a topic name per move.
type coveredSet struct {
	byTopic map[string][]bool
	odd     map[PartitionID]bool
}

func coveredBy(p *plans.Plan) *coveredSet {
	c := &coveredSet{byTopic: map[string][]bool{}, odd: map[PartitionID]bool{}}
	lastTopic, last, have := "", []bool(nil), false
	flush := func() {
		if have {
			c.byTopic[lastTopic] = last
		}
	}
	for i := range p.Steps {
		for _, m := range p.Steps[i].Partitions {
			if m.Partition < 0 || m.Partition >= 1<<16 {
				c.odd[PartitionID{m.Topic, m.Partition}] = true
				continue
			}
			if !have || m.Topic != lastTopic {
				flush()
				lastTopic, last, have = m.Topic, c.byTopic[m.Topic], true
			}
			for int(m.Partition) >= len(last) {
				last = append(last, false)
			}
			last[m.Partition] = true
		}
	}
	flush()
	return c
}

func (c *coveredSet) has(id PartitionID) bool {
	if id.Partition < 0 || id.Partition >= 1<<16 {
		return c.odd[id]
	}
	ids := c.byTopic[id.Topic]
	return int(id.Partition) < len(ids) && ids[id.Partition]
}

// CatchUpCommand is the command that covers a plan's uncovered partitions:
// a fresh snapshot, then a catch-up plan of just those partitions, to be
// reviewed like any plan. flags are the connection flags to repeat (with a
// leading space, or empty).
func CatchUpCommand(planPath, flags string) string {
	return fmt.Sprintf("kshift snapshot --out catch-up-snapshot.yaml%s && kshift plan --catch-up %s --snapshot catch-up-snapshot.yaml --mapping MAPPING --out catch-up", flags, planPath)
}

// Summary says in one line what the coverage means for the migration, with
// the command that covers what the plan leaves behind; "" when the plan
// covers every partition on a source broker.
func (c *Coverage) Summary(planPath, flags string) string {
	if len(c.Uncovered) == 0 {
		return ""
	}
	var names []string
	for _, u := range c.Uncovered {
		names = append(names, fmt.Sprintf("%s on %v", u.Name(), u.OnSources))
	}
	return fmt.Sprintf("%d partition(s) with a replica on a source broker are not in this plan, so stopping the sources would lose them: %s. Cover them with a catch-up plan (reviewed like any plan; a topic the mapping excludes must be deleted or un-excluded first): %s",
		len(c.Uncovered), nameList(names), CatchUpCommand(planPath, flags))
}

func coverageGate(c *GateInput) GateResult {
	p := c.Scope.Plan
	if p == nil {
		return GateResult{Gate: GateCoverage, Status: StatusSkip, Summary: "no plan given: nothing to compare the partitions with"}
	}
	if c.partitions != nil {
		return GateResult{Gate: GateCoverage, Status: StatusSkip, Summary: "scoped to some partitions: run kshift check --plan without --step to compare every partition with the plan"}
	}
	replicas := map[PartitionID][]int32{}
	c.eachPartition(func(_ *plans.Topic, id PartitionID, part *plans.Partition) { replicas[id] = part.Replicas })
	cov := PlanCoverage(p, replicas)
	var f []Finding
	if len(cov.Uncovered) > 0 {
		f = append(f, Finding{Subject: "to cover them", Detail: CatchUpCommand("PLAN", "")})
	}
	for _, u := range cov.Uncovered {
		f = append(f, Finding{Subject: u.Name(), Detail: fmt.Sprintf("replicas %v, on source brokers %v: the plan does not move it", u.Replicas, u.OnSources)})
	}
	return result(GateCoverage, f, fmt.Sprintf("%d partitions with a replica on a source broker are not in the plan: stopping the sources would lose them", len(cov.Uncovered)),
		fmt.Sprintf("the plan covers every partition with a replica on a source broker (%d of %d partitions on sources now)", cov.OnSources, cov.Partitions), StatusWarn)
}
