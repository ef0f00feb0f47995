package plans

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Plan is an ordered list of steps that moves a cluster from its source
// brokers to its target brokers (KindMigration), or undoes such a plan step by
// step (KindRollback). It is a pure function of a snapshot and a mapping.
type Plan struct {
	Version int      `yaml:"version"`
	Kind    PlanKind `yaml:"kind"`
	// ClusterID is the cluster this plan was made for; it applies nowhere else.
	ClusterID string `yaml:"cluster_id"`
	// SnapshotSHA256 and MappingSHA256 identify the files the plan came from.
	SnapshotSHA256 string   `yaml:"snapshot_sha256"`
	MappingSHA256  string   `yaml:"mapping_sha256"`
	KshiftVersion  string   `yaml:"kshift_version"`
	Strategy       Strategy `yaml:"strategy"`
	// Throttle is the default replication rate per broker, bytes/s.
	Throttle      Rate    `yaml:"throttle"`
	SourceBrokers []int32 `yaml:"source_brokers,flow"`
	TargetBrokers []int32 `yaml:"target_brokers,flow"`
	Totals        Totals  `yaml:"totals"`
	Steps         []Step  `yaml:"steps"`
}

func (p *Plan) formatVersion() int { return p.Version }

// Totals summarise a plan for the header and the pull request summary.
type Totals struct {
	Steps       int      `yaml:"steps"`
	Partitions  int      `yaml:"partitions"`
	BytesToCopy ByteSize `yaml:"bytes_to_copy"`
	// Duration is the sum of the steps' copy times (Estimate.Duration).
	Duration Duration `yaml:"duration"`
	// FixedCost is the sum of the steps' fixed costs (Estimate.FixedCost).
	FixedCost Duration `yaml:"fixed_cost"`
	// TotalDuration is Duration plus FixedCost: how long the plan should take.
	TotalDuration Duration `yaml:"total_duration"`
}

// Add counts one step's estimate into the totals' bytes and durations.
func (t *Totals) Add(e Estimate) {
	t.BytesToCopy += e.BytesToCopy
	t.Duration += e.Duration
	t.FixedCost += e.FixedCost
	t.TotalDuration += e.Total()
}

// Step is one reviewable, bounded unit of a plan, applied by
// `kshift apply PLAN --step N`.
type Step struct {
	Number int   `yaml:"number"`
	Phase  Phase `yaml:"phase"`
	// Undoes is, in a rollback plan, the number of the forward step this step undoes.
	Undoes int `yaml:"undoes,omitempty"`
	// Throttle is this step's replication rate per broker, bytes/s.
	Throttle Rate     `yaml:"throttle,omitempty"`
	Estimate Estimate `yaml:"estimate"`
	// Partitions are the replica-list changes of a reassignment step.
	Partitions []Move `yaml:"partitions,omitempty"`
	// ZooKeeper is the ensemble change of a zk-* step.
	ZooKeeper *ZooKeeperChange `yaml:"zookeeper,omitempty"`
	// Retire is what a retire-sources step retires.
	Retire *RetireChange `yaml:"retire,omitempty"`

	// zeroThrottle records a `throttle: 0` written in the file. Throttle 0
	// is how a step says it has no rate of its own, so the value alone cannot
	// tell a rate edited down to 0 (an unthrottled copy) from no rate.
	zeroThrottle bool
}

// unsetRate marks a step rate the file leaves out while it is decoded.
const unsetRate = Rate(math.MinInt64)

// UnmarshalYAML decodes a step strictly (the decoder's unknown-field check
// applies) and records whether the file writes `throttle: 0`.
func (s *Step) UnmarshalYAML(unmarshal func(any) error) error {
	type stepFields Step
	v := stepFields{Throttle: unsetRate}
	if err := unmarshal(&v); err != nil {
		return err
	}
	switch v.Throttle {
	case unsetRate:
		v.Throttle = 0
	case 0:
		v.zeroThrottle = true
	}
	*s = Step(v)
	return nil
}

// Estimate is what a step is expected to cost.
type Estimate struct {
	BytesToCopy ByteSize `yaml:"bytes_to_copy"`
	// BusiestBroker receives or sends the most bytes in the step; the step
	// lasts as long as it takes.
	BusiestBroker      int32    `yaml:"busiest_broker,omitempty"`
	BusiestBrokerBytes ByteSize `yaml:"busiest_broker_bytes,omitempty"`
	// Duration is the copy time: the busiest broker's bytes at the rate a
	// throttle actually reaches (ThrottleEfficiency of the configured rate).
	// The step packing, max_step_duration and the benchmarks use it alone.
	Duration Duration `yaml:"duration"`
	// FixedCost is what the step costs whatever it copies (FixedCost of its
	// phase and size): gates, lock, throttle writes, paced elections,
	// verification. ZooKeeper steps carry none.
	FixedCost Duration `yaml:"fixed_cost,omitempty"`
}

// Total is the step's estimated duration: its copy time plus its fixed cost.
func (e Estimate) Total() Duration { return e.Duration + e.FixedCost }

// ThrottleEfficiency is the share of a configured throttle rate a throttled
// copy actually reaches (docs/kafka-behaviour.md item 16 observed about 0.9).
const ThrottleEfficiency = 0.9

// Move is one partition's change in a step: From is the exact replica list the
// step expects to find, To the list it sets. Both are in Kafka's order.
type Move struct {
	Topic     string  `yaml:"topic"`
	Partition int32   `yaml:"partition"`
	From      []int32 `yaml:"from"`
	To        []int32 `yaml:"to"`
	// Size is the partition's log size in bytes, what each added replica copies.
	Size ByteSize `yaml:"size,omitempty"`
}

// MarshalYAML writes a move on one line, so a plan diff shows one line per
// changed partition.
func (m Move) MarshalYAML() (any, error) {
	type plain Move
	return flowNode(plain(m))
}

// Name is the partition's usual "topic-N" name.
func (m *Move) Name() string { return fmt.Sprintf("%s-%d", m.Topic, m.Partition) }

// Adding returns the replicas in To that are not in From: they copy data.
func (m *Move) Adding() []int32 { return missingFrom(m.To, m.From) }

// Removing returns the replicas in From that are not in To.
func (m *Move) Removing() []int32 { return missingFrom(m.From, m.To) }

// IsReorder reports whether the move keeps the replica set and changes only the order.
func (m *Move) IsReorder() bool {
	return len(m.Adding()) == 0 && len(m.Removing()) == 0 && !slices.Equal(m.From, m.To)
}

func missingFrom(list, other []int32) []int32 {
	var out []int32
	for _, id := range list {
		if !slices.Contains(other, id) {
			out = append(out, id)
		}
	}
	return out
}

// Step returns the step with the given number, or nil.
func (p *Plan) Step(number int) *Step {
	if number < 1 || number > len(p.Steps) || p.Steps[number-1].Number != number {
		return nil
	}
	return &p.Steps[number-1]
}

// Validate reports every structural problem of the plan with its location.
// The semantic invariants (steps chain, phases do what they say, limits,
// balance) are checked by CheckInvariants.
func (p *Plan) Validate() error {
	var pr problems
	if !slices.Contains(AllPlanKinds, p.Kind) {
		pr.add("kind", "%q is not one of %v", p.Kind, AllPlanKinds)
	}
	if p.ClusterID == "" {
		pr.add("cluster_id", "is empty")
	}
	if !slices.Contains(AllStrategies, p.Strategy) {
		pr.add("strategy", "%q is not one of %v", p.Strategy, AllStrategies)
	}
	if p.Throttle < 0 {
		pr.add("throttle", "is negative")
	}
	// The partitions a step lists, for each step in turn: one map, cleared
	// for the next step (a 200,000-partition plan has thousands of steps).
	seen := map[partKey]bool{}
	for i := range p.Steps {
		clear(seen)
		p.Steps[i].validate(&pr, i, seen)
	}
	return pr.err()
}

func (s *Step) validate(pr *problems, index int, seen map[partKey]bool) {
	loc := "step " + strconv.Itoa(s.Number)
	if s.Number != index+1 {
		pr.add(fmt.Sprintf("steps[%d]", index), "is numbered %d: steps are numbered 1, 2, 3, ... in order", s.Number)
	}
	if !slices.Contains(AllPhases, s.Phase) {
		pr.add(loc, "phase %q is not one of %v", s.Phase, AllPhases)
		return
	}
	if s.Throttle < 0 {
		pr.add(loc, "throttle is negative")
	}
	if s.Phase.IsReassignment() {
		if len(s.Partitions) == 0 {
			pr.add(loc, "a %s step lists no partitions", s.Phase)
		}
		if s.ZooKeeper != nil {
			pr.add(loc, "a %s step has a zookeeper section", s.Phase)
		}
	}
	if s.Phase.IsZooKeeper() {
		if s.ZooKeeper == nil {
			pr.add(loc, "a %s step has no zookeeper section", s.Phase)
		}
		if len(s.Partitions) > 0 {
			pr.add(loc, "a %s step lists partitions", s.Phase)
		}
	}
	// A 200,000-partition plan has 600,000 moves: locations are only
	// formatted for a move with a problem.
	for i := range s.Partitions {
		m := &s.Partitions[i]
		mloc := func() string { return fmt.Sprintf("%s, partition %s", loc, m.Name()) }
		if m.Topic == "" {
			pr.add(mloc(), "topic is empty")
		}
		// One map access: setting a key already there does not grow the map.
		n := len(seen)
		seen[partKey{m.Topic, m.Partition}] = true
		if len(seen) == n {
			pr.add(mloc(), "partition is listed twice in the step")
		}
		for _, side := range [...]struct {
			name string
			ids  []int32
		}{{"from", m.From}, {"to", m.To}} {
			if len(side.ids) == 0 {
				pr.add(mloc(), "%s is empty", side.name)
			}
			if hasDuplicateID(side.ids) {
				pr.add(mloc(), "%s %v lists broker %v twice", side.name, side.ids, duplicateIDs(side.ids))
			}
			for _, id := range side.ids {
				if id < 0 {
					pr.add(mloc(), "%s %v has a negative broker id", side.name, side.ids)
					break
				}
			}
		}
		if m.Size < 0 {
			pr.add(mloc(), "size is negative")
		}
	}
	if s.ZooKeeper != nil {
		s.ZooKeeper.validate(pr, loc)
	}
	switch {
	case s.Phase == PhaseRetireSources && s.Retire == nil:
		pr.add(loc, "a %s step has no retire section", s.Phase)
	case s.Phase == PhaseRetireSources:
		if len(s.Partitions) > 0 || s.ZooKeeper != nil {
			pr.add(loc, "a %s step lists partitions or a zookeeper section", s.Phase)
		}
		s.Retire.validate(pr, loc)
	case s.Retire != nil:
		pr.add(loc, "a %s step has a retire section", s.Phase)
	}
}

// ThrottleOr returns the step's replication rate, or planThrottle (the
// plan's default) when the step sets none.
func (s *Step) ThrottleOr(planThrottle Rate) Rate {
	if s.Throttle > 0 {
		return s.Throttle
	}
	return planThrottle
}

// Label names the step for people: "step 12", or "undo of step 12" for a step
// of a rollback plan, whose own number means nothing to the operator.
func (s *Step) Label() string { return StepLabel(s.Number, s.Undoes) }

// StepLabel is Step.Label for results that carry a step's number and the
// forward step it undoes (0 for a forward step).
func StepLabel(number, undoes int) string {
	if undoes > 0 {
		return fmt.Sprintf("undo of step %d", undoes)
	}
	return fmt.Sprintf("step %d", number)
}

// SameMembers reports whether a and b hold the same elements in any order:
// two replica lists on the same brokers, two throttle lists with the same
// entries. Neither may hold an element twice (a replica list never does).
func SameMembers[T comparable](a, b []T) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(x T) bool { return !slices.Contains(b, x) })
}
