package plans

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// BalanceScope says which target brokers are compared with each other when a
// plan's final balance is measured.
type BalanceScope string

const (
	// BalanceUnchecked measures nothing: a broker_map plan keeps the source
	// layout 1:1, so its balance is whatever the source cluster had.
	BalanceUnchecked BalanceScope = ""
	// BalanceAllTargets compares every target broker with every other one.
	// A plan meets it only where rack spread gives every rack the same share
	// per broker; CheckOptionsFor uses BalanceByRack, the bound the planner
	// promises.
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
	// share of that mean, where partition sizes allow (see Balance.Problems).
	MaxBytesDeviation = 0.02
)

// BrokerLoad is what one target broker holds after a migration.
type BrokerLoad struct {
	Broker   int32    `yaml:"broker" json:"broker"`
	Rack     string   `yaml:"rack,omitempty" json:"rack,omitempty"`
	Replicas int      `yaml:"replicas" json:"replicas"`
	Leaders  int      `yaml:"leaders" json:"leaders"`
	Bytes    ByteSize `yaml:"bytes" json:"bytes"`
	// Placed and PlacedLeaders count the replicas and leaders the plan put
	// there; the rest was there before (excluded topics, partitions left in
	// place, replicas of a partition caught mid-move that the plan keeps).
	Placed        int `yaml:"placed" json:"placed"`
	PlacedLeaders int `yaml:"placed_leaders" json:"placed_leaders"`
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

// metric is one balanced quantity of a broker.
type metric struct {
	name   string
	value  func(BrokerLoad) float64
	placed func(BrokerLoad) int
}

var (
	replicasMetric = metric{"replicas", func(l BrokerLoad) float64 { return float64(l.Replicas) }, func(l BrokerLoad) int { return l.Placed }}
	leadersMetric  = metric{"leaders", func(l BrokerLoad) float64 { return float64(l.Leaders) }, func(l BrokerLoad) int { return l.PlacedLeaders }}
	bytesMetric    = metric{"bytes", func(l BrokerLoad) float64 { return float64(l.Bytes) }, func(l BrokerLoad) int { return l.Placed }}
)

// peerMean returns the mean of m over group that each member is held to,
// and which members are excused. A broker above the mean that the plan put
// nothing on only holds what it held before: the plan could not lower it, so
// it is left out of the mean and of the bound (repeatedly, as the mean drops).
// Loads that record no placement at all (Placed 0 everywhere) excuse nobody.
func peerMean(group []BrokerLoad, m metric) (float64, []bool) {
	excused := make([]bool, len(group))
	placedAny := false
	for _, l := range group {
		placedAny = placedAny || m.placed(l) > 0
	}
	for {
		var sum, n float64
		for i, l := range group {
			if !excused[i] {
				sum += m.value(l)
				n++
			}
		}
		if n == 0 {
			return 0, excused
		}
		mean, changed := sum/n, false
		for i, l := range group {
			if placedAny && !excused[i] && m.placed(l) == 0 && m.value(l) > mean+1e-9 {
				excused[i], changed = true, true
			}
		}
		if !changed {
			return mean, excused
		}
	}
}

// deviations calls fn with each broker's distance from its peers' mean of m.
func (b *Balance) deviations(m metric, fn func(l BrokerLoad, mean, d float64)) {
	for _, group := range peerGroups(b.Scope, b.Brokers) {
		mean, excused := peerMean(group, m)
		for i, l := range group {
			if !excused[i] {
				fn(l, mean, math.Abs(m.value(l)-mean))
			}
		}
	}
}

// MeasureBalance computes the deviations of loads (sorted by broker id in the
// result) within each peer group of scope. With BalanceUnchecked every broker
// is still listed and deviations are measured over all targets, for the summary.
func MeasureBalance(scope BalanceScope, loads []BrokerLoad, largest ByteSize) Balance {
	b := Balance{Scope: scope, Brokers: append([]BrokerLoad(nil), loads...), LargestPartition: largest}
	sort.Slice(b.Brokers, func(i, j int) bool { return b.Brokers[i].Broker < b.Brokers[j].Broker })
	b.deviations(replicasMetric, func(_ BrokerLoad, _, d float64) { b.ReplicaDeviation = math.Max(b.ReplicaDeviation, d) })
	b.deviations(leadersMetric, func(_ BrokerLoad, _, d float64) { b.LeaderDeviation = math.Max(b.LeaderDeviation, d) })
	b.deviations(bytesMetric, func(_ BrokerLoad, mean, d float64) {
		if mean > 0 {
			b.BytesDeviation = math.Max(b.BytesDeviation, d/mean)
		}
	})
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
// largest partition of it (one partition cannot be split). Brokers the plan
// put nothing on that only hold too much from before are excused (peerMean).
// An unchecked scope has no problems.
func (b Balance) Problems() []string {
	if b.Scope == BalanceUnchecked {
		return nil
	}
	var out []string
	b.deviations(replicasMetric, func(l BrokerLoad, mean, d float64) {
		if d > MaxReplicaDeviation+1e-9 {
			out = append(out, fmt.Sprintf("broker %d: %d replicas, %.1f from its peers' mean %.1f (at most %.0f)", l.Broker, l.Replicas, d, mean, MaxReplicaDeviation))
		}
	})
	b.deviations(leadersMetric, func(l BrokerLoad, mean, d float64) {
		if d > MaxLeaderDeviation+1e-9 {
			out = append(out, fmt.Sprintf("broker %d: %d leaders, %.1f from its peers' mean %.1f (at most %.0f)", l.Broker, l.Leaders, d, mean, MaxLeaderDeviation))
		}
	})
	b.deviations(bytesMetric, func(l BrokerLoad, mean, d float64) {
		if d > math.Max(MaxBytesDeviation*mean, float64(b.LargestPartition)) {
			out = append(out, fmt.Sprintf("broker %d: %s, %.0f%% from its peers' mean %s (at most %.0f%% or one largest partition, %s)", l.Broker, l.Bytes, 100*d/mean, ByteSize(mean), 100*MaxBytesDeviation, b.LargestPartition))
		}
	})
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
	// Balance is the scope the final balance is measured in (FinalBalance).
	// Balance bounds are not invariants: existing load can make them
	// unreachable, and the planner warns with the numbers when it misses one.
	Balance BalanceScope
	// Throttle, when positive, is the mapping's rate: the plan's rate and
	// every step's own must be it.
	Throttle Rate
}

// CheckOptionsFor returns the options that check a plan against everything
// its mapping promised.
func CheckOptionsFor(m *Mapping) CheckOptions {
	rf := m.ReplicationFactor
	o := CheckOptions{Limits: m.Limits, ReplicationFactor: &rf, Complete: true, Exclude: m.Exclude, RackSpread: true, Balance: BalanceByRack, Throttle: m.Throttle}
	if len(m.BrokerMap) > 0 {
		o.Balance, o.RackSpread = BalanceUnchecked, false
	}
	return o
}

// CurrentRF is the replication factor a partition has before a migration,
// the one "keep the current RF" keeps. A partition caught mid-move lists
// source and target replicas together, so its list is too long: it takes the
// RF of its topic's partitions that have no target replica, or else the
// larger of its source and target halves.
func CurrentRF(t *Topic, part *Partition, isTarget func(int32) bool) int {
	targets := 0
	for _, id := range part.Replicas {
		if isTarget(id) {
			targets++
		}
	}
	if targets == 0 {
		return len(part.Replicas)
	}
	rf := 0
	for i := range t.Partitions {
		if !slices.ContainsFunc(t.Partitions[i].Replicas, isTarget) {
			rf = max(rf, len(t.Partitions[i].Replicas))
		}
	}
	if rf == 0 {
		rf = max(targets, len(part.Replicas)-targets)
	}
	return rf
}

type partKey struct {
	topic string
	id    int32
}

// CheckStandalone checks the invariants a plan can be held to on its own,
// with no snapshot and no mapping: each partition's `from` is where the
// previous step left it, each phase does only what it may (and ends on
// target brokers), every step's bytes-to-copy estimate matches its moves,
// and the plan and its steps copy at a positive rate. kshift apply, rollback
// and cancel run it on every plan they load, so that nothing unchecked is
// executed; `kshift plan validate` runs the same checks and more.
//
// What it cannot check needs the snapshot: that the first `from` of every
// partition is the cluster's, and min.insync.replicas (a plan does not
// record it; apply's gates read it from the live cluster).
func CheckStandalone(p *Plan) error { return CheckInvariants(p, nil, CheckOptions{}) }

// CheckInvariants checks the safety invariants of docs/design.md on a plan and
// returns every violation, each with its location ("step 4, partition
// orders-3: ..."). snap may be nil: then only the checks the plan supports on
// its own run (CheckStandalone; with opts, also per-step limits and the
// mapping's rate). With a snapshot it also checks that the first `from` of
// every partition is its snapshot replica list, that no step takes a
// partition below min.insync.replicas, and, as opts ask, the final RF,
// completeness, rack spread and balance.
//
// A rollback plan (KindRollback) is checked for chaining, for each step being
// the inverse of its phase (undoing raise-rf only drops targets, undoing
// move-leader only reorders, undoing lower-rf only adds sources) and, with
// the snapshot of the cluster before the migration, for ending exactly where
// that snapshot began; the forward-only checks (final placement, balance)
// are skipped, and its first `from`s are not compared with the snapshot.
func CheckInvariants(p *Plan, snap *Snapshot, opts CheckOptions) error {
	var pr problems
	topics := 0
	if snap != nil {
		topics = len(snap.Topics)
	}
	c := checker{
		plan:    p,
		snap:    snap,
		opts:    opts,
		pr:      &pr,
		state:   partIndex{topics: make(map[string][]*partState, topics), other: map[partKey]*partState{}},
		sources: idSet(p.SourceBrokers),
		targets: idSet(p.TargetBrokers),
	}
	if snap != nil {
		c.indexSnapshot()
	}
	c.throttles()
	c.retire()
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

// throttles checks that the plan and each step copy at a positive rate (a
// rate of 0 means unthrottled to Kafka) and, when opts give the mapping's
// rate, at that rate: the planner writes it on the plan and on every step.
func (c *checker) throttles() {
	p, want := c.plan, c.opts.Throttle
	switch {
	case p.Throttle <= 0:
		c.pr.add("throttle", "is %d bytes/s (0 when missing): a plan copies at a positive rate per broker, since 0 would copy unthrottled; plan again, or set a rate such as 50MiB/s", int64(p.Throttle))
	case want > 0 && p.Throttle != want:
		c.pr.add("throttle", "%s (%d bytes/s) per broker, the mapping's throttle is %s (%d bytes/s)", p.Throttle, int64(p.Throttle), want, int64(want))
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		loc := fmt.Sprintf("step %d", s.Number)
		switch {
		case s.zeroThrottle:
			c.pr.add(loc, "throttle is 0, which would copy unthrottled: leave the line out to use the plan's rate, or give a positive rate")
		case want > 0 && s.Throttle > 0 && s.Throttle != want:
			c.pr.add(loc, "throttle %s (%d bytes/s) per broker, the mapping's throttle is %s (%d bytes/s)", s.Throttle, int64(s.Throttle), want, int64(want))
		}
	}
}

// partIndex finds a partition's state by topic, then by partition id
// (partition ids are dense from 0, though a plan lists them in any order:
// a topic's list grows with empty slots up to the id asked); ids far beyond
// a topic's list, and negative ones, go to other.
type partIndex struct {
	topics map[string][]*partState
	other  map[partKey]*partState
}

// maxIndexGap is how far beyond a topic's list an id may be and still get a
// slot, empty slots between: ids are dense, and a slot is 8 bytes.
const maxIndexGap = 1 << 12

func (x *partIndex) get(topic string, id int32) *partState {
	if ps := x.topics[topic]; id >= 0 && int(id) < len(ps) && ps[id] != nil {
		return ps[id]
	}
	if len(x.other) == 0 {
		return nil
	}
	return x.other[partKey{topic, id}]
}

func (x *partIndex) put(st *partState) {
	ps := x.topics[st.topic]
	switch id := int(st.id); {
	case id < 0 || id >= len(ps)+maxIndexGap:
		x.other[partKey{st.topic, st.id}] = st
	case id < len(ps):
		ps[id] = st
	default:
		ps = append(ps, make([]*partState, id+1-len(ps))...)
		ps[id] = st
		x.topics[st.topic] = ps
	}
}

// each calls fn on every partition, in no particular order.
func (x *partIndex) each(fn func(*partState)) {
	for _, ps := range x.topics {
		for _, st := range ps {
			if st != nil {
				fn(st)
			}
		}
	}
	for _, st := range x.other {
		fn(st)
	}
}

// partState is one partition as the checker follows it through the steps.
type partState struct {
	topic   string
	id      int32
	cur     []int32 // where the steps so far leave it
	touched bool    // some step moves it
	inSnap  bool
	snap    []int32 // the snapshot's replicas
	rf      int     // its CurrentRF
	size    ByteSize
	minISR  int
}

type checker struct {
	plan    *Plan
	snap    *Snapshot
	opts    CheckOptions
	pr      *problems
	state   partIndex
	order   []*partState // partitions in the order the plan first touches them
	racks   map[int32]string
	sources brokerSet
	targets brokerSet
	// into counts the replicas a step adds to each broker, for each step in turn.
	into map[int32]int
	// free is where the next partitions the snapshot does not list go.
	free []partState
}

// newState returns the state of a partition the snapshot does not list, from
// a block of them: a plan without a snapshot has 200,000 of them.
func (c *checker) newState(topic string, id int32) *partState {
	if len(c.free) == 0 {
		c.free = make([]partState, 1024)
	}
	st := &c.free[0]
	c.free = c.free[1:]
	st.topic, st.id = topic, id
	return st
}

func (c *checker) isTarget(id int32) bool { return c.targets.has(id) }

// brokerSet is a set of broker ids. Ids are small numbers in practice and are
// looked up for every replica of every move, so they index a slice; larger
// ids fall back to a map.
type brokerSet struct {
	dense  []bool
	sparse map[int32]bool
	n      int
}

const denseBrokerIDs = 1 << 16

func idSet(ids []int32) brokerSet {
	var s brokerSet
	for _, id := range ids {
		if id >= 0 && id < denseBrokerIDs {
			for int(id) >= len(s.dense) {
				s.dense = append(s.dense, false)
			}
			s.dense[id] = true
		} else {
			if s.sparse == nil {
				s.sparse = map[int32]bool{}
			}
			s.sparse[id] = true
		}
	}
	s.n = len(ids)
	return s
}

func (s brokerSet) has(id int32) bool {
	if id >= 0 && int(id) < len(s.dense) {
		return s.dense[id]
	}
	return s.sparse[id]
}

// empty reports whether the set lists no broker (a plan without the list).
func (s brokerSet) empty() bool { return s.n == 0 }

func (c *checker) indexSnapshot() {
	all := make([]partState, 0, c.snap.PartitionCount())
	for i := range c.snap.Topics {
		t := &c.snap.Topics[i]
		minISR := t.MinInsyncReplicas()
		for j := range t.Partitions {
			part := &t.Partitions[j]
			rf := len(part.Replicas)
			if slices.ContainsFunc(part.Replicas, c.isTarget) {
				rf = CurrentRF(t, part, c.isTarget)
			}
			all = append(all, partState{topic: t.Name, id: part.ID, cur: part.Replicas, inSnap: true, snap: part.Replicas, rf: rf, size: part.Size, minISR: minISR})
			c.state.put(&all[len(all)-1])
		}
	}
	c.racks = make(map[int32]string, len(c.snap.Brokers))
	for _, b := range c.snap.Brokers {
		c.racks[b.ID] = b.Rack
	}
}

// at records a problem of move m in step s. Locations are built only here:
// a plan without problems formats none.
func (c *checker) at(s *Step, m *Move, format string, args ...any) {
	c.pr.add(fmt.Sprintf("step %d, partition %s-%d", s.Number, m.Topic, m.Partition), format, args...)
}

func (c *checker) step(s *Step) {
	// A plan written before fixed costs were estimated has none: it is
	// still a plan kshift can apply, only its estimate is shorter.
	if want := FixedCost(s.Phase, len(s.Partitions)); s.Estimate.FixedCost != 0 && s.Estimate.FixedCost != want {
		c.pr.add(fmt.Sprintf("step %d", s.Number), "estimate says a fixed cost of %s, the model gives %s for a %s step of %d partition(s)", s.Estimate.FixedCost, want, s.Phase, len(s.Partitions))
	}
	if !s.Phase.IsReassignment() {
		return
	}
	var copyBytes, largestCopy ByteSize
	l := c.opts.Limits
	if c.into == nil {
		c.into = map[int32]int{}
	}
	into := c.into
	clear(into)
	for i := range s.Partitions {
		m := &s.Partitions[i]
		adding, removing := counts(m)
		largestCopy = max(largestCopy, m.Size*ByteSize(adding))
		st := c.state.get(m.Topic, m.Partition)
		switch {
		case st == nil:
			if c.snap != nil {
				c.at(s, m, "the partition is not in the snapshot")
			}
			st = c.newState(m.Topic, m.Partition)
			c.state.put(st)
		case st.touched && !equalIDs(st.cur, m.From):
			c.at(s, m, "from %v is not %v, where the previous step leaves it", m.From, st.cur)
		case !st.touched && c.plan.Kind != KindRollback && !equalIDs(st.snap, m.From):
			c.at(s, m, "from %v is not %v, the snapshot's replicas", m.From, st.snap)
		}
		if !st.touched {
			st.touched = true
			c.order = append(c.order, st)
		}
		st.cur = m.To
		if c.plan.Kind == KindRollback {
			c.rollbackMove(s, m, adding, removing)
		} else {
			c.forwardMove(s, m, adding, removing)
		}
		if st.inSnap && len(m.To) < st.minISR {
			c.at(s, m, "to %v has %d replicas, below min.insync.replicas %d", m.To, len(m.To), st.minISR)
		}
		copyBytes += m.Size * ByteSize(adding)
		if l.MovesIntoBroker > 0 {
			for _, id := range m.To {
				if !slices.Contains(m.From, id) {
					into[id]++
				}
			}
		}
	}
	loc := fmt.Sprintf("step %d", s.Number)
	if copyBytes != s.Estimate.BytesToCopy {
		c.pr.add(loc, "estimate says %d bytes to copy, the partitions add %d", s.Estimate.BytesToCopy, copyBytes)
	}
	if l.PartitionsPerStep > 0 && len(s.Partitions) > l.PartitionsPerStep {
		c.pr.add(loc, "%d partitions, above the limit of %d per step", len(s.Partitions), l.PartitionsPerStep)
	}
	// A partition larger than the limit goes alone in its step: it cannot be split.
	if l.BytesPerStep > 0 && copyBytes > l.BytesPerStep && len(s.Partitions) > 1 {
		c.pr.add(loc, "copies %s, above the limit of %s per step", copyBytes, l.BytesPerStep)
	}
	// A partition that alone takes longer than the limit makes its step that
	// long: its leader sends every copy it adds. Others may share the step
	// as long as they do not make it longer. The estimate is written rounded
	// to seconds: allow that second. The limit bounds the copy time, as the
	// planner packs steps: the fixed cost does not count against it.
	if limit := time.Duration(l.MaxStepDuration); limit > 0 {
		longest := Rate(float64(s.ThrottleOr(c.plan.Throttle)) * ThrottleEfficiency).TimeFor(largestCopy)
		switch est := time.Duration(s.Estimate.Duration); {
		case longest > limit && est > longest+time.Second:
			c.pr.add(loc, "copies for an estimated %s, longer than its largest partition alone (%s, above the limit of %s per step)", s.Estimate.Duration, Duration(longest), Duration(limit))
		case longest <= limit && est > limit+time.Second:
			c.pr.add(loc, "copies for an estimated %s, above the limit of %s per step", s.Estimate.Duration, Duration(limit))
		}
	}
	if l.MovesIntoBroker > 0 {
		for _, id := range sortedKeys(into) {
			if into[id] > l.MovesIntoBroker {
				c.pr.add(loc, "adds %d replicas to broker %d, above the limit of %d per broker", into[id], id, l.MovesIntoBroker)
			}
		}
	}
}

// counts returns how many replicas m adds and removes.
func counts(m *Move) (adding, removing int) {
	for _, id := range m.To {
		if !slices.Contains(m.From, id) {
			adding++
		}
	}
	for _, id := range m.From {
		if !slices.Contains(m.To, id) {
			removing++
		}
	}
	return adding, removing
}

// forwardMove checks that a migration step does what its phase says; m
// adds and removes the replicas counted (counts).
func (c *checker) forwardMove(s *Step, m *Move, adding, removing int) {
	switch s.Phase {
	case PhaseRaiseRF:
		if removing > 0 || adding == 0 || len(m.To) < len(m.From) || !equalIDs(m.To[:len(m.From)], m.From) {
			c.at(s, m, "raise-rf %v -> %v must keep the current replicas first, in order, and only add", m.From, m.To)
		}
		for _, id := range m.To {
			if !c.targets.empty() && !c.targets.has(id) && !slices.Contains(m.From, id) {
				c.at(s, m, "raise-rf adds broker %d, which is not a target", id)
			}
		}
	case PhaseMoveLeader:
		if adding > 0 || removing > 0 {
			c.at(s, m, "move-leader %v -> %v changes the replica set: it may only reorder", m.From, m.To)
		}
		if len(m.To) > 0 && !c.targets.empty() && !c.targets.has(m.To[0]) {
			c.at(s, m, "move-leader %v -> %v does not lead with a target broker", m.From, m.To)
		}
		if len(m.To) > 0 && len(m.From) > 0 && m.To[0] == m.From[0] {
			c.at(s, m, "move-leader %v -> %v does not change the leader", m.From, m.To)
		}
	case PhaseLowerRF:
		if adding > 0 || removing == 0 {
			c.at(s, m, "lower-rf %v -> %v must only drop replicas", m.From, m.To)
		}
		for _, id := range m.From {
			if !c.sources.empty() && !c.sources.has(id) && !slices.Contains(m.To, id) {
				c.at(s, m, "lower-rf drops broker %d, which is not a source", id)
			}
		}
	}
}

// rollbackMove checks that a rollback step is the inverse of the forward
// phase it undoes (a rollback step keeps the phase name of the step it
// undoes); m adds and removes the replicas counted (counts).
func (c *checker) rollbackMove(s *Step, m *Move, adding, removing int) {
	switch s.Phase {
	case PhaseRaiseRF:
		if adding > 0 || removing == 0 {
			c.at(s, m, "undoing raise-rf %v -> %v must only drop replicas", m.From, m.To)
		}
		for _, id := range m.Removing() {
			if !c.targets.empty() && !c.targets.has(id) {
				c.at(s, m, "undoing raise-rf drops broker %d, which is not a target", id)
			}
		}
	case PhaseMoveLeader:
		if adding > 0 || removing > 0 {
			c.at(s, m, "undoing move-leader %v -> %v changes the replica set: it may only reorder", m.From, m.To)
		}
	case PhaseLowerRF:
		if removing > 0 || adding == 0 {
			c.at(s, m, "undoing lower-rf %v -> %v must only add replicas back", m.From, m.To)
		}
		for _, id := range m.Adding() {
			if !c.sources.empty() && !c.sources.has(id) {
				c.at(s, m, "undoing lower-rf adds broker %d, which is not a source", id)
			}
		}
	}
}

func partLoc(st *partState) string { return fmt.Sprintf("partition %s-%d", st.topic, st.id) }

// rollbackEnd checks that a rollback plan returns every partition to the
// snapshot it was planned from.
func (c *checker) rollbackEnd() {
	if c.snap == nil {
		return
	}
	for _, st := range c.order {
		if st.inSnap && !equalIDs(st.cur, st.snap) {
			c.pr.add(partLoc(st), "the rollback ends at %v, not at the snapshot's %v", st.cur, st.snap)
		}
	}
}

// final checks where a migration plan leaves the partitions.
func (c *checker) final() {
	// The racks of the targets the plan ends on: a partition should span as
	// many of them as its RF allows.
	targetRacks := map[string]bool{}
	if c.racks != nil {
		ends := map[int32]bool{} // the targets some partition ends on
		for _, st := range c.order {
			for _, id := range st.cur {
				if c.targets.has(id) {
					ends[id] = true
				}
			}
		}
		for id := range ends {
			targetRacks[c.racks[id]] = true
		}
	}
	usedRacks := len(targetRacks)
	for _, st := range c.order {
		for _, id := range st.cur {
			if !c.targets.empty() && !c.targets.has(id) {
				c.pr.add(partLoc(st), "ends on %v, which includes broker %d, not a target", st.cur, id)
			}
		}
		if st.inSnap && c.opts.ReplicationFactor != nil {
			if want := c.opts.ReplicationFactor.For(st.topic, st.rf); len(st.cur) != want {
				c.pr.add(partLoc(st), "ends with %d replicas %v, the target replication factor is %d", len(st.cur), st.cur, want)
			}
		}
		if c.racks != nil && c.opts.RackSpread {
			if n, want := c.distinctRacks(st.cur), min(len(st.cur), usedRacks); n < want {
				c.pr.add(partLoc(st), "ends on %v in %d racks; the targets it uses span %d racks, so %d are possible", st.cur, n, usedRacks, want)
			}
		}
	}
	if c.snap == nil {
		return
	}
	if c.opts.Complete {
		c.complete()
	}
}

// FinalBalance replays plan p from snapshot snap and measures where it leaves
// the target brokers, compared within scope: the balance reached, measured
// independently of the planner's own count.
func FinalBalance(p *Plan, snap *Snapshot, scope BalanceScope) Balance {
	var pr problems
	c := checker{
		plan:    p,
		snap:    snap,
		opts:    CheckOptions{Balance: scope},
		pr:      &pr,
		state:   partIndex{topics: map[string][]*partState{}, other: map[partKey]*partState{}},
		sources: idSet(p.SourceBrokers),
		targets: idSet(p.TargetBrokers),
	}
	c.indexSnapshot()
	for i := range p.Steps {
		s := &p.Steps[i]
		if !s.Phase.IsReassignment() {
			continue
		}
		for j := range s.Partitions {
			m := &s.Partitions[j]
			st := c.state.get(m.Topic, m.Partition)
			if st == nil {
				st = &partState{topic: m.Topic, id: m.Partition}
				c.state.put(st)
			}
			st.touched = true
			st.cur = m.To
		}
	}
	return c.balance()
}

func (c *checker) distinctRacks(ids []int32) int {
	n := 0
	for k, id := range ids {
		seen := false
		for _, prev := range ids[:k] {
			if c.racks[prev] == c.racks[id] {
				seen = true
				break
			}
		}
		if !seen {
			n++
		}
	}
	return n
}

// complete checks that every partition outside the excluded topics ends off
// the source brokers.
func (c *checker) complete() {
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
			if st := c.state.get(t.Name, part.ID); st != nil && st.touched {
				continue
			}
			for _, id := range part.Replicas {
				if c.sources.has(id) {
					c.pr.add(fmt.Sprintf("partition %s-%d", t.Name, part.ID), "the plan never moves it off source broker %d", id)
					break
				}
			}
		}
	}
}

// balance measures the final load of the target brokers: every snapshot
// partition where the steps leave it.
func (c *checker) balance() Balance {
	loads := make(map[int32]*BrokerLoad, len(c.plan.TargetBrokers))
	list := make([]BrokerLoad, len(c.plan.TargetBrokers))
	for i, id := range c.plan.TargetBrokers {
		list[i] = BrokerLoad{Broker: id, Rack: c.racks[id]}
		loads[id] = &list[i]
	}
	var largest ByteSize
	c.state.each(func(st *partState) {
		if !st.inSnap {
			return
		}
		if st.touched {
			largest = max(largest, st.size)
		}
		for j, id := range st.cur {
			if l := loads[id]; l != nil {
				l.Replicas++
				l.Bytes += st.size
				if j == 0 {
					l.Leaders++
				}
				if st.touched {
					if !slices.Contains(st.snap, id) {
						l.Placed++
					}
					if j == 0 {
						l.PlacedLeaders++
					}
				}
			}
		}
	})
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
