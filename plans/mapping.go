package plans

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Mapping is written by a person: which brokers are sources and targets, how
// replicas map onto targets, the target replication factor, the step limits,
// the throttle and the ordering preferences.
type Mapping struct {
	Version       int     `yaml:"version"`
	SourceBrokers []int32 `yaml:"source_brokers,flow"`
	TargetBrokers []int32 `yaml:"target_brokers,flow"`
	// BrokerMap sends every replica on a source broker to one target broker
	// (1:1 hardware replacement). Mutually exclusive with RackMap.
	BrokerMap map[int32]int32 `yaml:"broker_map,omitempty"`
	// RackMap sends replicas in a source rack to target brokers of a target
	// rack, balanced among them. Mutually exclusive with BrokerMap. With
	// neither, targets are chosen for balance and rack spread alone.
	RackMap           map[string]string `yaml:"rack_map,omitempty"`
	ReplicationFactor ReplicationFactor `yaml:"replication_factor,omitempty"`
	Limits            Limits            `yaml:"limits"`
	// Throttle is the replication rate per broker for every step, bytes/s.
	Throttle Rate `yaml:"throttle"`
	// Canaries are topics moved first, each phase, so a problem shows early on
	// topics chosen to be safe to lose time on.
	Canaries []string `yaml:"canaries,omitempty"`
	// Exclude lists topics the plan leaves where they are.
	Exclude        []string            `yaml:"exclude,omitempty"`
	InternalTopics InternalTopicsOrder `yaml:"internal_topics,omitempty"`
	Strategy       Strategy            `yaml:"strategy,omitempty"`
	// TargetCapacity is the usable disk per target broker in bytes, when the
	// snapshot cannot tell (brokers before Kafka 3.3); 0 means unknown.
	TargetCapacity ByteSize `yaml:"target_capacity,omitempty"`
	// ZooKeeper, when set, adds the zk-join step first and the zk-handover or
	// zk-fork and zk-prune steps last.
	ZooKeeper *ZooKeeperMapping `yaml:"zookeeper,omitempty"`
	// Listeners say how target brokers listen, for `kshift join config`.
	Listeners *Listeners `yaml:"listeners,omitempty"`
}

func (m *Mapping) formatVersion() int { return m.Version }

// ReplicationFactor is the target RF: a default and per-topic overrides. A
// default of 0 keeps each topic's current RF.
type ReplicationFactor struct {
	Default int            `yaml:"default,omitempty"`
	Topics  map[string]int `yaml:"topics,omitempty"`

	// zeroDefault records a `default: 0` written in the file: 0 is how the
	// value says "keep each topic's RF", which is leaving the line out.
	zeroDefault bool
}

// unsetRF marks a default the file leaves out while it is decoded.
const unsetRF = math.MinInt

// UnmarshalYAML decodes strictly (the decoder's unknown-field check
// applies) and records whether the file writes `default: 0`.
func (r *ReplicationFactor) UnmarshalYAML(unmarshal func(any) error) error {
	type rfFields ReplicationFactor
	v := rfFields{Default: unsetRF}
	if err := unmarshal(&v); err != nil {
		return err
	}
	switch v.Default {
	case unsetRF:
		v.Default = 0
	case 0:
		v.zeroDefault = true
	}
	*r = ReplicationFactor(v)
	return nil
}

// For returns the target RF of a topic whose current RF is current.
func (r ReplicationFactor) For(topic string, current int) int {
	if n, ok := r.Topics[topic]; ok {
		return n
	}
	if r.Default > 0 {
		return r.Default
	}
	return current
}

// Limits bound one step so that it stays a reviewable, bounded unit.
type Limits struct {
	// PartitionsPerStep caps the partitions one step touches.
	PartitionsPerStep int `yaml:"partitions_per_step"`
	// BytesPerStep caps the bytes one step copies.
	BytesPerStep ByteSize `yaml:"bytes_per_step"`
	// MovesIntoBroker caps the replicas one step adds to any single broker.
	MovesIntoBroker int `yaml:"moves_into_broker"`
	// MaxStepDuration caps a step's estimated duration: its busiest broker's
	// bytes in or out at the throttle's effective rate. A partition that alone
	// takes longer makes its step that long, shared only with partitions that
	// end within it.
	MaxStepDuration Duration `yaml:"max_step_duration"`
}

// DefaultLimits are used for any limit a mapping leaves out. A limit written
// as 0 is an error, not "unlimited".
var DefaultLimits = Limits{PartitionsPerStep: 500, BytesPerStep: 1 << 50, MovesIntoBroker: 50, MaxStepDuration: Duration(time.Hour)}

// DefaultThrottle is used when a mapping leaves the throttle out.
const DefaultThrottle Rate = 50 << 20

// UnmarshalYAML fills defaults before decoding, so that a field left out gets
// its default while a field written as 0 stays 0 and fails validation.
func (m *Mapping) UnmarshalYAML(unmarshal func(any) error) error {
	type mappingFields Mapping
	v := mappingFields{Limits: DefaultLimits, Throttle: DefaultThrottle, InternalTopics: InternalTopicsFirst, Strategy: StrategyPhased}
	if err := unmarshal(&v); err != nil {
		return err
	}
	*m = Mapping(v)
	return nil
}

// IsSource reports whether id is a source broker.
func (m *Mapping) IsSource(id int32) bool { return slices.Contains(m.SourceBrokers, id) }

// IsTarget reports whether id is a target broker.
func (m *Mapping) IsTarget(id int32) bool { return slices.Contains(m.TargetBrokers, id) }

// Validate reports every problem of the mapping on its own. Problems that need
// the snapshot (unknown brokers or topics) are the planner's to report.
func (m *Mapping) Validate() error {
	var p problems
	if len(m.SourceBrokers) == 0 {
		p.add("source_brokers", "empty: list the brokers to move off")
	}
	if len(m.TargetBrokers) == 0 {
		p.add("target_brokers", "empty: list the brokers to move onto")
	}
	for _, d := range duplicateIDs(m.SourceBrokers) {
		p.add("source_brokers", "broker %d is listed twice", d)
	}
	for _, d := range duplicateIDs(m.TargetBrokers) {
		p.add("target_brokers", "broker %d is listed twice", d)
	}
	for _, id := range m.SourceBrokers {
		if m.IsTarget(id) {
			p.add("source_brokers", "broker %d is both a source and a target", id)
		}
	}
	if len(m.BrokerMap) > 0 && len(m.RackMap) > 0 {
		p.add("", "broker_map and rack_map are both set: use one")
	}
	for _, src := range sortedKeys(m.BrokerMap) {
		dst := m.BrokerMap[src]
		if !m.IsSource(src) {
			p.add(fmt.Sprintf("broker_map[%d]", src), "broker %d is not in source_brokers", src)
		}
		if !m.IsTarget(dst) {
			p.add(fmt.Sprintf("broker_map[%d]", src), "broker %d is not in target_brokers", dst)
		}
	}
	if len(m.BrokerMap) > 0 {
		for _, src := range m.SourceBrokers {
			if _, ok := m.BrokerMap[src]; !ok {
				p.add("broker_map", "source broker %d has no target", src)
			}
		}
	}
	for _, src := range sortedKeys(m.RackMap) {
		if src == "" || m.RackMap[src] == "" {
			p.add("rack_map", "empty rack name in %q: %q", src, m.RackMap[src])
		}
	}
	rf := m.ReplicationFactor
	if rf.zeroDefault {
		p.add("replication_factor.default", "is 0, which is no replication factor: give 1 or more, or leave the line out to keep each topic's RF")
	}
	if rf.Default < 0 {
		p.add("replication_factor.default", "must be at least 1 (or left out to keep each topic's RF)")
	}
	if rf.Default > len(m.TargetBrokers) && len(m.TargetBrokers) > 0 {
		p.add("replication_factor.default", "%d is more than the %d target brokers", rf.Default, len(m.TargetBrokers))
	}
	for _, t := range sortedKeys(rf.Topics) {
		n := rf.Topics[t]
		loc := "replication_factor.topics." + t
		if n < 1 {
			p.add(loc, "must be at least 1")
		}
		if n > len(m.TargetBrokers) && len(m.TargetBrokers) > 0 {
			p.add(loc, "%d is more than the %d target brokers", n, len(m.TargetBrokers))
		}
	}
	if m.Limits.PartitionsPerStep < 1 {
		p.add("limits.partitions_per_step", "must be at least 1 (leave it out for the default %d)", DefaultLimits.PartitionsPerStep)
	}
	if m.Limits.BytesPerStep < 1 {
		p.add("limits.bytes_per_step", "must be at least 1 byte (leave it out for the default %s)", DefaultLimits.BytesPerStep)
	}
	if m.Limits.MovesIntoBroker < 1 {
		p.add("limits.moves_into_broker", "must be at least 1 (leave it out for the default %d)", DefaultLimits.MovesIntoBroker)
	}
	if m.Limits.MaxStepDuration < Duration(time.Second) {
		p.add("limits.max_step_duration", "must be at least 1s (leave it out for the default %s)", DefaultLimits.MaxStepDuration)
	}
	if m.Throttle < 1 {
		p.add("throttle", "must be a positive rate such as 50MiB/s")
	}
	if !slices.Contains(AllStrategies, m.Strategy) {
		p.add("strategy", "%q is not one of %v", m.Strategy, AllStrategies)
	}
	if !slices.Contains(AllInternalTopicsOrders, m.InternalTopics) {
		p.add("internal_topics", "%q is not one of %v", m.InternalTopics, AllInternalTopicsOrders)
	}
	excluded := make(map[string]bool, len(m.Exclude))
	for _, t := range m.Exclude {
		excluded[t] = true
	}
	for _, t := range m.Canaries {
		if excluded[t] {
			p.add("canaries", "topic %q is also excluded", t)
		}
	}
	if m.TargetCapacity < 0 {
		p.add("target_capacity", "is negative")
	}
	if m.ZooKeeper != nil {
		m.ZooKeeper.validate(&p)
	}
	if m.Listeners != nil {
		m.Listeners.validate(&p, m.TargetBrokers)
	}
	return p.err()
}

func sortedKeys[K int32 | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
