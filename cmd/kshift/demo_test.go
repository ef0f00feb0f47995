package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// TestDemo runs kshift demo in-process and checks what it printed and wrote:
// every step applied, the status table, the rollback and re-apply, and a
// final assignment with every partition on target brokers at its RF; the
// directory holds the snapshot, mapping, plan files and an audit log with
// an end record for every step.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, code := runKshift(t, "demo", "--dir", dir, "--speed", "400")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"$ kshift snapshot && kshift plan",
		"$ kshift status",
		"$ kshift rollback",
		"stop the source brokers one at a time, each after the one before has left, in this order: 2, 3, 1",
		"): done: source brokers [1 2 3] have left; nothing is offline or under-replicated; controller 101",
		"Final assignment:",
		"Verified: every partition is on target brokers [101 102 103]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	p, _, err := plans.LoadFile[plans.Plan](filepath.Join(dir, planFileName))
	if err != nil {
		t.Fatal(err)
	}
	last := p.Steps[len(p.Steps)-2] // the last step before retire-sources
	if want := "undo of step " + strconv.Itoa(last.Number) + " (lower-rf): "; !strings.Contains(out, want) {
		t.Errorf("output lacks the rollback's result %q:\n%s", want, out)
	}
	for _, s := range p.Steps {
		if !strings.Contains(out, "step "+strconv.Itoa(s.Number)+" ("+string(s.Phase)+"): ") {
			t.Errorf("output shows no result of step %d", s.Number)
		}
	}
	// Final assignment rows: topic, partition, replicas, leader, isr.
	row := regexp.MustCompile(`│ (\S+)\s+│ (\d+)\s+│ \[([\d ]+)\]\s+│ (\d+)\s+│ \[([\d ]+)\]\s+│`)
	rows := row.FindAllStringSubmatch(out[strings.Index(out, "Final assignment:"):], -1)
	if len(rows) != p.Totals.Partitions {
		t.Fatalf("final table has %d rows, want %d", len(rows), p.Totals.Partitions)
	}
	rf := map[string]int{"__consumer_offsets": 3, "orders": 3, "payments": 3, "clicks": 2}
	for _, r := range rows {
		replicas, isr := strings.Fields(r[3]), strings.Fields(r[5])
		if len(replicas) != rf[r[1]] || len(isr) != len(replicas) {
			t.Errorf("%s-%s: replicas %v isr %v, want RF %d in sync", r[1], r[2], replicas, isr, rf[r[1]])
		}
		for _, b := range append(replicas, r[4]) {
			if b != "101" && b != "102" && b != "103" {
				t.Errorf("%s-%s: broker %s is not a target: %v", r[1], r[2], b, r[0])
			}
		}
	}
	for _, f := range []string{demoSnapshotFile, demoMappingFile, planFileName, rollbackFileName, summaryFileName} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
	recs, err := executor.ReadAudit(filepath.Join(dir, demoAuditFile))
	if err != nil {
		t.Fatal(err)
	}
	ends := 0
	for _, r := range recs {
		if r.Event == state.AuditEnd && r.Result == "ok" {
			ends++
		}
	}
	// Every step, the undo and the re-apply end ok; the retire-sources
	// step twice (waiting for the sources to stop, then done).
	if want := len(p.Steps) + 3; ends != want {
		t.Errorf("audit log has %d ok step ends, want %d", ends, want)
	}
}

// TestDemoRefusesUsedDir keeps the demo from writing into a directory that
// holds other files (exit 2) and rejects a non-positive speed.
func TestDemoRefusesUsedDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runKshift(t, "demo", "--dir", dir)
	if code != exitBadInput || !strings.Contains(out, "--dir") {
		t.Errorf("used dir: exit %d, want %d naming --dir:\n%s", code, exitBadInput, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "mine" {
		t.Errorf("demo changed a file it does not own")
	}
	if out, code := runKshift(t, "demo", "--speed", "0"); code != exitBadInput {
		t.Errorf("--speed 0: exit %d, want %d:\n%s", code, exitBadInput, out)
	}
}
