package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/plans"
)

var mermaidBlock = regexp.MustCompile("(?s)```mermaid\n(.*?)```")

// mermaidCharts returns the Mermaid charts of a Markdown text.
func mermaidCharts(md string) []string {
	var out []string
	for _, m := range mermaidBlock.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

func summaryText(t *testing.T, r *Result) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// manyStepsResult is a rolling-like plan of n batches, each a raise-rf,
// move-leader and lower-rf step of one partition, after a zk-join step.
func manyStepsResult(n int) *Result {
	steps := []plans.Step{{Phase: plans.PhaseZKJoin, ZooKeeper: &plans.ZooKeeperChange{}}}
	for i := range n {
		p := int32(i)
		steps = append(steps,
			plans.Step{Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{{Topic: "t", Partition: p, From: []int32{1}, To: []int32{1, 2}, Size: 1 << 30}}},
			plans.Step{Phase: plans.PhaseMoveLeader, Partitions: []plans.Move{{Topic: "t", Partition: p, From: []int32{1, 2}, To: []int32{2, 1}, Size: 1 << 30}}},
			plans.Step{Phase: plans.PhaseLowerRF, Partitions: []plans.Move{{Topic: "t", Partition: p, From: []int32{2, 1}, To: []int32{2}, Size: 1 << 30}}},
		)
	}
	for i := range steps {
		steps[i].Number = i + 1
		if steps[i].Phase.IsReassignment() {
			steps[i].Estimate = plans.EstimateStep(steps[i].Phase, steps[i].Partitions, 50<<20)
		}
	}
	p := &plans.Plan{Version: 1, Kind: plans.KindMigration, ClusterID: "lkc-many", Strategy: plans.StrategyRolling,
		Throttle: 50 << 20, SourceBrokers: []int32{1}, TargetBrokers: []int32{2}, Steps: steps, Totals: plans.ComputeTotals(steps)}
	loads := []plans.BrokerLoad{{Broker: 2, Replicas: n, Leaders: n, Bytes: plans.ByteSize(n) << 30}}
	return &Result{Plan: p, Balance: plans.MeasureBalance(plans.BalanceAllTargets, loads, 1<<30)}
}

func TestSummaryTimelineChart(t *testing.T) {
	charts := mermaidCharts(summaryText(t, summaryResult()))
	if len(charts) != 3 {
		t.Fatalf("%d charts, want a timeline and two load charts:\n%s", len(charts), strings.Join(charts, "\n"))
	}
	gantt := charts[0]
	// Steps 1 and 2 each take their busiest broker's bytes (the source
	// sending 2 GiB, then 6 GiB and 20 MiB) at 90% of 50 MiB/s, plus 1s,
	// in whole seconds: 47s and 2m18s.
	for _, want := range []string{
		"gantt\n", "section raise-rf\n", "section move-leader\n", "section lower-rf\n",
		"    step 1 :b1, 2000-01-01 00:00:00, 2000-01-01 00:00:47\n",
		"    step 2 :b2, 2000-01-01 00:00:47, 2000-01-01 00:03:05\n",
		"    step 4 :b4, 2000-01-01 00:03:07, 2000-01-01 00:03:08\n",
	} {
		if !strings.Contains(gantt, want) {
			t.Errorf("timeline lacks %q:\n%s", want, gantt)
		}
	}
}

func TestSummaryTimelineBoundsBars(t *testing.T) {
	for _, tc := range []struct {
		batches int
		want    []string
		bars    int
	}{
		// 1 + 3*10 steps: one bar each, the zk-join step a milestone.
		{10, []string{"step 1 :milestone, b1, 2000-01-01 00:00:00, 0s", "One bar per step,"}, 31},
		// 1 + 3*50 steps in 151 runs: one bar per phase.
		{50, []string{"steps 2–149 :", "steps 4–151 :", "One bar per phase"}, 4},
	} {
		t.Run(fmt.Sprint(tc.batches), func(t *testing.T) {
			md := summaryText(t, manyStepsResult(tc.batches))
			gantt := mermaidCharts(md)[0]
			for _, want := range tc.want {
				if !strings.Contains(md, want) {
					t.Errorf("summary lacks %q:\n%s", want, gantt)
				}
			}
			if bars := strings.Count(gantt, " :"); bars != tc.bars {
				t.Errorf("%d bars, want %d:\n%s", bars, tc.bars, gantt)
			}
		})
	}
	// Phased: runs of one phase are one bar each.
	r := manyStepsResult(50)
	slicesSortPhased(r.Plan)
	gantt := mermaidCharts(summaryText(t, r))[0]
	for _, want := range []string{"steps 2–51 :", "steps 52–101 :", "steps 102–151 :"} {
		if !strings.Contains(gantt, want) {
			t.Errorf("phased timeline lacks %q:\n%s", want, gantt)
		}
	}
}

// slicesSortPhased reorders a rolling plan's steps phase by phase and renumbers them.
func slicesSortPhased(p *plans.Plan) {
	var out []plans.Step
	for _, ph := range plans.AllPhases {
		for _, s := range p.Steps {
			if s.Phase == ph {
				out = append(out, s)
			}
		}
	}
	for i := range out {
		out[i].Number = i + 1
	}
	p.Steps = out
}

func TestSummaryLoadCharts(t *testing.T) {
	charts := mermaidCharts(summaryText(t, summaryResult()))
	// Brokers 3 and 4 end with 4 GiB + 10 MiB and 3 replicas each, all of
	// it placed by the plan: nothing before.
	for i, want := range []string{
		"    x-axis \"target broker\" [\"3\", \"4\"]\n    y-axis \"GiB\" 0 --> 4.01\n    bar [4.01, 4.01]\n    line [0, 0]\n",
		"    bar [3, 3]\n    line [0, 0]\n",
	} {
		if !strings.Contains(charts[i+1], want) {
			t.Errorf("load chart %d lacks %q:\n%s", i+1, want, charts[i+1])
		}
	}
	// A target that held replicas before: its line shows them.
	r := summaryResult()
	r.Balance.Brokers[0].Replicas += 5
	r.Balance.Brokers[0].Bytes += 2 << 30
	charts = mermaidCharts(summaryText(t, r))
	if !strings.Contains(charts[1], "bar [6.01, 4.01]\n    line [2, 0]\n") || !strings.Contains(charts[2], "bar [8, 3]\n    line [5, 0]\n") {
		t.Errorf("load charts do not show broker 3's earlier load:\n%s\n%s", charts[1], charts[2])
	}
}

// mermaidResult is what the real Mermaid parser understood of one chart
// (testdata/mermaid-check.mjs).
type mermaidResult struct {
	Type  string `json:"type"`
	Error string `json:"error"`
	Tasks []struct {
		Name       string `json:"name"`
		Section    string `json:"section"`
		Milestone  bool   `json:"milestone"`
		Start, End int64
	} `json:"tasks"`
	Categories []string `json:"categories"`
	Plots      []struct {
		Type   string    `json:"type"`
		Values []float64 `json:"values"`
	} `json:"plots"`
}

// parseMermaid runs the real Mermaid parser (npm's mermaid package, in the
// node_modules of the directory KSHIFT_MERMAID names) over charts. It skips
// the test when that is not set up, and fails instead under
// KSHIFT_REQUIRE_MERMAID=1 (CI sets both once npm could install the parser).
func parseMermaid(t *testing.T, charts []string) []mermaidResult {
	t.Helper()
	dir := os.Getenv("KSHIFT_MERMAID")
	skip := t.Skipf
	if os.Getenv("KSHIFT_REQUIRE_MERMAID") == "1" {
		skip = t.Fatalf
	}
	if dir == "" {
		skip("KSHIFT_MERMAID is not set: set it to a directory where `npm install mermaid jsdom` ran (.ci/run does) to check the charts with the real Mermaid parser")
		return nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed (apt-get install nodejs npm): %v", err)
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mermaid", "package.json")); err != nil {
		skip("KSHIFT_MERMAID=%s has no node_modules/mermaid: run npm install mermaid jsdom there: %v", dir, err)
		return nil
	}
	script, err := os.ReadFile(filepath.Join("testdata", "mermaid-check.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(charts)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--input-type=module", "-e", string(script))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node mermaid-check.mjs: %v\n%s", err, stderr.String())
	}
	var res []mermaidResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(charts) {
		t.Fatalf("mermaid-check.mjs answered %d results for %d charts (%v):\n%s", len(res), len(charts), err, out)
	}
	return res
}

// TestSummaryChartsParse checks every chart kshift writes with the real
// Mermaid parser, and that what Mermaid reads is what the plan says: each
// bar as long as its steps' estimates, each load what the balance measured.
func TestSummaryChartsParse(t *testing.T) {
	type sample struct {
		name string
		md   string
		plan *plans.Plan
	}
	samples := []sample{{"summary", summaryText(t, summaryResult()), summaryResult().Plan}}
	for _, n := range []int{10, 50} {
		r := manyStepsResult(n)
		samples = append(samples, sample{fmt.Sprintf("%d batches", n), summaryText(t, r), r.Plan})
	}
	for _, ex := range []string{"six-brokers", "rack-to-zone"} {
		md, err := os.ReadFile(filepath.Join("..", "examples", ex, "plan", "SUMMARY.md"))
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := plans.LoadFile[plans.Plan](filepath.Join("..", "examples", ex, "plan", "plan.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{"example " + ex, string(md), p})
	}
	var all []string
	for _, s := range samples {
		charts := mermaidCharts(s.md)
		if len(charts) != 3 {
			t.Fatalf("%s: %d charts, want 3", s.name, len(charts))
		}
		all = append(all, charts...)
	}
	// A broken chart must be refused: the parser is real.
	all = append(all, "xychart-beta\n    x-axis [\"1\", \"2\"\n    bar [1, 2]\n")
	res := parseMermaid(t, all)
	if res[len(res)-1].Error == "" {
		t.Fatalf("the parser accepted a broken chart: %+v", res[len(res)-1])
	}
	for i, s := range samples {
		gantt, bytesChart, replicas := res[3*i], res[3*i+1], res[3*i+2]
		for j, r := range []mermaidResult{gantt, bytesChart, replicas} {
			if r.Error != "" {
				t.Fatalf("%s: chart %d does not parse: %s\n%s", s.name, j+1, r.Error, all[3*i+j])
			}
		}
		if gantt.Type != "gantt" || bytesChart.Type != "xychart" || replicas.Type != "xychart" {
			t.Fatalf("%s: chart types %s, %s, %s", s.name, gantt.Type, bytesChart.Type, replicas.Type)
		}
		// The bars laid end to end cover the plan's estimate (each step's
		// in whole seconds, as the tables show it).
		var total time.Duration
		for _, st := range s.plan.Steps {
			total += chartDuration(&st)
		}
		first, last := gantt.Tasks[0].Start, gantt.Tasks[0].End
		for _, task := range gantt.Tasks {
			if task.End < task.Start {
				t.Errorf("%s: task %q ends before it starts", s.name, task.Name)
			}
			first, last = min(first, task.Start), max(last, task.End)
		}
		if got := time.Duration(last-first) * time.Millisecond; got != total {
			t.Errorf("%s: Mermaid reads a timeline of %s, the plan estimates %s", s.name, got, total)
		}
		if len(s.plan.Steps) <= chartStepBars {
			if len(gantt.Tasks) != len(s.plan.Steps) {
				t.Errorf("%s: %d tasks for %d steps", s.name, len(gantt.Tasks), len(s.plan.Steps))
			}
			for _, task := range gantt.Tasks {
				var n int
				if _, err := fmt.Sscanf(task.Name, "step %d", &n); err != nil || s.plan.Step(n) == nil {
					t.Errorf("%s: task %q names no step of the plan", s.name, task.Name)
					continue
				}
				st := s.plan.Step(n)
				if got := time.Duration(task.End-task.Start) * time.Millisecond; got != chartDuration(st) || task.Section != string(st.Phase) {
					t.Errorf("%s: task %q in %s lasts %s, step %d (%s) is estimated %s", s.name, task.Name, task.Section, got, st.Number, st.Phase, st.Estimate.Total())
				}
			}
		}
		if len(replicas.Plots) != 2 || replicas.Plots[0].Type != "bar" || replicas.Plots[1].Type != "line" || len(replicas.Plots[0].Values) != len(replicas.Categories) {
			t.Errorf("%s: replicas chart read as %+v", s.name, replicas)
		}
	}
	// The summary's loads as Mermaid reads them.
	r := res[2]
	if fmt.Sprint(r.Categories) != "[3 4]" || fmt.Sprint(r.Plots[0].Values) != "[3 3]" || fmt.Sprint(r.Plots[1].Values) != "[0 0]" {
		t.Errorf("replicas chart read as %+v", r)
	}
}
