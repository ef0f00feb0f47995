package executor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
)

// PartitionState is where one partition of a step stands on the live cluster.
type PartitionState string

const (
	// StateDone: the replicas are the step's `to` (and, for move-leader, the
	// first replica leads).
	StateDone PartitionState = "done"
	// StatePending: the replicas are the step's `from`, nothing in flight.
	StatePending PartitionState = "pending"
	// StateInFlight: a reassignment towards `to` is in flight, or (move-leader)
	// the replicas are `to` and the preferred-leader election has not happened.
	StateInFlight PartitionState = "in-flight"
	// StateUndoInFlight: the undo of the step (kshift rollback) is in
	// flight: a reassignment from `to` back towards `from`, or (move-leader)
	// the replicas back at `from` still led by `to`'s first replica.
	StateUndoInFlight PartitionState = "undo-in-flight"
	// StateDrifted: anything else; the step refuses to run.
	StateDrifted PartitionState = "drifted"
)

// AllPartitionStates lists every partition state.
var AllPartitionStates = []PartitionState{StateDone, StatePending, StateInFlight, StateUndoInFlight, StateDrifted}

// tp names a partition.
type tp = kafkaapi.TP

// livePartition is one partition as Metadata and ListPartitionReassignments report it.
type livePartition struct {
	Replicas []int32
	ISR      []int32
	Leader   int32
	Missing  bool // topic or partition unknown to the cluster
	// Reassigning is set while a reassignment is in flight.
	Reassigning      bool
	Adding, Removing []int32
}

// view is one read of the cluster: brokers, the partitions asked for and every
// reassignment in flight.
type view struct {
	ClusterID  string
	Controller int32
	Brokers    map[int32]bool
	Partitions map[tp]*livePartition
	// InFlight is every reassignment in flight on the cluster.
	InFlight map[tp]*livePartition
}

// readView reads Metadata for topics (nil = none) and every reassignment in
// flight. The replicas of a move in flight are the controller's (from
// ListPartitionReassignments), never a mix with a broker's Metadata, which
// can still hold the list from before the submission
// (docs/kafka-behaviour.md 24).
func (e *Executor) readView(ctx context.Context, topics []string) (*view, error) {
	return e.viewOf(ctx, topics, e.kafka.Metadata)
}

// readFreshView is readView with each partition as the broker with the
// newest view of it shows it (kafkaapi.FreshMetadata): for a read that
// decides on its own whether a step is done, pending or drifted, which a
// broker still showing the state from before a change would get wrong.
func (e *Executor) readFreshView(ctx context.Context, topics []string) (*view, error) {
	return e.viewOf(ctx, topics, e.kafka.FreshMetadata)
}

func (e *Executor) viewOf(ctx context.Context, topics []string, metadata func(context.Context, []string) (*kafkaapi.Metadata, error)) (*view, error) {
	if topics == nil {
		topics = []string{}
	}
	md, err := metadata(ctx, topics)
	if err != nil {
		return nil, err
	}
	return e.viewFrom(ctx, md)
}

// stepTopics returns the sorted distinct topics of moves.
func stepTopics(moves []plans.Move) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range moves {
		if !seen[m.Topic] {
			seen[m.Topic] = true
			out = append(out, m.Topic)
		}
	}
	sort.Strings(out)
	return out
}

// inFlightTarget returns the target of a reassignment in flight: Kafka lists
// the replicas as target ++ (origin − target), and removing = origin − target,
// so the target is the listed replicas without the removing ones
// (docs/kafka-behaviour.md 1).
func inFlightTarget(lp *livePartition) []int32 {
	var out []int32
	for _, r := range lp.Replicas {
		if !slices.Contains(lp.Removing, r) {
			out = append(out, r)
		}
	}
	return out
}

// inFlightOrigin returns the replica set a reassignment in flight started
// from: the listed replicas without the adding ones. Kafka does not keep the
// origin's order.
func inFlightOrigin(lp *livePartition) []int32 {
	var out []int32
	for _, r := range lp.Replicas {
		if !slices.Contains(lp.Adding, r) {
			out = append(out, r)
		}
	}
	return out
}

// classify says where a move stands. detail explains drift and in-flight states.
func classify(phase plans.Phase, m *plans.Move, lp *livePartition) (PartitionState, string) {
	st := classifyState(phase, m, lp)
	return st, stateDetail(st, phase, m, lp)
}

// classifyState is classify without the detail, which costs a formatted
// string for every move a partition is not at (most of a long chain).
func classifyState(phase plans.Phase, m *plans.Move, lp *livePartition) PartitionState {
	if lp == nil || lp.Missing {
		return StateDrifted
	}
	if lp.Reassigning {
		if slices.Equal(inFlightTarget(lp), m.To) && plans.SameMembers(inFlightOrigin(lp), m.From) {
			return StateInFlight
		}
		return StateDrifted
	}
	switch {
	case slices.Equal(lp.Replicas, m.To):
		if phase == plans.PhaseMoveLeader && len(m.To) > 0 && lp.Leader != m.To[0] {
			return StateInFlight
		}
		return StateDone
	case slices.Equal(lp.Replicas, m.From):
		return StatePending
	}
	return StateDrifted
}

// stateDetail explains state st of move m (classifyState's answer).
func stateDetail(st PartitionState, phase plans.Phase, m *plans.Move, lp *livePartition) string {
	switch {
	case st != StateInFlight && st != StateDrifted:
		return ""
	case lp == nil || lp.Missing:
		return "partition does not exist on the cluster"
	case lp.Reassigning && st == StateInFlight:
		return fmt.Sprintf("reassignment in flight: replicas %v, adding %v, removing %v", lp.Replicas, lp.Adding, lp.Removing)
	case lp.Reassigning:
		return fmt.Sprintf("another reassignment is in flight: replicas %v, adding %v, removing %v (step expects %v -> %v)", lp.Replicas, lp.Adding, lp.Removing, m.From, m.To)
	case st == StateInFlight:
		return fmt.Sprintf("replicas at %v, leader %d: preferred-leader election pending", m.To, lp.Leader)
	}
	return fmt.Sprintf("replicas are %v, step expects %v (from) or %v (to)", lp.Replicas, m.From, m.To)
}

// awaitingElection reports whether lp is move-leader move m stopped between
// its reorder and its election: nothing in flight, the replicas at `to`,
// still led by `from`'s first replica.
func awaitingElection(phase plans.Phase, m *plans.Move, lp *livePartition) bool {
	return phase == plans.PhaseMoveLeader && lp != nil && !lp.Reassigning && len(m.From) > 0 && len(m.To) > 0 &&
		slices.Equal(lp.Replicas, m.To) && lp.Leader == m.From[0] && lp.Leader != m.To[0]
}

// undoInFlight reports whether lp is the undo of move m in flight, as
// kshift rollback leaves it when interrupted, with a detail for status:
// a reassignment from m's `to` back towards its `from`, or for move-leader
// the replicas back at `from` still led by `to`'s first replica (the undo's
// preferred-leader election has not happened) while `from`'s first replica
// is in the ISR, ready for that election.
//
// The move-leader case is ambiguous: a pending partition whose leader
// failed over onto `to`'s first replica looks the same. The ISR condition
// tells them apart while the failed leader is still out of the ISR (the
// partition is then pending); once it is back, nothing on the cluster does.
// Both ways out are safe then: kshift rollback elects `from`'s first replica
// (the preferred leader of a pending partition anyway), kshift cancel
// reorders the partition to `to` (the step done, its leader already first).
func undoInFlight(phase plans.Phase, m *plans.Move, lp *livePartition) (bool, string) {
	switch {
	case lp == nil || len(m.From) == 0 || len(m.To) == 0:
		return false, ""
	case lp.Reassigning:
		if slices.Equal(inFlightTarget(lp), m.From) && plans.SameMembers(inFlightOrigin(lp), m.To) {
			return true, fmt.Sprintf("undo (rollback) in flight back to %v: replicas %v, adding %v, removing %v", m.From, lp.Replicas, lp.Adding, lp.Removing)
		}
	case phase == plans.PhaseMoveLeader && slices.Equal(lp.Replicas, m.From) && lp.Leader == m.To[0] && lp.Leader != m.From[0] && slices.Contains(lp.ISR, m.From[0]):
		return true, fmt.Sprintf("undo (rollback) in flight: replicas back at %v, leader still %d: preferred-leader election pending", m.From, lp.Leader)
	}
	return false, ""
}

// PartitionStatus is one partition of a step on the live cluster.
type PartitionStatus struct {
	Topic     string         `json:"topic" yaml:"topic"`
	Partition int32          `json:"partition" yaml:"partition"`
	State     PartitionState `json:"state" yaml:"state"`
	Replicas  []int32        `json:"replicas" yaml:"replicas,flow"`
	Leader    int32          `json:"leader" yaml:"leader"`
	ISR       []int32        `json:"isr" yaml:"isr,flow"`
	Detail    string         `json:"detail,omitempty" yaml:"detail,omitempty"`
}

// Name is the partition's "topic-N" name.
func (p *PartitionStatus) Name() string { return fmt.Sprintf("%s-%d", p.Topic, p.Partition) }

// classifyStep classifies every move of a step against a view.
func classifyStep(s *plans.Step, v *view) []PartitionStatus {
	out := make([]PartitionStatus, 0, len(s.Partitions))
	for i := range s.Partitions {
		m := &s.Partitions[i]
		lp := v.Partitions[tp{Topic: m.Topic, Partition: m.Partition}]
		st, detail := classify(s.Phase, m, lp)
		ps := PartitionStatus{Topic: m.Topic, Partition: m.Partition, State: st, Detail: detail, Leader: -1}
		if lp != nil {
			ps.Replicas, ps.Leader, ps.ISR = lp.Replicas, lp.Leader, lp.ISR
		}
		out = append(out, ps)
	}
	return out
}

// brokerFaults names what the moves of a step need that is down in v: each
// broker of their from or to that is not registered, with its role in the
// step (adding: only in to; kept: in both, so the reassignment cannot end
// without it; leaving: only in from, so the step drops it), the partitions
// without a leader, and a missing controller. Empty when nothing is down.
// Moves already done (at their to, nothing in flight) need nothing. With
// blocking, a leaving broker (which does not hold the step back) is left out.
func brokerFaults(moves []plans.Move, v *view, blocking bool) string {
	roles := map[int32]string{}
	var offline []string
	for i := range moves {
		m := &moves[i]
		lp := v.Partitions[tp{Topic: m.Topic, Partition: m.Partition}]
		if lp != nil && !lp.Reassigning && slices.Equal(lp.Replicas, m.To) {
			continue
		}
		if lp != nil && !lp.Missing && lp.Leader < 0 {
			offline = append(offline, m.Name())
		}
		for _, b := range m.To {
			if !v.Brokers[b] {
				if slices.Contains(m.From, b) {
					roles[b] = "kept"
				} else if roles[b] != "kept" {
					roles[b] = "adding"
				}
			}
		}
		for _, b := range m.From {
			if !v.Brokers[b] && roles[b] == "" {
				roles[b] = "leaving"
			}
		}
	}
	var parts []string
	ids := make([]int32, 0, len(roles))
	for b := range roles {
		ids = append(ids, b)
	}
	slices.Sort(ids)
	for _, b := range ids {
		switch roles[b] {
		case "adding":
			parts = append(parts, fmt.Sprintf("broker %d (adding: the step copies onto it) is down", b))
		case "kept":
			parts = append(parts, fmt.Sprintf("broker %d (kept: a replica the step keeps, so its reassignments end only once it is back in sync) is down", b))
		case "leaving":
			if !blocking {
				parts = append(parts, fmt.Sprintf("broker %d (leaving: the step drops its replicas) is down", b))
			}
		}
	}
	if len(offline) > 0 {
		parts = append(parts, fmt.Sprintf("%d partition(s) have no leader: %s", len(offline), nameList(offline)))
	}
	if v.Controller < 0 || !v.Brokers[v.Controller] {
		parts = append(parts, "no live controller: nothing moves until one is elected")
	}
	return strings.Join(parts, "; ")
}
