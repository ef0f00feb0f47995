package plans

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// forwardPlan moves two partitions from brokers 1,2 onto 3,4 in three phases,
// with a zk-join first; sizes 1000 and 3000 bytes at a 1000 B/s throttle.
func forwardPlan() *Plan {
	steps := []Step{
		{Number: 1, Phase: PhaseZKJoin, ZooKeeper: &ZooKeeperChange{Connect: "zk:2181", Join: []ZKServer{{ID: 4, Host: "zk-4"}, {ID: 5, Host: "zk-5"}},
			Before: []ZKServer{{ID: 1, Host: "zk-1", Role: "participant"}}}},
		{Number: 2, Phase: PhaseRaiseRF, Partitions: []Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 3, 4}, Size: 1000},
			{Topic: "orders", Partition: 1, From: []int32{2, 1}, To: []int32{2, 1, 4, 3}, Size: 3000},
		}},
		{Number: 3, Phase: PhaseMoveLeader, Partitions: []Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2, 3, 4}, To: []int32{3, 4, 1, 2}, Size: 1000},
			{Topic: "orders", Partition: 1, From: []int32{2, 1, 4, 3}, To: []int32{4, 3, 2, 1}, Size: 3000},
		}},
		{Number: 4, Phase: PhaseLowerRF, Throttle: 2000, Partitions: []Move{
			{Topic: "orders", Partition: 0, From: []int32{3, 4, 1, 2}, To: []int32{3, 4}, Size: 1000},
			{Topic: "orders", Partition: 1, From: []int32{4, 3, 2, 1}, To: []int32{4, 3}, Size: 3000},
		}},
		{Number: 5, Phase: PhaseZKHandover, ZooKeeper: &ZooKeeperChange{Connect: "zk:2181", Promote: []int{4, 5}, Retire: []int{1, 2}}},
		{Number: 6, Phase: PhaseZKPrune, ZooKeeper: &ZooKeeperChange{Connect: "zk-4:2181", Prune: []string{"/other"}}},
	}
	for i := range steps {
		steps[i].Estimate = EstimateMoves(steps[i].Partitions, 1000)
	}
	return &Plan{
		Version: 1, Kind: KindMigration, ClusterID: "c1", Strategy: StrategyPhased, Throttle: 1000,
		SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4},
		Steps: steps, Totals: ComputeTotals(steps),
	}
}

func TestRollback(t *testing.T) {
	fwd := forwardPlan()
	r := Rollback(fwd)
	if r.Kind != KindRollback || r.ClusterID != "c1" {
		t.Fatalf("header: kind %s cluster %s", r.Kind, r.ClusterID)
	}
	// zk-prune has no undo: 5 undo steps for 6 forward steps.
	type want struct {
		phase  Phase
		undoes int
		from   [][]int32
		to     [][]int32
		bytes  ByteSize
	}
	wants := []want{
		{PhaseZKHandover, 5, nil, nil, 0},
		{PhaseLowerRF, 4, [][]int32{{3, 4}, {4, 3}}, [][]int32{{3, 4, 1, 2}, {4, 3, 2, 1}}, 2*1000 + 2*3000},
		{PhaseMoveLeader, 3, [][]int32{{3, 4, 1, 2}, {4, 3, 2, 1}}, [][]int32{{1, 2, 3, 4}, {2, 1, 4, 3}}, 0},
		{PhaseRaiseRF, 2, [][]int32{{1, 2, 3, 4}, {2, 1, 4, 3}}, [][]int32{{1, 2}, {2, 1}}, 0},
		{PhaseZKJoin, 1, nil, nil, 0},
	}
	if len(r.Steps) != len(wants) {
		t.Fatalf("rollback has %d steps, want %d", len(r.Steps), len(wants))
	}
	for i, w := range wants {
		s := r.Steps[i]
		if s.Number != i+1 || s.Phase != w.phase || s.Undoes != w.undoes {
			t.Errorf("step %d: number %d phase %s undoes %d, want %s undoing %d", i+1, s.Number, s.Phase, s.Undoes, w.phase, w.undoes)
		}
		for j := range w.from {
			if !slices.Equal(s.Partitions[j].From, w.from[j]) || !slices.Equal(s.Partitions[j].To, w.to[j]) {
				t.Errorf("step %d move %d: %v -> %v, want %v -> %v", i+1, j, s.Partitions[j].From, s.Partitions[j].To, w.from[j], w.to[j])
			}
		}
		if s.Estimate.BytesToCopy != w.bytes {
			t.Errorf("step %d: estimate %d bytes, want %d", i+1, s.Estimate.BytesToCopy, w.bytes)
		}
	}
	// Undoing lower-rf copies back onto sources 1 and 2: broker 2 leads
	// nothing new but receives 1000+3000; broker 4 (leader of orders-1)
	// sends 3000*2. At the step's own 2000 B/s throttle, 0.9 efficiency.
	// Written in whole seconds, as a plan file shows it.
	est := r.Steps[1].Estimate
	if est.BusiestBroker != 4 || est.BusiestBrokerBytes != 6000 {
		t.Errorf("undo lower-rf busiest broker %d with %d bytes, want 4 with 6000", est.BusiestBroker, est.BusiestBrokerBytes)
	}
	if got, want := time.Duration(est.Duration), (6000 * time.Second / 1800).Round(time.Second); got != want {
		t.Errorf("undo lower-rf duration %v, want %v", got, want)
	}
	if r.Steps[1].Throttle != 2000 {
		t.Errorf("undo keeps the forward step's throttle: got %d", r.Steps[1].Throttle)
	}
	// ZooKeeper undos carry the forward change (with the membership to
	// restore), as copies.
	zkJoinUndo := r.Steps[4].ZooKeeper
	if zkJoinUndo == fwd.Steps[0].ZooKeeper || len(zkJoinUndo.Join) != 2 || zkJoinUndo.Join[1].ID != 5 || !slices.Equal(zkJoinUndo.Before, fwd.Steps[0].ZooKeeper.Before) {
		t.Errorf("zk-join undo = %+v, want a copy of the forward change", zkJoinUndo)
	}
	handoverUndo := r.Steps[0].ZooKeeper
	if !slices.Equal(handoverUndo.Promote, []int{4, 5}) || !slices.Equal(handoverUndo.Retire, []int{1, 2}) {
		t.Errorf("zk-handover undo = %+v, want a copy of the forward change", handoverUndo)
	}
	zkJoinUndo.Join[0].ID = 99
	if fwd.Steps[0].ZooKeeper.Join[0].ID != 4 {
		t.Error("the undo shares the forward step's server list")
	}
	if r.Totals.Steps != 5 || r.Totals.Partitions != 2 || r.Totals.BytesToCopy != 8000 {
		t.Errorf("totals = %+v", r.Totals)
	}
	// Undos are estimated like forward steps: a fixed cost by phase and
	// size besides the copy time, and none for ZooKeeper steps.
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second, time.Second, 0} {
		if got := time.Duration(r.Steps[i].Estimate.FixedCost); got != want {
			t.Errorf("undo step %d (%s): fixed cost %s, want %s", i+1, r.Steps[i].Phase, got, want)
		}
	}
	if time.Duration(r.Totals.FixedCost) != 4*time.Second || r.Totals.TotalDuration != r.Totals.Duration+r.Totals.FixedCost || r.Totals.Duration != est.Duration {
		t.Errorf("totals: copy %s, fixed %s, total %s; want copy %s, fixed 4s and their sum", r.Totals.Duration, r.Totals.FixedCost, r.Totals.TotalDuration, est.Duration)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("rollback plan does not validate: %v", err)
	}
}

// TestRollbackChains: applying the rollback's steps in order from the end of
// the forward plan returns every partition to where the forward plan began.
func TestRollbackChains(t *testing.T) {
	fwd := forwardPlan()
	state := map[string][]int32{}
	start := map[string][]int32{}
	for _, s := range fwd.Steps {
		for _, m := range s.Partitions {
			if _, ok := start[m.Name()]; !ok {
				start[m.Name()] = m.From
			}
			state[m.Name()] = m.To
		}
	}
	for _, s := range Rollback(fwd).Steps {
		for _, m := range s.Partitions {
			if !slices.Equal(state[m.Name()], m.From) {
				t.Fatalf("step %d, %s: from %v but the partition is at %v", s.Number, m.Name(), m.From, state[m.Name()])
			}
			state[m.Name()] = m.To
		}
	}
	for name, want := range start {
		if !slices.Equal(state[name], want) {
			t.Errorf("%s ends at %v, want %v", name, state[name], want)
		}
	}
}

func TestRollbackOfRollback(t *testing.T) {
	fwd := forwardPlan()
	again := Rollback(Rollback(fwd))
	if again.Kind != KindMigration {
		t.Fatalf("kind %s", again.Kind)
	}
	// The zk-prune step is lost (it has no undo); the reassignment steps come back.
	var got, want []Move
	for _, s := range again.Steps {
		got = append(got, s.Partitions...)
		if s.Undoes != 0 {
			t.Errorf("step %d of a migration has undoes %d", s.Number, s.Undoes)
		}
	}
	for _, s := range fwd.Steps {
		want = append(want, s.Partitions...)
	}
	if len(got) != len(want) {
		t.Fatalf("%d moves, want %d", len(got), len(want))
	}
	for i := range got {
		if !slices.Equal(got[i].From, want[i].From) || !slices.Equal(got[i].To, want[i].To) {
			t.Errorf("move %d: %v -> %v, want %v -> %v", i, got[i].From, got[i].To, want[i].From, want[i].To)
		}
	}
}

func TestEstimateMoves(t *testing.T) {
	cases := []struct {
		name     string
		moves    []Move
		throttle Rate
		want     Estimate
	}{
		{"nothing added", []Move{{Topic: "t", From: []int32{1, 2}, To: []int32{2, 1}, Size: 500}}, 100, Estimate{}},
		{"one replica added", []Move{{Topic: "t", From: []int32{1}, To: []int32{1, 2}, Size: 900}}, 100,
			Estimate{BytesToCopy: 900, BusiestBroker: 1, BusiestBrokerBytes: 900, Duration: Duration(10 * time.Second)}},
		{"leader sends to two", []Move{{Topic: "t", From: []int32{5}, To: []int32{5, 2, 3}, Size: 90}}, 100,
			Estimate{BytesToCopy: 180, BusiestBroker: 5, BusiestBrokerBytes: 180, Duration: Duration(2 * time.Second)}},
		{"receiver busiest", []Move{
			{Topic: "t", Partition: 0, From: []int32{1}, To: []int32{1, 9}, Size: 90},
			{Topic: "t", Partition: 1, From: []int32{2}, To: []int32{2, 9}, Size: 90},
		}, 100, Estimate{BytesToCopy: 180, BusiestBroker: 9, BusiestBrokerBytes: 180, Duration: Duration(2 * time.Second)}},
		{"unthrottled", []Move{{Topic: "t", From: []int32{1}, To: []int32{1, 2}, Size: 900}}, 0,
			Estimate{BytesToCopy: 900, BusiestBroker: 1, BusiestBrokerBytes: 900}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := EstimateMoves(tc.moves, tc.throttle); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBusiestTotal(t *testing.T) {
	snap := &Snapshot{Topics: []Topic{{Name: "t", Partitions: []Partition{
		{ID: 0, Replicas: []int32{1, 2}, Leader: 2, Size: 100},  // not led by its first replica
		{ID: 1, Replicas: []int32{1, 2}, Leader: -1, Size: 100}, // offline: the first replica counts
	}}}}
	p := &Plan{Steps: []Step{
		{Partitions: []Move{{Topic: "t", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 7, 8}, Size: 100}}},
		{Partitions: []Move{
			{Topic: "t", Partition: 1, From: []int32{1, 2}, To: []int32{1, 2, 7}, Size: 100},
			{Topic: "u", Partition: 0, From: []int32{3}, To: []int32{3, 8}, Size: 50},           // not in the snapshot
			{Topic: "t", Partition: 0, From: []int32{1, 2, 7, 8}, To: []int32{7, 8}, Size: 100}, // adds nothing
		}},
	}}
	// Broker 2 sends 200 (two copies of t-0), broker 1 100, broker 8
	// receives 150, broker 7 200: the tie goes to the lower id.
	if broker, bytes := BusiestTotal(p, snap); broker != 2 || bytes != 200 {
		t.Errorf("BusiestTotal = broker %d, %d bytes; want broker 2, 200", broker, bytes)
	}
	if got := EstimateMoves(p.Steps[0].Partitions, 100); got.BusiestBroker != 1 {
		t.Errorf("EstimateMoves takes the first replica as the sender: busiest %d, want 1", got.BusiestBroker)
	}
}

// TestWriteRollbackMatchesRollback: the streamed rollback is byte for byte
// the derived one written whole, and leaves the forward plan as it was
// (its moves share the forward replica lists).
func TestWriteRollbackMatchesRollback(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []*Plan{forwardPlan(), Rollback(forwardPlan()), {Version: 1, Kind: KindMigration, ClusterID: "empty"}}
	for range 2000 {
		p := randomPlan(rng)
		if rng.IntN(3) == 0 {
			p.Kind = KindRollback
		}
		cases = append(cases, p)
	}
	for i, p := range cases {
		before, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var want, got bytes.Buffer
		if err := WritePlan(&want, Rollback(p)); err != nil {
			t.Fatal(err)
		}
		if err := WriteRollback(&got, p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("case %d: WriteRollback differs from WritePlan(Rollback) at %s\ngot:\n%s\nwant:\n%s", i, firstDiffLine(got.Bytes(), want.Bytes()), got.Bytes(), want.Bytes())
		}
		after, _ := Marshal(p)
		if !bytes.Equal(before, after) {
			t.Fatalf("case %d: WriteRollback changed the forward plan at %s", i, firstDiffLine(after, before))
		}
	}
}

// TestComputeTotalsCountsEachPartitionOnce: partitions are counted once
// however their ids arrive, ids far apart and negative ones included (they
// are kept apart from the dense ones until the dense ones reach them).
func TestComputeTotalsCountsEachPartitionOnce(t *testing.T) {
	ids := []int32{5000, 0, 4000, 5000, -1, 4000, -1, 9000, 1, 0}
	var steps []Step
	for _, id := range ids {
		steps = append(steps, Step{Phase: PhaseRaiseRF, Partitions: []Move{{Topic: "t", Partition: id}, {Topic: "u", Partition: id}}})
	}
	if got := ComputeTotals(steps).Partitions; got != 12 {
		t.Errorf("ComputeTotals counts %d partitions, want 12 (6 ids on 2 topics)", got)
	}
}
