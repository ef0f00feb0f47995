// Package plandiff compares two plans of the same cluster for a reviewer:
// which steps were added, removed or resized, which partitions got another
// target or moved to another step, and the totals, estimates and balance
// before and after. It renders the comparison as Markdown for a pull
// request comment.
//
// It is pure: plans in, a Diff out. It must not read files, talk to the
// network or print; cmd/kshift loads the plans and prints the result.
package plandiff

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/kshift/kshift/plans"
)

// ErrNotComparable is returned when two plans are not of the same cluster
// or not of the same kind: a diff between them means nothing.
var ErrNotComparable = errors.New("plans not comparable")

// StepChangeKind says how a step differs between the two plans.
type StepChangeKind string

const (
	// StepAdded is a step of the new plan that matches none of the old plan.
	StepAdded StepChangeKind = "added"
	// StepRemoved is a step of the old plan that matches none of the new plan.
	StepRemoved StepChangeKind = "removed"
	// StepResized is a step in both plans that moves another number of
	// partitions or copies another number of bytes.
	StepResized StepChangeKind = "resized"
	// StepChanged is a step in both plans, of the same size, whose moves differ.
	StepChanged StepChangeKind = "changed"
	// StepRenumbered is a step whose moves are the same in both plans under
	// another number.
	StepRenumbered StepChangeKind = "renumbered"
)

// AllStepChangeKinds lists every step change kind, in the order a diff lists them.
var AllStepChangeKinds = []StepChangeKind{StepAdded, StepRemoved, StepResized, StepChanged, StepRenumbered}

// Diff is what changed between an old and a new plan of one cluster.
type Diff struct {
	ClusterID string         `json:"cluster_id"`
	Kind      plans.PlanKind `json:"kind"`
	Old       Side           `json:"old"`
	New       Side           `json:"new"`
	// Steps lists the steps that changed, in the new plan's order, the
	// removed ones where they stood in the old plan.
	Steps []StepChange `json:"steps"`
	// UnchangedSteps counts the steps that are the same in both plans, number included.
	UnchangedSteps int `json:"unchanged_steps"`
	// Partitions lists the partitions whose final replicas or steps changed,
	// sorted by topic and partition.
	Partitions []PartitionChange `json:"partitions"`
	// Brokers lists, for every broker either plan changes, the load the
	// plan places on it or takes from it (plans.BrokerChanges).
	Brokers []BrokerChange `json:"brokers"`
}

// Side is one plan's header, totals and balance.
type Side struct {
	Strategy       plans.Strategy `json:"strategy"`
	Throttle       plans.Rate     `json:"throttle_bytes_per_second"`
	SourceBrokers  []int32        `json:"source_brokers"`
	TargetBrokers  []int32        `json:"target_brokers"`
	SnapshotSHA256 string         `json:"snapshot_sha256"`
	MappingSHA256  string         `json:"mapping_sha256"`
	KshiftVersion  string         `json:"kshift_version"`
	Totals         Totals         `json:"totals"`
	Balance        Spread         `json:"balance"`
}

// Totals are a plan's totals with durations in seconds, for JSON.
type Totals struct {
	Steps                int            `json:"steps"`
	Partitions           int            `json:"partitions"`
	BytesToCopy          plans.ByteSize `json:"bytes_to_copy"`
	CopySeconds          float64        `json:"copy_seconds"`
	FixedCostSeconds     float64        `json:"fixed_cost_seconds"`
	TotalDurationSeconds float64        `json:"total_duration_seconds"`
}

// Spread is how far the target brokers' loads placed by the plan are from
// their mean: the largest distance in replicas, leaders, and bytes as a
// share of the mean. It is measured over every target broker, racks aside
// (a plan does not record racks).
type Spread struct {
	ReplicaDeviation float64 `json:"replica_deviation"`
	LeaderDeviation  float64 `json:"leader_deviation"`
	BytesDeviation   float64 `json:"bytes_deviation"`
}

// StepChange is one step that differs between the plans. A number is 0 on
// the side the step is missing from.
type StepChange struct {
	Change        StepChangeKind `json:"change"`
	Phase         plans.Phase    `json:"phase"`
	OldNumber     int            `json:"old_number,omitempty"`
	NewNumber     int            `json:"new_number,omitempty"`
	OldPartitions int            `json:"old_partitions"`
	NewPartitions int            `json:"new_partitions"`
	OldBytes      plans.ByteSize `json:"old_bytes_to_copy"`
	NewBytes      plans.ByteSize `json:"new_bytes_to_copy"`
	OldSeconds    float64        `json:"old_estimate_seconds"`
	NewSeconds    float64        `json:"new_estimate_seconds"`
}

// PartitionChange is one partition whose final replicas, or the steps that
// move it, differ. Steps lists the step numbers that move the partition, in
// order; Target is its replica list after its last step. A partition only
// one plan moves has nil on the other side.
type PartitionChange struct {
	Topic         string  `json:"topic"`
	Partition     int32   `json:"partition"`
	OldTarget     []int32 `json:"old_target"`
	NewTarget     []int32 `json:"new_target"`
	OldSteps      []int   `json:"old_steps"`
	NewSteps      []int   `json:"new_steps"`
	TargetChanged bool    `json:"target_changed"`
	// StepChanged is true when the partition moves in another step than
	// the one the old plan's step matched to (a renumbering alone is not a change).
	StepChanged bool `json:"step_changed"`
}

// Name is the partition's usual "topic-N" name.
func (c *PartitionChange) Name() string { return fmt.Sprintf("%s-%d", c.Topic, c.Partition) }

// BrokerChange is the load each plan places on one broker (In minus Out).
type BrokerChange struct {
	Broker      int32          `json:"broker"`
	OldReplicas int            `json:"old_replicas"`
	NewReplicas int            `json:"new_replicas"`
	OldLeaders  int            `json:"old_leaders"`
	NewLeaders  int            `json:"new_leaders"`
	OldBytes    plans.ByteSize `json:"old_bytes"`
	NewBytes    plans.ByteSize `json:"new_bytes"`
}

// Compare returns what changed from old to new. Plans of different
// clusters or kinds are refused with ErrNotComparable.
func Compare(old, new *plans.Plan) (*Diff, error) {
	if old.ClusterID != new.ClusterID {
		return nil, fmt.Errorf("%w: the old plan is for cluster %q, the new one for cluster %q: compare two plans of one cluster", ErrNotComparable, old.ClusterID, new.ClusterID)
	}
	if old.Kind != new.Kind {
		return nil, fmt.Errorf("%w: the old plan is a %s plan, the new one a %s plan: compare plan.yaml with plan.yaml, rollback.yaml with rollback.yaml", ErrNotComparable, old.Kind, new.Kind)
	}
	d := &Diff{ClusterID: new.ClusterID, Kind: new.Kind, Old: side(old), New: side(new)}
	match := matchSteps(old, new)
	d.Steps, d.UnchangedSteps = stepChanges(old, new, match)
	d.Partitions = partitionChanges(old, new, match)
	d.Brokers = brokerChanges(old, new)
	return d, nil
}

func side(p *plans.Plan) Side {
	t := p.Totals
	return Side{
		Strategy: p.Strategy, Throttle: p.Throttle,
		SourceBrokers: p.SourceBrokers, TargetBrokers: p.TargetBrokers,
		SnapshotSHA256: p.SnapshotSHA256, MappingSHA256: p.MappingSHA256, KshiftVersion: p.KshiftVersion,
		Totals: Totals{
			Steps: t.Steps, Partitions: t.Partitions, BytesToCopy: t.BytesToCopy,
			CopySeconds: seconds(t.Duration), FixedCostSeconds: seconds(t.FixedCost), TotalDurationSeconds: seconds(t.TotalDuration),
		},
		Balance: spread(p),
	}
}

func seconds(d plans.Duration) float64 { return time.Duration(d).Seconds() }

// spread measures the loads the plan places on its target brokers.
func spread(p *plans.Plan) Spread {
	net := map[int32]plans.BrokerChange{}
	for _, c := range plans.BrokerChanges(p) {
		net[c.Broker] = c
	}
	loads := make([]plans.BrokerLoad, 0, len(p.TargetBrokers))
	for _, id := range p.TargetBrokers {
		c := net[id]
		loads = append(loads, plans.BrokerLoad{Broker: id, Replicas: c.NetReplicas(), Leaders: c.NetLeaders(), Bytes: c.NetBytes()})
	}
	b := plans.MeasureBalance(plans.BalanceUnchecked, loads, 0)
	return Spread{ReplicaDeviation: b.ReplicaDeviation, LeaderDeviation: b.LeaderDeviation, BytesDeviation: b.BytesDeviation}
}

// stepKey names a partition within a phase: a partition is moved by at
// most one step of each phase in a forward plan, and matching works per phase.
type stepKey struct {
	phase plans.Phase
	topic string
	part  int32
}

// matchSteps pairs each step of old with the step of new that shares the
// most of its partitions in the same phase (steps that move no partitions,
// the ZooKeeper ones, pair by phase, in order). It returns, for each old step index, the new step index or -1.
func matchSteps(old, new *plans.Plan) []int {
	where := map[stepKey]int{}
	for j := range new.Steps {
		for _, m := range new.Steps[j].Partitions {
			where[stepKey{new.Steps[j].Phase, m.Topic, m.Partition}] = j
		}
	}
	type pair struct{ o, n, shared int }
	var pairs []pair
	for i := range old.Steps {
		count := map[int]int{}
		for _, m := range old.Steps[i].Partitions {
			if j, ok := where[stepKey{old.Steps[i].Phase, m.Topic, m.Partition}]; ok {
				count[j]++
			}
		}
		for j, n := range count {
			pairs = append(pairs, pair{i, j, n})
		}
	}
	// Most shared partitions first; ties by the closest positions, then in order.
	sort.Slice(pairs, func(a, b int) bool {
		pa, pb := pairs[a], pairs[b]
		if pa.shared != pb.shared {
			return pa.shared > pb.shared
		}
		if da, db := abs(pa.o-pa.n), abs(pb.o-pb.n); da != db {
			return da < db
		}
		if pa.o != pb.o {
			return pa.o < pb.o
		}
		return pa.n < pb.n
	})
	match := make([]int, len(old.Steps))
	for i := range match {
		match[i] = -1
	}
	taken := make([]bool, len(new.Steps))
	for _, p := range pairs {
		if match[p.o] < 0 && !taken[p.n] {
			match[p.o], taken[p.n] = p.n, true
		}
	}
	// Steps that move no partitions (ZooKeeper steps): the k-th of a
	// phase in old pairs with the k-th of that phase in new.
	nextNew := map[plans.Phase]int{}
	for i := range old.Steps {
		ph := old.Steps[i].Phase
		if len(old.Steps[i].Partitions) > 0 {
			continue
		}
		for j := nextNew[ph]; j < len(new.Steps); j++ {
			if new.Steps[j].Phase == ph && len(new.Steps[j].Partitions) == 0 && !taken[j] {
				match[i], taken[j] = j, true
				nextNew[ph] = j + 1
				break
			}
		}
	}
	return match
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func stepChanges(old, new *plans.Plan, match []int) ([]StepChange, int) {
	matchedFrom := make([]int, len(new.Steps))
	for j := range matchedFrom {
		matchedFrom[j] = -1
	}
	for i, j := range match {
		if j >= 0 {
			matchedFrom[j] = i
		}
	}
	var out []StepChange
	unchanged := 0
	// Removed steps are listed before the first new step that comes after
	// them: walk new in order and flush the old steps with no partner.
	nextOld := 0
	flushRemoved := func(upTo int) {
		for ; nextOld < upTo; nextOld++ {
			if match[nextOld] < 0 {
				s := &old.Steps[nextOld]
				out = append(out, StepChange{Change: StepRemoved, Phase: s.Phase, OldNumber: s.Number,
					OldPartitions: len(s.Partitions), OldBytes: s.Estimate.BytesToCopy, OldSeconds: seconds(s.Estimate.Total())})
			}
		}
	}
	for j := range new.Steps {
		n := &new.Steps[j]
		i := matchedFrom[j]
		if i < 0 {
			out = append(out, StepChange{Change: StepAdded, Phase: n.Phase, NewNumber: n.Number,
				NewPartitions: len(n.Partitions), NewBytes: n.Estimate.BytesToCopy, NewSeconds: seconds(n.Estimate.Total())})
			continue
		}
		flushRemoved(i)
		o := &old.Steps[i]
		c := StepChange{Phase: n.Phase, OldNumber: o.Number, NewNumber: n.Number,
			OldPartitions: len(o.Partitions), NewPartitions: len(n.Partitions),
			OldBytes: o.Estimate.BytesToCopy, NewBytes: n.Estimate.BytesToCopy,
			OldSeconds: seconds(o.Estimate.Total()), NewSeconds: seconds(n.Estimate.Total())}
		switch {
		case c.OldPartitions != c.NewPartitions || c.OldBytes != c.NewBytes:
			c.Change = StepResized
		case !sameStep(o, n):
			c.Change = StepChanged
		case o.Number != n.Number:
			c.Change = StepRenumbered
		default:
			unchanged++
			continue
		}
		out = append(out, c)
	}
	flushRemoved(len(old.Steps))
	return out, unchanged
}

// sameStep reports whether two steps make the same moves at the same rate
// with the same estimate (numbers aside).
func sameStep(a, b *plans.Step) bool {
	if a.Phase != b.Phase || a.Throttle != b.Throttle || a.Estimate != b.Estimate || len(a.Partitions) != len(b.Partitions) {
		return false
	}
	if !reflect.DeepEqual(a.ZooKeeper, b.ZooKeeper) {
		return false
	}
	moves := make(map[string]*plans.Move, len(a.Partitions))
	for k := range a.Partitions {
		moves[a.Partitions[k].Name()] = &a.Partitions[k]
	}
	for k := range b.Partitions {
		m := &b.Partitions[k]
		o := moves[m.Name()]
		if o == nil || !slices.Equal(o.From, m.From) || !slices.Equal(o.To, m.To) || o.Size != m.Size {
			return false
		}
	}
	return true
}

// partTrack is where one plan moves one partition.
type partTrack struct {
	target []int32
	steps  []int // step indexes, in order
}

func tracks(p *plans.Plan) map[string]map[int32]*partTrack {
	out := map[string]map[int32]*partTrack{}
	for i := range p.Steps {
		for _, m := range p.Steps[i].Partitions {
			byID := out[m.Topic]
			if byID == nil {
				byID = map[int32]*partTrack{}
				out[m.Topic] = byID
			}
			t := byID[m.Partition]
			if t == nil {
				t = &partTrack{}
				byID[m.Partition] = t
			}
			t.target = m.To
			t.steps = append(t.steps, i)
		}
	}
	return out
}

func partitionChanges(old, new *plans.Plan, match []int) []PartitionChange {
	ot, nt := tracks(old), tracks(new)
	numbers := func(p *plans.Plan, t *partTrack) []int {
		if t == nil {
			return nil
		}
		out := make([]int, len(t.steps))
		for k, i := range t.steps {
			out[k] = p.Steps[i].Number
		}
		return out
	}
	var out []PartitionChange
	add := func(topic string, part int32, o, n *partTrack) {
		c := PartitionChange{Topic: topic, Partition: part, OldSteps: numbers(old, o), NewSteps: numbers(new, n)}
		if o != nil {
			c.OldTarget = o.target
		}
		if n != nil {
			c.NewTarget = n.target
		}
		c.TargetChanged = o == nil || n == nil || !slices.Equal(o.target, n.target)
		if o != nil && n != nil {
			mapped := make([]int, len(o.steps))
			for k, i := range o.steps {
				mapped[k] = match[i]
			}
			c.StepChanged = !slices.Equal(mapped, n.steps)
		}
		if c.TargetChanged || c.StepChanged {
			out = append(out, c)
		}
	}
	for topic, byID := range ot {
		for part, o := range byID {
			add(topic, part, o, nt[topic][part])
		}
	}
	for topic, byID := range nt {
		for part, n := range byID {
			if ot[topic][part] == nil {
				add(topic, part, nil, n)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

func brokerChanges(old, new *plans.Plan) []BrokerChange {
	byID := map[int32]*BrokerChange{}
	at := func(id int32) *BrokerChange {
		c := byID[id]
		if c == nil {
			c = &BrokerChange{Broker: id}
			byID[id] = c
		}
		return c
	}
	for _, c := range plans.BrokerChanges(old) {
		b := at(c.Broker)
		b.OldReplicas, b.OldLeaders, b.OldBytes = c.NetReplicas(), c.NetLeaders(), c.NetBytes()
	}
	for _, c := range plans.BrokerChanges(new) {
		b := at(c.Broker)
		b.NewReplicas, b.NewLeaders, b.NewBytes = c.NetReplicas(), c.NetLeaders(), c.NetBytes()
	}
	out := make([]BrokerChange, 0, len(byID))
	for _, c := range byID {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Broker < out[j].Broker })
	return out
}

// Changed reports whether the plans differ in anything the diff shows.
func (d *Diff) Changed() bool {
	return len(d.Steps) > 0 || len(d.Partitions) > 0 || d.Old.Totals != d.New.Totals ||
		d.Old.Strategy != d.New.Strategy || d.Old.Throttle != d.New.Throttle ||
		!slices.Equal(d.Old.SourceBrokers, d.New.SourceBrokers) || !slices.Equal(d.Old.TargetBrokers, d.New.TargetBrokers)
}
