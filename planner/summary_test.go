package planner

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/plans"
)

func summaryResult() *Result {
	steps := []plans.Step{
		{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 3, 4}, Size: 1 << 30},
		}},
		{Number: 2, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{
			{Topic: "orders", Partition: 1, From: []int32{2, 1}, To: []int32{2, 1, 4, 3}, Size: 3 << 30},
			{Topic: "logs", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 3, 4}, Size: 10 << 20},
		}},
		{Number: 3, Phase: plans.PhaseMoveLeader, Partitions: []plans.Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2, 3, 4}, To: []int32{3, 4, 1, 2}, Size: 1 << 30},
			{Topic: "orders", Partition: 1, From: []int32{2, 1, 4, 3}, To: []int32{4, 3, 2, 1}, Size: 3 << 30},
			{Topic: "logs", Partition: 0, From: []int32{1, 2, 3, 4}, To: []int32{3, 4, 1, 2}, Size: 10 << 20},
		}},
		{Number: 4, Phase: plans.PhaseLowerRF, Partitions: []plans.Move{
			{Topic: "orders", Partition: 0, From: []int32{3, 4, 1, 2}, To: []int32{3, 4}, Size: 1 << 30},
			{Topic: "orders", Partition: 1, From: []int32{4, 3, 2, 1}, To: []int32{4, 3}, Size: 3 << 30},
			{Topic: "logs", Partition: 0, From: []int32{3, 4, 1, 2}, To: []int32{3, 4}, Size: 10 << 20},
		}},
	}
	for i := range steps {
		steps[i].Estimate = plans.EstimateStep(steps[i].Phase, steps[i].Partitions, 50<<20)
	}
	p := &plans.Plan{
		Version: 1, Kind: plans.KindMigration, ClusterID: "lkc-1", Strategy: plans.StrategyPhased,
		SnapshotSHA256: strings.Repeat("a", 64), MappingSHA256: strings.Repeat("b", 64), KshiftVersion: "test",
		Throttle: 50 << 20, SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4},
		Steps: steps, Totals: plans.ComputeTotals(steps),
	}
	loads := []plans.BrokerLoad{
		{Broker: 4, Rack: "b", Replicas: 3, Leaders: 2, Bytes: 4<<30 + 10<<20},
		{Broker: 3, Rack: "a", Replicas: 3, Leaders: 1, Bytes: 4<<30 + 10<<20, Capacity: 1 << 40},
	}
	return &Result{
		Plan: p,
		Warnings: []Warning{
			{Kind: WarnFewerRacksThanRF, Subject: "logs", Message: "2 racks for RF 3"},
			{Kind: WarnRFAtMinISR, Subject: "orders", Message: "target RF 2 equals min.insync.replicas 2"},
		},
		Balance: plans.MeasureBalance(plans.BalanceAllTargets, loads, 3<<30),
	}
}

func TestWriteSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, summaryResult()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# Migration plan for cluster `lkc-1`\n",
		"| throttle | 50 MiB/s per broker (52428800 bytes/s) |\n",
		"| snapshot sha256 | `" + strings.Repeat("a", 64) + "` |\n",
		"**4 steps** touching **3 partitions**, copying **8.0 GiB** (8610906112 bytes)",
		"| raise-rf | 2 | 1–2 | 3 | 8.0 GiB | ",
		// The estimate both ways: in all, and as copy time and fixed costs
		// (1 s a step, 2 s for the move-leader step's one election batch).
		"; about **3m8s** in all: **3m3s** copying at the throttle and **5s** of fixed costs.\n",
		"| raise-rf | 2 | 1–2 | 3 | 8.0 GiB | 3m3s | 2s | 3m5s |\n",
		"| move-leader | 1 | 3 | 3 | 0 B | 0s | 2s | 2s |\n",
		"| lower-rf | 1 | 4 | 3 | 0 B | 0s | 1s | 1s |\n",
		// What an estimate includes, from the model's constants.
		"its busiest broker receives or sends at 90% of the throttle",
		"plus a fixed cost per step of 1s (the gates, the lock, throttle writes and their read-back, verification",
		"for move-leader, 0.5s per election batch and 2s between batches (paced elections at `--election-batch 50` / `--election-wait 2s`",
		"| 2 | raise-rf | 2 | 6.0 GiB | 2 | 6.0 GiB | 2m17s | 1s | 2m18s |\n",
		"| replicas per broker | 0.0 | 1 |\n",
		"| leaders per broker | 0.5 | 1 |\n",
		"| 3 | a | 3 | 1 | 4.0 GiB | 1.0 TiB |\n",
		"| 4 | b | 3 | 2 | 4.0 GiB | unknown |\n",
		// Warnings are grouped in AllWarningKinds order, whatever order they came in.
		"**rf-equals-min-insync** (1)\n\n- `orders`: target RF 2 equals min.insync.replicas 2\n\n**fewer-racks-than-rf** (1)",
		"kshift apply plan.yaml --step 1 ",
		"kshift rollback plan.yaml --step N ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Contains(out, "ZooKeeper steps") {
		t.Error("a plan without ZooKeeper steps says they are not estimated")
	}
	// Step 2 copies the most (3 GiB + 10 MiB onto each of two brokers, sent by 2 and 1).
	largest := out[strings.Index(out, "## Largest steps"):]
	if i, j := strings.Index(largest, "| 2 | raise-rf |"), strings.Index(largest, "| 1 | raise-rf |"); i < 0 || j < 0 || i > j {
		t.Errorf("largest steps not ordered by duration:\n%s", largest)
	}
	var again bytes.Buffer
	if err := WriteSummary(&again, summaryResult()); err != nil {
		t.Fatal(err)
	}
	if again.String() != out {
		t.Error("two summaries of the same result differ")
	}
}

// TestWriteSummaryLargestStepsByTotal: the longest steps are the longest in
// all, fixed cost included: a move-leader step of many election batches can
// outlast a small copy.
func TestWriteSummaryLargestStepsByTotal(t *testing.T) {
	r := summaryResult()
	r.Plan.Steps[0].Estimate.Duration = plans.Duration(10 * time.Second)
	r.Plan.Steps[2].Estimate.FixedCost = plans.FixedCost(plans.PhaseMoveLeader, 500)
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	largest := out[strings.Index(out, "## Largest steps"):]
	if i, j := strings.Index(largest, "| 3 | move-leader | 3 | 0 B | – | 0 B | 0s | 24s | 24s |"), strings.Index(largest, "| 1 | raise-rf |"); i < 0 || j < 0 || i > j {
		t.Errorf("largest steps not ordered by copy time and fixed cost:\n%s", largest)
	}
}

func TestWriteSummaryZooKeeperStepsNotEstimated(t *testing.T) {
	r := summaryResult()
	r.Plan.Steps = append([]plans.Step{{Number: 0, Phase: plans.PhaseZKJoin, ZooKeeper: &plans.ZooKeeperChange{Connect: "zk:2181"}}}, r.Plan.Steps...)
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "ZooKeeper steps are not estimated: they wait on the ensemble, and a fork on you.\n") {
		t.Errorf("a plan with a zk step does not say it is not estimated:\n%s", buf.String())
	}
}

func TestWriteSummaryCapsWarnings(t *testing.T) {
	r := summaryResult()
	r.Warnings = nil
	for i := range 25 {
		r.Warnings = append(r.Warnings, Warning{Kind: WarnUnderReplicated, Subject: fmt.Sprintf("t-%d", i), Message: "isr [1] of [1 2]"})
	}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "**under-replicated** (25)") || !strings.Contains(out, "- … and 5 more of this kind\n") || strings.Contains(out, "`t-20`") {
		t.Errorf("warnings not capped at %d:\n%s", summaryWarningsPerKind, out)
	}
}

func TestWriteSummaryEmptyPlan(t *testing.T) {
	r := &Result{Plan: &plans.Plan{Version: 1, Kind: plans.KindMigration, ClusterID: "c", Strategy: plans.StrategyPhased, Throttle: 1}}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The plan has no steps", "Not measured for this plan", "## Warnings\n\nNone.", "| snapshot sha256 | not recorded |"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestWriteSummaryWhatDecidesRackShares: the balance section credits the
// rack_map only when the mapping has one.
func TestWriteSummaryWhatDecidesRackShares(t *testing.T) {
	for _, mapped := range []bool{false, true} {
		r := summaryResult()
		r.Balance.Scope = plans.BalanceByRack
		r.RackMapped = mapped
		var buf bytes.Buffer
		if err := WriteSummary(&buf, r); err != nil {
			t.Fatal(err)
		}
		says := strings.Contains(buf.String(), "the rack_map decides")
		if says != mapped {
			t.Errorf("rack_map in the mapping %v, summary credits it %v", mapped, says)
		}
	}
}
