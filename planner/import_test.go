package planner

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/plans"
)

func importSnapshot() *plans.Snapshot {
	return &plans.Snapshot{
		Version: 1, ClusterID: "lkc-import", Controller: 1,
		Brokers: []plans.Broker{{ID: 1, Rack: "a"}, {ID: 2, Rack: "b"}, {ID: 3, Rack: "c"}, {ID: 4, Rack: "a"}, {ID: 5, Rack: "b"}},
		Topics: []plans.Topic{
			{Name: "orders", Configs: map[string]string{plans.MinInsyncReplicasKey: "2"}, Partitions: []plans.Partition{
				{ID: 0, Replicas: []int32{1, 2, 3}, Leader: 1, ISR: []int32{1, 2, 3}, Size: 100},
				{ID: 1, Replicas: []int32{2, 3, 1}, Leader: 2, ISR: []int32{2, 3, 1}, Size: 200},
				{ID: 2, Replicas: []int32{3, 1, 2}, Leader: 3, ISR: []int32{3, 1, 2}, Size: 300},
			}},
			{Name: "logs", Partitions: []plans.Partition{
				{ID: 0, Replicas: []int32{1, 2}, Leader: 1, ISR: []int32{1}, Size: 50},
			}},
		},
	}
}

func TestImportChain(t *testing.T) {
	type move struct {
		phase    plans.Phase
		from, to []int32
	}
	cases := []struct {
		name     string
		from, to []int32
		want     []move
	}{
		{"replace a follower", []int32{1, 2, 3}, []int32{1, 2, 4}, []move{
			{plans.PhaseRaiseRF, []int32{1, 2, 3}, []int32{1, 2, 3, 4}},
			{plans.PhaseLowerRF, []int32{1, 2, 3, 4}, []int32{1, 2, 4}},
		}},
		{"replace the leader", []int32{1, 2, 3}, []int32{4, 2, 3}, []move{
			{plans.PhaseRaiseRF, []int32{1, 2, 3}, []int32{1, 2, 3, 4}},
			{plans.PhaseMoveLeader, []int32{1, 2, 3, 4}, []int32{4, 2, 3, 1}},
			{plans.PhaseLowerRF, []int32{4, 2, 3, 1}, []int32{4, 2, 3}},
		}},
		{"move everything", []int32{1, 2}, []int32{4, 5}, []move{
			{plans.PhaseRaiseRF, []int32{1, 2}, []int32{1, 2, 4, 5}},
			{plans.PhaseMoveLeader, []int32{1, 2, 4, 5}, []int32{4, 5, 1, 2}},
			{plans.PhaseLowerRF, []int32{4, 5, 1, 2}, []int32{4, 5}},
		}},
		{"raise rf", []int32{1, 2}, []int32{1, 2, 3}, []move{
			{plans.PhaseRaiseRF, []int32{1, 2}, []int32{1, 2, 3}},
		}},
		{"lower rf and reorder", []int32{1, 2, 3}, []int32{1, 3}, []move{
			{plans.PhaseLowerRF, []int32{1, 2, 3}, []int32{1, 3}},
		}},
		{"change leader only", []int32{1, 2, 3}, []int32{2, 1, 3}, []move{
			{plans.PhaseMoveLeader, []int32{1, 2, 3}, []int32{2, 1, 3}},
		}},
		{"new leader, one dropped", []int32{1, 2, 3}, []int32{3, 2}, []move{
			{plans.PhaseMoveLeader, []int32{1, 2, 3}, []int32{3, 2, 1}},
			{plans.PhaseLowerRF, []int32{3, 2, 1}, []int32{3, 2}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := importChain(tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(chain) != len(tc.want) {
				t.Fatalf("%d moves, want %d: %+v", len(chain), len(tc.want), chain)
			}
			for i, w := range tc.want {
				got := chain[i]
				if got.phase != w.phase || !slices.Equal(got.From, w.from) || !slices.Equal(got.To, w.to) {
					t.Errorf("move %d: %s %v -> %v, want %s %v -> %v", i, got.phase, got.From, got.To, w.phase, w.from, w.to)
				}
			}
		})
	}
}

func TestImportChainRefusesFollowerReorder(t *testing.T) {
	for _, tc := range []struct{ from, to []int32 }{
		{[]int32{1, 2, 3}, []int32{1, 3, 2}},
		{[]int32{1, 2}, []int32{1, 3, 2}},
	} {
		if _, err := importChain(tc.from, tc.to); err == nil || !strings.Contains(err.Error(), "only changes the order of the other replicas") {
			t.Errorf("%v -> %v: error %v", tc.from, tc.to, err)
		}
	}
}

func TestImport(t *testing.T) {
	r := &plans.KafkaReassignment{Version: 1, Partitions: []plans.KafkaPartition{
		{Topic: "orders", Partition: 0, Replicas: []int32{4, 2, 3}},
		{Topic: "orders", Partition: 1, Replicas: []int32{2, 3, 1}}, // unchanged
		{Topic: "orders", Partition: 2, Replicas: []int32{3, 1, 5}},
		{Topic: "logs", Partition: 0, Replicas: []int32{5, 4}},
	}}
	res, err := Import(ImportInput{Snapshot: importSnapshot(), Reassignment: r, SnapshotSHA256: "s", ReassignmentSHA256: "r",
		Limits: plans.Limits{PartitionsPerStep: 2}, Throttle: 1000})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Plan
	if p.ClusterID != "lkc-import" || p.MappingSHA256 != "r" || len(p.SourceBrokers) != 0 || len(p.TargetBrokers) != 0 {
		t.Errorf("header %+v", p)
	}
	// raise-rf: orders-0, orders-2, logs-0 → 2 steps of at most 2;
	// move-leader: orders-0, logs-0; lower-rf: orders-0, orders-2, logs-0 → 2 steps.
	var phases []plans.Phase
	for _, s := range p.Steps {
		phases = append(phases, s.Phase)
	}
	want := []plans.Phase{plans.PhaseRaiseRF, plans.PhaseRaiseRF, plans.PhaseMoveLeader, plans.PhaseLowerRF, plans.PhaseLowerRF}
	if !slices.Equal(phases, want) {
		t.Fatalf("phases %v, want %v", phases, want)
	}
	if got := p.Steps[1].Partitions[0]; got.Name() != "logs-0" || !slices.Equal(got.To, []int32{1, 2, 5, 4}) || got.Size != 50 {
		t.Errorf("step 2 move %+v", got)
	}
	if p.Totals.Partitions != 3 || p.Totals.BytesToCopy != 100+300+2*50 {
		t.Errorf("totals %+v", p.Totals)
	}
	// Fixed costs: 1 s per step, 2 s for the move-leader step's election.
	if got := time.Duration(p.Totals.FixedCost); got != 6*time.Second || p.Steps[2].Estimate.FixedCost != plans.Duration(2*time.Second) {
		t.Errorf("fixed costs: %s in all, %s for the move-leader step; want 6s and 2s", got, p.Steps[2].Estimate.FixedCost)
	}
	if p.Steps[0].Throttle != 1000 || p.Throttle != 1000 {
		t.Errorf("throttle %d / %d", p.Steps[0].Throttle, p.Throttle)
	}
	if err := plans.CheckInvariants(p, importSnapshot(), plans.CheckOptions{Limits: plans.Limits{PartitionsPerStep: 2}}); err != nil {
		t.Errorf("imported plan breaks invariants: %v", err)
	}
	// logs-0 was under-replicated in the snapshot; orders keeps RF 3 > min ISR 2.
	if len(res.Warnings) != 1 || res.Warnings[0].Kind != WarnUnderReplicated || res.Warnings[0].Subject != "logs-0" {
		t.Errorf("warnings %v", res.Warnings)
	}
	// The balance covers every broker after the import: broker 1 keeps
	// orders-1 and orders-2.
	if b := res.Balance; len(b.Brokers) != 5 || b.Brokers[0].Replicas != 2 || b.Scope != plans.BalanceUnchecked {
		t.Errorf("balance %+v", b)
	}
	// The rollback of an import checks too.
	if err := plans.CheckInvariants(plans.Rollback(p), nil, plans.CheckOptions{}); err != nil {
		t.Errorf("rollback of an import breaks invariants: %v", err)
	}
}

func TestImportRefusals(t *testing.T) {
	r := &plans.KafkaReassignment{Version: 1, Partitions: []plans.KafkaPartition{
		{Topic: "payments", Partition: 0, Replicas: []int32{1, 2}},
		{Topic: "orders", Partition: 7, Replicas: []int32{1, 2}},
		{Topic: "orders", Partition: 0, Replicas: []int32{1, 9}},
		{Topic: "orders", Partition: 1, Replicas: []int32{2, 1, 3}},
	}}
	_, err := Import(ImportInput{Snapshot: importSnapshot(), Reassignment: r, ReassignmentName: "move.json"})
	if !errors.Is(err, plans.ErrBadInput) {
		t.Fatalf("error %v, want bad input", err)
	}
	for _, want := range []string{
		`move.json: partitions[0] (payments-0): topic "payments" is not in the snapshot`,
		`move.json: partitions[1] (orders-7): topic "orders" has no partition 7 in the snapshot (it has 3 partitions)`,
		`move.json: partitions[2] (orders-0): broker 9 is not in the snapshot's brokers`,
		`move.json: partitions[3] (orders-1): [2 3 1] -> [2 1 3] keeps the leader 2 and only changes the order`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestImportBelowMinISR(t *testing.T) {
	r := &plans.KafkaReassignment{Version: 1, Partitions: []plans.KafkaPartition{
		{Topic: "orders", Partition: 0, Replicas: []int32{1}},
	}}
	_, err := Import(ImportInput{Snapshot: importSnapshot(), Reassignment: r})
	if !errors.Is(err, ErrImportBreaksInvariants) || !strings.Contains(err.Error(), "below min.insync.replicas 2") {
		t.Fatalf("error %v", err)
	}
}

func TestImportLimits(t *testing.T) {
	r := &plans.KafkaReassignment{Version: 1}
	for _, p := range []int32{0, 1, 2} {
		r.Partitions = append(r.Partitions, plans.KafkaPartition{Topic: "orders", Partition: p, Replicas: []int32{4, 5, 1}})
	}
	// Each orders partition adds brokers 4 and 5 (and orders-0 keeps 1).
	res, err := Import(ImportInput{Snapshot: importSnapshot(), Reassignment: r, Limits: plans.Limits{MovesIntoBroker: 2, BytesPerStep: 250}})
	if err != nil {
		t.Fatal(err)
	}
	var raiseSizes []int
	for _, s := range res.Plan.Steps {
		if s.Phase == plans.PhaseRaiseRF {
			raiseSizes = append(raiseSizes, len(s.Partitions))
		}
	}
	// orders-0 copies 2×100 = 200; orders-1 2×200 = 400 > 250, alone; orders-2 alone too.
	if !slices.Equal(raiseSizes, []int{1, 1, 1}) {
		t.Errorf("raise-rf step sizes %v", raiseSizes)
	}
}
