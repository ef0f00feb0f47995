package plans

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// hashPlan is a small plan as kshift writes it, ending with a reassignment
// step so that its last line is a move line, with one move of size 0 (its
// line has no size).
func hashPlan(t *testing.T) []byte {
	t.Helper()
	p := &Plan{Version: 1, Kind: KindMigration, ClusterID: "c", Strategy: StrategyPhased, Throttle: 1000,
		SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4}}
	p.Steps = []Step{
		{Number: 1, Phase: PhaseRaiseRF, Partitions: []Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 3}, Size: 500},
			{Topic: "orders", Partition: 1, From: []int32{2, 1}, To: []int32{2, 1, 4}},
		}},
		{Number: 2, Phase: PhaseMoveLeader, Partitions: []Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2, 3}, To: []int32{3, 1, 2}, Size: 500},
		}},
	}
	p.Totals.Steps, p.Totals.Partitions = 2, 3
	for i := range p.Steps {
		p.Steps[i].Estimate = EstimateMoves(p.Steps[i].Partitions, p.Throttle)
		p.Totals.Add(p.Steps[i].Estimate)
	}
	data, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// loadHash writes data to a file and returns LoadFile's hash of it.
func loadHash(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, sum, err := LoadFile[Plan](path)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, data)
	}
	return sum
}

// A plan kshift wrote is hashed from its own bytes (planAsWritten), and
// the hash is that of the plan encoded again.
func TestPlanHashOfKshiftsOwnPlan(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	files := [][]byte{hashPlan(t)}
	for range 300 {
		p := randomPlan(rng)
		givePlainTopicNames(p)
		data, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	fast := 0
	for _, data := range files {
		p, runs, err := decodeUnvalidated[Plan](data, "plan.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if runs == nil {
			continue // no move lines: nothing for the fast path to read
		}
		if !planAsWritten(p, data, runs) {
			t.Fatalf("a plan kshift wrote is not recognised as written by kshift:\n%s", data)
		}
		fast++
	}
	// Random plans do not all validate; this one does.
	if got, want := loadHash(t, files[0]), SHA256Hex(files[0]); got != want {
		t.Fatalf("hash %s, want the file's own %s", got, want)
	}
	if fast < 100 {
		t.Errorf("only %d of %d plans had move lines for the fast path", fast, len(files))
	}
}

// A plan in another form than kshift writes hashes as kshift would write
// it, whether or not its move lines took the fast decoder.
func TestPlanHashOfReformattedPlan(t *testing.T) {
	data := hashPlan(t)
	want := SHA256Hex(data)
	s := string(data)
	// yaml.v3 itself, at four spaces.
	var fourSpaces strings.Builder
	p, err := Decode[Plan](data, "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	enc := yaml.NewEncoder(&fourSpaces)
	enc.SetIndent(4)
	if err := enc.Encode(p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		file string
		// fastDecodes says the fast decoder takes the file, so that only
		// planAsWritten's comparison can tell it from kshift's form.
		fastDecodes bool
	}{
		{"other indentation", fourSpaces.String(), false},
		{"comment line", "# reviewed by ops\n" + s, true},
		{"comment after a key", strings.Replace(s, "kind: migration\n", "kind: migration # forward\n", 1), true},
		{"comment after a move", strings.Replace(s, "size: 500}\n", "size: 500} # big\n", 1), false},
		{"reordered keys", strings.Replace(s, "kind: migration\ncluster_id: c\n", "cluster_id: c\nkind: migration\n", 1), true},
		{"block list", strings.Replace(s, "source_brokers: [1, 2]\n", "source_brokers:\n  - 1\n  - 2\n", 1), true},
		{"flow mapping", strings.Replace(s, "    estimate:\n      bytes_to_copy: 0\n      duration: 0s\n", "    estimate: {bytes_to_copy: 0, duration: 0s}\n", 1), true},
		{"quoted value", strings.Replace(s, "cluster_id: c\n", "cluster_id: \"c\"\n", 1), true},
		{"explicit size 0", strings.Replace(s, "to: [2, 1, 4]}", "to: [2, 1, 4], size: 0}", 1), true},
		{"no final newline", strings.TrimSuffix(s, "\n"), true},
		{"document start", "---\n" + s, true},
		{"blank line", strings.Replace(s, "  - number: 2\n", "\n  - number: 2\n", 1), true},
		{"CRLF", strings.ReplaceAll(s, "\n", "\r\n"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.file == s {
				t.Fatal("the edit did not apply")
			}
			p, runs, err := decodeUnvalidated[Plan]([]byte(c.file), "plan.yaml")
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, c.file)
			}
			if again, err := Marshal(p); err != nil || string(again) != s {
				t.Fatalf("the edit changed the plan (%v):\n%s", err, again)
			}
			if got := runs != nil; got != c.fastDecodes {
				t.Fatalf("fast decoder took the file: %v, want %v", got, c.fastDecodes)
			}
			if planAsWritten(p, []byte(c.file), runs) {
				t.Error("taken for a plan as kshift writes it")
			}
			if got := loadHash(t, []byte(c.file)); got != want {
				t.Errorf("hash %s, want %s, that of the plan as kshift writes it", got, want)
			}
		})
	}
}

// Every move line the parser reads as exact (what planAsWritten takes from
// the file) is the line the writer writes for the move it reads.
func FuzzMoveLineExact(f *testing.F) {
	for _, line := range []string{
		"      - {topic: orders, partition: 0, from: [1, 2], to: [2, 3], size: 500}",
		"      - {topic: orders, partition: 0, from: [1, 2], to: [2, 3]}",
		"      - {topic: orders, partition: 0, from: [1, 2], to: [2, 3], size: 0}",
		"      - {topic: orders, partition: -1, from: [], to: [2147483647], size: -5}",
		"      - {topic: yes, partition: 0, from: [1], to: [2]}",
		"      - {topic: orders, partition: 00, from: [1], to: [2]}",
	} {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var p lineParser
		m, ok := p.moveLine([]byte(line))
		if !ok || p.inexact {
			return
		}
		if got := string(appendMoveLine(nil, &m, newScalarCache(), &idTexts{})); got != line+"\n" {
			t.Fatalf("read as exact:\n%q\nwritten again:\n%q", line, got)
		}
	})
}

// checkPlanAsWritten fails when planAsWritten takes data for a plan as
// kshift writes it and it is not (FuzzDecodePlan).
func checkPlanAsWritten(t *testing.T, data []byte) {
	t.Helper()
	p, runs, err := decodeUnvalidated[Plan](data, "fuzz.yaml")
	if err != nil || !planAsWritten(p, data, runs) {
		return
	}
	if out, err := Marshal(p); err != nil || string(out) != string(data) {
		t.Fatalf("taken for a plan as kshift writes it (%v):\n%s\nkshift writes:\n%s", err, data, out)
	}
}

// hashSnapshot is a small valid snapshot as kshift writes it (normalized),
// with topic configs, cluster configs, a topic without partitions and a
// ZooKeeper section after its last partition line.
func hashSnapshot(t *testing.T) []byte {
	t.Helper()
	s := &Snapshot{Version: 1, ClusterID: "c", Controller: 2,
		Brokers:        []Broker{{ID: 1, Rack: "a"}, {ID: 2, Rack: "b"}, {ID: 3, Rack: "c"}},
		ClusterConfigs: map[string]string{"auto.leader.rebalance.enable": "true"},
		Topics: []Topic{
			{Name: "empty"},
			{Name: "orders", Configs: map[string]string{MinInsyncReplicasKey: "2"}, Partitions: []Partition{
				{ID: 0, Replicas: []int32{1, 2, 3}, Leader: 1, ISR: []int32{1, 2, 3}, Size: 500},
				{ID: 1, Replicas: []int32{2, 3, 1}, Leader: 2, ISR: []int32{2, 3}, Size: 7},
			}},
			{Name: "payments", Partitions: []Partition{
				{ID: 0, Replicas: []int32{3, 1}, Leader: -1, ISR: []int32{}},
				{ID: 1, Replicas: []int32{1, 2}, Leader: 1, ISR: []int32{1}, Size: 9},
			}},
		},
		ZooKeeper: &Ensemble{Connect: "zk-1:2181/kafka", Chroot: "/kafka", Members: []ZKServer{{ID: 1, Host: "zk-1", Role: "participant"}}},
	}
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// loadSnapshotHash writes data to a file and returns LoadFile's hash of it.
func loadSnapshotHash(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snapshot.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, sum, err := LoadFile[Snapshot](path)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, data)
	}
	return sum
}

// A snapshot kshift wrote (normalized) is hashed from its own bytes
// (snapshotAsWritten), and the hash is that of the snapshot encoded again.
func TestSnapshotHashOfKshiftsOwnSnapshot(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	files := [][]byte{hashSnapshot(t)}
	for range 300 {
		s := randomSnapshot(rng)
		// Normalize keeps topics listed twice (Validate refuses them):
		// keep the first of each name.
		seen := map[string]bool{}
		s.Topics = slices.DeleteFunc(s.Topics, func(tp Topic) bool {
			dup := seen[tp.Name]
			seen[tp.Name] = true
			return dup
		})
		s.Normalize()
		data, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	fast := 0
	for _, data := range files {
		s, runs, err := decodeUnvalidated[Snapshot](data, "snapshot.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if runs == nil {
			continue // no partition lines: nothing for the fast path to read
		}
		if !snapshotAsWritten(s, data, runs) {
			t.Fatalf("a snapshot kshift wrote is not recognised as written by kshift:\n%s", data)
		}
		fast++
	}
	// Random snapshots do not all validate; this one does.
	if got, want := loadSnapshotHash(t, files[0]), SHA256Hex(files[0]); got != want {
		t.Fatalf("hash %s, want the file's own %s", got, want)
	}
	if fast < 100 {
		t.Errorf("only %d of %d snapshots had partition lines for the fast path", fast, len(files))
	}
}

// A snapshot in another order or form than kshift writes hashes as kshift
// writes it after Normalize, whether or not its partition lines took the
// fast decoder.
func TestSnapshotHashOfReorderedOrReformattedSnapshot(t *testing.T) {
	data := hashSnapshot(t)
	want := SHA256Hex(data)
	s := string(data)
	var fourSpaces strings.Builder
	v, err := Decode[Snapshot](data, "snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	enc := yaml.NewEncoder(&fourSpaces)
	enc.SetIndent(4)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	const (
		broker1  = "  - id: 1\n    rack: a\n"
		broker2  = "  - id: 2\n    rack: b\n"
		orders0  = "      - {id: 0, replicas: [1, 2, 3], leader: 1, isr: [1, 2, 3], size: 500}\n"
		orders1  = "      - {id: 1, replicas: [2, 3, 1], leader: 2, isr: [2, 3], size: 7}\n"
		payments = "  - name: payments\n    partitions:\n      - {id: 0, replicas: [3, 1], leader: -1, isr: [], size: 0}\n      - {id: 1, replicas: [1, 2], leader: 1, isr: [1], size: 9}\n"
	)
	for _, c := range []struct {
		name string
		file string
		// fastDecodes says the fast decoder takes the file, so that only
		// snapshotAsWritten's checks can tell it from kshift's form.
		fastDecodes bool
	}{
		{"brokers in another order", strings.Replace(s, broker1+broker2, broker2+broker1, 1), true},
		{"topics in another order", strings.Replace(strings.Replace(s, payments, "", 1), "  - name: empty\n", payments+"  - name: empty\n", 1), true},
		{"partitions in another order", strings.Replace(s, orders0+orders1, orders1+orders0, 1), true},
		{"other indentation", fourSpaces.String(), false},
		{"comment line", "# read on Monday\n" + s, true},
		{"comment after a key", strings.Replace(s, "controller: 2\n", "controller: 2 # broker 2\n", 1), true},
		{"comment after a partition", strings.Replace(s, "size: 500}\n", "size: 500} # big\n", 1), false},
		{"reordered keys", strings.Replace(s, "cluster_id: c\ncontroller: 2\n", "controller: 2\ncluster_id: c\n", 1), true},
		{"flow mapping", strings.Replace(s, "  - id: 3\n    rack: c\n", "  - {id: 3, rack: c}\n", 1), true},
		{"quoted value", strings.Replace(s, "cluster_id: c\n", "cluster_id: \"c\"\n", 1), true},
		{"partition size in units", strings.Replace(s, "size: 500}", "size: 500B}", 1), false},
		{"no final newline", strings.TrimSuffix(s, "\n"), true},
		{"document start", "---\n" + s, true},
		{"blank line", strings.Replace(s, "  - name: orders\n", "\n  - name: orders\n", 1), true},
		{"CRLF", strings.ReplaceAll(s, "\n", "\r\n"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.file == s {
				t.Fatal("the edit did not apply")
			}
			v, runs, err := decodeUnvalidated[Snapshot]([]byte(c.file), "snapshot.yaml")
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, c.file)
			}
			if got := runs != nil; got != c.fastDecodes {
				t.Fatalf("fast decoder took the file: %v, want %v", got, c.fastDecodes)
			}
			taken := snapshotAsWritten(v, []byte(c.file), runs)
			v.Normalize()
			if again, err := Marshal(v); err != nil || string(again) != s {
				t.Fatalf("the edit changed the snapshot (%v):\n%s", err, again)
			}
			if taken {
				t.Error("taken for a snapshot as kshift writes it")
			}
			if got := loadSnapshotHash(t, []byte(c.file)); got != want {
				t.Errorf("hash %s, want %s, that of the snapshot as kshift writes it", got, want)
			}
		})
	}
}

// Every partition line the parser reads (all of them exact, but for the
// file's last line without its '\n') is the line the writer writes for the
// partition it reads.
func FuzzPartitionLineExact(f *testing.F) {
	for _, line := range []string{
		"      - {id: 0, replicas: [1, 2, 3], leader: 1, isr: [1, 2, 3], size: 500}",
		"      - {id: 7, replicas: [], leader: -1, isr: [], size: 0}",
		"      - {id: -1, replicas: [2147483647, 0], leader: -2147483648, isr: [0], size: -5}",
		"      - {id: 00, replicas: [1], leader: 1, isr: [1], size: 1}",
		"      - {id: 0, replicas: [1, 2], leader: +1, isr: [1], size: 1GiB}",
	} {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var p lineParser
		part, ok := p.partitionLine([]byte(line))
		if !ok {
			return
		}
		buf := &bytes.Buffer{}
		s := &Snapshot{Topics: []Topic{{Name: "t", Partitions: []Partition{part}}}}
		if err := writeSnapshot(buf, s, nil); err != nil {
			t.Fatal(err)
		}
		_, written, _ := strings.Cut(buf.String(), "    partitions:\n")
		if written != line+"\n" {
			t.Fatalf("read:\n%q\nwritten again:\n%q", line, written)
		}
	})
}

// checkSnapshotAsWritten fails when snapshotAsWritten takes data for a
// snapshot as kshift writes it and it is not (FuzzDecodeSnapshot).
func checkSnapshotAsWritten(t *testing.T, data []byte) {
	t.Helper()
	s, runs, err := decodeUnvalidated[Snapshot](data, "fuzz.yaml")
	if err != nil || !snapshotAsWritten(s, data, runs) {
		return
	}
	s.Normalize()
	if out, err := Marshal(s); err != nil || string(out) != string(data) {
		t.Fatalf("taken for a snapshot as kshift writes it (%v):\n%s\nkshift writes:\n%s", err, data, out)
	}
}

// A snapshot whose last line is a partition line without its '\n' is not
// as kshift writes it: that line is not taken from the file as it is.
func TestSnapshotHashWithoutFinalNewline(t *testing.T) {
	s, err := Decode[Snapshot](hashSnapshot(t), "snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.ZooKeeper = nil
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	file := bytes.TrimSuffix(data, []byte("\n"))
	if !bytes.HasSuffix(file, []byte("size: 9}")) {
		t.Fatalf("the snapshot does not end with a partition line:\n%s", data)
	}
	v, runs, err := decodeUnvalidated[Snapshot](file, "snapshot.yaml")
	if err != nil || runs == nil {
		t.Fatalf("the fast decoder did not take the file (%v)", err)
	}
	if snapshotAsWritten(v, file, runs) {
		t.Error("taken for a snapshot as kshift writes it")
	}
	if got, want := loadSnapshotHash(t, file), SHA256Hex(data); got != want {
		t.Errorf("hash %s, want %s, that of the snapshot as kshift writes it", got, want)
	}
}

// Normalize sorts every list not already strictly in order, whatever the
// order it is in, and leaves one in order as it is.
func TestNormalizeOrdersEveryList(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	want, err := Decode[Snapshot](hashSnapshot(t), "snapshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		s := *want
		s.Brokers = slices.Clone(want.Brokers)
		s.Topics = slices.Clone(want.Topics)
		for j := range s.Topics {
			s.Topics[j].Partitions = slices.Clone(s.Topics[j].Partitions)
		}
		if i > 0 { // the first stays in order
			rng.Shuffle(len(s.Brokers), func(a, b int) { s.Brokers[a], s.Brokers[b] = s.Brokers[b], s.Brokers[a] })
			rng.Shuffle(len(s.Topics), func(a, b int) { s.Topics[a], s.Topics[b] = s.Topics[b], s.Topics[a] })
			for j := range s.Topics {
				ps := s.Topics[j].Partitions
				rng.Shuffle(len(ps), func(a, b int) { ps[a], ps[b] = ps[b], ps[a] })
			}
		}
		s.Normalize()
		got, err := Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(hashSnapshot(t)) {
			t.Fatalf("shuffle %d normalized to\n%s", i, got)
		}
	}
}
