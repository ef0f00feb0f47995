package kafkasim

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Item 18: preferred election moves the leader; preferred already leading is
// 84; preferred down or not in the ISR is 80; unknown partition is 3.
func TestPreferredLeaderElection(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders",
		[]int32{0, 1, 2}, // 0: already led by its preferred replica
		[]int32{1, 2, 0}, // 1: reordered below so that 2 is preferred
		[]int32{3, 4, 5}, // 2: reordered below so that 4 is preferred, then 4 stops
	)
	reassign(t, cl, -1, "orders", map[int32][]int32{1: {2, 1, 0}})
	reassign(t, cl, -1, "orders", map[int32][]int32{2: {4, 3, 5}})
	if err := c.StopBroker(4); err != nil {
		t.Fatal(err)
	}
	res, err := adm.ElectLeaders(ctx(t), kadm.ElectPreferredReplica, kadm.TopicsSet{"orders": {0: {}, 1: {}, 2: {}, 9: {}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int16{0: 84, 1: 0, 2: 80, 9: 3}
	for p, code := range want {
		r, ok := res["orders"][p]
		if !ok {
			t.Errorf("no result for partition %d", p)
			continue
		}
		if got := errCode(r.Err); got != code {
			t.Errorf("partition %d: code %d (%v), want %d", p, got, r.Err, code)
		}
	}
	if s := state(t, c, "orders", 1); s.Leader != 2 || s.LeaderEpoch != 2 {
		t.Errorf("partition 1 after election: leader %d epoch %d, want 2 and 2", s.Leader, s.LeaderEpoch)
	}
}

// Item 18: preferred replica alive but not yet in the ISR gives 80.
func TestPreferredLeaderNotInISR(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 1<<30); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {3, 0, 1, 2}})
	res, err := adm.ElectLeaders(ctx(t), kadm.ElectPreferredReplica, kadm.TopicsSet{"orders": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := errCode(res["orders"][0].Err); got != 80 {
		t.Errorf("code %d, want 80 while 3 copies", got)
	}
	c.Clock().Advance(20 * time.Second)
	res, err = adm.ElectLeaders(ctx(t), kadm.ElectPreferredReplica, kadm.TopicsSet{"orders": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := errCode(res["orders"][0].Err); got != 0 {
		t.Errorf("code %d once 3 is in sync, want 0", got)
	}
}

// Item 18: null topics elects every partition not led by its preferred
// replica; sent to a non-controller, every partition gets 41 with top-level 0.
func TestElectLeadersNullTopicsAndNonController(t *testing.T) {
	c, _, cl := start(t, Config{Controller: 0})
	mustCreate(t, c, "orders", []int32{0, 1, 2}, []int32{1, 2, 0}, []int32{2, 0, 1})
	reassign(t, cl, -1, "orders", map[int32][]int32{1: {2, 1, 0}, 2: {0, 2, 1}})
	req := kmsg.NewPtrElectLeadersRequest()
	req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "orders", Partitions: []int32{0, 1}}}
	resp, err := cl.Broker(3).Request(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	er := resp.(*kmsg.ElectLeadersResponse)
	if er.ErrorCode != 0 || len(er.Topics) != 1 || len(er.Topics[0].Partitions) != 2 {
		t.Fatalf("non-controller: %+v", er)
	}
	for _, p := range er.Topics[0].Partitions {
		if p.ErrorCode != 41 {
			t.Errorf("non-controller partition %d: code %d, want 41", p.Partition, p.ErrorCode)
		}
	}
	req.Topics = nil
	resp, err = cl.Broker(0).Request(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	er = resp.(*kmsg.ElectLeadersResponse)
	n := 0
	for _, rt := range er.Topics {
		for _, p := range rt.Partitions {
			n++
			if p.ErrorCode != 0 {
				t.Errorf("partition %d: code %d", p.Partition, p.ErrorCode)
			}
		}
	}
	if n != 2 {
		t.Errorf("null topics elected %d partitions, want the 2 not led by their preferred replica", n)
	}
	for p, leader := range map[int32]int32{0: 0, 1: 2, 2: 0} {
		if s := state(t, c, "orders", p); s.Leader != leader {
			t.Errorf("partition %d leader %d, want %d", p, s.Leader, leader)
		}
	}
}

// Item 19: the automatic rebalance moves a reordered partition's leader at the
// next 300 s check, never while any reassignment is in flight, and not at all
// when auto.leader.rebalance.enable=false.
func TestAutoLeaderRebalance(t *testing.T) {
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	mustCreate(t, c, "big", []int32{3, 4, 5})
	if err := c.SetPartitionSize("big", 0, 100<<30); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {1, 0, 2}})
	reassign(t, cl, -1, "big", map[int32][]int32{0: {3, 4, 5, 0}})
	c.Clock().Advance(299 * time.Second)
	if s := state(t, c, "orders", 0); s.Leader != 0 {
		t.Fatalf("leader moved before the check: %d", s.Leader)
	}
	c.Clock().Advance(2 * time.Second)
	if s := state(t, c, "orders", 0); s.Leader != 0 {
		t.Errorf("leader moved to %d at the check while big-0 is in flight", s.Leader)
	}
	reassign(t, cl, -1, "big", map[int32][]int32{0: nil})
	c.Clock().Advance(300 * time.Second)
	if s := state(t, c, "orders", 0); s.Leader != 1 {
		t.Errorf("leader %d after the next check with nothing in flight, want 1", s.Leader)
	}
}

func TestAutoLeaderRebalanceDisabled(t *testing.T) {
	brokers := sixBrokers()
	for i := range brokers {
		brokers[i].Configs = map[string]string{AutoLeaderRebalanceKey: "false"}
	}
	c, _, cl := start(t, Config{Brokers: brokers})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {1, 0, 2}})
	c.Clock().Advance(time.Hour)
	if s := state(t, c, "orders", 0); s.Leader != 0 {
		t.Errorf("leader moved to %d with auto.leader.rebalance.enable=false", s.Leader)
	}
}

// Item 19: the check works per broker against a 10% threshold, so with many
// partitions preferring a broker one misplaced leader is never fixed.
func TestAutoLeaderRebalanceThreshold(t *testing.T) {
	tests := []struct {
		name      string
		preferred int // partitions preferring broker 1; the first is reordered
		moved     bool
	}{
		{"one of one misplaced (100%)", 1, true},
		{"one of ten misplaced (10%, not above)", 10, false},
		{"one of eleven misplaced (9%)", 11, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, cl := start(t, Config{})
			assign := [][]int32{{2, 1, 3}}
			for i := 1; i < tc.preferred; i++ {
				assign = append(assign, []int32{1, 2, 3})
			}
			mustCreate(t, c, "orders", assign...)
			// A reorder keeps leader 2 (item 3) while 1 becomes preferred.
			reassign(t, cl, -1, "orders", map[int32][]int32{0: {1, 2, 3}})
			if s := state(t, c, "orders", 0); s.Leader == 1 {
				t.Fatalf("setup: orders-0 already led by 1: %+v", s)
			}
			c.Clock().Advance(301 * time.Second)
			if got := state(t, c, "orders", 0).Leader == 1; got != tc.moved {
				t.Errorf("leader moved to the preferred replica: %v, want %v", got, tc.moved)
			}
		})
	}
}

// An offline partition whose only live replica is out of the ISR stays
// offline (no unclean election on its own); an unclean ElectLeaders elects it.
func TestUncleanElectionOnlyWhenAsked(t *testing.T) {
	c, adm, _ := start(t, Config{Controller: 0})
	mustCreate(t, c, "orders", []int32{1, 2})
	if err := c.StopBroker(2); err != nil { // ISR [1]
		t.Fatal(err)
	}
	if err := c.StopBroker(1); err != nil { // offline, ISR [1]
		t.Fatal(err)
	}
	if err := c.StartBroker(2); err != nil {
		t.Fatal(err)
	}
	if s := state(t, c, "orders", 0); s.Leader != -1 {
		t.Fatalf("leader %d with only out-of-sync replica 2 alive, want -1", s.Leader)
	}
	res, err := adm.ElectLeaders(ctx(t), kadm.ElectLiveReplica, kadm.TopicsSet{"orders": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if code := errCode(res["orders"][0].Err); code != 0 {
		t.Fatalf("unclean election: code %d", code)
	}
	if s := state(t, c, "orders", 0); s.Leader != 2 || !equal(s.ISR, []int32{2}) {
		t.Errorf("after unclean election: %+v, want leader 2 isr [2]", s)
	}
}

// Item 30: the error texts of ElectLeaders and AlterPartitionReassignments.
func TestErrorTexts(t *testing.T) {
	c, _, cl := start(t, Config{Controller: 0})
	mustCreate(t, c, "orders",
		[]int32{0, 1, 2}, // 0: already led by its preferred replica
		[]int32{3, 4, 5}, // 1: reordered so that 4 is preferred, then 4 stops
	)
	reassign(t, cl, -1, "orders", map[int32][]int32{1: {4, 3, 5}})
	if err := c.StopBroker(4); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		api     string // "elect" or "reassign"
		p       int32
		code    int16
		message string
	}{
		{"election not needed", "elect", 0, 84, "Leader election not needed for topic partition"},
		{"preferred not available", "elect", 1, 80, "Failed to elect leader for partition orders-1 under strategy PreferredReplicaPartitionLeaderElectionStrategy"},
		{"unknown partition: elect", "elect", 9, 3, "The partition does not exist."},
		{"unknown partition: reassign", "reassign", 9, 3, "The partition does not exist."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var code int16
			var msg *string
			switch tc.api {
			case "elect":
				req := kmsg.NewPtrElectLeadersRequest()
				req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "orders", Partitions: []int32{tc.p}}}
				resp, err := req.RequestWith(ctx(t), cl)
				if err != nil {
					t.Fatal(err)
				}
				rp := resp.Topics[0].Partitions[0]
				code, msg = rp.ErrorCode, rp.ErrorMessage
			case "reassign":
				rp := reassign(t, cl, -1, "orders", map[int32][]int32{tc.p: {0, 1, 2}}).Topics[0].Partitions[0]
				code, msg = rp.ErrorCode, rp.ErrorMessage
			}
			if code != tc.code || deref(msg) != tc.message {
				t.Errorf("code %d message %q, want %d %q", code, deref(msg), tc.code, tc.message)
			}
		})
	}
}
