package plans

import (
	"math/rand/v2"
	"os"
	"path/filepath"
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
