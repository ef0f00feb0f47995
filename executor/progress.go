package executor

import (
	"cmp"
	"slices"
	"time"

	"github.com/kshift/kshift/plans"
)

// Progress is the state of a running step, sent after every poll.
type Progress struct {
	Step int `json:"step"`
	// Undoes is the forward step a rollback step undoes, 0 otherwise.
	Undoes int         `json:"undoes,omitempty"`
	Phase  plans.Phase `json:"phase"`
	// Partitions, Done and InFlight count the step's partitions.
	Partitions int `json:"partitions"`
	Done       int `json:"done"`
	InFlight   int `json:"in_flight"`
	// BytesTotal is what the adding replicas must copy; BytesCopied what
	// they hold now (DescribeLogDirs: an adding replica's size against its
	// leader's, docs/kafka-behaviour.md 20).
	BytesTotal  int64 `json:"bytes_total"`
	BytesCopied int64 `json:"bytes_copied"`
	// Replicas is the copy of every adding replica of the partitions in
	// flight, least advanced first (smallest share copied, then most bytes
	// left): a display of hundreds of partitions shows the first few.
	Replicas []ReplicaProgress `json:"replicas,omitempty"`
	// Rate is the step's copy rate over the step so far, all brokers
	// together, bytes/s: what ETA is computed from.
	Rate float64       `json:"rate"`
	ETA  time.Duration `json:"eta"`
	// BusiestBroker is the broker receiving the most bytes since the last
	// read, BusiestRate its rate over that time (bytes/s): the figure to
	// hold against Throttle, which is per broker. BusiestBroker is -1 before
	// two reads, or when nothing was copied between them.
	BusiestBroker int32      `json:"busiest_broker"`
	BusiestRate   float64    `json:"busiest_rate"`
	Throttle      plans.Rate `json:"throttle,omitempty"`
	// Idle is set when no adding replica grew since the last read.
	Idle    bool          `json:"idle,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
	// Stalled is set with a reason and what to do when the step cannot end
	// on its own as things stand.
	Stalled     bool   `json:"stalled"`
	StallReason string `json:"stall_reason,omitempty"`
	// Note says what the step is doing now ("electing leaders", ...).
	Note string `json:"note,omitempty"`
}

// ReplicaProgress is the copy of one adding replica.
type ReplicaProgress struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Broker    int32  `json:"broker"`
	// Copied is what the replica holds now; Size what it must reach (its
	// leader's size, docs/kafka-behaviour.md 20).
	Copied int64 `json:"copied"`
	Size   int64 `json:"size"`
}

// Name is topic-partition.
func (r ReplicaProgress) Name() string { return tp{Topic: r.Topic, Partition: r.Partition}.String() }

// leaderSize is what each adding replica of m must copy: its leader's size
// now, or the plan's size when the leader did not answer.
func leaderSize(m *plans.Move, v *view, sizes map[int32]map[tp]int64) int64 {
	key := tp{Topic: m.Topic, Partition: m.Partition}
	if lp := v.Partitions[key]; lp != nil && lp.Leader >= 0 {
		if s, ok := sizes[lp.Leader][key]; ok {
			return s
		}
	}
	return int64(m.Size)
}

// copyProgress sums what the adding replicas of moves must copy and hold now.
// A done move counts as copied in full; lag is what is left to copy.
func copyProgress(moves []plans.Move, states map[tp]PartitionState, v *view, sizes map[int32]map[tp]int64) (total, copied int64) {
	for i := range moves {
		m := &moves[i]
		adding := m.Adding()
		if len(adding) == 0 {
			continue
		}
		key := tp{Topic: m.Topic, Partition: m.Partition}
		size := leaderSize(m, v, sizes)
		total += size * int64(len(adding))
		if states[key] == StateDone {
			copied += size * int64(len(adding))
			continue
		}
		if states[key] != StateInFlight {
			continue
		}
		for _, b := range adding {
			copied += min(sizes[b][key], size)
		}
	}
	return total, copied
}

// addingReplicas lists the copy of every adding replica of the moves in
// flight, least advanced first.
func addingReplicas(moves []plans.Move, states map[tp]PartitionState, v *view, sizes map[int32]map[tp]int64) []ReplicaProgress {
	var out []ReplicaProgress
	for i := range moves {
		m := &moves[i]
		key := tp{Topic: m.Topic, Partition: m.Partition}
		if states[key] != StateInFlight {
			continue
		}
		size := leaderSize(m, v, sizes)
		for _, b := range m.Adding() {
			out = append(out, ReplicaProgress{Topic: m.Topic, Partition: m.Partition, Broker: b, Copied: min(sizes[b][key], size), Size: size})
		}
	}
	share := func(r ReplicaProgress) float64 {
		if r.Size <= 0 {
			return 1
		}
		return float64(r.Copied) / float64(r.Size)
	}
	slices.SortStableFunc(out, func(a, b ReplicaProgress) int {
		return cmp.Or(cmp.Compare(share(a), share(b)), cmp.Compare(b.Size-b.Copied, a.Size-a.Copied))
	})
	return out
}

// brokerCopied sums what the adding replicas of the partitions in flight
// hold now on each receiving broker.
func brokerCopied(moves []plans.Move, states map[tp]PartitionState, v *view, sizes map[int32]map[tp]int64) map[int32]int64 {
	out := map[int32]int64{}
	for i := range moves {
		m := &moves[i]
		key := tp{Topic: m.Topic, Partition: m.Partition}
		if states[key] != StateInFlight {
			continue
		}
		size := leaderSize(m, v, sizes)
		for _, b := range m.Adding() {
			out[b] += min(sizes[b][key], size)
		}
	}
	return out
}

// busiestSince returns the broker whose copied bytes grew most from before
// to now, and that growth per second over dt; -1 when none grew.
func busiestSince(before, now map[int32]int64, dt time.Duration) (int32, float64) {
	best, bestGrowth := int32(-1), int64(0)
	for b, n := range now {
		if g := n - before[b]; g > bestGrowth || (g == bestGrowth && g > 0 && b < best) {
			best, bestGrowth = b, g
		}
	}
	if best < 0 || dt <= 0 {
		return -1, 0
	}
	return best, float64(bestGrowth) / dt.Seconds()
}
