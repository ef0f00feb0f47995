package planner

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/plans"
)

// cluster builds a snapshot from "id:rack" brokers and topics given as
// partition replica lists (partition i is lists[i]); every partition is
// 1 GiB unless sizes says otherwise.
func cluster(brokers string, topics map[string][][]int32) *plans.Snapshot {
	s := &plans.Snapshot{Version: 1, ClusterID: "test-cluster", Controller: 1}
	for _, b := range strings.Fields(brokers) {
		var id int32
		var rack string
		if _, err := fmt.Sscanf(strings.Replace(b, ":", " ", 1), "%d %s", &id, &rack); err != nil {
			panic(err)
		}
		s.Brokers = append(s.Brokers, plans.Broker{ID: id, Rack: rack})
	}
	for _, name := range sortedStrings(setOfKeys(topics)) {
		t := plans.Topic{Name: name}
		for i, r := range topics[name] {
			t.Partitions = append(t.Partitions, plans.Partition{ID: int32(i), Replicas: r, Leader: r[0], ISR: r, Size: 1 << 30})
		}
		s.Topics = append(s.Topics, t)
	}
	return s
}

func mapping(sources, targets []int32, edit func(m *plans.Mapping)) *plans.Mapping {
	m := &plans.Mapping{
		Version: 1, SourceBrokers: sources, TargetBrokers: targets,
		Limits: plans.DefaultLimits, Throttle: plans.DefaultThrottle,
		InternalTopics: plans.InternalTopicsFirst, Strategy: plans.StrategyPhased,
	}
	if edit != nil {
		edit(m)
	}
	return m
}

// stepLines renders a plan's moves one per line: "phase topic-p from -> to".
func stepLines(p *plans.Plan) []string {
	var out []string
	for _, s := range p.Steps {
		for _, m := range s.Partitions {
			out = append(out, fmt.Sprintf("%d %s %s %v -> %v", s.Number, s.Phase, m.Name(), m.From, m.To))
		}
	}
	return out
}

func mustBuild(t *testing.T, snap *plans.Snapshot, m *plans.Mapping) *Result {
	t.Helper()
	res, err := Build(Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if err := plans.CheckInvariants(res.Plan, snap, plans.CheckOptionsFor(m)); err != nil {
		t.Fatalf("invariants: %v", err)
	}
	return res
}

const sixBrokers = "1:r1 2:r2 3:r3 11:z1 12:z2 13:z3"

func TestPlacementAndSteps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		brokers string
		topics  map[string][][]int32
		mapping *plans.Mapping
		want    []string
	}{{
		name:    "rack map, RF 3 kept",
		brokers: sixBrokers,
		topics:  map[string][][]int32{"orders": {{1, 2, 3}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.RackMap = map[string]string{"r1": "z1", "r2": "z2", "r3": "z3"}
		}),
		want: []string{
			"1 raise-rf orders-0 [1 2 3] -> [1 2 3 11 12 13]",
			"2 move-leader orders-0 [1 2 3 11 12 13] -> [11 12 13 1 2 3]",
			"3 lower-rf orders-0 [11 12 13 1 2 3] -> [11 12 13]",
		},
	}, {
		name:    "broker map keeps the order 1:1",
		brokers: sixBrokers,
		topics:  map[string][][]int32{"orders": {{2, 3, 1}, {3, 1, 2}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
		}),
		want: []string{
			"1 raise-rf orders-0 [2 3 1] -> [2 3 1 12 13 11]",
			"1 raise-rf orders-1 [3 1 2] -> [3 1 2 13 11 12]",
			"2 move-leader orders-0 [2 3 1 12 13 11] -> [12 13 11 2 3 1]",
			"2 move-leader orders-1 [3 1 2 13 11 12] -> [13 11 12 3 1 2]",
			"3 lower-rf orders-0 [12 13 11 2 3 1] -> [12 13 11]",
			"3 lower-rf orders-1 [13 11 12 3 1 2] -> [13 11 12]",
		},
	}, {
		name:    "RF 3 on three racks to RF 2 on two zones",
		brokers: "1:r1 2:r2 3:r3 11:z1 12:z2 13:z1 14:z2",
		topics:  map[string][][]int32{"orders": {{1, 2, 3}, {2, 3, 1}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13, 14}, func(m *plans.Mapping) {
			m.RackMap = map[string]string{"r1": "z1", "r2": "z2", "r3": "z1"}
			m.ReplicationFactor.Default = 2
		}),
		want: []string{
			"1 raise-rf orders-0 [1 2 3] -> [1 2 3 11 12]",
			"1 raise-rf orders-1 [2 3 1] -> [2 3 1 14 13]",
			"2 move-leader orders-0 [1 2 3 11 12] -> [11 12 1 2 3]",
			"2 move-leader orders-1 [2 3 1 14 13] -> [14 13 2 3 1]",
			"3 lower-rf orders-0 [11 12 1 2 3] -> [11 12]",
			"3 lower-rf orders-1 [14 13 2 3 1] -> [14 13]",
		},
	}, {
		name:    "partially moved partition keeps its target replica and lead",
		brokers: sixBrokers,
		topics:  map[string][][]int32{"orders": {{12, 1, 3}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
			m.ReplicationFactor.Default = 3
		}),
		want: []string{
			"1 raise-rf orders-0 [12 1 3] -> [12 1 3 11 13]",
			"2 lower-rf orders-0 [12 1 3 11 13] -> [12 11 13]",
		},
	}, {
		name:    "partitions already on targets get no moves",
		brokers: sixBrokers,
		topics:  map[string][][]int32{"done": {{11, 12, 13}}, "orders": {{1, 2, 3}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, nil),
		want: []string{
			// 11 already leads "done", so 12 leads.
			"1 raise-rf orders-0 [1 2 3] -> [1 2 3 12 11 13]",
			"2 move-leader orders-0 [1 2 3 12 11 13] -> [12 11 13 1 2 3]",
			"3 lower-rf orders-0 [12 11 13 1 2 3] -> [12 11 13]",
		},
	}, {
		name:    "raising RF adds a replica in a new rack",
		brokers: "1:r1 2:r2 11:z1 12:z2 13:z3",
		topics:  map[string][][]int32{"orders": {{1, 2}}},
		mapping: mapping([]int32{1, 2}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.ReplicationFactor.Default = 3
		}),
		want: []string{
			"1 raise-rf orders-0 [1 2] -> [1 2 11 12 13]",
			"2 move-leader orders-0 [1 2 11 12 13] -> [11 12 13 1 2]",
			"3 lower-rf orders-0 [11 12 13 1 2] -> [11 12 13]",
		},
	}, {
		name:    "rolling: each batch runs all its phases",
		brokers: sixBrokers,
		topics:  map[string][][]int32{"a": {{1, 2, 3}, {2, 3, 1}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
			m.Strategy = plans.StrategyRolling
			m.Limits.PartitionsPerStep = 1
		}),
		want: []string{
			"1 raise-rf a-0 [1 2 3] -> [1 2 3 11 12 13]",
			"2 move-leader a-0 [1 2 3 11 12 13] -> [11 12 13 1 2 3]",
			"3 lower-rf a-0 [11 12 13 1 2 3] -> [11 12 13]",
			"4 raise-rf a-1 [2 3 1] -> [2 3 1 12 13 11]",
			"5 move-leader a-1 [2 3 1 12 13 11] -> [12 13 11 2 3 1]",
			"6 lower-rf a-1 [12 13 11 2 3 1] -> [12 13 11]",
		},
	}, {
		name:    "drain: one source broker at a time",
		brokers: "1:r1 2:r1 3:r1 11:z1 12:z1 13:z1",
		topics:  map[string][][]int32{"a": {{2}, {3}, {1}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
			m.Strategy = plans.StrategyDrain
		}),
		want: []string{
			"1 raise-rf a-2 [1] -> [1 11]",
			"2 move-leader a-2 [1 11] -> [11 1]",
			"3 lower-rf a-2 [11 1] -> [11]",
			"4 raise-rf a-0 [2] -> [2 12]",
			"5 move-leader a-0 [2 12] -> [12 2]",
			"6 lower-rf a-0 [12 2] -> [12]",
			"7 raise-rf a-1 [3] -> [3 13]",
			"8 move-leader a-1 [3 13] -> [13 3]",
			"9 lower-rf a-1 [13 3] -> [13]",
		},
	}, {
		name:    "excluded topics stay where they are",
		brokers: sixBrokers,
		topics:  map[string][][]int32{"keep": {{1, 2, 3}}, "orders": {{1, 2, 3}}},
		mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
			m.Exclude = []string{"keep"}
		}),
		want: []string{
			"1 raise-rf orders-0 [1 2 3] -> [1 2 3 11 12 13]",
			"2 move-leader orders-0 [1 2 3 11 12 13] -> [11 12 13 1 2 3]",
			"3 lower-rf orders-0 [11 12 13 1 2 3] -> [11 12 13]",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			snap := cluster(tc.brokers, tc.topics)
			res := mustBuild(t, snap, tc.mapping)
			if got := stepLines(res.Plan); !slices.Equal(got, tc.want) {
				t.Errorf("moves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestStepSizing(t *testing.T) {
	// Leaders rotate over the sources, so no source sends more than its share.
	lists := [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 2, 3}}
	snap := cluster(sixBrokers, map[string][][]int32{"t": lists})
	snap.Topics[0].Partitions[6].Size = 10 << 30 // larger than bytes_per_step
	m := mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
		m.Limits = plans.Limits{PartitionsPerStep: 5, BytesPerStep: 7 << 30, MovesIntoBroker: 2, MaxStepDuration: plans.Duration(time.Hour)}
	})
	res := mustBuild(t, snap, m)
	var raise []int
	for _, s := range res.Plan.Steps {
		if s.Phase == plans.PhaseRaiseRF {
			raise = append(raise, len(s.Partitions))
		}
	}
	// Two partitions per step (moves_into_broker 2), each copying 3 GiB;
	// the 30 GiB partition alone last (smaller first).
	if want := []int{2, 2, 2, 1}; !slices.Equal(raise, want) {
		t.Errorf("raise-rf steps hold %v partitions, want %v", raise, want)
	}
	last := res.Plan.Steps[3]
	if last.Partitions[0].Partition != 6 || last.Estimate.BytesToCopy != 30<<30 {
		t.Errorf("last raise-rf step: %+v", last)
	}
	if !hasWarning(res, WarnPartitionOverStepLimit, "t-6") {
		t.Errorf("no over-limit warning for t-6: %v", res.Warnings)
	}
	var leader []int
	for _, s := range res.Plan.Steps {
		if s.Phase == plans.PhaseMoveLeader {
			leader = append(leader, len(s.Partitions))
		}
	}
	if want := []int{5, 2}; !slices.Equal(leader, want) {
		t.Errorf("move-leader steps hold %v partitions, want %v", leader, want)
	}
}

// TestStepsTimeAligned: steps run one after another and last as long as
// their busiest broker, so two partitions led by broker 1 go in different
// steps, each beside a partition of another leader: the plan takes broker
// 1's total (6 GiB sent), not 9 GiB as with t-0 and t-1 together.
func TestStepsTimeAligned(t *testing.T) {
	snap := cluster(sixBrokers, map[string][][]int32{"t": {{1, 2, 3}, {1, 3, 2}, {2, 3, 1}, {3, 1, 2}}})
	m := mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
		m.Limits.PartitionsPerStep = 2
	})
	res := mustBuild(t, snap, m)
	got := raiseRFStepNames(res.Plan)
	var total plans.Duration
	for _, s := range res.Plan.Steps {
		if s.Phase == plans.PhaseRaiseRF {
			total += s.Estimate.Duration
		}
	}
	if want := []string{"t-0,t-2", "t-1,t-3"}; !slices.Equal(got, want) {
		t.Errorf("raise-rf steps %q, want %q", got, want)
	}
	// Each step's busiest broker (1) sends 3 GiB; step times are whole seconds.
	if want := 2 * plans.CopyTime(m.Throttle, 3<<30); total != want {
		t.Errorf("raise-rf steps take %s, want %s (broker 1 sending 3 GiB in each)", total, want)
	}
}

// TestStepDurationLimit: max_step_duration caps the bytes through each
// broker per step; a partition that alone takes longer gets its own step
// and a warning.
func TestStepDurationLimit(t *testing.T) {
	snap := cluster(sixBrokers, map[string][][]int32{"t": {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 2, 3}, {1, 3, 2}}})
	snap.Topics[0].Partitions[3].Size = 4 << 30
	m := mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
		m.Throttle = 10 << 20
		// 3 GiB at 9 MiB/s (0.9 x the throttle): one 1 GiB partition's
		// three copies from each leader.
		m.Limits.MaxStepDuration = plans.Duration(plans.Rate(9<<20).TimeFor(3<<30) + time.Second)
	})
	res := mustBuild(t, snap, m)
	got := raiseRFStepNames(res.Plan)
	// The 4 GiB t-3 (12 GiB sent by broker 1) alone outlasts the limit: its
	// step is that long, and t-1 (led by broker 2, 1 GiB into each target)
	// ends within it, so it comes along instead of waiting for a step of
	// its own. Broker 1 also leads t-0 and t-4: with t-3 it would send
	// 15 GiB, and together 6 GiB, above the limit, so they go in two steps,
	// t-4 with t-2 (led by broker 3). Smaller steps first; broker 1 sends
	// 18 GiB in all, as it must.
	if want := []string{"t-0", "t-2,t-4", "t-3,t-1"}; !slices.Equal(got, want) {
		t.Errorf("raise-rf steps %q, want %q", got, want)
	}
	if !hasWarning(res, WarnPartitionOverStepLimit, "t-3") {
		t.Errorf("no over-limit warning for t-3: %v", res.Warnings)
	}
}

func TestPartitionsOverDurationShareAStep(t *testing.T) {
	snap := cluster(sixBrokers, map[string][][]int32{"big": {{1, 2, 3}, {2, 3, 1}}})
	snap.Topics[0].Partitions[0].Size = 4 << 30
	snap.Topics[0].Partitions[1].Size = 3 << 30
	m := mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
		m.Throttle = 10 << 20
		m.Limits.MaxStepDuration = plans.Duration(plans.Rate(9 << 20).TimeFor(3 << 30))
	})
	res := mustBuild(t, snap, m)
	// Both outlast the limit alone (broker 1 sends 12 GiB, broker 2 9 GiB).
	// big-0 sets the step's length; big-1 ends within it, so the two run
	// side by side rather than one after the other.
	var raise []plans.Step
	for _, s := range res.Plan.Steps {
		if s.Phase == plans.PhaseRaiseRF {
			raise = append(raise, s)
		}
	}
	if len(raise) != 1 || len(raise[0].Partitions) != 2 {
		t.Fatalf("raise-rf steps %v, want one step with both partitions", raise)
	}
	if e := raise[0].Estimate; e.BusiestBroker != 1 || e.BusiestBrokerBytes != 12<<30 {
		t.Errorf("estimate %+v, want broker 1 sending 12 GiB", e)
	}
	for _, name := range []string{"big-0", "big-1"} {
		if !hasWarning(res, WarnPartitionOverStepLimit, name) {
			t.Errorf("no over-limit warning for %s: %v", name, res.Warnings)
		}
	}
}

func TestEstimate(t *testing.T) {
	snap := cluster(sixBrokers, map[string][][]int32{"t": {{1, 2, 3}, {2, 3, 1}}})
	snap.Topics[0].Partitions[1].Leader = 3 // not the preferred replica
	m := mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
		m.Throttle = 100 << 20
	})
	res := mustBuild(t, snap, m)
	e := res.Plan.Steps[0].Estimate
	// Each partition copies 1 GiB into three targets; leaders 1 and 3 send 3 GiB each.
	if e.BytesToCopy != 6<<30 || e.BusiestBroker != 1 || e.BusiestBrokerBytes != 3<<30 {
		t.Errorf("estimate %+v", e)
	}
	wantSeconds := float64(3<<30) / (100 << 20 * plans.ThrottleEfficiency)
	if got := e.Duration; got.String() != plans.Duration(wantSeconds*1e9).String() {
		t.Errorf("duration %s, want %.0fs", got, wantSeconds)
	}
	if res.Plan.Totals.BytesToCopy != 6<<30 || res.Plan.Totals.Partitions != 2 || res.Plan.Totals.Steps != 4 {
		t.Errorf("totals %+v", res.Plan.Totals)
	}
	// Besides its copy time each step carries its fixed cost: 1 s a step,
	// and for move-leader 0.5 s for its one election batch (2 s written).
	for i, want := range []time.Duration{time.Second, 2 * time.Second, time.Second} {
		if got := time.Duration(res.Plan.Steps[i].Estimate.FixedCost); got != want {
			t.Errorf("step %d (%s): fixed cost %s, want %s", i+1, res.Plan.Steps[i].Phase, got, want)
		}
	}
	if tot := res.Plan.Totals; tot.Duration != e.Duration || time.Duration(tot.FixedCost) != 4*time.Second || tot.TotalDuration != e.Duration+tot.FixedCost {
		t.Errorf("totals: copy %s, fixed %s, in all %s; want copy %s, fixed 4s and their sum", tot.Duration, tot.FixedCost, tot.TotalDuration, e.Duration)
	}
	if !hasWarning(res, WarnLeaderNotPreferred, "t-1") {
		t.Errorf("no leader-not-preferred warning: %v", res.Warnings)
	}
}

func TestOrdering(t *testing.T) {
	snap := cluster(sixBrokers, map[string][][]int32{
		"__consumer_offsets": {{1, 2, 3}}, "big": {{1, 2, 3}}, "small": {{1, 2, 3}}, "canary": {{1, 2, 3}},
	})
	for i := range snap.Topics {
		snap.Topics[i].Partitions[0].Size = plans.ByteSize(map[string]int{"__consumer_offsets": 50, "big": 1000, "small": 10, "canary": 5000}[snap.Topics[i].Name])
	}
	for _, tc := range []struct {
		internal plans.InternalTopicsOrder
		want     []string
	}{
		{plans.InternalTopicsFirst, []string{"canary", "__consumer_offsets", "small", "big"}},
		{plans.InternalTopicsLast, []string{"canary", "small", "big", "__consumer_offsets"}},
		{plans.InternalTopicsWithOthers, []string{"canary", "small", "__consumer_offsets", "big"}},
	} {
		m := mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
			m.Canaries = []string{"canary"}
			m.InternalTopics = tc.internal
			m.Limits.PartitionsPerStep = 1
		})
		res := mustBuild(t, snap, m)
		var got []string
		for _, s := range res.Plan.Steps {
			if s.Phase == plans.PhaseRaiseRF {
				got = append(got, s.Partitions[0].Topic)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("internal_topics %s: raise-rf order %v, want %v", tc.internal, got, tc.want)
		}
	}
}

// raiseRFStepNames lists p's raise-rf steps, each as its partitions'
// names joined by commas.
func raiseRFStepNames(p *plans.Plan) []string {
	var steps []string
	for _, s := range p.Steps {
		if s.Phase == plans.PhaseRaiseRF {
			var names []string
			for _, mv := range s.Partitions {
				names = append(names, mv.Name())
			}
			steps = append(steps, strings.Join(names, ","))
		}
	}
	return steps
}

func hasWarning(res *Result, kind WarningKind, text string) bool {
	for _, w := range res.Warnings {
		if w.Kind == kind && strings.Contains(w.Subject+" "+w.Message, text) {
			return true
		}
	}
	return false
}

func TestWarnings(t *testing.T) {
	snap := cluster("1:r1 2:r2 11:z1 12:z1", map[string][][]int32{"t": {{1, 2}}})
	snap.Topics[0].Configs = map[string]string{plans.MinInsyncReplicasKey: "2"}
	snap.Broker(11).DiskCapacity = 1 << 20
	m := mapping([]int32{1, 2}, []int32{11, 12}, func(m *plans.Mapping) {
		m.Canaries = []string{"gone"}
		m.Exclude = []string{"also-gone"}
	})
	res, err := Build(Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		kind WarningKind
		text string
	}{
		{WarnRFAtMinISR, "t (RF 2): target replication factor equals"},
		{WarnFewerRacksThanRF, "t (RF 2): replication factor above the 1 target racks"},
		{WarnOverCapacity, "broker 11"},
		{WarnUnknownTopic, "gone"},
		{WarnUnknownTopic, "also-gone"},
	} {
		if !hasWarning(res, want.kind, want.text) {
			t.Errorf("no %s warning about %q in %v", want.kind, want.text, res.Warnings)
		}
	}
	for _, w := range res.Warnings {
		if !slices.Contains(AllWarningKinds, w.Kind) {
			t.Errorf("warning kind %q is not in AllWarningKinds", w.Kind)
		}
	}
}

// TestWarningRF1: at RF 1 the warning says a broker down takes the
// partition offline, not only that acks=all producers stop.
func TestWarningRF1(t *testing.T) {
	snap := cluster("1:r1 2:r2 11:z1 12:z2", map[string][][]int32{"t": {{1}}, "u": {{1, 2}}})
	m := mapping([]int32{1, 2}, []int32{11, 12}, func(m *plans.Mapping) { m.ReplicationFactor.Topics = map[string]int{"u": 1} })
	res, err := Build(Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(res, WarnRFAtMinISR, "t, u: target replication factor 1, so one broker down takes each of their partitions offline") {
		t.Errorf("no RF-1 warning in %v", res.Warnings)
	}
	if hasWarning(res, WarnRFAtMinISR, "acks=all") {
		t.Errorf("an RF-1 topic warned about acks=all only: %v", res.Warnings)
	}
}

func TestRefusals(t *testing.T) {
	base := func() (*plans.Snapshot, *plans.Mapping) {
		return cluster(sixBrokers+" 7:r1", map[string][][]int32{"t": {{1, 2, 3}}}),
			mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, nil)
	}
	for _, tc := range []struct {
		name string
		edit func(s *plans.Snapshot, m *plans.Mapping)
		want []string
	}{
		{"unknown source broker", func(s *plans.Snapshot, m *plans.Mapping) { m.SourceBrokers = []int32{1, 2, 3, 99} },
			[]string{"mapping: source_brokers: broker 99 is not in the snapshot"}},
		{"unknown target broker", func(s *plans.Snapshot, m *plans.Mapping) { m.TargetBrokers = []int32{11, 12, 13, 98} },
			[]string{"mapping: target_brokers: broker 98 is not in the snapshot"}},
		{"broker both source and target", func(s *plans.Snapshot, m *plans.Mapping) { m.TargetBrokers = []int32{11, 12, 13, 3} },
			[]string{"broker 3 is both a source and a target"}},
		{"replica on a broker that is neither", func(s *plans.Snapshot, m *plans.Mapping) {
			s.Topics[0].Partitions = append(s.Topics[0].Partitions, plans.Partition{ID: 1, Replicas: []int32{7, 1, 2}, Leader: 7, ISR: []int32{7, 1, 2}})
		}, []string{"snapshot: broker 7: holds replicas of t-1 but is neither a source nor a target"}},
		{"RF below min.insync.replicas", func(s *plans.Snapshot, m *plans.Mapping) {
			s.Topics[0].Configs = map[string]string{plans.MinInsyncReplicasKey: "2"}
			m.ReplicationFactor.Topics = map[string]int{"t": 1}
		}, []string{"mapping: topic t: target replication factor 1 is below min.insync.replicas 2"}},
		{"RF above target brokers", func(s *plans.Snapshot, m *plans.Mapping) { m.TargetBrokers = []int32{11, 12} },
			[]string{"mapping: topic t: target replication factor 3 is more than the 2 target brokers"}},
		{"RF above target brokers in mapped racks", func(s *plans.Snapshot, m *plans.Mapping) {
			m.RackMap = map[string]string{"r1": "z1", "r2": "z2", "r3": "z1"}
		}, []string{"mapping: topic t: target replication factor 3 is more than the 2 target brokers in the racks rack_map maps onto"}},
		{"rack map misses a source rack", func(s *plans.Snapshot, m *plans.Mapping) {
			m.RackMap = map[string]string{"r1": "z1", "r2": "z2"}
		}, []string{`mapping: rack_map: source rack "r3" (brokers [3]) has no entry`}},
		{"rack map names unknown racks", func(s *plans.Snapshot, m *plans.Mapping) {
			m.RackMap = map[string]string{"r1": "z1", "r2": "z2", "r3": "z3", "r9": "z9"}
		}, []string{`rack_map[r9]: no source broker is in rack "r9"`, `rack_map[r9]: no target broker is in rack "z9"`}},
		{"rack map without source racks", func(s *plans.Snapshot, m *plans.Mapping) {
			s.Brokers[0].Rack = ""
			m.RackMap = map[string]string{"r2": "z2", "r3": "z3"}
		}, []string{"mapping: rack_map: source brokers [1] have no rack, so rack_map cannot place their replicas"}},
		{"invalid snapshot and mapping together", func(s *plans.Snapshot, m *plans.Mapping) {
			s.ClusterID = ""
			m.Limits.PartitionsPerStep = 0
		}, []string{"snapshot: cluster_id is empty", "mapping: limits.partitions_per_step: must be at least 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, m := base()
			tc.edit(snap, m)
			res, err := Build(Input{Snapshot: snap, Mapping: m})
			if err == nil {
				t.Fatalf("no error; plan has %d steps", len(res.Plan.Steps))
			}
			if !errors.Is(err, plans.ErrBadInput) {
				t.Errorf("error does not wrap ErrBadInput: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := Build(Input{}); !errors.Is(err, plans.ErrBadInput) {
		t.Errorf("empty input: %v", err)
	}
}

// TestPreexistingLoadOnTargets: an excluded topic crowding one target is
// balanced around, and that target's excess is excused, not refused.
func TestPreexistingLoadOnTargets(t *testing.T) {
	topics := map[string][][]int32{"stays": {}, "moves": {}}
	for range 12 {
		topics["stays"] = append(topics["stays"], []int32{11})
	}
	for range 6 {
		topics["moves"] = append(topics["moves"], []int32{1})
	}
	snap := cluster("1:r1 11:z1 12:z1 13:z1", topics)
	m := mapping([]int32{1}, []int32{11, 12, 13}, func(m *plans.Mapping) { m.Exclude = []string{"stays"} })
	res := mustBuild(t, snap, m)
	for _, l := range res.Balance.Brokers {
		want := map[int32]int{11: 12, 12: 3, 13: 3}[l.Broker]
		if l.Replicas != want {
			t.Errorf("broker %d holds %d replicas, want %d", l.Broker, l.Replicas, want)
		}
	}
	if res.Balance.ReplicaDeviation != 0 {
		t.Errorf("replica deviation %.1f, want 0 once broker 11's old load is excused", res.Balance.ReplicaDeviation)
	}
}

func TestMoreWarnings(t *testing.T) {
	snap := cluster("1:r1 2:r2 11:z1 12:z2 13:z3", map[string][][]int32{"t": {{1, 2}, {2, 1}}, "done": {{11, 12}}})
	snap.Topics[1].Partitions[0].ISR = []int32{1} // t-0 under-replicated
	m := mapping([]int32{1, 2}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 11}
		m.ReplicationFactor.Topics = map[string]int{"done": 1}
	})
	res, err := Build(Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		kind WarningKind
		text string
	}{
		{WarnUnderReplicated, "t-0"},
		{WarnAlreadyOnTargets, "done"},
		{WarnBrokerMapCollision, "t-0"},
	} {
		if !hasWarning(res, want.kind, want.text) {
			t.Errorf("no %s warning about %q in %v", want.kind, want.text, res.Warnings)
		}
	}

	racks := cluster("1:r1 2:r2 11:z1 12:z2 13:z1", map[string][][]int32{"t": {{1, 2}}})
	m = mapping([]int32{1, 2}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 13}
	})
	if res := mustBuild(t, racks, m); !hasWarning(res, WarnRackSpread, "t-0") {
		t.Errorf("no rack-spread warning: %v", res.Warnings)
	}
	m = mapping([]int32{1, 2}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.RackMap = map[string]string{"r1": "z1", "r2": "z1"}
	})
	if res := mustBuild(t, racks, m); !hasWarning(res, WarnUnusedTarget, "broker 12") {
		t.Errorf("no unused-target warning: %v", res.Warnings)
	}
}

// TestReplanMidMigration: a snapshot taken after some steps ran plans again
// cleanly: partitions already raised keep their copied replicas (nothing is
// copied twice) and finish with move-leader and lower-rf.
func TestReplanMidMigration(t *testing.T) {
	for _, strategy := range plans.AllStrategies {
		snap, m, _ := randomCase(11)
		m.Strategy = strategy
		first := mustBuild(t, snap, m)
		// Apply the plan's first two steps to the snapshot.
		after := copySnapshot(snap)
		for i := range after.Topics {
			after.Topics[i].Partitions = append([]plans.Partition(nil), after.Topics[i].Partitions...)
		}
		applied := map[string][]int32{}
		for _, s := range first.Plan.Steps[:2] {
			for _, mv := range s.Partitions {
				applied[mv.Name()] = mv.To
			}
		}
		for i := range after.Topics {
			tp := &after.Topics[i]
			for j := range tp.Partitions {
				p := &tp.Partitions[j]
				if to, ok := applied[fmt.Sprintf("%s-%d", tp.Name, p.ID)]; ok {
					p.Replicas, p.ISR, p.Leader = to, to, to[0]
				}
			}
		}
		if len(applied) == 0 {
			t.Fatalf("%s: the first two steps move nothing", strategy)
		}
		second := mustBuild(t, after, m)
		for _, s := range second.Plan.Steps {
			for _, mv := range s.Partitions {
				if _, ok := applied[mv.Name()]; ok && len(mv.Adding()) > 0 {
					t.Errorf("%s: step %d copies %s again: %v -> %v", strategy, s.Number, mv.Name(), mv.From, mv.To)
				}
			}
		}
	}
}

func TestRefuseUnkeepableTargetReplicas(t *testing.T) {
	snap := cluster("1:r1 2:r2 11:z1 12:z1 13:z2", map[string][][]int32{"t": {{1, 2}, {11, 12, 1}}})
	_, err := Build(Input{Snapshot: snap, Mapping: mapping([]int32{1, 2}, []int32{11, 12, 13}, nil)})
	want := "snapshot: partition t-1: replicas [11 12 1] are partly on target brokers [11 12], two in one rack while another rack is free"
	if !errors.Is(err, plans.ErrBadInput) || err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("want %q, got %v", want, err)
	}
	snap = cluster("1:r1 2:r2 11:z1 12:z2 13:z3", map[string][][]int32{"t": {{1, 2}, {11, 12, 13, 1}}})
	_, err = Build(Input{Snapshot: snap, Mapping: mapping([]int32{1, 2}, []int32{11, 12, 13}, func(m *plans.Mapping) { m.ReplicationFactor.Default = 2 })})
	want = "more than the target replication factor 2"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("want %q, got %v", want, err)
	}
}

// TestTotalsAreTheSumOfTheWrittenSteps: the plan header's durations equal
// the sums of the durations its steps show once written (each rounded to
// whole seconds), forward and rollback.
func TestTotalsAreTheSumOfTheWrittenSteps(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		snap, m, desc := randomCase(seed)
		res, err := Build(Input{Snapshot: snap, Mapping: m})
		if err != nil {
			continue
		}
		for _, p := range []*plans.Plan{res.Plan, plans.Rollback(res.Plan)} {
			back, err := plans.Decode[plans.Plan](marshal(t, p), "plan")
			if err != nil {
				t.Fatal(err)
			}
			var copyTime, fixed plans.Duration
			for _, s := range back.Steps {
				copyTime += s.Estimate.Duration
				fixed += s.Estimate.FixedCost
			}
			if back.Totals.Duration != copyTime || back.Totals.FixedCost != fixed || back.Totals.TotalDuration != copyTime+fixed {
				t.Errorf("%s: %s header says %s + %s = %s, its steps add up to %s + %s", desc, p.Kind, back.Totals.Duration, back.Totals.FixedCost, back.Totals.TotalDuration, copyTime, fixed)
			}
		}
	}
}

// TestRefusalsAreSummarised: a problem repeated on every topic is listed for
// the first few topics and counted for the rest, not printed once per topic.
func TestRefusalsAreSummarised(t *testing.T) {
	topics := map[string][][]int32{}
	for i := range 30 {
		topics[fmt.Sprintf("t%02d", i)] = [][]int32{{1, 2}}
	}
	snap := cluster("1:r1 2:r2 11:z1 12:z2", topics)
	for i := range snap.Topics {
		snap.Topics[i].Configs = map[string]string{plans.MinInsyncReplicasKey: "3"}
	}
	_, err := Build(Input{Snapshot: snap, Mapping: mapping([]int32{1, 2}, []int32{11, 12}, nil)})
	problems := plans.Problems(err)
	if len(problems) != refusalsPerKind+1 {
		t.Fatalf("%d problems, want %d listed and one count:\n%v", len(problems), refusalsPerKind, err)
	}
	if got, want := problems[refusalsPerKind].Error(), "and 20 more problems like the 10 above (30 in all)"; !strings.Contains(got, want) {
		t.Errorf("last problem %q, want %q", got, want)
	}
	if !errors.Is(err, plans.ErrBadInput) {
		t.Errorf("summarised refusal is not bad input: %v", err)
	}
}

// TestPartitionsOverEvenBudgetShareAStepPastTheirShares: a receiver's share
// of a step (its bytes left in proportion) must not split partitions that
// each stretch any step they are in. Broker 1 sends 15 GiB in all, so a step
// as long as big-0 (12 GiB) gives each target a share of 12/15 of its 8 GiB
// left, 6.4 GiB: big-0 and big-1 together bring 7 GiB into each. Held to
// that share, big-1 went to a second step, 9 GiB long (21 GiB in all); it
// ends within big-0's step, so it shares it (15 GiB in all: broker 1's
// total). Seed 2 of BenchmarkRaiseRFReplay10k in ./kafkasim, where targets
// balanced by bytes hold little besides two such partitions, took 1.71 x
// the ideal that way.
func TestPartitionsOverEvenBudgetShareAStepPastTheirShares(t *testing.T) {
	snap := cluster(sixBrokers, map[string][][]int32{"big": {{1, 2, 3}, {2, 3, 1}, {1, 3, 2}}})
	snap.Topics[0].Partitions[0].Size = 4 << 30
	snap.Topics[0].Partitions[1].Size = 3 << 30
	m := mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, func(m *plans.Mapping) {
		m.BrokerMap = map[int32]int32{1: 11, 2: 12, 3: 13}
		m.Throttle = 10 << 20
		m.Limits.MaxStepDuration = plans.Duration(plans.Rate(9 << 20).TimeFor(3 << 30))
	})
	res := mustBuild(t, snap, m)
	got := raiseRFStepNames(res.Plan)
	if want := []string{"big-2", "big-0,big-1"}; !slices.Equal(got, want) {
		t.Errorf("raise-rf steps %q, want %q", got, want)
	}
}
