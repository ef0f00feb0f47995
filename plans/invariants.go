package plans

import (
	"fmt"
	"math"
	"sort"
)

// BalanceScope says which target brokers are compared with each other when a
// plan's final balance is measured.
type BalanceScope string

const (
	// BalanceUnchecked measures nothing: a broker_map plan keeps the source
	// layout 1:1, so its balance is whatever the source cluster had.
	BalanceUnchecked BalanceScope = ""
	// BalanceAllTargets compares every target broker with every other one.
	// It holds where the target racks are of equal size; CheckOptionsFor
	// uses BalanceByRack, which holds always.
	BalanceAllTargets BalanceScope = "all-targets"
	// BalanceByRack compares each target broker with the target brokers of its
	// own rack. How much lands in a rack is not the planner's choice: the
	// rack_map decides it, and rack spread does too (with RF 2 on racks of 1
	// and 2 brokers, the lone broker holds every partition). Targets without
	// racks form one group.
	BalanceByRack BalanceScope = "by-rack"
)

// AllBalanceScopes lists every balance scope.
var AllBalanceScopes = []BalanceScope{BalanceUnchecked, BalanceAllTargets, BalanceByRack}

// Balance bounds a migration promises for every target broker, relative to
// the mean of its peers (see BalanceScope).
const (
	// MaxReplicaDeviation is how far a broker's replica count may be from its peers' mean.
	MaxReplicaDeviation = 1.0
	// MaxLeaderDeviation is how far a broker's leader count may be from its peers' mean.
	MaxLeaderDeviation = 1.0
	// MaxBytesDeviation is how far a broker's bytes may be from its peers' mean, as a
	// share of that mean, where partition sizes allow (see CheckBalance).
	MaxBytesDeviation = 0.10
)

// BrokerLoad is what one target broker holds after a migration.
type BrokerLoad struct {
	Broker   int32    `yaml:"broker" json:"broker"`
	Rack     string   `yaml:"rack,omitempty" json:"rack,omitempty"`
	Replicas int      `yaml:"replicas" json:"replicas"`
	Leaders  int      `yaml:"leaders" json:"leaders"`
	Bytes    ByteSize `yaml:"bytes" json:"bytes"`
	// Capacity is the broker's known disk capacity, 0 when unknown.
	Capacity ByteSize `yaml:"capacity,omitempty" json:"capacity,omitempty"`
}

// Balance is the load of every target broker after a migration and the
// largest deviations from the peers' means that it reaches.
type Balance struct {
	Scope   BalanceScope `yaml:"scope" json:"scope"`
	Brokers []BrokerLoad `yaml:"brokers" json:"brokers"`
	// ReplicaDeviation is the largest |replicas - mean of peers| over the brokers.
	ReplicaDeviation float64 `yaml:"replica_deviation" json:"replica_deviation"`
	// LeaderDeviation is the largest |leaders - mean of peers|.
	LeaderDeviation float64 `yaml:"leader_deviation" json:"leader_deviation"`
	// BytesDeviation is the largest |bytes - mean of peers| / mean of peers.
	BytesDeviation float64 `yaml:"bytes_deviation" json:"bytes_deviation"`
	// LargestPartition is the largest partition placed on the targets: no
	// placement can balance bytes more finely than that.
	LargestPartition ByteSize `yaml:"largest_partition" json:"largest_partition"`
}

// MeasureBalance computes the deviations of loads (sorted by broker id in the
// result) within each peer group of scope. With BalanceUnchecked every broker
// is still listed and deviations are measured over all targets, for the summary.
func MeasureBalance(scope BalanceScope, loads []BrokerLoad, largest ByteSize) Balance {
	b := Balance{Scope: scope, Brokers: append([]BrokerLoad(nil), loads...), LargestPartition: largest}
	sort.Slice(b.Brokers, func(i, j int) bool { return b.Brokers[i].Broker < b.Brokers[j].Broker })
	for _, group := range peerGroups(scope, b.Brokers) {
		var replicas, leaders, bytes float64
		for _, l := range group {
			replicas += float64(l.Replicas)
			leaders += float64(l.Leaders)
			bytes += float64(l.Bytes)
		}
		n := float64(len(group))
		for _, l := range group {
			b.ReplicaDeviation = math.Max(b.ReplicaDeviation, math.Abs(float64(l.Replicas)-replicas/n))
			b.LeaderDeviation = math.Max(b.LeaderDeviation, math.Abs(float64(l.Leaders)-leaders/n))
			if bytes > 0 {
				b.BytesDeviation = math.Max(b.BytesDeviation, math.Abs(float64(l.Bytes)-bytes/n)/(bytes/n))
			}
		}
	}
	return b
}

// peerGroups splits loads into the groups whose members are compared.
func peerGroups(scope BalanceScope, loads []BrokerLoad) [][]BrokerLoad {
	if scope != BalanceByRack {
		return [][]BrokerLoad{loads}
	}
	byRack := map[string][]BrokerLoad{}
	var racks []string
	for _, l := range loads {
		if _, ok := byRack[l.Rack]; !ok {
			racks = append(racks, l.Rack)
		}
		byRack[l.Rack] = append(byRack[l.Rack], l)
	}
	sort.Strings(racks)
	groups := make([][]BrokerLoad, 0, len(racks))
	for _, r := range racks {
		groups = append(groups, byRack[r])
	}
	return groups
}

// Problems lists where the balance misses the promised bounds. Bytes count as
// balanced when within MaxBytesDeviation of the peers' mean or within the
// largest partition of it (one partition cannot be split). An unchecked scope
// has no problems.
func (b Balance) Problems() []string {
	if b.Scope == BalanceUnchecked {
		return nil
	}
	var out []string
	for _, group := range peerGroups(b.Scope, b.Brokers) {
		var replicas, leaders, bytes float64
		for _, l := range group {
			replicas += float64(l.Replicas)
			leaders += float64(l.Leaders)
			bytes += float64(l.Bytes)
		}
		n := float64(len(group))
		allowance := math.Max(MaxBytesDeviation*bytes/n, float64(b.LargestPartition))
		for _, l := range group {
			if d := math.Abs(float64(l.Replicas) - replicas/n); d > MaxReplicaDeviation+1e-9 {
				out = append(out, fmt.Sprintf("broker %d: %d replicas, %.1f from its peers' mean %.1f (at most %.0f)", l.Broker, l.Replicas, d, replicas/n, MaxReplicaDeviation))
			}
			if d := math.Abs(float64(l.Leaders) - leaders/n); d > MaxLeaderDeviation+1e-9 {
				out = append(out, fmt.Sprintf("broker %d: %d leaders, %.1f from its peers' mean %.1f (at most %.0f)", l.Broker, l.Leaders, d, leaders/n, MaxLeaderDeviation))
			}
			if d := math.Abs(float64(l.Bytes) - bytes/n); d > allowance {
				out = append(out, fmt.Sprintf("broker %d: %s, %.0f%% from its peers' mean %s (at most %.0f%% or one largest partition, %s)", l.Broker, l.Bytes, 100*d/(bytes/n), ByteSize(bytes/n), 100*MaxBytesDeviation, b.LargestPartition))
			}
		}
	}
	return out
}

// CheckOptions carry what a plan file does not record and the checker needs
// for the mapping-dependent invariants. The zero value checks only what the
// plan (and the snapshot, when given) say on their own.
type CheckOptions struct {
	// Limits bounds every step; a zero field is not checked.
	Limits Limits
	// ReplicationFactor, when set, is the RF every moved partition must end
	// with (needs the snapshot for "keep the current RF").
	ReplicationFactor *ReplicationFactor
	// Complete requires every partition of the snapshot, except those of the
	// Exclude topics, to end on target brokers only.
	Complete bool
	Exclude  []string
	// RackSpread requires (with the snapshot) each moved partition's final
	// replicas to span as many racks as its RF and the targets' racks allow.
	// A broker_map plan keeps the racks its map gives, so it is not checked.
	RackSpread bool
	// Balance is the scope of the final balance check; BalanceUnchecked skips it.
	Balance BalanceScope
}

// CheckOptionsFor returns the options that check a plan against everything
// its mapping promised.
func CheckOptionsFor(m *Mapping) CheckOptions {
	rf := m.ReplicationFactor
	o := CheckOptions{Limits: m.Limits, ReplicationFactor: &rf, Complete: true, Exclude: m.Exclude, RackSpread: true, Balance: BalanceByRack}
	if len(m.BrokerMap) > 0 {
		o.Balance, o.RackSpread = BalanceUnchecked, false
	}
	return o
}

type partKey struct {
	topic string
	id    int32
}

// CheckInvariants checks the safety invariants of DESIGN.md on a plan and
// returns every violation, each with its location ("step 4, partition
// orders-3: ..."). snap may be nil: then only the checks the plan supports on
// its own run (chaining between steps, what each phase may do, per-step
// limits, estimates). With a snapshot it also checks that the first `from` of
// every partition is its snapshot replica list, that no step takes a
// partition below min.insync.replicas, rack spread and the final balance.
//
// A rollback plan (KindRollback) is checked for chaining, for each step being
// the inverse of its phase (undoing raise-rf only drops targets, undoing
// move-leader only reorders, undoing lower-rf only adds sources) and, with a
// snapshot of the cluster before the migration, for ending where the
// snapshot began; the forward-only checks (final placement, balance) are skipped.
func CheckInvariants(p *Plan, snap *Snapshot, opts CheckOptions) error {
	var pr problems
	c := checker{
		plan:    p,
		snap:    snap,
		opts:    opts,
		pr:      &pr,
		cur:     map[partKey][]int32{},
		sources: idSet(p.SourceBrokers),
		targets: idSet(p.TargetBrokers),
	}
	if snap != nil {
		c.indexSnapshot()
	}
	for i := range p.Steps {
		c.step(&p.Steps[i])
	}
	if p.Kind == KindRollback {
		c.rollbackEnd()
	} else {
		c.final()
	}
	return pr.err()
}

type snapPart struct {
	replicas []int32
	size     ByteSize
	minISR   int
}

type checker struct {
	plan    *Plan
	snap    *Snapshot
	opts    CheckOptions
	pr      *problems
	cur     map[partKey][]int32
	order   []partKey // partitions in the order the plan first touches them
	parts   map[partKey]snapPart
	racks   map[int32]string
	sources map[int32]bool
	targets map[int32]bool
}

func idSet(ids []int32) map[int32]bool {
	s := make(map[int32]bool, len(ids))
	for _, id := range ids {
		s[id] = true
	}
	return s
}

func (c *checker) indexSnapshot() {
	c.parts = make(map[partKey]snapPart, c.snap.PartitionCount())
	for i := range c.snap.Topics {
		t := &c.snap.Topics[i]
		minISR := t.MinInsyncReplicas()
		for _, part := range t.Partitions {
			c.parts[partKey{t.Name, part.ID}] = snapPart{replicas: part.Replicas, size: part.Size, minISR: minISR}
		}
	}
	c.racks = make(map[int32]string, len(c.snap.Brokers))
	for _, b := range c.snap.Brokers {
		c.racks[b.ID] = b.Rack
	}
}

func (c *checker) step(s *Step) {
	if !s.Phase.IsReassignment() {
		return
	}
	loc := fmt.Sprintf("step %d", s.Number)
	var copyBytes ByteSize
	into := map[int32]int{}
	for i := range s.Partitions {
		m := &s.Partitions[i]
		k := partKey{m.Topic, m.Partition}
		mloc := fmt.Sprintf("%s, partition %s", loc, m.Name())
		prev, seen := c.cur[k]
		sp, inSnap := c.parts[k]
		switch {
		case seen && !equalIDs(prev, m.From):
			c.pr.add(mloc, "from %v is not %v, where the previous step leaves it", m.From, prev)
		case !seen && c.snap != nil && !inSnap:
			c.pr.add(mloc, "the partition is not in the snapshot")
		case !seen && c.snap != nil && c.plan.Kind != KindRollback && !equalIDs(sp.replicas, m.From):
			c.pr.add(mloc, "from %v is not %v, the snapshot's replicas", m.From, sp.replicas)
		}
		if !seen {
			c.order = append(c.order, k)
		}
		c.cur[k] = m.To
		if c.plan.Kind == KindRollback {
			c.rollbackMove(mloc, s.Phase, m)
		} else {
			c.forwardMove(mloc, s.Phase, m)
		}
		if inSnap && len(m.To) < sp.minISR {
			c.pr.add(mloc, "to %v has %d replicas, below min.insync.replicas %d", m.To, len(m.To), sp.minISR)
		}
		for _, id := range m.Adding() {
			copyBytes += m.Size
			into[id]++
		}
	}
	if copyBytes != s.Estimate.BytesToCopy {
		c.pr.add(loc, "estimate says %d bytes to copy, the partitions add %d", s.Estimate.BytesToCopy, copyBytes)
	}
	l := c.opts.Limits
	if l.PartitionsPerStep > 0 && len(s.Partitions) > l.PartitionsPerStep {
		c.pr.add(loc, "%d partitions, above the limit of %d per step", len(s.Partitions), l.PartitionsPerStep)
	}
	// A partition larger than the limit goes alone in its step: it cannot be split.
	if l.BytesPerStep > 0 && copyBytes > l.BytesPerStep && len(s.Partitions) > 1 {
		c.pr.add(loc, "copies %s, above the limit of %s per step", copyBytes, l.BytesPerStep)
	}
	if l.MovesIntoBroker > 0 {
		for _, id := range sortedKeys(into) {
			if into[id] > l.MovesIntoBroker {
				c.pr.add(loc, "adds %d replicas to broker %d, above the limit of %d per broker", into[id], id, l.MovesIntoBroker)
			}
		}
	}
}

// forwardMove checks that a migration step does what its phase says.
func (c *checker) forwardMove(loc string, phase Phase, m *Move) {
	adding, removing := m.Adding(), m.Removing()
	switch phase {
	case PhaseRaiseRF:
		if len(removing) > 0 || len(adding) == 0 || len(m.To) < len(m.From) || !equalIDs(m.To[:len(m.From)], m.From) {
			c.pr.add(loc, "raise-rf %v -> %v must keep the current replicas first, in order, and only add", m.From, m.To)
		}
		for _, id := range adding {
			if len(c.targets) > 0 && !c.targets[id] {
				c.pr.add(loc, "raise-rf adds broker %d, which is not a target", id)
			}
		}
	case PhaseMoveLeader:
		if len(adding) > 0 || len(removing) > 0 {
			c.pr.add(loc, "move-leader %v -> %v changes the replica set: it may only reorder", m.From, m.To)
		}
		if len(m.To) > 0 && len(c.targets) > 0 && !c.targets[m.To[0]] {
			c.pr.add(loc, "move-leader %v -> %v does not lead with a target broker", m.From, m.To)
		}
		if len(m.To) > 0 && len(m.From) > 0 && m.To[0] == m.From[0] {
			c.pr.add(loc, "move-leader %v -> %v does not change the leader", m.From, m.To)
		}
	case PhaseLowerRF:
		if len(adding) > 0 || len(removing) == 0 {
			c.pr.add(loc, "lower-rf %v -> %v must only drop replicas", m.From, m.To)
		}
		for _, id := range removing {
			if len(c.sources) > 0 && !c.sources[id] {
				c.pr.add(loc, "lower-rf drops broker %d, which is not a source", id)
			}
		}
	}
}

// rollbackMove checks that a rollback step is the inverse of the forward
// phase it undoes.
func (c *checker) rollbackMove(loc string, phase Phase, m *Move) {
	adding, removing := m.Adding(), m.Removing()
	switch phase {
	case PhaseRaiseRF:
		if len(adding) > 0 || len(removing) == 0 {
			c.pr.add(loc, "undoing raise-rf %v -> %v must only drop replicas", m.From, m.To)
		}
		for _, id := range removing {
			if len(c.targets) > 0 && !c.targets[id] {
				c.pr.add(loc, "undoing raise-rf drops broker %d, which is not a target", id)
			}
		}
	case PhaseMoveLeader:
		if len(adding) > 0 || len(removing) > 0 {
			c.pr.add(loc, "undoing move-leader %v -> %v changes the replica set: it may only reorder", m.From, m.To)
		}
	case PhaseLowerRF:
		if len(removing) > 0 || len(adding) == 0 {
			c.pr.add(loc, "undoing lower-rf %v -> %v must only add replicas back", m.From, m.To)
		}
		for _, id := range adding {
			if len(c.sources) > 0 && !c.sources[id] {
				c.pr.add(loc, "undoing lower-rf adds broker %d, which is not a source", id)
			}
		}
	}
}

// rollbackEnd checks that a rollback plan returns every partition to the
// snapshot it was planned from.
func (c *checker) rollbackEnd() {
	if c.snap == nil {
		return
	}
	for _, k := range c.order {
		if sp, ok := c.parts[k]; ok && !equalIDs(c.cur[k], sp.replicas) {
			c.pr.add(fmt.Sprintf("partition %s-%d", k.topic, k.id), "the rollback ends at %v, not at the snapshot's %v", c.cur[k], sp.replicas)
		}
	}
}

// final checks where a migration plan leaves the partitions.
func (c *checker) final() {
	targetRacks := map[string]bool{}
	for _, k := range c.order {
		for _, id := range c.cur[k] {
			if c.targets[id] && c.racks != nil {
				targetRacks[c.racks[id]] = true
			}
		}
	}
	for _, k := range c.order {
		loc := fmt.Sprintf("partition %s-%d", k.topic, k.id)
		final := c.cur[k]
		for _, id := range final {
			if len(c.targets) > 0 && !c.targets[id] {
				c.pr.add(loc, "ends on %v, which includes broker %d, not a target", final, id)
			}
		}
		sp, inSnap := c.parts[k]
		if inSnap && c.opts.ReplicationFactor != nil {
			if want := c.opts.ReplicationFactor.For(k.topic, len(sp.replicas)); len(final) != want {
				c.pr.add(loc, "ends with %d replicas %v, the target replication factor is %d", len(final), final, want)
			}
		}
		if c.racks != nil && c.opts.RackSpread {
			racks := map[string]bool{}
			for _, id := range final {
				racks[c.racks[id]] = true
			}
			if want := min(len(final), len(targetRacks)); len(racks) < want {
				c.pr.add(loc, "ends on %v in %d racks; the targets span %d racks, so %d are possible", final, len(racks), len(targetRacks), want)
			}
		}
	}
	if c.snap == nil {
		return
	}
	if c.opts.Complete {
		excluded := map[string]bool{}
		for _, t := range c.opts.Exclude {
			excluded[t] = true
		}
		for i := range c.snap.Topics {
			t := &c.snap.Topics[i]
			if excluded[t.Name] {
				continue
			}
			for _, part := range t.Partitions {
				if _, moved := c.cur[partKey{t.Name, part.ID}]; moved {
					continue
				}
				for _, id := range part.Replicas {
					if c.sources[id] {
						c.pr.add(fmt.Sprintf("partition %s-%d", t.Name, part.ID), "the plan never moves it off source broker %d", id)
						break
					}
				}
			}
		}
	}
	if c.opts.Balance != BalanceUnchecked {
		for _, msg := range c.balance().Problems() {
			c.pr.add("final balance", "%s", msg)
		}
	}
}

// balance measures the final load of the target brokers: moved partitions
// where the plan leaves them, the others where the snapshot has them.
func (c *checker) balance() Balance {
	loads := make(map[int32]*BrokerLoad, len(c.plan.TargetBrokers))
	list := make([]BrokerLoad, len(c.plan.TargetBrokers))
	for i, id := range c.plan.TargetBrokers {
		list[i] = BrokerLoad{Broker: id, Rack: c.racks[id]}
		loads[id] = &list[i]
	}
	var largest ByteSize
	for i := range c.snap.Topics {
		t := &c.snap.Topics[i]
		for _, part := range t.Partitions {
			replicas := part.Replicas
			if moved, ok := c.cur[partKey{t.Name, part.ID}]; ok {
				replicas = moved
				largest = max(largest, part.Size)
			}
			for j, id := range replicas {
				if l := loads[id]; l != nil {
					l.Replicas++
					l.Bytes += part.Size
					if j == 0 {
						l.Leaders++
					}
				}
			}
		}
	}
	return MeasureBalance(c.opts.Balance, list, largest)
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
