package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kshift/kshift/plans"
)

// planRun runs kshift in-process with args and returns its exit code, what
// it printed, and the error message main would print.
func planRun(t *testing.T, args ...string) (code int, stdout, errMsg string) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"kshift"}, args...))
	if err != nil {
		errMsg = err.Error()
	}
	return exitCode(err), out.String(), errMsg
}

// A small cluster: sources 1-3 on racks a-c, targets 4-6 on racks a-c.
const testSnapshot = `version: 1
cluster_id: lkc-test
controller: 1
brokers:
  - {id: 1, rack: a}
  - {id: 2, rack: b}
  - {id: 3, rack: c}
  - {id: 4, rack: a}
  - {id: 5, rack: b}
  - {id: 6, rack: c}
topics:
  - name: orders
    configs: {min.insync.replicas: "2"}
    partitions:
      - {id: 0, replicas: [1, 2, 3], leader: 1, isr: [1, 2, 3], size: 1000}
      - {id: 1, replicas: [2, 3, 1], leader: 2, isr: [2, 3, 1], size: 2000}
      - {id: 2, replicas: [3, 1, 2], leader: 3, isr: [3, 1, 2], size: 3000}
  - name: clicks
    partitions:
      - {id: 0, replicas: [1, 2], leader: 1, isr: [1, 2], size: 500}
      - {id: 1, replicas: [2, 3], leader: 2, isr: [2, 3], size: 700}
`

const testMapping = `version: 1
source_brokers: [1, 2, 3]
target_brokers: [4, 5, 6]
broker_map: {1: 4, 2: 5, 3: 6}
limits:
  partitions_per_step: 2
  bytes_per_step: 1GiB
  moves_into_broker: 10
throttle: 10MiB/s
`

// planFixture writes the snapshot and mapping (with edits applied) into a
// fresh directory and returns their paths and the directory.
func planFixture(t *testing.T, snapshot, mapping string) (snapPath, mappingPath, dir string) {
	t.Helper()
	dir = t.TempDir()
	snapPath, mappingPath = filepath.Join(dir, "snapshot.yaml"), filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(snapPath, []byte(snapshot), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mappingPath, []byte(mapping), 0o644); err != nil {
		t.Fatal(err)
	}
	return snapPath, mappingPath, dir
}

func TestPlanWritesDirectory(t *testing.T) {
	snap, mapping, dir := planFixture(t, testSnapshot, testMapping)
	out := filepath.Join(dir, "plan")
	code, stdout, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errMsg)
	}
	for _, want := range []string{"Planned ", "for cluster lkc-test: 5 partitions", "Wrote plan.yaml, rollback.yaml and SUMMARY.md in " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	p, _, err := plans.LoadFile[plans.Plan](filepath.Join(out, "plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rb, _, err := plans.LoadFile[plans.Plan](filepath.Join(out, "rollback.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != plans.KindMigration || rb.Kind != plans.KindRollback || len(rb.Steps) != len(p.Steps) {
		t.Errorf("plan %s with %d steps, rollback %s with %d", p.Kind, len(p.Steps), rb.Kind, len(rb.Steps))
	}
	summary, err := os.ReadFile(filepath.Join(out, "SUMMARY.md"))
	if err != nil || !strings.Contains(string(summary), "# Migration plan for cluster `lkc-test`") {
		t.Errorf("summary: %v\n%s", err, summary)
	}
	first, _ := os.ReadFile(filepath.Join(out, "plan.yaml"))

	// Planning again into the same directory replaces it with identical files.
	if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", out); code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, errMsg)
	}
	second, _ := os.ReadFile(filepath.Join(out, "plan.yaml"))
	if !bytes.Equal(first, second) {
		t.Error("planning twice gave different plans")
	}
}

func TestPlanRefusesForeignOutDir(t *testing.T) {
	snap, mapping, dir := planFixture(t, testSnapshot, testMapping)
	out := filepath.Join(dir, "mine")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "notes.md"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", out)
	if code != exitBadInput || !strings.Contains(errMsg, `holds "notes.md", which kshift did not write there`) {
		t.Fatalf("exit %d: %s", code, errMsg)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "notes.md")); string(data) != "keep me" {
		t.Error("the foreign directory was changed")
	}
}

// TestPlanBadInput: every kind of bad input gives exit 2, a one-line error
// naming the file and the place in it, and no output directory.
func TestPlanBadInput(t *testing.T) {
	cases := []struct {
		name              string
		snapshot, mapping string
		missing           string // "snapshot" or "mapping": do not write that file
		file              string // which file the error names
		want              string
	}{
		{name: "missing snapshot", snapshot: testSnapshot, mapping: testMapping, missing: "snapshot", file: "snapshot", want: "cannot read: no such file or directory"},
		{name: "missing mapping", snapshot: testSnapshot, mapping: testMapping, missing: "mapping", file: "mapping", want: "cannot read: no such file or directory"},
		{name: "malformed YAML", snapshot: strings.Replace(testSnapshot, "  - {id: 2, rack: b}", "  - {id: 2, rack: b", 1), mapping: testMapping,
			file: "snapshot", want: "malformed YAML: yaml: line 5"},
		{name: "unknown field", snapshot: testSnapshot, mapping: strings.Replace(testMapping, "throttle: 10MiB/s", "throttle: 10MiB/s\nthrotle_rate: 5", 1),
			file: "mapping", want: "line 10: field throtle_rate not found"},
		{name: "wrong version", snapshot: strings.Replace(testSnapshot, "version: 1", "version: 2", 1), mapping: testMapping,
			file: "snapshot", want: "version 2 is not supported"},
		{name: "duplicate partition", snapshot: strings.Replace(testSnapshot, "{id: 1, replicas: [2, 3], leader: 2", "{id: 0, replicas: [2, 3], leader: 2", 1), mapping: testMapping,
			file: "snapshot", want: "partition clicks-0: partition is listed twice"},
		{name: "broker listed twice in the snapshot", snapshot: strings.Replace(testSnapshot, "{id: 6, rack: c}", "{id: 5, rack: c}", 1), mapping: testMapping,
			file: "snapshot", want: "brokers[5] (id 5): broker 5 is listed twice"},
		{name: "broker listed twice in the mapping", snapshot: testSnapshot, mapping: strings.Replace(testMapping, "target_brokers: [4, 5, 6]", "target_brokers: [4, 5, 5, 6]", 1),
			file: "mapping", want: "target_brokers: broker 5 is listed twice"},
		{name: "target RF above the target brokers", snapshot: testSnapshot, mapping: testMapping + "replication_factor: {default: 4}\n",
			file: "mapping", want: "replication_factor.default: 4 is more than the 3 target brokers"},
		{name: "limit of zero", snapshot: testSnapshot, mapping: strings.Replace(testMapping, "moves_into_broker: 10", "moves_into_broker: 0", 1),
			file: "mapping", want: "limits.moves_into_broker: must be at least 1"},
		{name: "bad unit", snapshot: testSnapshot, mapping: strings.Replace(testMapping, "10MiB/s", "ten megs", 1),
			file: "mapping", want: `line 9: invalid rate "ten megs"`},
		{name: "mapping names a broker not in the snapshot", snapshot: testSnapshot, mapping: strings.Replace(strings.Replace(testMapping, "[4, 5, 6]", "[4, 5, 7]", 1), "3: 6", "3: 7", 1),
			file: "mapping", want: "target_brokers: broker 7 is not in the snapshot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap, mapping, dir := planFixture(t, tc.snapshot, tc.mapping)
			switch tc.missing {
			case "snapshot":
				os.Remove(snap)
			case "mapping":
				os.Remove(mapping)
			}
			named := map[string]string{"snapshot": snap, "mapping": mapping}[tc.file]
			out := filepath.Join(dir, "out")
			code, stdout, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", out)
			if code != exitBadInput {
				t.Fatalf("exit %d, want %d: %s", code, exitBadInput, errMsg)
			}
			// One line per problem, each naming the file; these inputs
			// have one problem each, but for the unknown broker, whose
			// missing target also lowers the RF the targets can hold.
			lines := strings.Split(errMsg, "\n")
			if len(lines) > 1 && tc.name != "mapping names a broker not in the snapshot" {
				t.Errorf("error is more than one line:\n%s", errMsg)
			}
			for _, line := range lines {
				if !strings.HasPrefix(line, named+": ") {
					t.Errorf("error line %q does not start with %q", line, named+": ")
				}
			}
			if !strings.Contains(lines[0], tc.want) {
				t.Errorf("error %q does not hold %q", errMsg, tc.want)
			}
			if stdout != "" {
				t.Errorf("printed %q", stdout)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "snapshot.yaml" && e.Name() != "mapping.yaml" {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
}

func TestPlanUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"plan", "--snapshot", "s.yaml"},
		{"plan", "--snapshot", "s.yaml", "--mapping", "m.yaml", "--out", "o", "extra"},
		{"plan", "--no-such-flag"},
		{"plan", "show"},
		{"plan", "export", "plan.yaml"},
		{"plan", "export", "plan.yaml", "--step", "1", "--format", "csv"},
		{"plan", "import", "x.json"},
		{"snapshot", "synth", "--out", "s.yaml"},
		{"snapshot", "synth", "--out", "s.yaml", "--mapping-out", "m.yaml", "--topics", "0"},
	} {
		if code, _, errMsg := planRun(t, args...); code != exitBadInput {
			t.Errorf("%v: exit %d (%s), want %d", args, code, errMsg, exitBadInput)
		}
	}
}

// writePlan plans the test cluster into dir/plan and returns the plan path.
func writePlan(t *testing.T) (planPath, snap, mapping, dir string) {
	t.Helper()
	snap, mapping, dir = planFixture(t, testSnapshot, testMapping)
	if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", filepath.Join(dir, "plan")); code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errMsg)
	}
	return filepath.Join(dir, "plan", "plan.yaml"), snap, mapping, dir
}

func TestPlanValidate(t *testing.T) {
	planPath, snap, mapping, dir := writePlan(t)
	rollbackPath := filepath.Join(filepath.Dir(planPath), "rollback.yaml")
	for _, args := range [][]string{
		{"plan", "validate", planPath},
		{"plan", "validate", planPath, "--snapshot", snap, "--mapping", mapping},
		{"plan", "validate", "--snapshot", snap, "--mapping", mapping, planPath},
		{"plan", "validate", rollbackPath, "--snapshot", snap, "--mapping", mapping},
	} {
		code, stdout, errMsg := planRun(t, args...)
		if code != exitOK || !strings.Contains(stdout, ": OK: ") {
			t.Errorf("%v: exit %d: %s%s", args, code, stdout, errMsg)
		}
	}

	// A plan edited by hand so that step 1 adds a broker twice over and
	// chains wrongly is refused with every violation listed.
	data, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plans.Decode[plans.Plan](data, planPath)
	if err != nil {
		t.Fatal(err)
	}
	origAdds := len(p.Steps[0].Partitions[0].Adding())
	p.Steps[0].Partitions[0].To = append(slices.Clone(p.Steps[0].Partitions[0].From), 1)
	p.Steps[0].Partitions[0].To[len(p.Steps[0].Partitions[0].To)-1] = 9
	tampered, err := plans.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "tampered.yaml")
	if err := os.WriteFile(bad, tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errMsg := planRun(t, "plan", "validate", bad, "--snapshot", snap, "--mapping", mapping)
	if code != exitRefused {
		t.Fatalf("tampered plan: exit %d, want %d: %s", code, exitRefused, errMsg)
	}
	for _, want := range []string{
		bad + ": step 1, partition ",
		"raise-rf adds broker 9, which is not a target",
		// The step's estimate no longer matches: the move adds one replica.
		fmt.Sprintf("estimate says %d bytes to copy, the partitions add %d", p.Steps[0].Estimate.BytesToCopy, p.Steps[0].Estimate.BytesToCopy-plans.ByteSize(origAdds-1)*p.Steps[0].Partitions[0].Size),
		"where the previous step leaves it",
	} {
		if !strings.Contains(stdout, want) && !strings.Contains(errMsg, want) {
			t.Errorf("validate output lacks %q:\n%s\n%s", want, stdout, errMsg)
		}
	}
	if !strings.Contains(errMsg, "violation(s) of the plan invariants") {
		t.Errorf("error %q", errMsg)
	}

	// A snapshot changed since the plan was made makes the plan stale; a
	// comment does not change its content, so it does not.
	commented := filepath.Join(dir, "commented.yaml")
	if err := os.WriteFile(commented, []byte(testSnapshot+"# read again later\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ = planRun(t, "plan", "validate", planPath, "--snapshot", commented); code != exitOK {
		t.Errorf("snapshot with a comment added: exit %d:\n%s", code, stdout)
	}
	stale := filepath.Join(dir, "stale.yaml")
	grown := strings.Replace(testSnapshot, "isr: [1, 2, 3], size: 1000}", "isr: [1, 2, 3], size: 1001}", 1)
	if grown == testSnapshot {
		t.Fatal("fixture changed: no partition of size 1000 to grow")
	}
	if err := os.WriteFile(stale, []byte(grown), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = planRun(t, "plan", "validate", planPath, "--snapshot", stale)
	if code != exitRefused || !strings.Contains(stdout, planPath+": snapshot_sha256: the plan was made from a snapshot with sha256 ") {
		t.Errorf("stale snapshot: exit %d:\n%s", code, stdout)
	}

	// Unreadable input is bad input, not a violation.
	if code, _, _ := planRun(t, "plan", "validate", filepath.Join(dir, "nope.yaml")); code != exitBadInput {
		t.Errorf("missing plan: exit %d, want %d", code, exitBadInput)
	}
	if code, _, _ := planRun(t, "plan", "validate", planPath, "--snapshot", filepath.Join(dir, "nope.yaml")); code != exitBadInput {
		t.Errorf("missing snapshot: exit %d, want %d", code, exitBadInput)
	}
}

func TestPlanShow(t *testing.T) {
	planPath, _, _, _ := writePlan(t)
	code, stdout, errMsg := planRun(t, "plan", "show", planPath)
	if code != exitOK || !strings.Contains(stdout, "migration plan for cluster lkc-test") || !strings.Contains(stdout, "│ 1    │ raise-rf") {
		t.Fatalf("exit %d: %s%s", code, stdout, errMsg)
	}
	// Durations are shown both ways: copy time, fixed cost, and in all
	// (the plan copies 20 KiB at 10 MiB/s: nothing but fixed costs).
	if !strings.Contains(stdout, ", about 12s (0s copying + 12s fixed)\n") ||
		!regexp.MustCompile(`│ 4 +│ move-leader +│ 2 +│ 0 B +│ - +│ 0s +│ 2s +│ 2s +│`).MatchString(stdout) {
		t.Errorf("plan show lacks the estimate as copy time and fixed cost:\n%s", stdout)
	}
	code, stdout, errMsg = planRun(t, "plan", "show", planPath, "--step", "1")
	if code != exitOK || !strings.Contains(stdout, "step 1 (raise-rf)") || !strings.Contains(stdout, "│ 1,2  │ 1,2,4,5 │ 4,5") {
		t.Fatalf("--step 1: exit %d: %s%s", code, stdout, errMsg)
	}
	if code, stdout, _ := planRun(t, "plan", "show", planPath, "--step", "4"); code != exitOK || !strings.Contains(stdout, "step 4 (move-leader) of lkc-test: 2 partitions, 0 B to copy, about 2s at 10 MiB/s\n") {
		t.Errorf("--step 4: exit %d:\n%s", code, stdout)
	}
	code, stdout, errMsg = planRun(t, "plan", "show", planPath, "-o", "json")
	if code != exitOK {
		t.Fatalf("json: exit %d: %s", code, errMsg)
	}
	var shown struct {
		ClusterID string `json:"cluster_id"`
		Steps     []struct {
			Phase      string `json:"phase"`
			Partitions []struct {
				From []int32 `json:"from"`
				To   []int32 `json:"to"`
			} `json:"partitions"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(stdout), &shown); err != nil {
		t.Fatalf("json output: %v\n%s", err, stdout)
	}
	if shown.ClusterID != "lkc-test" || shown.Steps[0].Phase != "raise-rf" || len(shown.Steps[0].Partitions[0].To) == 0 {
		t.Errorf("json output %+v", shown)
	}
	if code, stdout, _ := planRun(t, "plan", "show", planPath, "--step", "1", "--output", "yaml"); code != exitOK || !strings.HasPrefix(stdout, "number: 1\nphase: raise-rf\n") {
		t.Errorf("yaml: exit %d:\n%s", code, stdout)
	}
	if code, _, errMsg := planRun(t, "plan", "show", planPath, "--step", "99"); code != exitBadInput || !strings.Contains(errMsg, "has steps 1 to") {
		t.Errorf("--step 99: exit %d: %s", code, errMsg)
	}
}

func TestPlanExportImport(t *testing.T) {
	planPath, snap, _, dir := writePlan(t)
	p, _, err := plans.LoadFile[plans.Plan](planPath)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, errMsg := planRun(t, "plan", "export", planPath, "--step", "1", "--format", "kafka-json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errMsg)
	}
	want, err := plans.MarshalKafkaJSON(plans.KafkaReassignmentFor(&p.Steps[0]))
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Errorf("export:\n%s\nwant\n%s", stdout, want)
	}

	// The last lower-rf step's "to" lists are the migration's end state:
	// importing them plans the same kind of migration again.
	var final plans.KafkaReassignment
	final.Version = 1
	for _, s := range p.Steps {
		for _, m := range s.Partitions {
			final.Partitions = slices.DeleteFunc(final.Partitions, func(k plans.KafkaPartition) bool { return k.Topic == m.Topic && k.Partition == m.Partition })
			final.Partitions = append(final.Partitions, plans.KafkaPartition{Topic: m.Topic, Partition: m.Partition, Replicas: m.To})
		}
	}
	data, err := plans.MarshalKafkaJSON(&final)
	if err != nil {
		t.Fatal(err)
	}
	jsonPath := filepath.Join(dir, "final.json")
	if err := os.WriteFile(jsonPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "imported")
	code, stdout, errMsg = planRun(t, "plan", "import", jsonPath, "--snapshot", snap, "--out", out, "--partitions-per-step", "2")
	if code != exitOK {
		t.Fatalf("import: exit %d: %s", code, errMsg)
	}
	if !strings.Contains(stdout, "5 partitions") {
		t.Errorf("import output: %s", stdout)
	}
	imported, _, err := plans.LoadFile[plans.Plan](filepath.Join(out, "plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if imported.Totals.BytesToCopy != p.Totals.BytesToCopy {
		t.Errorf("imported plan copies %d bytes, the plan %d", imported.Totals.BytesToCopy, p.Totals.BytesToCopy)
	}
	if code, stdout, errMsg := planRun(t, "plan", "validate", filepath.Join(out, "plan.yaml"), "--snapshot", snap); code != exitOK {
		t.Errorf("validate the import: exit %d: %s%s", code, stdout, errMsg)
	}

	// Unknown topics are refused with their place in the JSON.
	badJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(badJSON, []byte(`{"version":1,"partitions":[{"topic":"payments","partition":0,"replicas":[4,5]}]}`), 0o644)
	code, _, errMsg = planRun(t, "plan", "import", badJSON, "--snapshot", snap, "--out", filepath.Join(dir, "bad"))
	if code != exitBadInput || errMsg != badJSON+`: partitions[0] (payments-0): topic "payments" is not in the snapshot` {
		t.Errorf("exit %d: %s", code, errMsg)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Error("a refused import left an output directory")
	}
	// RF below min.insync.replicas is refused as an invariant violation.
	os.WriteFile(badJSON, []byte(`{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[4]}]}`), 0o644)
	if code, _, errMsg = planRun(t, "plan", "import", badJSON, "--snapshot", snap, "--out", filepath.Join(dir, "bad")); code != exitRefused || !strings.Contains(errMsg, "below min.insync.replicas 2") {
		t.Errorf("exit %d: %s", code, errMsg)
	}
}

func TestSnapshotSynth(t *testing.T) {
	dir := t.TempDir()
	snap, mapping := filepath.Join(dir, "s.yaml"), filepath.Join(dir, "m.yaml")
	code, stdout, errMsg := planRun(t, "snapshot", "synth", "--source-brokers", "6", "--target-brokers", "6", "--racks", "3",
		"--topics", "20", "--partitions", "200", "--seed", "7", "--out", snap, "--mapping-out", mapping)
	if code != exitOK || !strings.Contains(stdout, "20 topics, 200 partitions") {
		t.Fatalf("exit %d: %s%s", code, stdout, errMsg)
	}
	first, _ := os.ReadFile(snap)
	if code, _, errMsg := planRun(t, "snapshot", "synth", "--topics", "20", "--partitions", "200", "--seed", "7", "--out", snap, "--mapping-out", mapping); code != exitOK {
		t.Fatalf("exit %d: %s", code, errMsg)
	}
	if second, _ := os.ReadFile(snap); !bytes.Equal(first, second) {
		t.Error("the same seed gave a different snapshot")
	}
	if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", filepath.Join(dir, "plan")); code != exitOK {
		t.Fatalf("plan the synthetic cluster: exit %d: %s", code, errMsg)
	}
}

// TestPlanShuffledSnapshot: a snapshot listing the same brokers, topics and
// partitions in another order gives the same files, but for the snapshot's
// hash in the header (it is the hash of the file's bytes, which differ).
func TestPlanShuffledSnapshot(t *testing.T) {
	shuffled := `version: 1
cluster_id: lkc-test
controller: 1
brokers:
  - {id: 6, rack: c}
  - {id: 2, rack: b}
  - {id: 4, rack: a}
  - {id: 1, rack: a}
  - {id: 5, rack: b}
  - {id: 3, rack: c}
topics:
  - name: clicks
    partitions:
      - {id: 1, replicas: [2, 3], leader: 2, isr: [2, 3], size: 700}
      - {id: 0, replicas: [1, 2], leader: 1, isr: [1, 2], size: 500}
  - name: orders
    configs: {min.insync.replicas: "2"}
    partitions:
      - {id: 2, replicas: [3, 1, 2], leader: 3, isr: [3, 1, 2], size: 3000}
      - {id: 0, replicas: [1, 2, 3], leader: 1, isr: [1, 2, 3], size: 1000}
      - {id: 1, replicas: [2, 3, 1], leader: 2, isr: [2, 3, 1], size: 2000}
`
	snapA, mapping, dir := planFixture(t, testSnapshot, testMapping)
	snapB := filepath.Join(dir, "shuffled.yaml")
	if err := os.WriteFile(snapB, []byte(shuffled), 0o644); err != nil {
		t.Fatal(err)
	}
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, run := range [][2]string{{snapA, outA}, {snapB, outB}} {
		if code, _, errMsg := planRun(t, "plan", "--snapshot", run[0], "--mapping", mapping, "--out", run[1]); code != exitOK {
			t.Fatalf("exit %d: %s", code, errMsg)
		}
	}
	// The plan records the snapshot's content hash, the same for both
	// orders, so every file is byte for byte the same.
	_, hash, err := plans.LoadFile[plans.Snapshot](snapB)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{planFileName, rollbackFileName, summaryFileName} {
		a, _ := os.ReadFile(filepath.Join(outA, file))
		b, _ := os.ReadFile(filepath.Join(outB, file))
		if !strings.Contains(string(a), hash) {
			t.Errorf("%s lacks the snapshot's content hash %s", file, hash)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs for a shuffled snapshot (%s)", file, firstDifference(string(a), string(b)))
		}
	}
}

// TestPlanDiskFlags: --target-capacity gives the targets a disk and
// --max-fill its limit; a plan over it is written with warnings (exit 0),
// and bad values are bad input.
func TestPlanDiskFlags(t *testing.T) {
	snap, mapping, dir := planFixture(t, testSnapshot, strings.Replace(testMapping, "broker_map: {1: 4, 2: 5, 3: 6}\n", "", 1))
	out := filepath.Join(dir, "plan")
	// Every rack (one target each) gets orders, 6,000 B; clicks-1 (700 B,
	// RF 2) goes to racks a and b, clicks-0 (500 B) to c, then a (the racks
	// with the fewest bytes, ties by order): broker 4 ends with 7,200 B, 90% of
	// 8,000 B; brokers 5 and 6 with 6,700 and 6,500 B, under 85%.
	code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", out, "--target-capacity", "8000B")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errMsg)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "SUMMARY.md"))
	if !strings.Contains(string(summary), "**over-fill-limit** (1)") || !strings.Contains(string(summary), "`broker 4`: ends with 7.0 KiB, 90.0% of its 7.8 KiB disk, above the fill limit 85% (6.6 KiB)") {
		t.Errorf("no fill-limit warnings:\n%s", summary)
	}
	if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", out, "--target-capacity", "8000B", "--max-fill", "95%"); code != exitOK {
		t.Fatalf("--max-fill 95%%: exit %d: %s", code, errMsg)
	}
	summary, _ = os.ReadFile(filepath.Join(out, "SUMMARY.md"))
	if strings.Contains(string(summary), "over-fill-limit") {
		t.Errorf("fill-limit warnings under a 95%% limit:\n%s", summary)
	}
	for _, args := range [][]string{{"--max-fill", "150%"}, {"--max-fill", "lots"}, {"--target-capacity", "-1GiB"}} {
		code, _, errMsg := planRun(t, append([]string{"plan", "--snapshot", snap, "--mapping", mapping, "--out", out}, args...)...)
		if code != exitBadInput || !strings.Contains(errMsg, args[0]) {
			t.Errorf("%v: exit %d (%s), want %d naming the flag", args, code, errMsg, exitBadInput)
		}
	}
}
