package executor

import (
	"slices"
	"testing"

	"github.com/kshift/kshift/plans"
)

// TestClassify pins the per-partition states against Kafka's in-flight
// replica list, target ++ (origin − target) (docs/kafka-behaviour.md 1).
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name  string
		phase plans.Phase
		from  []int32
		to    []int32
		live  *livePartition
		want  PartitionState
	}{
		{"at to", plans.PhaseRaiseRF, []int32{0, 1, 2}, []int32{0, 1, 2, 3, 4, 5},
			&livePartition{Replicas: []int32{0, 1, 2, 3, 4, 5}, Leader: 0}, StateDone},
		{"at from", plans.PhaseRaiseRF, []int32{0, 1, 2}, []int32{0, 1, 2, 3, 4, 5},
			&livePartition{Replicas: []int32{0, 1, 2}, Leader: 0}, StatePending},
		{"whole move in flight", plans.PhaseRaiseRF, []int32{0, 1, 2}, []int32{3, 4, 5},
			&livePartition{Replicas: []int32{3, 4, 5, 0, 1, 2}, Adding: []int32{3, 4, 5}, Removing: []int32{0, 1, 2}, Reassigning: true}, StateInFlight},
		{"partial overlap in flight", plans.PhaseLowerRF, []int32{5, 1, 0}, []int32{5, 1, 3},
			&livePartition{Replicas: []int32{5, 1, 3, 0}, Adding: []int32{3}, Removing: []int32{0}, Reassigning: true}, StateInFlight},
		{"raise in flight", plans.PhaseRaiseRF, []int32{0, 1, 2}, []int32{0, 1, 2, 3, 4, 5},
			&livePartition{Replicas: []int32{0, 1, 2, 3, 4, 5}, Adding: []int32{3, 4, 5}, Reassigning: true}, StateInFlight},
		{"another target in flight", plans.PhaseRaiseRF, []int32{0, 1, 2}, []int32{0, 1, 2, 3, 4, 5},
			&livePartition{Replicas: []int32{0, 1, 2, 5}, Adding: []int32{5}, Reassigning: true}, StateDrifted},
		{"same target from another origin", plans.PhaseRaiseRF, []int32{0, 1, 2}, []int32{0, 1, 2, 3},
			&livePartition{Replicas: []int32{0, 1, 2, 3, 4}, Adding: []int32{1, 2, 3}, Removing: []int32{4}, Reassigning: true}, StateDrifted},
		{"reordered by hand", plans.PhaseRaiseRF, []int32{0, 1, 2}, []int32{0, 1, 2, 3, 4, 5},
			&livePartition{Replicas: []int32{1, 0, 2}, Leader: 1}, StateDrifted},
		{"move-leader at to, election pending", plans.PhaseMoveLeader, []int32{0, 1, 3, 4}, []int32{3, 4, 0, 1},
			&livePartition{Replicas: []int32{3, 4, 0, 1}, Leader: 0}, StateInFlight},
		{"move-leader at to, elected", plans.PhaseMoveLeader, []int32{0, 1, 3, 4}, []int32{3, 4, 0, 1},
			&livePartition{Replicas: []int32{3, 4, 0, 1}, Leader: 3}, StateDone},
		{"missing partition", plans.PhaseRaiseRF, []int32{0}, []int32{0, 1}, nil, StateDrifted},
	} {
		m := plans.Move{Topic: "t", Partition: 0, From: tc.from, To: tc.to}
		if got, detail := classify(tc.phase, &m, tc.live); got != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, got, detail, tc.want)
		}
	}
}

// TestThrottlesFor pins which replicas a step throttles: the existing
// replicas of a copying move (leader side) and its adding ones (follower
// side); moves that copy nothing get none.
func TestThrottlesFor(t *testing.T) {
	tpl := throttlesFor([]plans.Move{
		{Topic: "a", Partition: 0, From: []int32{0, 1, 2}, To: []int32{0, 1, 2, 3, 4, 5}},
		{Topic: "a", Partition: 1, From: []int32{5, 1, 0}, To: []int32{5, 1, 3}},
		{Topic: "b", Partition: 0, From: []int32{0, 1}, To: []int32{1, 0}},
		{Topic: "b", Partition: 1, From: []int32{0, 1, 2}, To: []int32{0, 1}},
	})
	if want := []string{"0:0", "0:1", "0:2", "1:5", "1:1", "1:0"}; !slices.Equal(tpl.leader["a"], want) {
		t.Errorf("leader entries of a: %v, want %v", tpl.leader["a"], want)
	}
	if want := []string{"0:3", "0:4", "0:5", "1:3"}; !slices.Equal(tpl.follower["a"], want) {
		t.Errorf("follower entries of a: %v, want %v", tpl.follower["a"], want)
	}
	if len(tpl.leader["b"]) > 0 || len(tpl.follower["b"]) > 0 {
		t.Errorf("a reorder and an RF decrease were throttled: %v %v", tpl.leader["b"], tpl.follower["b"])
	}
	if want := []int32{0, 1, 2, 3, 4, 5}; !slices.Equal(tpl.brokers, want) {
		t.Errorf("brokers %v, want %v", tpl.brokers, want)
	}
	if got := parseList(" 0:1, 0:1,,1:2 "); !slices.Equal(got, []string{"0:1", "1:2"}) {
		t.Errorf("parseList: %v", got)
	}
}

// TestMoveLeaderUndoInFlight pins when a move-leader partition back at its
// from counts as its undo in flight (an interrupted rollback between its
// elections) and when as pending: led by from's first replica it is
// pending; led by to's first replica it is the undo only while from's
// first replica is in the ISR, ready for the undo's election. With it out
// of the ISR, a failover is what put to's first replica in the lead.
func TestMoveLeaderUndoInFlight(t *testing.T) {
	m := plans.Move{Topic: "t", Partition: 0, From: []int32{0, 1, 3, 4}, To: []int32{3, 4, 0, 1}}
	for _, tc := range []struct {
		name string
		live *livePartition
		want bool
	}{
		{"undo elected", &livePartition{Replicas: []int32{0, 1, 3, 4}, ISR: []int32{0, 1, 3, 4}, Leader: 0}, false},
		{"undo between its reorder and its election", &livePartition{Replicas: []int32{0, 1, 3, 4}, ISR: []int32{0, 1, 3, 4}, Leader: 3}, true},
		{"pending, failed over onto to's first replica", &livePartition{Replicas: []int32{0, 1, 3, 4}, ISR: []int32{3, 4}, Leader: 3}, false},
		{"pending, failed over onto another replica", &livePartition{Replicas: []int32{0, 1, 3, 4}, ISR: []int32{0, 1, 3, 4}, Leader: 1}, false},
		{"at to", &livePartition{Replicas: []int32{3, 4, 0, 1}, ISR: []int32{0, 1, 3, 4}, Leader: 3}, false},
	} {
		if got, detail := undoInFlight(plans.PhaseMoveLeader, &m, tc.live); got != tc.want {
			t.Errorf("%s: undo in flight %v (%s), want %v", tc.name, got, detail, tc.want)
		}
	}
}
