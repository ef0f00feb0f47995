package inspect

import (
	"slices"
	"testing"

	"github.com/kshift/kshift/plans"
)

// A partition the plan does not move is uncovered only while it has a
// replica on a source broker; kshift's own topics count nowhere.
func TestPlanCoverage(t *testing.T) {
	p := &plans.Plan{SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4}, Steps: []plans.Step{
		{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{{Topic: "clicks", Partition: 0, From: []int32{1}, To: []int32{1, 3}}}},
	}}
	live := map[PartitionID][]int32{
		{Topic: "clicks", Partition: 0}:     {1, 3}, // covered, still on a source
		{Topic: "clicks", Partition: 6}:     {3, 2}, // added after the plan, on a source
		{Topic: "new", Partition: 0}:        {1},    // created after the plan
		{Topic: "new", Partition: 1}:        {4, 3}, // created after, already on targets
		{Topic: "__kshift_x", Partition: 0}: {1},    // an older kshift's lock
	}
	c := PlanCoverage(p, live)
	var got []string
	for _, u := range c.Uncovered {
		got = append(got, u.Name())
	}
	if want := []string{"clicks-6", "new-0"}; !slices.Equal(got, want) {
		t.Errorf("uncovered %v, want %v", got, want)
	}
	if c.OnSources != 3 || c.Partitions != 4 {
		t.Errorf("on sources %d of %d partitions, want 3 of 4", c.OnSources, c.Partitions)
	}
}
