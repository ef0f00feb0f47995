package plans

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// invSnapshot: sources 1, 2, 3 on racks r1..r3, targets 11, 12, 13 on z1..z3;
// topic t has partitions 0 and 1, 1 GiB each, min.insync.replicas 2.
func invSnapshot() *Snapshot {
	rep := func(ids ...int32) Partition {
		return Partition{Replicas: ids, Leader: ids[0], ISR: ids, Size: 1 << 30}
	}
	p0, p1 := rep(1, 2, 3), rep(2, 3, 1)
	p1.ID = 1
	return &Snapshot{
		Version: 1, ClusterID: "c",
		Brokers: []Broker{{ID: 1, Rack: "r1"}, {ID: 2, Rack: "r2"}, {ID: 3, Rack: "r3"}, {ID: 11, Rack: "z1"}, {ID: 12, Rack: "z2"}, {ID: 13, Rack: "z3"}},
		Topics:  []Topic{{Name: "t", Configs: map[string]string{MinInsyncReplicasKey: "2"}, Partitions: []Partition{p0, p1}}},
	}
}

func mv(p int32, from, to []int32) Move {
	return Move{Topic: "t", Partition: p, From: from, To: to, Size: 1 << 30}
}

// step builds a step with its bytes-to-copy and fixed-cost estimates filled in.
func step(n int, phase Phase, moves ...Move) Step {
	s := Step{Number: n, Phase: phase, Partitions: moves}
	s.Estimate.FixedCost = FixedCost(phase, len(moves))
	for _, m := range moves {
		s.Estimate.BytesToCopy += m.Size * ByteSize(len(m.Adding()))
	}
	return s
}

// goodPlan moves both partitions 1:1 onto 11, 12, 13.
func goodPlan() *Plan {
	return &Plan{
		Version: 1, Kind: KindMigration, ClusterID: "c", Strategy: StrategyPhased, Throttle: 50 << 20,
		SourceBrokers: []int32{1, 2, 3}, TargetBrokers: []int32{11, 12, 13},
		Steps: []Step{
			step(1, PhaseRaiseRF,
				mv(0, []int32{1, 2, 3}, []int32{1, 2, 3, 11, 12, 13}),
				mv(1, []int32{2, 3, 1}, []int32{2, 3, 1, 12, 13, 11})),
			step(2, PhaseMoveLeader,
				mv(0, []int32{1, 2, 3, 11, 12, 13}, []int32{11, 12, 13, 1, 2, 3}),
				mv(1, []int32{2, 3, 1, 12, 13, 11}, []int32{12, 13, 11, 2, 3, 1})),
			step(3, PhaseLowerRF,
				mv(0, []int32{11, 12, 13, 1, 2, 3}, []int32{11, 12, 13}),
				mv(1, []int32{12, 13, 11, 2, 3, 1}, []int32{12, 13, 11})),
		},
	}
}

func fullOptions() CheckOptions {
	return CheckOptions{Limits: DefaultLimits, ReplicationFactor: &ReplicationFactor{}, Complete: true, RackSpread: true, Balance: BalanceByRack}
}

func TestCheckInvariantsAcceptsGoodPlan(t *testing.T) {
	if err := CheckInvariants(goodPlan(), invSnapshot(), fullOptions()); err != nil {
		t.Fatalf("good plan refused: %v", err)
	}
	if err := CheckInvariants(goodPlan(), nil, CheckOptions{}); err != nil {
		t.Fatalf("good plan refused without snapshot: %v", err)
	}
}

func TestCheckInvariantsFindsViolations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(p *Plan, s *Snapshot, o *CheckOptions)
		noSnap bool
		want   []string
	}{
		{"steps do not chain", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[1].Partitions[0].From = []int32{1, 2, 3, 11, 13, 12}
			p.Steps[1].Partitions[0].To = []int32{11, 13, 12, 1, 2, 3}
		}, true, []string{"step 2, partition t-0: from [1 2 3 11 13 12] is not [1 2 3 11 12 13], where the previous step leaves it"}},
		{"first from is not the snapshot", func(p *Plan, s *Snapshot, o *CheckOptions) {
			s.Topics[0].Partitions[0].Replicas = []int32{3, 2, 1}
		}, false, []string{"step 1, partition t-0: from [1 2 3] is not [3 2 1], the snapshot's replicas"}},
		{"partition not in the snapshot", func(p *Plan, s *Snapshot, o *CheckOptions) {
			s.Topics[0].Partitions = s.Topics[0].Partitions[:1]
		}, false, []string{"step 1, partition t-1: the partition is not in the snapshot"}},
		{"raise-rf puts a target first", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[0].Partitions[0].To = []int32{11, 1, 2, 3, 12, 13}
			p.Steps[1].Partitions[0].From = []int32{11, 1, 2, 3, 12, 13}
		}, true, []string{"step 1, partition t-0: raise-rf [1 2 3] -> [11 1 2 3 12 13] must keep the current replicas first"}},
		{"raise-rf adds a non-target", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.TargetBrokers = []int32{11, 12}
		}, true, []string{"step 1, partition t-0: raise-rf adds broker 13, which is not a target"}},
		{"move-leader changes the set", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[1].Partitions[0].To = []int32{11, 12, 13, 1, 2}
			p.Steps[2].Partitions[0].From = []int32{11, 12, 13, 1, 2}
		}, true, []string{"step 2, partition t-0: move-leader [1 2 3 11 12 13] -> [11 12 13 1 2] changes the replica set"}},
		{"move-leader leads with a source", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[1].Partitions[0].To = []int32{2, 11, 12, 13, 1, 3}
			p.Steps[2].Partitions[0].From = []int32{2, 11, 12, 13, 1, 3}
		}, true, []string{"step 2, partition t-0: move-leader [1 2 3 11 12 13] -> [2 11 12 13 1 3] does not lead with a target broker"}},
		{"lower-rf drops a target", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[2].Partitions[0].To = []int32{11, 12, 1, 2, 3}
		}, true, []string{"step 3, partition t-0: lower-rf drops broker 13, which is not a source", "partition t-0: ends on [11 12 1 2 3], which includes broker 1, not a target"}},
		{"below min.insync.replicas", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[2].Partitions[0].To = []int32{11}
			o.ReplicationFactor = nil
		}, false, []string{"step 3, partition t-0: to [11] has 1 replicas, below min.insync.replicas 2"}},
		{"wrong estimate", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[0].Estimate.BytesToCopy = 1
		}, true, []string{"step 1: estimate says 1 bytes to copy, the partitions add 6442450944"}},
		{"hand-edited fixed cost", func(p *Plan, s *Snapshot, o *CheckOptions) {
			p.Steps[1].Estimate.FixedCost = Duration(3 * time.Second)
			p.Steps[2].Estimate.FixedCost = Duration(time.Minute)
		}, true, []string{
			"step 2: estimate says a fixed cost of 3s, the model gives 2s for a move-leader step of 2 partition(s)",
			"step 3: estimate says a fixed cost of 1m0s, the model gives 1s for a lower-rf step of 2 partition(s)",
		}},
		{"limits", func(p *Plan, s *Snapshot, o *CheckOptions) {
			o.Limits = Limits{PartitionsPerStep: 1, BytesPerStep: 1 << 30, MovesIntoBroker: 1, MaxStepDuration: Duration(time.Hour)}
			p.Steps[0].Estimate.Duration = Duration(2 * time.Hour)
		}, false, []string{
			"step 1: 2 partitions, above the limit of 1 per step",
			"step 1: copies 6.0 GiB, above the limit of 1.0 GiB per step",
			"step 1: copies for an estimated 2h0m0s, above the limit of 1h0m0s per step",
			"step 1: adds 2 replicas to broker 11, above the limit of 1 per broker",
		}},
		{"final RF", func(p *Plan, s *Snapshot, o *CheckOptions) {
			o.ReplicationFactor = &ReplicationFactor{Default: 2}
		}, false, []string{"partition t-0: ends with 3 replicas [11 12 13], the target replication factor is 2"}},
		{"rack spread", func(p *Plan, s *Snapshot, o *CheckOptions) {
			s.Brokers = append(s.Brokers, Broker{ID: 14, Rack: "z1"})
			p.TargetBrokers = append(p.TargetBrokers, 14)
			p.Steps[0].Partitions[0].To = []int32{1, 2, 3, 11, 14, 13}
			p.Steps[1].Partitions[0] = mv(0, []int32{1, 2, 3, 11, 14, 13}, []int32{11, 14, 13, 1, 2, 3})
			p.Steps[2].Partitions[0] = mv(0, []int32{11, 14, 13, 1, 2, 3}, []int32{11, 14, 13})
			o.Balance = BalanceUnchecked
		}, false, []string{"partition t-0: ends on [11 14 13] in 2 racks; the targets it uses span 3 racks, so 3 are possible"}},
		{"incomplete", func(p *Plan, s *Snapshot, o *CheckOptions) {
			s.Topics = append(s.Topics, Topic{Name: "u", Partitions: []Partition{{Replicas: []int32{1}, Leader: 1, ISR: []int32{1}}}})
		}, false, []string{"partition u-0: the plan never moves it off source broker 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s, o := goodPlan(), invSnapshot(), fullOptions()
			tc.edit(p, s, &o)
			err := CheckInvariants(p, s, o)
			if err == nil {
				t.Fatal("no violation found")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if tc.noSnap {
				// Self-contained violations are found without a snapshot too.
				if err := CheckInvariants(p, nil, CheckOptions{}); err == nil || !strings.Contains(err.Error(), tc.want[0]) {
					t.Errorf("without snapshot: %v", err)
				}
			}
		})
	}
}

// CheckStandalone is what apply, rollback and cancel run on load: a raise-rf
// `to` hand-edited to [1001] (the case of issue 12) is named with every
// violation it causes, each on its own line.
func TestCheckStandaloneNamesEveryViolation(t *testing.T) {
	if err := CheckStandalone(goodPlan()); err != nil {
		t.Fatalf("good plan refused: %v", err)
	}
	p := goodPlan()
	p.Steps[0].Partitions[0].To = []int32{1001}
	err := CheckStandalone(p)
	want := []string{
		"step 1, partition t-0: raise-rf [1 2 3] -> [1001] must keep the current replicas first, in order, and only add",
		"step 1, partition t-0: raise-rf adds broker 1001, which is not a target",
		"step 2, partition t-0: from [1 2 3 11 12 13] is not [1001], where the previous step leaves it",
		"step 1: estimate says 6442450944 bytes to copy, the partitions add 4294967296",
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	if n := len(Problems(err)); n < len(want) {
		t.Errorf("%d problems, want each violation on its own (%d at least):\n%v", n, len(want), err)
	}
}

// A rate of 0, written or missing, copies unthrottled: it is a violation at
// the plan's level and at a step's, on the fast decoding path and the plain one.
func TestCheckStandaloneRefusesZeroThrottle(t *testing.T) {
	p := goodPlan()
	p.Steps[1].Throttle = 10 << 20
	good, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new string
		want           string
	}{
		{"plan throttle 0", "throttle: 52428800\n", "throttle: 0\n", "throttle: is 0 bytes/s (0 when missing)"},
		{"plan throttle missing", "throttle: 52428800\n", "", "throttle: is 0 bytes/s (0 when missing)"},
		{"plan throttle null", "throttle: 52428800\n", "throttle:\n", "throttle: is 0 bytes/s (0 when missing)"},
		{"step throttle 0", "    throttle: 10485760\n", "    throttle: 0\n", "step 2: throttle is 0, which would copy unthrottled"},
	} {
		for _, plain := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/plain %v", tc.name, plain), func(t *testing.T) {
				data := strings.Replace(string(good), tc.old, tc.new, 1)
				if plain {
					// A comment in the partition lines sends the file down the plain path.
					data = strings.Replace(data, "size: 1073741824}", "size: 1073741824} # edited", 1)
				}
				p, err := Decode[Plan]([]byte(data), "plan.yaml")
				if err != nil {
					t.Fatal(err)
				}
				if err := CheckStandalone(p); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("want %q, got: %v", tc.want, err)
				}
			})
		}
	}
	// A step without a rate of its own uses the plan's: no violation.
	p, err = Decode[Plan](good, "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckStandalone(p); err != nil {
		t.Errorf("steps without a rate of their own refused: %v", err)
	}
}

// With the mapping's rate, the plan's and each step's own are compared with
// it (plan validate --mapping).
func TestCheckInvariantsComparesRatesWithMapping(t *testing.T) {
	p := goodPlan()
	p.Steps[2].Throttle = 20 << 20
	err := CheckInvariants(p, nil, CheckOptions{Throttle: 10 << 20})
	for _, w := range []string{
		"throttle: 50 MiB/s (52428800 bytes/s) per broker, the mapping's throttle is 10 MiB/s (10485760 bytes/s)",
		"step 3: throttle 20 MiB/s (20971520 bytes/s) per broker, the mapping's throttle is 10 MiB/s (10485760 bytes/s)",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "step 1") {
		t.Errorf("step 1 has no rate of its own, yet: %v", err)
	}
	p.Throttle, p.Steps[2].Throttle = 10<<20, 10<<20
	if err := CheckInvariants(p, nil, CheckOptions{Throttle: 10 << 20}); err != nil {
		t.Errorf("rates equal to the mapping's refused: %v", err)
	}
}

func TestCheckInvariantsOversizedPartitionAlone(t *testing.T) {
	p := goodPlan()
	for i := range p.Steps {
		p.Steps[i] = step(i+1, p.Steps[i].Phase, p.Steps[i].Partitions[0])
	}
	o := CheckOptions{Limits: Limits{BytesPerStep: 1 << 20}}
	if err := CheckInvariants(p, invSnapshot(), o); err != nil {
		t.Errorf("a partition over bytes_per_step alone in its step is allowed: %v", err)
	}
}

func TestCheckInvariantsPartitionOverDurationSetsStepLength(t *testing.T) {
	// At 1 MiB/s (0.9 MiB/s reached) t-0's three 1 GiB copies from its
	// leader take 56m53s alone, above the 10m limit: its step may be that
	// long, with t-1 in it, but no longer.
	const limit = 10 * time.Minute
	o := CheckOptions{Limits: Limits{MaxStepDuration: Duration(limit)}}
	for _, tc := range []struct {
		estimate time.Duration
		want     string
	}{
		{56*time.Minute + 53*time.Second, ""},
		{time.Hour, "step 1: copies for an estimated 1h0m0s, longer than its largest partition alone (56m53s, above the limit of 10m0s per step)"},
	} {
		// The rate is the step's own, or the plan's when the step sets none.
		for _, stepRate := range []bool{true, false} {
			p := goodPlan()
			if stepRate {
				p.Steps[0].Throttle = 1 << 20
			} else {
				p.Throttle = 1 << 20
			}
			p.Steps[0].Estimate.Duration = Duration(tc.estimate)
			err := CheckInvariants(p, invSnapshot(), o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("estimate %s, step rate %v: refused: %v", tc.estimate, stepRate, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("estimate %s, step rate %v: got %v, want %q", tc.estimate, stepRate, err, tc.want)
			}
		}
	}
}

// TestCheckInvariantsStepLimitOnCopyTime: max_step_duration bounds what the
// brokers copy in a step, as the planner packs it; the fixed cost a step
// adds on top of its copy time does not count against it.
func TestCheckInvariantsStepLimitOnCopyTime(t *testing.T) {
	o := CheckOptions{Limits: Limits{MaxStepDuration: Duration(time.Hour)}}
	p := goodPlan()
	// At the limit, with the second the written estimate may be rounded by;
	// its 1 s fixed cost takes the step past it.
	p.Steps[0].Estimate.Duration = Duration(time.Hour + time.Second)
	if err := CheckInvariants(p, invSnapshot(), o); err != nil {
		t.Errorf("a step that copies for the limit was refused for its fixed cost: %v", err)
	}
}

// rollbackOf is the literal inverse of goodPlan, as plans.Rollback writes it.
func rollbackOf() *Plan {
	p := goodPlan()
	r := &Plan{Version: 1, Kind: KindRollback, ClusterID: "c", Strategy: p.Strategy, Throttle: p.Throttle, SourceBrokers: p.SourceBrokers, TargetBrokers: p.TargetBrokers}
	for i := len(p.Steps) - 1; i >= 0; i-- {
		f := p.Steps[i]
		var moves []Move
		for _, m := range f.Partitions {
			moves = append(moves, mv(m.Partition, m.To, m.From))
		}
		s := step(len(r.Steps)+1, f.Phase, moves...)
		s.Undoes = f.Number
		r.Steps = append(r.Steps, s)
	}
	return r
}

func TestCheckInvariantsRollback(t *testing.T) {
	if err := CheckInvariants(rollbackOf(), invSnapshot(), CheckOptions{}); err != nil {
		t.Fatalf("rollback refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(r *Plan)
		want string
	}{
		{"undoing lower-rf drops", func(r *Plan) {
			r.Steps[0].Partitions[0].To = []int32{11, 12}
			r.Steps[1].Partitions[0].From = []int32{11, 12}
		}, "step 1, partition t-0: undoing lower-rf [11 12 13] -> [11 12] must only add replicas back"},
		{"undoing move-leader changes the set", func(r *Plan) {
			r.Steps[1].Partitions[1].To = []int32{2, 3, 1, 12, 13}
		}, "step 2, partition t-1: undoing move-leader [12 13 11 2 3 1] -> [2 3 1 12 13] changes the replica set"},
		{"rollback ends elsewhere", func(r *Plan) {
			r.Steps[2].Partitions[0].To = []int32{1, 2, 3, 11}
		}, "partition t-0: the rollback ends at [1 2 3 11], not at the snapshot's [1 2 3]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rollbackOf()
			tc.edit(r)
			err := CheckInvariants(r, invSnapshot(), CheckOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want %q, got:\n%v", tc.want, err)
			}
		})
	}
}

func TestMeasureBalance(t *testing.T) {
	loads := []BrokerLoad{
		{Broker: 3, Rack: "a", Replicas: 10, Leaders: 3, Bytes: 100},
		{Broker: 1, Rack: "a", Replicas: 12, Leaders: 4, Bytes: 140},
		{Broker: 2, Rack: "b", Replicas: 30, Leaders: 10, Bytes: 300},
	}
	b := MeasureBalance(BalanceByRack, loads, 10)
	if b.Brokers[0].Broker != 1 || b.ReplicaDeviation != 1 || b.LeaderDeviation != 0.5 || b.BytesDeviation < 0.166 || b.BytesDeviation > 0.167 {
		t.Errorf("by rack: %+v", b)
	}
	if got := b.Problems(); len(got) != 2 || !strings.Contains(got[0], "broker 1: 140 B, 17% from its peers' mean 120 B") {
		t.Errorf("problems: %q", got)
	}
	if all := MeasureBalance(BalanceAllTargets, loads, 10); all.ReplicaDeviation < 12.6 || all.ReplicaDeviation > 12.7 {
		t.Errorf("all targets: %+v", all)
	}
	if MeasureBalance(BalanceUnchecked, loads, 0).Problems() != nil {
		t.Error("an unchecked balance has problems")
	}
	// Broker 4 holds 50 replicas from before and the plan put nothing on it:
	// it is excused, and the others are held to their own mean.
	held := []BrokerLoad{
		{Broker: 4, Replicas: 50, Leaders: 50, Bytes: 5000},
		{Broker: 5, Replicas: 10, Leaders: 5, Bytes: 1000, Placed: 10, PlacedLeaders: 5},
		{Broker: 6, Replicas: 11, Leaders: 6, Bytes: 1100, Placed: 11, PlacedLeaders: 6},
	}
	b = MeasureBalance(BalanceAllTargets, held, 100)
	if b.ReplicaDeviation != 0.5 || b.LeaderDeviation != 0.5 || len(b.Problems()) != 0 {
		t.Errorf("pre-existing load not excused: %+v %q", b, b.Problems())
	}
	held[0].Placed = 1
	if got := MeasureBalance(BalanceAllTargets, held, 100).Problems(); len(got) == 0 {
		t.Error("a broker the plan added to is excused")
	}
}

// TestPlanWithoutFixedCostsPasses: a plan written before kshift estimated
// fixed costs has none; it is still valid (only its estimate is shorter),
// so apply does not refuse plans already reviewed and merged.
func TestPlanWithoutFixedCostsPasses(t *testing.T) {
	p := goodPlan()
	for i := range p.Steps {
		p.Steps[i].Estimate.FixedCost = 0
	}
	if err := CheckInvariants(p, invSnapshot(), fullOptions()); err != nil {
		t.Errorf("plan without fixed costs: %v", err)
	}
}

// A plan lists a topic's partitions in any order, with gaps (a topic whose
// partitions 0 and 1 stay put), and ids far apart: the chain of every
// partition is still followed, each on its own.
func TestCheckStandaloneFollowsPartitionsInAnyOrder(t *testing.T) {
	ids := []int32{5, 1, 9000, 0, -1}
	var raise, lead, lower []Move
	for i, id := range ids {
		from := []int32{1, 2, 3}
		if i%2 == 1 {
			from = []int32{2, 3, 1}
		}
		to := append(slices.Clone(from), from[0]+10, from[1]+10, from[2]+10)
		led := append(slices.Clone(to[3:]), from...)
		raise = append(raise, mv(id, from, to))
		lead = append(lead, mv(id, to, led))
		lower = append(lower, mv(id, led, led[:3]))
	}
	p := goodPlan()
	p.Steps = []Step{step(1, PhaseRaiseRF, raise...), step(2, PhaseMoveLeader, lead...), step(3, PhaseLowerRF, lower...)}
	if err := CheckStandalone(p); err != nil {
		t.Fatalf("good plan with partitions out of order refused: %v", err)
	}
	// Each partition's second step expecting another partition's replicas
	// breaks its own chain, and only its own.
	for i, id := range ids {
		q := goodPlan()
		q.Steps = []Step{step(1, PhaseRaiseRF, slices.Clone(raise)...), step(2, PhaseMoveLeader, slices.Clone(lead)...), step(3, PhaseLowerRF, lower...)}
		other := lead[(i+1)%len(lead)]
		q.Steps[1].Partitions[i].From = other.From
		err := CheckStandalone(q)
		want := fmt.Sprintf("step 2, partition t-%d: from %v is not %v, where the previous step leaves it", id, other.From, raise[i].To)
		if slices.Equal(other.From, raise[i].To) {
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("partition %d: missing %q in:\n%v", id, want, err)
		}
	}
}

// TestFinalBalanceIsMeasuredNotEnforced: a plan that leaves a target short is
// no invariant violation (existing load can make the bounds unreachable; the
// planner warns), and FinalBalance, replaying the plan, finds the miss.
func TestFinalBalanceIsMeasuredNotEnforced(t *testing.T) {
	p, s, o := goodPlan(), invSnapshot(), fullOptions()
	for i := range s.Brokers {
		s.Brokers[i].Rack = ""
	}
	p.TargetBrokers = []int32{11, 12, 13, 14}
	s.Brokers = append(s.Brokers, Broker{ID: 14})
	if err := CheckInvariants(p, s, o); err != nil {
		t.Fatalf("balance reported as a violation: %v", err)
	}
	got := FinalBalance(p, s, BalanceByRack).Problems()
	if want := "broker 14: 0 replicas, 1.5 from its peers' mean 1.5 (at most 1)"; len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), want) {
		t.Errorf("FinalBalance problems %q, want %q", got, want)
	}
}

// TestFinalBalanceKeptReplicasAreNotPlaced: a replica the plan keeps where a
// partition caught mid-move already had it was not placed by the plan, so a
// broker holding only such replicas above its peers is excused.
func TestFinalBalanceKeptReplicasAreNotPlaced(t *testing.T) {
	s := &Snapshot{Brokers: []Broker{{ID: 1}, {ID: 11}, {ID: 12}}, Topics: []Topic{{Name: "t", Partitions: []Partition{
		{ID: 0, Replicas: []int32{1, 11}, Leader: 1, ISR: []int32{1, 11}, Size: 10},
		{ID: 1, Replicas: []int32{1, 11}, Leader: 1, ISR: []int32{1, 11}, Size: 10},
		{ID: 2, Replicas: []int32{1, 11}, Leader: 1, ISR: []int32{1, 11}, Size: 10},
		{ID: 3, Replicas: []int32{1, 11}, Leader: 1, ISR: []int32{1, 11}, Size: 10},
		{ID: 4, Replicas: []int32{1}, Leader: 1, ISR: []int32{1}, Size: 10},
	}}}}
	p := &Plan{Kind: KindMigration, SourceBrokers: []int32{1}, TargetBrokers: []int32{11, 12}}
	for id := int32(0); id < 4; id++ {
		p.Steps = append(p.Steps, Step{Number: int(id) + 1, Phase: PhaseLowerRF, Partitions: []Move{{Topic: "t", Partition: id, Size: 10, From: []int32{1, 11}, To: []int32{11}}}})
	}
	p.Steps = append(p.Steps, Step{Number: 5, Phase: PhaseRaiseRF, Partitions: []Move{{Topic: "t", Partition: 4, Size: 10, From: []int32{1}, To: []int32{1, 12}}}},
		Step{Number: 6, Phase: PhaseLowerRF, Partitions: []Move{{Topic: "t", Partition: 4, Size: 10, From: []int32{1, 12}, To: []int32{12}}}})
	b := FinalBalance(p, s, BalanceAllTargets)
	for _, l := range b.Brokers {
		if l.Broker == 11 && (l.Replicas != 4 || l.Placed != 0 || l.PlacedLeaders != 4) {
			t.Errorf("broker 11: %+v, want 4 replicas, 0 placed, 4 placed leaders", l)
		}
	}
	got := b.Problems()
	for _, g := range got {
		if !strings.Contains(g, "leaders") {
			t.Errorf("problem %q: only leaders (which the plan chose) should miss", g)
		}
	}
	if len(got) == 0 {
		t.Error("no leader problem found")
	}
}
