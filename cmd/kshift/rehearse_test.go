package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kshift/kshift/internal/rehearsal"
	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
)

// TestRehearseCommand runs kshift rehearse in-process on a small synthetic
// cluster: the json report has every step, durations within ±20% of the
// estimates and the throttle given; the table names the totals; missing or
// bad flags exit 2.
func TestRehearseCommand(t *testing.T) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 3, TargetBrokers: 3, Topics: 4, Partitions: 24, TotalBytes: 60 << 30, Seed: 3})
	// The estimates assume each partition's first replica leads (see
	// internal/rehearsal's preferredLeaders).
	for i := range snap.Topics {
		for j := range snap.Topics[i].Partitions {
			p := &snap.Topics[i].Partitions[j]
			p.Leader = p.Replicas[0]
		}
	}
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	snapPath, planPath := filepath.Join(dir, "snapshot.yaml"), filepath.Join(dir, "plan.yaml")
	for path, v := range map[string]any{snapPath: snap, planPath: res.Plan} {
		data, err := plans.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := runKshift(t, "rehearse", planPath, "--snapshot", snapPath, "--speed", "2000", "--throttle", "100MiB/s", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var rep rehearsal.Report
	if err := json.NewDecoder(strings.NewReader(out[strings.Index(out, "{"):])).Decode(&rep); err != nil {
		t.Fatalf("json report: %v\n%s", err, out)
	}
	if len(rep.Steps) != len(res.Plan.Steps) || rep.Throttle != 100<<20 {
		t.Fatalf("report of %d steps at %s, want %d at 100 MiB/s", len(rep.Steps), rep.Throttle, len(res.Plan.Steps))
	}
	for _, s := range rep.Steps {
		if s.Estimate >= 10*rep.Resolution && (s.Ratio < 0.8 || s.Ratio > 1.2) {
			t.Errorf("step %d: simulated %s, estimate %s", s.Number, s.Simulated, s.Estimate)
		}
	}

	out, code = runKshift(t, "rehearse", planPath, "--snapshot", snapPath, "--speed", "4000")
	if code != 0 || !strings.Contains(out, "RATIO TO IDEAL") || !strings.Contains(out, "most replicas per broker") {
		t.Errorf("table: exit %d:\n%s", code, out)
	}
	for _, args := range [][]string{
		{"rehearse", planPath},
		{"rehearse", planPath, "--snapshot", snapPath, "--speed", "0"},
		{"rehearse", planPath, "--snapshot", snapPath, "--throttle", "fast"},
		{"rehearse", planPath, "--snapshot", filepath.Join(dir, "absent.yaml")},
	} {
		if out, code := runKshift(t, args...); code != exitBadInput {
			t.Errorf("%v: exit %d, want %d:\n%s", args, code, exitBadInput, out)
		}
	}
}

// TestRehearseCommandStall gives up on a step whose copies cannot follow the
// inbound traffic: exit 1, the stall in the table.
func TestRehearseCommandStall(t *testing.T) {
	snap, m := synth.Generate(synth.Options{SourceBrokers: 3, TargetBrokers: 3, Topics: 3, Partitions: 12, TotalBytes: 12 << 30, Seed: 9})
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	snapPath, planPath := filepath.Join(dir, "snapshot.yaml"), filepath.Join(dir, "plan.yaml")
	for path, v := range map[string]any{snapPath: snap, planPath: res.Plan} {
		data, err := plans.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := runKshift(t, "rehearse", planPath, "--snapshot", snapPath, "--speed", "2000", "--inbound", "1GiB/s", "--step-limit", "20m")
	if code != exitFailure || !strings.Contains(out, "gave up") || !strings.Contains(out, "inbound traffic is at or above the throttle") {
		t.Errorf("exit %d, want %d with the stall named:\n%s", code, exitFailure, out)
	}
}
