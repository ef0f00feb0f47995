package inspect

import (
	"slices"
	"testing"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
)

// A partition the plan does not move is uncovered only while it has a
// replica on a source broker; kshift's own topics never are.
func TestUncovered(t *testing.T) {
	p := &plans.Plan{SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4}, Steps: []plans.Step{
		{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{{Topic: "clicks", Partition: 0, From: []int32{1}, To: []int32{1, 3}}}},
	}}
	live := map[kafkaapi.TP][]int32{
		{Topic: "clicks", Partition: 0}:     {1, 3}, // covered
		{Topic: "clicks", Partition: 6}:     {3, 2}, // added after the plan, on a source
		{Topic: "new", Partition: 0}:        {1},    // created after the plan
		{Topic: "new", Partition: 1}:        {4, 3}, // created after, already on targets
		{Topic: "__kshift_x", Partition: 0}: {1},
	}
	got := Uncovered(p, live)
	want := []kafkaapi.TP{{Topic: "clicks", Partition: 6}, {Topic: "new", Partition: 0}}
	if !slices.Equal(got, want) {
		t.Errorf("Uncovered = %v, want %v", got, want)
	}
}
