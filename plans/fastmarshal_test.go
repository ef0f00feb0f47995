package plans

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// oddNames are topic names yaml.v3 must quote or that look like other types.
var oddNames = []string{"orders", "__consumer_offsets", "yes", "No", "on", "null", "~", "123", "1e3", "0x1F", "-dash", ".dot", "a b", "a: b", "#hash",
	"é-topic", "tab\there", "new\nline", "quote\"d", "it's", "[x]", "{y}", "true", "y", "a,b", "x-", "_", "", "  lead", "trail ", "!tag", "&anchor", "*alias", "%pct", "@at", "`tick`", "|pipe", ">gt"}

func randomPlan(rng *rand.Rand) *Plan {
	p := &Plan{Version: 1, Kind: KindMigration, ClusterID: "c", Strategy: StrategyPhased, Throttle: Rate(rng.IntN(1 << 30)),
		SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4}}
	for i := range rng.IntN(6) {
		s := Step{Number: i + 1, Phase: AllPhases[rng.IntN(len(AllPhases))], Throttle: Rate(rng.IntN(100)), Undoes: rng.IntN(3)}
		switch {
		case s.Phase.IsZooKeeper():
			s.ZooKeeper = &ZooKeeperChange{Connect: "zk:2181", Promote: []int{1}, Before: []ZKServer{{ID: 1, Host: "zk-1"}}}
		case s.Phase == PhaseRetireSources:
			s.Retire = &RetireChange{Sources: []int32{1, 2}, Targets: []int32{3, 4}, Bootstrap: "b-3:9092,b-4:9092", Restart: rng.IntN(2) == 0}
			s.Estimate.FixedCost = FixedCost(s.Phase, 0)
		default:
			for j := range rng.IntN(5) {
				m := Move{Topic: oddNames[rng.IntN(len(oddNames))], Partition: int32(j), Size: ByteSize(rng.IntN(3) * 1000)}
				for range rng.IntN(4) {
					m.From = append(m.From, int32(rng.IntN(2000)-1))
				}
				for range rng.IntN(4) {
					m.To = append(m.To, int32(rng.IntN(2000)))
				}
				s.Partitions = append(s.Partitions, m)
			}
			s.Estimate = EstimateMoves(s.Partitions, p.Throttle)
			// Step heads are written by hand too: vary what they show.
			s.Estimate.Duration += Duration(time.Duration(rng.IntN(200000)) * time.Second)
			if rng.IntN(2) == 0 {
				s.Estimate.FixedCost = FixedCost(s.Phase, len(s.Partitions))
			}
		}
		p.Steps = append(p.Steps, s)
	}
	p.Totals = ComputeTotals(p.Steps)
	return p
}

func randomSnapshot(rng *rand.Rand) *Snapshot {
	s := &Snapshot{Version: 1, ClusterID: oddNames[rng.IntN(len(oddNames))], Controller: 1, Brokers: []Broker{{ID: 1, Rack: "a"}}}
	if rng.IntN(2) == 0 {
		s.ZooKeeper = &Ensemble{Connect: "zk:2181/kafka", Members: []ZKServer{{ID: 1, Host: "zk-1", Role: "participant"}}}
	}
	for range rng.IntN(5) {
		t := Topic{Name: oddNames[rng.IntN(len(oddNames))]}
		if rng.IntN(3) == 0 {
			t.Configs = map[string]string{MinInsyncReplicasKey: "2", "x": oddNames[rng.IntN(len(oddNames))]}
		}
		for j := range rng.IntN(4) {
			t.Partitions = append(t.Partitions, Partition{ID: int32(j), Replicas: []int32{1, int32(rng.IntN(9))}, Leader: int32(rng.IntN(3) - 1), Size: ByteSize(rng.IntN(1 << 40))})
		}
		s.Topics = append(s.Topics, t)
	}
	return s
}

// TestFastMarshalMatchesYAMLv3: the direct writers write what yaml.v3 writes.
func TestFastMarshalMatchesYAMLv3(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var v any = randomPlan(rng)
		if i%2 == 1 {
			v = randomSnapshot(rng)
		}
		fast, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := marshalYAMLv3(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, slow) {
			t.Fatalf("case %d (%T): fast marshal differs from yaml.v3 at %s\nfast:\n%s\nyaml.v3:\n%s", i, v, firstDiffLine(fast, slow), fast, slow)
		}
	}
	// Ids at the edges of the writer's table of small ids.
	edges := &Plan{Version: 1, Kind: KindMigration, Steps: []Step{{Number: 1, Phase: PhaseRaiseRF, Partitions: []Move{
		{Topic: "t", Partition: maxIDText, From: []int32{0, maxIDText - 1, maxIDText}, To: []int32{math.MaxInt32, math.MinInt32, -1, 9, 10, 99, 100}},
		{Topic: "t", Partition: maxIDText - 1, From: []int32{100, 99, 10, 9, 0}, To: []int32{maxIDText, 12345}},
		{Topic: "t", Partition: -7, From: []int32{}, To: []int32{1}},
	}}}}
	fast, _ := Marshal(edges)
	slow, _ := marshalYAMLv3(edges)
	if !bytes.Equal(fast, slow) {
		t.Errorf("ids at the edges: fast marshal differs from yaml.v3 at %s", firstDiffLine(fast, slow))
	}
	for _, file := range []string{"testdata/plan-good.yaml", "testdata/snapshot-good.yaml"} {
		var v any
		var err error
		if file == "testdata/plan-good.yaml" {
			v, _, err = LoadFile[Plan](file)
		} else {
			v, _, err = LoadFile[Snapshot](file)
		}
		if err != nil {
			t.Fatal(err)
		}
		fast, _ := Marshal(v)
		slow, _ := marshalYAMLv3(v)
		if !bytes.Equal(fast, slow) {
			t.Errorf("%s: fast marshal differs from yaml.v3 at %s", file, firstDiffLine(fast, slow))
		}
	}
}

func firstDiffLine(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d: %q vs %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("length %d vs %d lines", len(la), len(lb))
}

// TestStepHeadKnowsEveryField: appendStepHead writes a step's fields by
// hand, so a field added to Step would be dropped from every plan file
// silently (a retire section once was). Adding one fails here until
// appendStepHead writes it or falls back to yaml.v3 for it, and this list
// says so.
func TestStepHeadKnowsEveryField(t *testing.T) {
	known := []string{"Number", "Phase", "Undoes", "Throttle", "Estimate", "Partitions", "ZooKeeper", "Retire", "zeroThrottle"}
	st := reflect.TypeFor[Step]()
	for i := range st.NumField() {
		if name := st.Field(i).Name; !slices.Contains(known, name) {
			t.Errorf("Step.%s is new: teach appendStepHead to write it (or to leave such steps to yaml.v3), then add it here", name)
		}
	}
}

// TestSnapshotTopicConfigsMatchYAMLv3: a snapshot's topic configs are
// encoded once per set of configs (configsBlock); topics whose configs
// differ only in a key or a value each get their own.
func TestSnapshotTopicConfigsMatchYAMLv3(t *testing.T) {
	s := &Snapshot{Version: 1, ClusterID: "c", Brokers: []Broker{{ID: 1}}}
	add := func(c map[string]string) {
		s.Topics = append(s.Topics, Topic{Name: fmt.Sprintf("t%03d", len(s.Topics)), Configs: c,
			Partitions: []Partition{{ID: 0, Replicas: []int32{1}, Leader: 1, ISR: []int32{1}}}})
	}
	for _, v := range oddNames {
		add(map[string]string{MinInsyncReplicasKey: "2", "x": v})
		add(map[string]string{MinInsyncReplicasKey: "2", v + "x": "1"})
		add(map[string]string{MinInsyncReplicasKey: "2"})
	}
	add(map[string]string{"a": "1 1:b :1"}) // the id of the next, were lengths left out
	add(map[string]string{"a": "1", "b": "1"})
	fast, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := marshalYAMLv3(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fast, slow) {
		t.Fatalf("fast marshal differs from yaml.v3 at %s", firstDiffLine(fast, slow))
	}
}
