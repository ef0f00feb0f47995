package plandiff

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kshift/kshift/plans"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const gib = plans.ByteSize(1 << 30)

func mv(topic string, part int32, from, to []int32, size plans.ByteSize) plans.Move {
	return plans.Move{Topic: topic, Partition: part, From: from, To: to, Size: size}
}

func step(phase plans.Phase, moves ...plans.Move) plans.Step {
	return plans.Step{Phase: phase, Partitions: moves}
}

// mkPlan numbers the steps, estimates them at 50 MiB/s and sums the totals.
func mkPlan(cluster string, steps ...plans.Step) *plans.Plan {
	for i := range steps {
		steps[i].Number = i + 1
		steps[i].Estimate = plans.EstimateStep(steps[i].Phase, steps[i].Partitions, 50<<20)
	}
	return &plans.Plan{
		Version: 1, Kind: plans.KindMigration, ClusterID: cluster, Strategy: plans.StrategyPhased,
		Throttle: 50 << 20, SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4},
		SnapshotSHA256: strings.Repeat("a", 64), MappingSHA256: strings.Repeat("b", 64), KshiftVersion: "test",
		Steps: steps, Totals: plans.ComputeTotals(steps),
	}
}

// oldPlan moves orders-0, orders-1 and logs-0 from brokers 1,2 to 3,4 in
// four phased steps.
func oldPlan() *plans.Plan {
	return mkPlan("lkc-1",
		step(plans.PhaseRaiseRF, mv("orders", 0, []int32{1, 2}, []int32{1, 2, 3, 4}, gib)),
		step(plans.PhaseRaiseRF,
			mv("orders", 1, []int32{2, 1}, []int32{2, 1, 4, 3}, 3*gib),
			mv("logs", 0, []int32{1, 2}, []int32{1, 2, 3, 4}, gib/100)),
		step(plans.PhaseMoveLeader,
			mv("orders", 0, []int32{1, 2, 3, 4}, []int32{3, 4, 1, 2}, gib),
			mv("orders", 1, []int32{2, 1, 4, 3}, []int32{4, 3, 2, 1}, 3*gib),
			mv("logs", 0, []int32{1, 2, 3, 4}, []int32{3, 4, 1, 2}, gib/100)),
		step(plans.PhaseLowerRF,
			mv("orders", 0, []int32{3, 4, 1, 2}, []int32{3, 4}, gib),
			mv("orders", 1, []int32{4, 3, 2, 1}, []int32{4, 3}, 3*gib),
			mv("logs", 0, []int32{3, 4, 1, 2}, []int32{3, 4}, gib/100)),
	)
}

// newPlan splits old step 2 in two (logs-0 gets a raise-rf step of its
// own), leads orders-1 from broker 3 instead of 4, and leaves the rest.
func newPlan() *plans.Plan {
	return mkPlan("lkc-1",
		step(plans.PhaseRaiseRF, mv("orders", 0, []int32{1, 2}, []int32{1, 2, 3, 4}, gib)),
		step(plans.PhaseRaiseRF, mv("orders", 1, []int32{2, 1}, []int32{2, 1, 3, 4}, 3*gib)),
		step(plans.PhaseRaiseRF, mv("logs", 0, []int32{1, 2}, []int32{1, 2, 3, 4}, gib/100)),
		step(plans.PhaseMoveLeader,
			mv("orders", 0, []int32{1, 2, 3, 4}, []int32{3, 4, 1, 2}, gib),
			mv("orders", 1, []int32{2, 1, 3, 4}, []int32{3, 4, 2, 1}, 3*gib),
			mv("logs", 0, []int32{1, 2, 3, 4}, []int32{3, 4, 1, 2}, gib/100)),
		step(plans.PhaseLowerRF,
			mv("orders", 0, []int32{3, 4, 1, 2}, []int32{3, 4}, gib),
			mv("orders", 1, []int32{3, 4, 2, 1}, []int32{3, 4}, 3*gib),
			mv("logs", 0, []int32{3, 4, 1, 2}, []int32{3, 4}, gib/100)),
	)
}

func TestCompareSteps(t *testing.T) {
	d, err := Compare(oldPlan(), newPlan())
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		change   StepChangeKind
		old, new int
	}
	var got []row
	for _, s := range d.Steps {
		got = append(got, row{s.Change, s.OldNumber, s.NewNumber})
	}
	want := []row{
		{StepResized, 2, 2}, // lost logs-0
		{StepAdded, 0, 3},   // logs-0's own step
		{StepChanged, 3, 4}, // same size, orders-1 reordered otherwise
		{StepChanged, 4, 5}, // orders-1's from differs
	}
	if !slices.Equal(got, want) {
		t.Errorf("step changes = %+v, want %+v", got, want)
	}
	if d.UnchangedSteps != 1 {
		t.Errorf("unchanged steps = %d, want 1 (step 1)", d.UnchangedSteps)
	}
	if d.Old.Totals.Steps != 4 || d.New.Totals.Steps != 5 {
		t.Errorf("totals steps %d -> %d, want 4 -> 5", d.Old.Totals.Steps, d.New.Totals.Steps)
	}
	if d.New.Totals.FixedCostSeconds != d.Old.Totals.FixedCostSeconds+1 {
		t.Errorf("fixed cost %v -> %v: one more step should add a second", d.Old.Totals.FixedCostSeconds, d.New.Totals.FixedCostSeconds)
	}
}

func TestComparePartitions(t *testing.T) {
	d, err := Compare(oldPlan(), newPlan())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != 2 {
		t.Fatalf("partition changes = %+v, want logs-0 and orders-1", d.Partitions)
	}
	logs, orders := d.Partitions[0], d.Partitions[1]
	if logs.Name() != "logs-0" || logs.TargetChanged || !logs.StepChanged ||
		!slices.Equal(logs.OldSteps, []int{2, 3, 4}) || !slices.Equal(logs.NewSteps, []int{3, 4, 5}) {
		t.Errorf("logs-0 = %+v, want same target, moved from step 2 to step 3", logs)
	}
	if orders.Name() != "orders-1" || !orders.TargetChanged || orders.StepChanged ||
		!slices.Equal(orders.OldTarget, []int32{4, 3}) || !slices.Equal(orders.NewTarget, []int32{3, 4}) {
		t.Errorf("orders-1 = %+v, want target [4,3] -> [3,4] in the matching steps", orders)
	}
}

func TestCompareBrokers(t *testing.T) {
	d, err := Compare(oldPlan(), newPlan())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int32]BrokerChange{}
	for _, b := range d.Brokers {
		byID[b.Broker] = b
	}
	// Old: broker 3 leads orders-0 and logs-0, broker 4 leads orders-1.
	// New: broker 3 leads all three.
	if b := byID[3]; b.OldLeaders != 2 || b.NewLeaders != 3 || b.OldReplicas != 3 || b.NewReplicas != 3 {
		t.Errorf("broker 3 = %+v, want leaders 2 -> 3, replicas 3 -> 3", b)
	}
	if b := byID[4]; b.OldLeaders != 1 || b.NewLeaders != 0 {
		t.Errorf("broker 4 = %+v, want leaders 1 -> 0", b)
	}
	if b := byID[1]; b.OldReplicas != -3 || b.OldBytes != -(4*gib+gib/100) || b.OldLeaders != -2 {
		t.Errorf("source broker 1 = %+v, want -3 replicas, -2 leaders, all bytes", b)
	}
	if d.Old.Balance.LeaderDeviation != 0.5 || d.New.Balance.LeaderDeviation != 1.5 {
		t.Errorf("leader spread %v -> %v, want 0.5 -> 1.5", d.Old.Balance.LeaderDeviation, d.New.Balance.LeaderDeviation)
	}
}

func TestCompareIdentical(t *testing.T) {
	d, err := Compare(oldPlan(), oldPlan())
	if err != nil {
		t.Fatal(err)
	}
	if d.Changed() || len(d.Steps) != 0 || len(d.Partitions) != 0 || d.UnchangedSteps != 4 {
		t.Errorf("identical plans: changed=%v steps=%+v partitions=%+v unchanged=%d", d.Changed(), d.Steps, d.Partitions, d.UnchangedSteps)
	}
}

// A step inserted in front renumbers every later step: they are reported
// renumbered, and their partitions did not change step.
func TestCompareRenumbered(t *testing.T) {
	old := oldPlan()
	steps := append([]plans.Step{step(plans.PhaseRaiseRF, mv("extra", 0, []int32{1}, []int32{1, 3}, gib))}, oldPlan().Steps...)
	for i := range steps {
		steps[i].Partitions = slices.Clone(steps[i].Partitions)
	}
	d, err := Compare(old, mkPlan("lkc-1", steps...))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[StepChangeKind]int{}
	for _, s := range d.Steps {
		kinds[s.Change]++
	}
	if kinds[StepAdded] != 1 || kinds[StepRenumbered] != 4 || len(d.Steps) != 5 {
		t.Errorf("step changes = %+v, want 1 added and 4 renumbered", d.Steps)
	}
	if len(d.Partitions) != 1 || d.Partitions[0].Name() != "extra-0" {
		t.Errorf("partition changes = %+v, want only extra-0 (new)", d.Partitions)
	}
}

func TestCompareRemoved(t *testing.T) {
	d, err := Compare(newPlan(), oldPlan())
	if err != nil {
		t.Fatal(err)
	}
	var removed []int
	for _, s := range d.Steps {
		if s.Change == StepRemoved {
			removed = append(removed, s.OldNumber)
		}
	}
	if !slices.Equal(removed, []int{3}) {
		t.Errorf("removed steps = %v, want [3]: %+v", removed, d.Steps)
	}
}

func TestCompareRefusesOtherCluster(t *testing.T) {
	other := oldPlan()
	other.ClusterID = "lkc-2"
	if _, err := Compare(oldPlan(), other); !errors.Is(err, ErrNotComparable) || !strings.Contains(err.Error(), `"lkc-2"`) {
		t.Errorf("another cluster: err = %v, want ErrNotComparable naming it", err)
	}
	rb := plans.Rollback(oldPlan())
	if _, err := Compare(oldPlan(), rb); !errors.Is(err, ErrNotComparable) {
		t.Errorf("a rollback against a migration: err = %v, want ErrNotComparable", err)
	}
}

func TestWriteMarkdownGolden(t *testing.T) {
	d, err := Compare(oldPlan(), newPlan())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, d); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "diff.md")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./plandiff -update to write it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("markdown differs from %s (rerun with -update and review):\n%s", golden, buf.String())
	}
}

func TestWriteMarkdownBoundsRows(t *testing.T) {
	var old, new []plans.Step
	for i := range MarkdownRows + 5 {
		old = append(old, step(plans.PhaseRaiseRF, mv("t", int32(i), []int32{1}, []int32{1, 3}, gib)))
		new = append(new, step(plans.PhaseRaiseRF, mv("t", int32(i), []int32{1}, []int32{1, 4}, gib)))
	}
	d, err := Compare(mkPlan("c", old...), mkPlan("c", new...))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, d); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"… and 5 more step changes", "… and 5 more partitions", "55 changed, 0 unchanged", "55 partition(s) changed: 55 with another target, 0 moved in another step"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

// ZooKeeper steps move no partitions: they pair by phase, in order, and a
// changed ensemble change shows as a changed step.
func TestCompareZooKeeperSteps(t *testing.T) {
	zk := func(connect string, join ...int) plans.Step {
		c := &plans.ZooKeeperChange{Connect: connect}
		for _, id := range join {
			c.Join = append(c.Join, plans.ZKServer{ID: id, Host: "zk", ClientPort: 2181, QuorumPort: 2888, ElectionPort: 3888})
		}
		return plans.Step{Phase: plans.PhaseZKJoin, ZooKeeper: c}
	}
	withZK := func(join plans.Step) *plans.Plan {
		p := oldPlan()
		steps := append([]plans.Step{join}, p.Steps...)
		for i := range steps {
			steps[i].Number = i + 1
		}
		p.Steps, p.Totals = steps, plans.ComputeTotals(steps)
		return p
	}
	same, err := Compare(withZK(zk("zk:2181", 4, 5)), withZK(zk("zk:2181", 4, 5)))
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Steps) != 0 || same.UnchangedSteps != 5 {
		t.Errorf("same zk-join: steps %+v, %d unchanged", same.Steps, same.UnchangedSteps)
	}
	d, err := Compare(withZK(zk("zk:2181", 4, 5)), withZK(zk("zk:2181", 4, 6)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Steps) != 1 || d.Steps[0].Change != StepChanged || d.Steps[0].Phase != plans.PhaseZKJoin || d.Steps[0].OldNumber != 1 || d.Steps[0].NewNumber != 1 {
		t.Errorf("another zk-join: steps %+v, want step 1 changed", d.Steps)
	}
	d, err = Compare(oldPlan(), withZK(zk("zk:2181", 4)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Steps) != 5 || d.Steps[0].Change != StepAdded || d.Steps[0].Phase != plans.PhaseZKJoin {
		t.Errorf("a zk-join added in front: steps %+v", d.Steps)
	}
}
