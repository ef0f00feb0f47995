package planner

import (
	"slices"
	"testing"

	"github.com/kshift/kshift/plans"
)

// Every plan ends its Kafka side with one retire-sources step naming the
// mapping's sources and targets and the targets' listeners; its undo in the
// rollback plan restarts the sources, first.
func TestRetireStepEndsEveryPlan(t *testing.T) {
	for _, strategy := range plans.AllStrategies {
		t.Run(string(strategy), func(t *testing.T) {
			snap := cluster(sixBrokers, map[string][][]int32{"t": {{1, 2, 3}, {2, 3, 1}}, "u": {{3, 1}}})
			for i := range snap.Brokers {
				if b := &snap.Brokers[i]; b.ID >= 11 {
					b.Host, b.Port = "new"+string(rune('a'+b.ID-11)), 9092
				}
			}
			res := mustBuild(t, snap, mapping([]int32{3, 1, 2}, []int32{13, 11, 12}, func(m *plans.Mapping) { m.Strategy = strategy }))
			p := res.Plan
			last := p.Steps[len(p.Steps)-1]
			if last.Phase != plans.PhaseRetireSources || last.Retire == nil {
				t.Fatalf("last step is %s, want %s with a retire section", last.Phase, plans.PhaseRetireSources)
			}
			r := last.Retire
			if !slices.Equal(r.Sources, []int32{1, 2, 3}) || !slices.Equal(r.Targets, []int32{11, 12, 13}) || r.Restart ||
				r.Bootstrap != "newa:9092,newb:9092,newc:9092" {
				t.Errorf("retire section %+v", *r)
			}
			for _, s := range p.Steps[:len(p.Steps)-1] {
				if s.Phase == plans.PhaseRetireSources {
					t.Errorf("step %d is a second retire-sources step", s.Number)
				}
			}
			rb := plans.Rollback(p)
			if first := rb.Steps[0]; first.Phase != plans.PhaseRetireSources || first.Retire == nil || !first.Retire.Restart || first.Undoes != last.Number {
				t.Errorf("rollback plan's first step: %+v, want the restart of the sources undoing step %d", first, last.Number)
			}
			if err := plans.CheckStandalone(rb); err != nil {
				t.Errorf("rollback plan: %v", err)
			}
		})
	}
}
