package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// planPair plans testSnapshot twice, with partitions_per_step 2 and then 1
// (more, smaller steps), and returns both plan directories.
func planPair(t *testing.T) (oldDir, newDir string) {
	t.Helper()
	snap, mapping, dir := planFixture(t, testSnapshot, testMapping)
	oldDir = filepath.Join(dir, "old")
	if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", oldDir); code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errMsg)
	}
	snap2, mapping2, dir2 := planFixture(t, testSnapshot, strings.Replace(testMapping, "partitions_per_step: 2", "partitions_per_step: 1", 1))
	newDir = filepath.Join(dir2, "new")
	if code, _, errMsg := planRun(t, "plan", "--snapshot", snap2, "--mapping", mapping2, "--out", newDir); code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errMsg)
	}
	return oldDir, newDir
}

func TestPlanDiffOutputs(t *testing.T) {
	oldDir, newDir := planPair(t)
	oldPlan, newPlan := filepath.Join(oldDir, "plan.yaml"), filepath.Join(newDir, "plan.yaml")

	code, md, errMsg := planRun(t, "plan", "diff", oldPlan, newPlan, "--output", "markdown")
	if code != exitOK {
		t.Fatalf("markdown: exit %d: %s", code, errMsg)
	}
	for _, want := range []string{"### Plan diff for cluster `lkc-test` (migration plan)", "| steps | 9 | 15 | +6 |", "#### Steps", "resized", "added", "#### Partitions"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	code, js, errMsg := planRun(t, "plan", "diff", "-o", "json", oldPlan, newPlan)
	if code != exitOK {
		t.Fatalf("json: exit %d: %s", code, errMsg)
	}
	var d struct {
		ClusterID string `json:"cluster_id"`
		Old, New  struct {
			Totals struct{ Steps int } `json:"totals"`
		}
		Steps []struct{ Change string } `json:"steps"`
	}
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatalf("json: %v\n%s", err, js)
	}
	if d.ClusterID != "lkc-test" || d.Old.Totals.Steps != 9 || d.New.Totals.Steps != 15 || len(d.Steps) == 0 {
		t.Errorf("json diff = %+v", d)
	}

	code, tbl, errMsg := planRun(t, "plan", "diff", oldPlan, newPlan)
	if code != exitOK {
		t.Fatalf("table: exit %d: %s", code, errMsg)
	}
	for _, want := range []string{"plan diff for cluster lkc-test (migration plan)", "step(s) changed", "partition(s) changed"} {
		if !strings.Contains(tbl, want) {
			t.Errorf("table lacks %q:\n%s", want, tbl)
		}
	}

	// A plan against itself: no change.
	code, md, _ = planRun(t, "plan", "diff", oldPlan, oldPlan, "-o", "markdown")
	if code != exitOK || !strings.Contains(md, "No change: ") {
		t.Errorf("a plan against itself: exit %d:\n%s", code, md)
	}
}

func TestPlanDiffRefuses(t *testing.T) {
	oldDir, newDir := planPair(t)
	other := strings.Replace(testSnapshot, "cluster_id: lkc-test", "cluster_id: lkc-other", 1)
	snap, mapping, dir := planFixture(t, other, testMapping)
	otherDir := filepath.Join(dir, "other")
	if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", otherDir); code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errMsg)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"other cluster", []string{filepath.Join(oldDir, "plan.yaml"), filepath.Join(otherDir, "plan.yaml")}, exitBadInput, `the new one for cluster "lkc-other"`},
		{"plan against rollback", []string{filepath.Join(oldDir, "plan.yaml"), filepath.Join(newDir, "rollback.yaml")}, exitBadInput, "compare plan.yaml with plan.yaml"},
		{"missing file", []string{filepath.Join(oldDir, "plan.yaml"), filepath.Join(dir, "nope.yaml")}, exitBadInput, "nope.yaml"},
		{"one argument", []string{filepath.Join(oldDir, "plan.yaml")}, exitBadInput, "want two plan files"},
		{"bad format", []string{filepath.Join(oldDir, "plan.yaml"), filepath.Join(newDir, "plan.yaml"), "-o", "yaml"}, exitBadInput, "not one of table, markdown, json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errMsg := planRun(t, append([]string{"plan", "diff"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errMsg, tc.want) {
				t.Errorf("exit %d (want %d): %s (want %q)", code, tc.code, errMsg, tc.want)
			}
		})
	}
}
