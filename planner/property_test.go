package planner

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/plans"
)

// randomCase draws a small synthetic cluster and a mapping that varies
// everything the planner branches on.
func randomCase(seed uint64) (*plans.Snapshot, *plans.Mapping, string) {
	rng := rand.New(rand.NewPCG(seed, 99))
	opts := synth.Options{
		SourceBrokers: 3 + rng.IntN(7),
		TargetBrokers: 3 + rng.IntN(7),
		Racks:         1 + rng.IntN(3),
		TargetRacks:   1 + rng.IntN(3),
		Topics:        3 + rng.IntN(30),
		Seed:          seed,
	}
	opts.Partitions = opts.Topics + rng.IntN(300)
	snap, m := synth.Generate(opts)
	mode := []string{"rack_map", "broker_map", "none"}[rng.IntN(3)]
	switch mode {
	case "broker_map":
		m.RackMap = nil
		m.BrokerMap = map[int32]int32{}
		for i, src := range m.SourceBrokers {
			m.BrokerMap[src] = m.TargetBrokers[i%len(m.TargetBrokers)]
		}
	case "none":
		m.RackMap = nil
	}
	if rng.IntN(6) == 0 {
		// A cluster whose brokers report no racks.
		for i := range snap.Brokers {
			snap.Brokers[i].Rack = ""
		}
		if mode == "rack_map" {
			mode, m.RackMap = "none", nil
		}
	}
	m.Strategy = plans.AllStrategies[rng.IntN(len(plans.AllStrategies))]
	m.InternalTopics = plans.AllInternalTopicsOrders[rng.IntN(len(plans.AllInternalTopicsOrders))]
	// RF 2 or 3 where the targets allow; min.insync.replicas is at most 2.
	m.ReplicationFactor.Default = 0
	if rng.IntN(2) == 0 {
		m.ReplicationFactor.Default = 2 + rng.IntN(2)
	}
	m.Limits = plans.Limits{
		PartitionsPerStep: 1 + rng.IntN(40),
		BytesPerStep:      plans.ByteSize(1+rng.IntN(100)) << 30,
		MovesIntoBroker:   1 + rng.IntN(8),
		MaxStepDuration:   plans.Duration(time.Duration(1+rng.IntN(120)) * time.Minute),
	}
	n := len(snap.Topics)
	for range rng.IntN(3) {
		m.Canaries = append(m.Canaries, snap.Topics[rng.IntN(n)].Name)
	}
	for range rng.IntN(3) {
		t := snap.Topics[rng.IntN(n)].Name
		if !contains(m.Canaries, t) {
			m.Exclude = append(m.Exclude, t)
		}
	}
	desc := fmt.Sprintf("seed %d: %+v mode=%s strategy=%s rf=%d", seed, opts, mode, m.Strategy, m.ReplicationFactor.Default)
	return snap, m, desc
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPropertyRandomPlansKeepInvariants plans many random clusters and
// mappings; every plan that is not refused passes the invariant checker
// (chaining, phases, limits, final RF, rack spread, balance), and so does its
// rollback.
func TestPropertyRandomPlansKeepInvariants(t *testing.T) {
	planned := 0
	for seed := uint64(1); seed <= 300; seed++ {
		snap, m, desc := randomCase(seed)
		res, err := Build(Input{Snapshot: snap, Mapping: m})
		if err != nil {
			// Refusals are legitimate for some draws (RF above the targets);
			// they must be bad-input errors.
			for _, e := range plans.Problems(err) {
				if !isExpectedRefusal(e) {
					t.Errorf("%s: unexpected refusal: %v", desc, e)
				}
			}
			continue
		}
		planned++
		if err := plans.CheckInvariants(res.Plan, snap, plans.CheckOptionsFor(m)); err != nil {
			t.Errorf("%s:\n%v", desc, err)
			continue
		}
		if err := plans.CheckInvariants(plans.Rollback(res.Plan), snap, plans.CheckOptions{}); err != nil {
			t.Errorf("%s: rollback:\n%v", desc, err)
		}
	}
	if planned < 200 {
		t.Errorf("only %d of 300 random cases were planned: the generator draws too many refusals", planned)
	}
}

func isExpectedRefusal(err error) bool {
	s := err.Error()
	return bytes.Contains([]byte(s), []byte("is more than the")) || bytes.Contains([]byte(s), []byte("more problems like the"))
}

func TestDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		snap, m, desc := randomCase(seed)
		a, errA := Build(Input{Snapshot: snap, Mapping: m, SnapshotSHA256: "s", MappingSHA256: "m"})
		b, errB := Build(Input{Snapshot: snap, Mapping: m, SnapshotSHA256: "s", MappingSHA256: "m"})
		if (errA == nil) != (errB == nil) {
			t.Fatalf("%s: one build failed: %v / %v", desc, errA, errB)
		}
		if errA != nil {
			continue
		}
		shuffled, sm := shuffle(snap, m, seed)
		c, err := Build(Input{Snapshot: shuffled, Mapping: sm, SnapshotSHA256: "s", MappingSHA256: "m"})
		if err != nil {
			t.Fatalf("%s: shuffled input refused: %v", desc, err)
		}
		x, y, z := marshal(t, a.Plan), marshal(t, b.Plan), marshal(t, c.Plan)
		if !bytes.Equal(x, y) {
			t.Errorf("%s: two builds differ", desc)
		}
		if !bytes.Equal(x, z) {
			t.Errorf("%s: shuffled topics, partitions and brokers change the plan", desc)
		}
		if fmt.Sprint(a.Warnings) != fmt.Sprint(c.Warnings) {
			t.Errorf("%s: shuffled input changes the warnings", desc)
		}
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	out, err := plans.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// shuffle returns copies of snap and m with brokers, topics, partitions and
// broker lists in a random order.
func shuffle(snap *plans.Snapshot, m *plans.Mapping, seed uint64) (*plans.Snapshot, *plans.Mapping) {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := copySnapshot(snap)
	rng.Shuffle(len(s.Brokers), func(i, j int) { s.Brokers[i], s.Brokers[j] = s.Brokers[j], s.Brokers[i] })
	rng.Shuffle(len(s.Topics), func(i, j int) { s.Topics[i], s.Topics[j] = s.Topics[j], s.Topics[i] })
	for _, t := range s.Topics {
		rng.Shuffle(len(t.Partitions), func(i, j int) { t.Partitions[i], t.Partitions[j] = t.Partitions[j], t.Partitions[i] })
	}
	c := copyMapping(m)
	rng.Shuffle(len(c.SourceBrokers), func(i, j int) { c.SourceBrokers[i], c.SourceBrokers[j] = c.SourceBrokers[j], c.SourceBrokers[i] })
	rng.Shuffle(len(c.TargetBrokers), func(i, j int) { c.TargetBrokers[i], c.TargetBrokers[j] = c.TargetBrokers[j], c.TargetBrokers[i] })
	return s, c
}

func TestBuildDoesNotMutateInput(t *testing.T) {
	snap, m, _ := randomCase(5)
	shuffled, sm := shuffle(snap, m, 5)
	before, mBefore := marshal(t, shuffled), marshal(t, sm)
	if _, err := Build(Input{Snapshot: shuffled, Mapping: sm}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, marshal(t, shuffled)) || !bytes.Equal(mBefore, marshal(t, sm)) {
		t.Error("Build changed its input")
	}
}

func bench200k() (*plans.Snapshot, *plans.Mapping) {
	return synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 20000, Partitions: 200000, Seed: 1})
}

// BenchmarkBuild200k is the planner core on 200,000 partitions, 20,000
// topics, 60 source and 60 target brokers on 3 racks.
func BenchmarkBuild200k(b *testing.B) {
	snap, m := bench200k()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if _, err := Build(Input{Snapshot: snap, Mapping: m}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// cpuTime is the CPU time the process has used (every thread, the garbage
// collector's included). Per op it is steadier than wall time on a machine
// shared with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkCheckInvariants200k checks the 200,000-partition plan against its
// snapshot with every mapping-dependent check on.
func BenchmarkCheckInvariants200k(b *testing.B) {
	snap, m := bench200k()
	res, err := Build(Input{Snapshot: snap, Mapping: m})
	if err != nil {
		b.Fatal(err)
	}
	opts := plans.CheckOptionsFor(m)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if err := plans.CheckInvariants(res.Plan, snap, opts); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// TestPlanSharesNothingWithInput: changing the snapshot after Build leaves
// the plan as it was.
func TestPlanSharesNothingWithInput(t *testing.T) {
	snap, m, _ := randomCase(3)
	res, err := Build(Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	before := marshal(t, res.Plan)
	for i := range snap.Topics {
		for _, p := range snap.Topics[i].Partitions {
			for k := range p.Replicas {
				p.Replicas[k] = -1
			}
		}
	}
	for i := range m.SourceBrokers {
		m.SourceBrokers[i] = -1
	}
	if !bytes.Equal(before, marshal(t, res.Plan)) {
		t.Error("the plan changed with its input")
	}
}

// TestPropertyStepsWithinDuration: in every raise-rf step no broker receives
// or sends more than max_step_duration at the throttle's effective rate, or
// than the step's largest partition sends alone when that is more, so no
// step's estimate exceeds either.
func TestPropertyStepsWithinDuration(t *testing.T) {
	checked := 0
	for seed := uint64(1); seed <= 200; seed++ {
		snap, m, desc := randomCase(seed)
		res, err := Build(Input{Snapshot: snap, Mapping: m})
		if err != nil {
			continue
		}
		limit := plans.ByteSize(float64(m.Throttle) * plans.ThrottleEfficiency * time.Duration(m.Limits.MaxStepDuration).Seconds())
		leaders := map[string]int32{}
		for _, tp := range snap.Topics {
			for _, p := range tp.Partitions {
				leaders[fmt.Sprintf("%s-%d", tp.Name, p.ID)] = p.Leader
			}
		}
		for _, s := range res.Plan.Steps {
			if s.Phase != plans.PhaseRaiseRF {
				continue
			}
			load := map[int32]plans.ByteSize{}
			allowed := limit
			for _, mv := range s.Partitions {
				adds := mv.Adding()
				allowed = max(allowed, mv.Size*plans.ByteSize(len(adds)))
				sender := mv.From[0]
				if l := leaders[mv.Name()]; slices.Contains(mv.From, l) {
					sender = l
				}
				load[sender] += mv.Size * plans.ByteSize(len(adds))
				for _, id := range adds {
					load[id] += mv.Size
				}
			}
			for id, n := range load {
				if n > allowed {
					t.Errorf("%s: step %d puts %s through broker %d, above %s (%s at the throttle, or its largest partition)", desc, s.Number, n, id, allowed, m.Limits.MaxStepDuration)
				}
			}
			if s.Estimate.BusiestBrokerBytes > allowed {
				t.Errorf("%s: step %d estimates %s on its busiest broker, above %s", desc, s.Number, s.Estimate.BusiestBrokerBytes, allowed)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no raise-rf step checked")
	}
}
