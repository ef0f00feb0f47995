package kafkasim

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Item 1: during a move the replica list is target ++ (origin − target), with
// adding = target − origin and removing = origin − target, in Metadata, in
// ListPartitionReassignments and in the model.
func TestReassignFullReplicaSetDuringMove(t *testing.T) {
	tests := []struct {
		name                   string
		origin, target         []int32
		full, adding, removing []int32
	}{
		{"all new", []int32{0, 1, 2}, []int32{3, 4, 5}, []int32{3, 4, 5, 0, 1, 2}, []int32{3, 4, 5}, []int32{0, 1, 2}},
		{"one swapped", []int32{5, 1, 0}, []int32{5, 1, 3}, []int32{5, 1, 3, 0}, []int32{3}, []int32{0}},
		{"raise rf", []int32{0, 1, 2}, []int32{0, 1, 2, 3, 4, 5}, []int32{0, 1, 2, 3, 4, 5}, []int32{3, 4, 5}, []int32{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, adm, cl := start(t, Config{})
			mustCreate(t, c, "orders", tc.origin)
			if err := c.SetPartitionSize("orders", 0, 100<<20); err != nil {
				t.Fatal(err)
			}
			if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: tc.target})); code != 0 {
				t.Fatalf("reassign: code %d", code)
			}
			md, err := adm.Metadata(ctx(t), "orders")
			if err != nil {
				t.Fatal(err)
			}
			if got := md.Topics["orders"].Partitions[0].Replicas; !equal(got, tc.full) {
				t.Errorf("metadata replicas %v, want %v", got, tc.full)
			}
			l := listAll(t, cl)
			if len(l.Topics) != 1 || len(l.Topics[0].Partitions) != 1 {
				t.Fatalf("list: want one partition in flight, got %+v", l.Topics)
			}
			lp := l.Topics[0].Partitions[0]
			if !equal(lp.Replicas, tc.full) || !equal(lp.AddingReplicas, tc.adding) || !equal(lp.RemovingReplicas, tc.removing) {
				t.Errorf("list: replicas %v adding %v removing %v, want %v %v %v",
					lp.Replicas, lp.AddingReplicas, lp.RemovingReplicas, tc.full, tc.adding, tc.removing)
			}
		})
	}
}

// Item 2: a move with nothing to copy (reorder, no-op, RF decrease) completes
// inside the call; ListPartitionReassignments is empty right after.
func TestReassignWithNothingToCopyCompletesInsideCall(t *testing.T) {
	tests := []struct {
		name           string
		origin, target []int32
		epoch          int32 // item 5: completion +1 plus 1 per removed replica
	}{
		{"reorder", []int32{0, 1, 2}, []int32{2, 1, 0}, 1},
		{"no-op", []int32{0, 1, 2}, []int32{0, 1, 2}, 1},
		{"rf decrease", []int32{0, 1, 2, 3}, []int32{0, 1, 2}, 2},
		{"rf decrease by two", []int32{0, 1, 2, 3, 4}, []int32{0, 1, 2}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, cl := start(t, Config{})
			mustCreate(t, c, "orders", tc.origin)
			if err := c.SetPartitionSize("orders", 0, 1<<30); err != nil {
				t.Fatal(err)
			}
			if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: tc.target})); code != 0 {
				t.Fatalf("reassign: code %d", code)
			}
			if l := listAll(t, cl); len(l.Topics) != 0 {
				t.Errorf("list right after: %+v, want nothing in flight", l.Topics)
			}
			s := state(t, c, "orders", 0)
			if !equal(s.Replicas, tc.target) || s.Reassigning {
				t.Errorf("replicas %v reassigning %v, want %v done", s.Replicas, s.Reassigning, tc.target)
			}
			if s.LeaderEpoch != tc.epoch {
				t.Errorf("leader epoch %d, want %d", s.LeaderEpoch, tc.epoch)
			}
		})
	}
}

// Item 3: a reorder never changes the leader.
func TestReorderKeepsLeader(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0}})
	md, err := adm.Metadata(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	p := md.Topics["orders"].Partitions[0]
	if p.Leader != 0 || !equal(p.Replicas, []int32{2, 1, 0}) {
		t.Errorf("leader %d replicas %v, want leader 0 replicas [2 1 0]", p.Leader, p.Replicas)
	}
}

// Item 4: while data copies the leader stays even if it is being removed; at
// completion the first target replica alive and in the ISR leads. Item 5:
// submit +1, completion +1 plus 1 per removed replica.
func TestLeaderKeptWhileCopyingThenFirstTargetLeads(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 300<<20); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {3, 4, 5}})
	c.Clock().Advance(time.Second)
	s := state(t, c, "orders", 0)
	if s.Leader != 0 || !s.Reassigning || s.LeaderEpoch != 1 {
		t.Fatalf("while copying: leader %d reassigning %v epoch %d, want 0 true 1", s.Leader, s.Reassigning, s.LeaderEpoch)
	}
	// Three copies out of broker 0 share its 100 MiB/s: 300 MiB take 9 s.
	c.Clock().Advance(9 * time.Second)
	s = state(t, c, "orders", 0)
	if s.Reassigning || !equal(s.Replicas, []int32{3, 4, 5}) || s.Leader != 3 || s.LeaderEpoch != 5 {
		t.Fatalf("after copy: %+v, want replicas [3 4 5] leader 3 epoch 5", s)
	}
	md, err := adm.Metadata(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if p := md.Topics["orders"].Partitions[0]; p.Leader != 3 || !equal(p.ISR, []int32{3, 4, 5}) || p.LeaderEpoch != 5 {
		t.Errorf("metadata after completion: %+v", p)
	}
}

// Item 5: ISR growth never bumps the leader epoch; cancel +1.
func TestLeaderEpochNotBumpedByISRGrowth(t *testing.T) {
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 100<<20); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 2, 3, 4}})
	if err := c.StopBroker(4); err != nil {
		t.Fatal(err)
	}
	c.Clock().Advance(10 * time.Second)
	s := state(t, c, "orders", 0)
	if !equal(s.ISR, []int32{0, 1, 2, 3}) || s.LeaderEpoch != 1 || !s.Reassigning {
		t.Fatalf("after 3 caught up: isr %v epoch %d reassigning %v, want [0 1 2 3] 1 true", s.ISR, s.LeaderEpoch, s.Reassigning)
	}
	if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: nil})); code != 0 {
		t.Fatalf("cancel: code %d", code)
	}
	s = state(t, c, "orders", 0)
	if s.LeaderEpoch != 2 || !equal(s.Replicas, []int32{0, 1, 2}) || !equal(s.ISR, []int32{0, 1, 2}) {
		t.Errorf("after cancel: %+v, want replicas and isr [0 1 2], epoch 2", s)
	}
}

// Item 6: a second reassignment replaces the first, computed from the origin;
// adding replicas still in the new target keep their data, others lose it.
func TestReassignReplacementComputedFromOrigin(t *testing.T) {
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 300<<20); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {3, 4, 5}})
	c.Clock().Advance(3 * time.Second)
	before := state(t, c, "orders", 0).ReplicaSizes[3]
	if before == 0 {
		t.Fatal("replica 3 copied nothing in 3 s")
	}
	if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})); code != 0 {
		t.Fatalf("replace: code %d", code)
	}
	s := state(t, c, "orders", 0)
	if !equal(s.Replicas, []int32{0, 1, 3, 2}) || !equal(s.Adding, []int32{3}) || !equal(s.Removing, []int32{2}) {
		t.Errorf("after replacement: replicas %v adding %v removing %v, want [0 1 3 2] [3] [2]", s.Replicas, s.Adding, s.Removing)
	}
	if s.ReplicaSizes[3] != before {
		t.Errorf("replica 3 has %d bytes after replacement, want the %d it had copied", s.ReplicaSizes[3], before)
	}
	if _, ok := s.ReplicaSizes[4]; ok {
		t.Errorf("replica 4 still listed after replacement: %v", s.ReplicaSizes)
	}
	if s.LeaderEpoch != 2 {
		t.Errorf("leader epoch %d, want 2 (submit +1, replacement +1)", s.LeaderEpoch)
	}
}

// Item 7: cancel restores the origin set in the current order; cancel with
// nothing in flight, or of an unknown topic, is 85.
func TestCancelRestoresOriginSetInCurrentOrder(t *testing.T) {
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 300<<20); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0, 3}})
	if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: nil})); code != 0 {
		t.Fatalf("cancel: code %d", code)
	}
	s := state(t, c, "orders", 0)
	if !equal(s.Replicas, []int32{2, 1, 0}) || s.Reassigning {
		t.Errorf("after cancel: replicas %v reassigning %v, want [2 1 0] done", s.Replicas, s.Reassigning)
	}
	if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: nil})); code != errNoReassignment {
		t.Errorf("second cancel: code %d, want 85", code)
	}
	if code := partitionCode(t, reassign(t, cl, -1, "nope", map[int32][]int32{0: nil})); code != errNoReassignment {
		t.Errorf("cancel of unknown topic: code %d, want 85", code)
	}
}

// Item 8: validation codes. 39 for unknown, duplicate, empty or negative ids
// and stopped adding brokers (winning over 3); 3 for unknown partitions; a
// move keeping a dead existing replica is accepted and stays in flight.
func TestReassignValidation(t *testing.T) {
	tests := []struct {
		name    string
		topic   string
		p       int32
		target  []int32
		code    int16
		message string
	}{
		{"unknown broker", "orders", 0, []int32{0, 1, 9}, 39, "Replica assignment is invalid."},
		{"duplicate broker", "orders", 0, []int32{0, 0, 1}, 39, "Replica assignment is invalid."},
		{"empty", "orders", 0, []int32{}, 39, "Replica assignment is invalid."},
		{"negative", "orders", 0, []int32{-1, 1, 2}, 39, "Replica assignment is invalid."},
		{"stopped adding broker", "orders", 0, []int32{0, 1, 5}, 39, "Replica assignment is invalid."},
		{"unknown topic", "nope", 0, []int32{0, 1, 2}, 3, "The partition does not exist."}, // item 30
		{"unknown partition", "orders", 7, []int32{0, 1, 2}, 3, "The partition does not exist."},
		{"unknown topic and bad list", "nope", 0, []int32{0, 9}, 39, "Replica assignment is invalid."},
		{"keeping the dead broker", "orders", 1, []int32{0, 5, 3}, 0, ""},
	}
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2}, []int32{0, 5, 2})
	if err := c.StopBroker(5); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := reassign(t, cl, -1, tc.topic, map[int32][]int32{tc.p: tc.target})
			rp := resp.Topics[0].Partitions[0]
			if rp.ErrorCode != tc.code {
				t.Fatalf("code %d, want %d", rp.ErrorCode, tc.code)
			}
			if tc.code != 0 && (rp.ErrorMessage == nil || *rp.ErrorMessage != tc.message) {
				t.Errorf("message %q, want %q", deref(rp.ErrorMessage), tc.message)
			}
		})
	}
	if s := state(t, c, "orders", 1); !s.Reassigning || !equal(s.Replicas, []int32{0, 5, 3, 2}) {
		t.Errorf("move keeping dead broker 5: %+v, want in flight with replicas [0 5 3 2]", s)
	}
	c.Clock().Advance(time.Minute)
	if s := state(t, c, "orders", 1); !s.Reassigning {
		t.Errorf("move keeping dead broker 5 completed while 5 is down: %+v", s)
	}
	if err := c.StartBroker(5); err != nil {
		t.Fatal(err)
	}
	c.Clock().Advance(time.Minute)
	if s := state(t, c, "orders", 1); s.Reassigning || !equal(s.Replicas, []int32{0, 5, 3}) {
		t.Errorf("after broker 5 returned: %+v, want done at [0 5 3]", s)
	}
}

// Item 8: the same partition twice in one request: last wins, one result;
// the top-level message is "", not null.
func TestReassignDuplicatePartitionLastWins(t *testing.T) {
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = "orders"
	for _, rs := range [][]int32{{1, 2, 0}, {2, 0, 1}} {
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Replicas = rs
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorMessage == nil || *resp.ErrorMessage != "" {
		t.Errorf("top-level message %v, want \"\"", resp.ErrorMessage)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("results %+v, want one", resp.Topics)
	}
	if s := state(t, c, "orders", 0); !equal(s.Replicas, []int32{2, 0, 1}) {
		t.Errorf("replicas %v, want the last request's [2 0 1]", s.Replicas)
	}
}

// Item 9: ListPartitionReassignments omits unknown and non-moving partitions;
// null topics lists every partition in flight.
func TestListReassignments(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2}, []int32{1, 2, 0})
	mustCreate(t, c, "users", []int32{2, 0, 1})
	for _, name := range []string{"orders", "users"} {
		if err := c.SetPartitionSize(name, 0, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 2, 3}})
	reassign(t, cl, -1, "users", map[int32][]int32{0: {2, 0, 1, 4}})
	got, err := adm.ListPartitionReassignments(ctx(t), kadm.TopicsSet{"orders": {0: {}, 1: {}, 9: {}}, "nope": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sorted()) != 1 {
		t.Errorf("listed %v, want only orders-0", got)
	}
	if r, ok := got["orders"][0]; !ok || !equal(r.Replicas, []int32{0, 1, 2, 3}) || !equal(r.AddingReplicas, []int32{3}) {
		t.Errorf("orders-0: %+v %v", r, ok)
	}
	all := listAll(t, cl)
	n := 0
	for _, rt := range all.Topics {
		n += len(rt.Partitions)
	}
	if n != 2 {
		t.Errorf("null topics listed %d partitions, want 2: %+v", n, all.Topics)
	}
}

// AlterPartitionReassignments and ListPartitionReassignments sent to a broker
// that is not the controller give top-level 41.
func TestReassignmentsOnNonControllerGive41(t *testing.T) {
	c, _, cl := start(t, Config{Controller: 2})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if resp := reassign(t, cl, 1, "orders", map[int32][]int32{0: {2, 1, 0}}); resp.ErrorCode != errNotController {
		t.Errorf("alter via broker 1: code %d, want 41", resp.ErrorCode)
	}
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	resp, err := cl.Broker(1).Request(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.ListPartitionReassignmentsResponse).ErrorCode; code != errNotController {
		t.Errorf("list via broker 1: code %d, want 41", code)
	}
	if resp := reassign(t, cl, 2, "orders", map[int32][]int32{0: {2, 1, 0}}); resp.ErrorCode != 0 {
		t.Errorf("alter via the controller: code %d", resp.ErrorCode)
	}
}

// Item 11: a stopped target broker stalls the move; after restart it resumes
// from its on-disk data and completes with no client action.
func TestStoppedTargetBrokerResumesAfterRestart(t *testing.T) {
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 200<<20); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
	c.Clock().Advance(time.Second) // 100 MiB of 200 copied
	if err := c.StopBroker(3); err != nil {
		t.Fatal(err)
	}
	c.Clock().Advance(time.Hour)
	s := state(t, c, "orders", 0)
	if !s.Reassigning || s.ReplicaSizes[3] != 100<<20 {
		t.Fatalf("while 3 is down: reassigning %v size %d, want in flight at 100 MiB", s.Reassigning, s.ReplicaSizes[3])
	}
	if err := c.StartBroker(3); err != nil {
		t.Fatal(err)
	}
	c.Clock().Advance(time.Second)
	if s := state(t, c, "orders", 0); s.Reassigning || !equal(s.Replicas, []int32{0, 1, 3}) {
		t.Errorf("1 s after restart: %+v, want done at [0 1 3]", s)
	}
}

// Item 28: replacing a move in flight computes the new one from the replicas
// less those being added, in the current replica order, so the removing list
// follows that order; a cancel after it restores that set in the current
// order.
func TestReplacementFollowsCurrentReplicaOrder(t *testing.T) {
	type want struct {
		replicas, adding, removing []int32 // nil adding: nothing in flight
	}
	steps := []struct {
		target []int32 // nil: cancel
		want   want
	}{
		{[]int32{3, 2, 1, 101}, want{[]int32{3, 2, 1, 101}, []int32{101}, []int32{}}},
		{[]int32{101, 102, 1}, want{[]int32{101, 102, 1, 3, 2}, []int32{101, 102}, []int32{3, 2}}},
		{nil, want{[]int32{1, 3, 2}, nil, nil}},
	}
	var brokers []BrokerConfig
	for _, id := range []int32{1, 2, 3, 101, 102, 103} {
		brokers = append(brokers, BrokerConfig{ID: id})
	}
	c, _, cl := start(t, Config{Brokers: brokers})
	mustCreate(t, c, "orders", []int32{1, 2, 3})
	if err := c.SetPartitionSize("orders", 0, 1<<30); err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: s.target})); code != 0 {
			t.Fatalf("step %d (%v): code %d", i, s.target, code)
		}
		l := listAll(t, cl)
		if s.want.adding == nil {
			if len(l.Topics) != 0 {
				t.Errorf("step %d: %+v in flight, want nothing", i, l.Topics)
			}
			if got := rawMetadata(t, cl, "orders").Partitions[0].Replicas; !equal(got, s.want.replicas) {
				t.Errorf("step %d: replicas %v, want %v", i, got, s.want.replicas)
			}
			continue
		}
		if len(l.Topics) != 1 || len(l.Topics[0].Partitions) != 1 {
			t.Fatalf("step %d: listed %+v, want orders-0", i, l.Topics)
		}
		lp := l.Topics[0].Partitions[0]
		if !equal(lp.Replicas, s.want.replicas) || !equal(lp.AddingReplicas, s.want.adding) || !equal(lp.RemovingReplicas, s.want.removing) {
			t.Errorf("step %d (%v): replicas %v adding %v removing %v, want %v %v %v", i, s.target,
				lp.Replicas, lp.AddingReplicas, lp.RemovingReplicas, s.want.replicas, s.want.adding, s.want.removing)
		}
	}
}

// Item 29: ListPartitionReassignments' top-level ErrorMessage on success is
// "", not null, with or without partitions in flight; a non-controller's 41
// carries its message.
func TestListReassignmentsTopLevelMessage(t *testing.T) {
	c, _, cl := start(t, Config{Controller: 0})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 1<<30); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		via     int32
		move    bool
		code    int16
		message string
	}{
		{"nothing in flight", 0, false, 0, ""},
		{"a move in flight", 0, true, 0, ""},
		{"not the controller", 1, false, 41, "This is not the correct controller for this cluster."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.move {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
			}
			resp, err := cl.Broker(int(tc.via)).Request(ctx(t), kmsg.NewPtrListPartitionReassignmentsRequest())
			if err != nil {
				t.Fatal(err)
			}
			lr := resp.(*kmsg.ListPartitionReassignmentsResponse)
			if lr.ErrorCode != tc.code || lr.ErrorMessage == nil || *lr.ErrorMessage != tc.message {
				t.Errorf("code %d message %v, want %d %q", lr.ErrorCode, lr.ErrorMessage, tc.code, tc.message)
			}
		})
	}
}
