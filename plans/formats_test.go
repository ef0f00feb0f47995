package plans

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadSnapshot(path string) error {
	_, _, err := LoadFile[Snapshot](path)
	return err
}

func loadMapping(path string) error {
	_, _, err := LoadFile[Mapping](path)
	return err
}

func loadPlan(path string) error {
	_, _, err := LoadFile[Plan](path)
	return err
}

func loadKafkaJSON(path string) error {
	_, _, err := LoadKafkaJSONFile(path)
	return err
}

// TestFixtures loads every fixture under testdata: the good ones load, every
// other one fails with an error that names the file and says where and what.
func TestFixtures(t *testing.T) {
	cases := []struct {
		file string
		load func(string) error
		want []string // substrings of the error, empty for a good file
	}{
		{"snapshot-good.yaml", loadSnapshot, nil},
		{"snapshot-extra-field.yaml", loadSnapshot, []string{"line 5", "field hostname not found"}},
		{"snapshot-wrong-version.yaml", loadSnapshot, []string{"version 2 is not supported"}},
		{"snapshot-malformed.yaml", loadSnapshot, []string{"malformed YAML", "line 3"}},
		{"snapshot-invalid.yaml", loadSnapshot, []string{
			"brokers[2] (id 2): broker 2 is listed twice",
			"partition orders-0: partition is listed twice",
			"partition orders-1: replicas [1 1 9] list broker [1] twice",
			"partition orders-1: replica on broker 9, which is not in the brokers list",
			"partition orders-1: leader 5 is not one of the replicas",
			"partition orders-1: isr member 7 is not one of the replicas",
			"partition orders-1: size is negative",
		}},
		{"mapping-good.yaml", loadMapping, nil},
		{"mapping-defaults.yaml", loadMapping, nil},
		{"mapping-extra-field.yaml", loadMapping, []string{"line 6", "field max_bytes not found"}},
		{"mapping-wrong-version.yaml", loadMapping, []string{"version 0 is not supported", "missing `version: 1`"}},
		{"mapping-bad-unit.yaml", loadMapping, []string{"line 4", `invalid rate "fifty megs"`}},
		{"mapping-invalid.yaml", loadMapping, []string{
			"source_brokers: broker 2 is listed twice",
			"broker_map and rack_map are both set",
			"replication_factor.default: 3 is more than the 2 target brokers",
			"limits.partitions_per_step: must be at least 1",
			"limits.bytes_per_step: must be at least 1 byte",
			"limits.moves_into_broker: must be at least 1",
			"throttle: must be a positive rate",
			`strategy: "fastest" is not one of`,
		}},
		{"plan-good.yaml", loadPlan, nil},
		// Byte for byte as kshift writes it (plan-good.yaml quotes nothing): a
		// fuzz seed that takes planAsWritten's fast path.
		{"plan-as-written.yaml", loadPlan, nil},
		{"plan-extra-field.yaml", loadPlan, []string{"line 10", "field leader not found"}},
		{"plan-wrong-version.yaml", loadPlan, []string{"version 0 is not supported"}},
		{"plan-invalid.yaml", loadPlan, []string{
			`kind: "forward" is not one of`,
			"cluster_id: is empty",
			"step 1, partition orders-0: partition is listed twice in the step",
			"step 1, partition orders-0: to [1 1] lists broker [1] twice",
			"steps[1]: is numbered 3",
			`step 3: phase "teleport" is not one of`,
		}},
		{"kafka-good.json", loadKafkaJSON, nil},
		{"kafka-extra-field.json", loadKafkaJSON, []string{`unknown field "leader"`}},
		{"kafka-wrong-version.json", loadKafkaJSON, []string{"version: 2 is not supported"}},
		{"kafka-malformed.json", loadKafkaJSON, []string{"line 2, column", "partitions.partition must be int32, not a JSON string"}},
		{"kafka-invalid.json", loadKafkaJSON, []string{
			"partitions[1] (orders-0): partition is listed twice (first at partitions[0])",
			"partitions[1] (orders-0): replicas [4 4] list broker [4] twice",
			"partitions[2] (--1): topic is empty",
			"partitions[2] (--1): partition is negative",
			"partitions[2] (--1): replicas is empty",
			`partitions[3] (logs-2): log_dirs entry "/data/1"`,
		}},
		{"does-not-exist.yaml", loadSnapshot, []string{"cannot read: no such file or directory"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			err := tc.load(path)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("load %s: %v", path, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("load %s: no error, want %q", path, tc.want)
			}
			if !errors.Is(err, ErrBadInput) {
				t.Errorf("error %v does not unwrap to ErrBadInput", err)
			}
			msg := err.Error()
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, path+": ") {
					t.Errorf("error line does not start with the file name %q: %s", path, line)
				}
			}
			for _, p := range Problems(err) {
				if !errors.Is(p, ErrBadInput) || strings.Contains(p.Error(), "\n") {
					t.Errorf("problem %q is not one bad-input line", p)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestMappingDefaults(t *testing.T) {
	m, _, err := LoadFile[Mapping]("testdata/mapping-defaults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Limits != DefaultLimits || m.Throttle != DefaultThrottle || m.Strategy != StrategyPhased || m.InternalTopics != InternalTopicsFirst {
		t.Errorf("defaults not applied: %+v", m)
	}
}

func TestMappingHumanUnits(t *testing.T) {
	m, _, err := LoadFile[Mapping]("testdata/mapping-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Limits.BytesPerStep != 200<<30 || m.Throttle != 50<<20 || m.TargetCapacity != 4<<40 {
		t.Errorf("units: bytes_per_step %d, throttle %d, target_capacity %d", m.Limits.BytesPerStep, m.Throttle, m.TargetCapacity)
	}
	if m.BrokerMap[2] != 5 || m.ReplicationFactor.For("logs", 3) != 2 || m.ReplicationFactor.For("orders", 1) != 3 {
		t.Errorf("maps: %+v", m)
	}
}

// TestRoundTrip marshals each good file and decodes it again: same value,
// and marshalling is stable.
func TestRoundTrip(t *testing.T) {
	snap, _, err := LoadFile[Snapshot]("testdata/snapshot-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip[Snapshot](t, snap)
	m, _, err := LoadFile[Mapping]("testdata/mapping-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip[Mapping](t, m)
	p, _, err := LoadFile[Plan]("testdata/plan-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip[Plan](t, p)
	if got := p.Steps[0].Partitions[0]; !slices.Equal(got.To, []int32{1, 2, 3, 4}) || got.Size != 1000 {
		t.Errorf("plan step 1 move = %+v", got)
	}
	if got := p.Steps[1].Estimate; got.FixedCost != Duration(2*time.Second) || got.Total() != got.FixedCost {
		t.Errorf("plan step 2 estimate = %+v, want a fixed cost of 2s", got)
	}
	if got := p.Totals; got.FixedCost != Duration(4*time.Second) || got.TotalDuration != Duration(4*time.Second) {
		t.Errorf("plan totals = %+v, want 4s of fixed cost and in all", got)
	}
}

func roundTrip[T any, P interface {
	*T
	validator
	versioned
}](t *testing.T, v P) {
	t.Helper()
	out, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode[T, P](out, "marshalled")
	if err != nil {
		t.Fatalf("decode own output: %v\n%s", err, out)
	}
	out2, err := Marshal(again)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(out2) {
		t.Errorf("marshal is not stable:\n%s\n---\n%s", out, out2)
	}
}

// TestPartitionsOnOneLine keeps a plan diff at one line per changed partition.
func TestPartitionsOnOneLine(t *testing.T) {
	p, _, err := LoadFile[Plan]("testdata/plan-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "      - {topic: orders, partition: 0, from: [1, 2], to: [1, 2, 3, 4], size: 1000}\n"
	if !strings.Contains(string(out), want) {
		t.Errorf("marshalled plan lacks the one-line move %q:\n%s", want, out)
	}
}

// TestMinInsyncReplicas: the config is read as fmt's %d reads it (leading
// spaces, a sign, trailing text), and anything below 1 or unreadable is 1.
func TestMinInsyncReplicas(t *testing.T) {
	for v, want := range map[string]int{"": 1, "2": 2, "+3": 3, " 2": 2, "2x": 2, "0": 1, "-1": 1, "abc": 1, "99999999999999999999": 1} {
		topic := Topic{Name: "t", Configs: map[string]string{MinInsyncReplicasKey: v}}
		if got := topic.MinInsyncReplicas(); got != want {
			t.Errorf("min.insync.replicas %q reads as %d, want %d", v, got, want)
		}
	}
	if got := (&Topic{Name: "t"}).MinInsyncReplicas(); got != 1 {
		t.Errorf("no configs read as %d, want 1", got)
	}
}
