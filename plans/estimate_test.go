package plans

import (
	"testing"
	"time"
)

func TestFixedCost(t *testing.T) {
	for _, tc := range []struct {
		phase      Phase
		partitions int
		want       time.Duration
	}{
		{PhaseRaiseRF, 1, time.Second},
		{PhaseRaiseRF, 500, time.Second},
		{PhaseLowerRF, 4, time.Second},
		// One election batch: 1 s + 0.5 s, written rounded to 2 s.
		{PhaseMoveLeader, 1, 2 * time.Second},
		{PhaseMoveLeader, 50, 2 * time.Second},
		// Two batches: 1 s + 2 × 0.5 s + one 2 s wait between them.
		{PhaseMoveLeader, 51, 4 * time.Second},
		// Ten batches: 1 s + 10 × 0.5 s + 9 × 2 s.
		{PhaseMoveLeader, 500, 24 * time.Second},
		{PhaseZKJoin, 0, 0},
		{PhaseZKHandover, 0, 0},
		{PhaseZKFork, 0, 0},
		{PhaseZKPrune, 0, 0},
	} {
		if got := FixedCost(tc.phase, tc.partitions); time.Duration(got) != tc.want {
			t.Errorf("FixedCost(%s, %d) = %s, want %s", tc.phase, tc.partitions, time.Duration(got), tc.want)
		}
	}
}

// TestFixedCostWholeSeconds: a plan file writes durations in whole seconds,
// so the fixed cost a plan holds in memory is the one its file holds, and
// its totals are the sum of what its steps show.
func TestFixedCostWholeSeconds(t *testing.T) {
	for _, ph := range AllPhases {
		for n := range 1200 {
			if got := time.Duration(FixedCost(ph, n)); got%time.Second != 0 {
				t.Fatalf("FixedCost(%s, %d) = %s, not whole seconds", ph, n, got)
			}
		}
	}
}

func TestEstimateStep(t *testing.T) {
	moves := []Move{
		{Topic: "t", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 3}, Size: 900},
		{Topic: "t", Partition: 1, From: []int32{2, 1}, To: []int32{2, 1, 3}, Size: 900},
	}
	e := EstimateStep(PhaseRaiseRF, moves, 100)
	copyOnly := EstimateMoves(moves, 100)
	// Broker 3 receives 1800 bytes at 90 B/s: 20 s of copy, plus 1 s.
	if e.Duration != copyOnly.Duration || time.Duration(e.Duration) != 20*time.Second {
		t.Errorf("copy time %s, want EstimateMoves' %s (20s)", e.Duration, copyOnly.Duration)
	}
	if time.Duration(e.FixedCost) != time.Second || time.Duration(e.Total()) != 21*time.Second {
		t.Errorf("fixed cost %s, total %s, want 1s and 21s", e.FixedCost, e.Total())
	}
}

func TestTotalsAdd(t *testing.T) {
	var tot Totals
	tot.Add(Estimate{BytesToCopy: 10, Duration: Duration(5 * time.Second), FixedCost: Duration(time.Second)})
	tot.Add(Estimate{FixedCost: Duration(2 * time.Second)})
	want := Totals{BytesToCopy: 10, Duration: Duration(5 * time.Second), FixedCost: Duration(3 * time.Second), TotalDuration: Duration(8 * time.Second)}
	if tot != want {
		t.Errorf("totals %+v, want %+v", tot, want)
	}
}
