package inspect

import (
	"slices"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
)

// TestRegistryEntries pins the registry's table: every gate has an id of
// its own, a kind, a line saying what it checks and a function; the gates
// that say which cluster this is are safety gates.
func TestRegistryEntries(t *testing.T) {
	seen := map[Gate]bool{}
	for _, g := range Gates {
		if seen[g.ID] || g.ID == "" {
			t.Errorf("gate id %q is empty or listed twice", g.ID)
		}
		seen[g.ID] = true
		if !slices.Contains(AllGateKinds, g.Kind) || g.Checks == "" || g.Run == nil {
			t.Errorf("gate %s: kind %q, checks %q, run set %v; want a kind, a line and a function", g.ID, g.Kind, g.Checks, g.Run != nil)
		}
		if g.First && g.Kind != KindSafety {
			t.Errorf("gate %s runs first but is a %s gate: a gate that says which cluster this is always runs", g.ID, g.Kind)
		}
	}
	if !slices.Equal(AllGates, Gates.IDs()) {
		t.Errorf("AllGates %v, want the registry's order %v", AllGates, Gates.IDs())
	}
}

// TestBeforeStepSelectsByKind pins what runs before a step: safety gates
// always, health gates unless skipped, report gates never; the first
// gates apart from the others.
func TestBeforeStepSelectsByKind(t *testing.T) {
	kinds := func(r Registry) map[GateKind]int {
		out := map[GateKind]int{}
		for _, g := range r {
			out[g.Kind]++
		}
		return out
	}
	all := kinds(Gates)
	for _, tc := range []struct {
		skipHealth bool
		want       map[GateKind]int
	}{
		{false, map[GateKind]int{KindSafety: all[KindSafety], KindHealth: all[KindHealth]}},
		{true, map[GateKind]int{KindSafety: all[KindSafety]}},
	} {
		first, rest := Gates.BeforeStep(tc.skipHealth, true), Gates.BeforeStep(tc.skipHealth, false)
		if !slices.Equal(first.IDs(), []Gate{GateClusterID}) {
			t.Errorf("skip health %v: first gates %v, want [%s]", tc.skipHealth, first.IDs(), GateClusterID)
		}
		got := kinds(append(first, rest...))
		if len(got) != len(tc.want) || got[KindSafety] != tc.want[KindSafety] || got[KindHealth] != tc.want[KindHealth] {
			t.Errorf("skip health %v: kinds run %v, want %v", tc.skipHealth, got, tc.want)
		}
	}
}

// TestRunSettles pins the one settle policy: a failing gate that settles
// is read again until it passes or Settle ends; a failing gate that does
// not settle ends the run at once, whatever the others do.
func TestRunSettles(t *testing.T) {
	_, cl := sharedCluster(t, kafkasim.Config{})
	k := api(cl)
	gate := func(id Gate, settles bool, passFrom int, reads *int) GateDef {
		return GateDef{ID: id, Kind: KindSafety, Checks: "test", Settles: settles, Run: func(in *GateInput) GateResult {
			*reads++
			if in.State == nil || in.State.Snapshot.ClusterID != "c-check" {
				t.Errorf("gate %s given no fresh read of the cluster", id)
			}
			if *reads >= passFrom {
				return GateResult{Gate: id, Status: StatusPass}
			}
			return GateResult{Gate: id, Status: StatusFail, Summary: "not yet"}
		}}
	}
	for _, tc := range []struct {
		name      string
		settle    time.Duration
		settles   bool // the failing gate settles
		firm      bool // with a gate beside it that fails and does not settle
		passFrom  int
		wantReads int
		wantFail  bool
	}{
		{"settles on the third read", 5 * time.Second, true, false, 3, 3, false},
		{"does not settle: one read", 5 * time.Second, false, false, 3, 1, true},
		{"a firm failure ends the wait", 5 * time.Second, true, true, 3, 1, true},
		{"no settle time: one read", 0, true, false, 3, 1, true},
		{"never settles: fails at the deadline", 300 * time.Millisecond, true, false, 1000, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reads, firmReads int
			r := Registry{gate("trailing", tc.settles, tc.passFrom, &reads)}
			if tc.firm {
				r = append(r, gate("firm", false, 1000, &firmReads))
			}
			start := time.Now()
			rep, err := r.Run(ctxT(t), k, CheckScope{Plan: raisePlan(), Step: 1, Settle: tc.settle})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantReads >= 0 && reads != tc.wantReads {
				t.Errorf("the gate read the cluster %d times, want %d", reads, tc.wantReads)
			}
			if tc.wantReads < 0 && (reads < 3 || time.Since(start) < tc.settle) {
				t.Errorf("gave up after %d reads in %s, want reads until the %s settle time passed", reads, time.Since(start), tc.settle)
			}
			if failed := rep.Refusal() != nil; failed != tc.wantFail || len(rep.Gates) != len(r) {
				t.Errorf("report %+v: refused %v, want %v with %d gates", rep.Gates, failed, tc.wantFail, len(r))
			}
		})
	}
}

// TestCheckFailsOnMoveBelowMinISR: a move that leaves fewer replicas than
// the topic's min.insync.replicas fails the target-rf gate (the executor
// refused it before the registry; kshift check now shows it too).
func TestCheckFailsOnMoveBelowMinISR(t *testing.T) {
	_, cl := sharedCluster(t, kafkasim.Config{})
	p := raisePlan()
	wantGate(t, runCheck(t, cl, CheckScope{Plan: p, Step: 1}), GateTargetRF, StatusPass)
	p.Steps[0].Partitions[2].To = []int32{3}
	wantGate(t, runCheck(t, cl, CheckScope{Plan: p, Step: 1}), GateTargetRF, StatusFail, "orders-2", "to [3] has 1 replicas, min.insync.replicas is 2")
	wantGate(t, runCheck(t, cl, CheckScope{}), GateTargetRF, StatusSkip)
}
