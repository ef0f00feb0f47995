package plans

import (
	"slices"
	"testing"
)

func TestBrokerChanges(t *testing.T) {
	p := &Plan{Steps: []Step{
		{Number: 1, Phase: PhaseRaiseRF, Partitions: []Move{
			{Topic: "a", Partition: 0, From: []int32{1, 2}, To: []int32{1, 2, 3, 4}, Size: 100},
			{Topic: "b", Partition: 0, From: []int32{2, 1}, To: []int32{2, 1, 4}, Size: 10},
		}},
		{Number: 2, Phase: PhaseMoveLeader, Partitions: []Move{
			{Topic: "a", Partition: 0, From: []int32{1, 2, 3, 4}, To: []int32{3, 4, 1, 2}, Size: 100},
		}},
		{Number: 3, Phase: PhaseLowerRF, Partitions: []Move{
			{Topic: "a", Partition: 0, From: []int32{3, 4, 1, 2}, To: []int32{3, 4}, Size: 100},
			// b-0 keeps broker 2 and its leadership.
			{Topic: "b", Partition: 0, From: []int32{2, 1, 4}, To: []int32{2, 4}, Size: 10},
		}},
	}}
	want := []BrokerChange{
		{Broker: 1, ReplicasOut: 2, LeadersOut: 1, BytesOut: 110},
		{Broker: 2, ReplicasOut: 1, BytesOut: 100},
		{Broker: 3, ReplicasIn: 1, LeadersIn: 1, BytesIn: 100},
		{Broker: 4, ReplicasIn: 2, BytesIn: 110},
	}
	if got := BrokerChanges(p); !slices.Equal(got, want) {
		t.Errorf("BrokerChanges = %+v\nwant %+v", got, want)
	}
	if c := want[3]; c.NetReplicas() != 2 || c.NetBytes() != 110 || want[0].NetLeaders() != -1 {
		t.Errorf("net values of %+v / %+v wrong", want[3], want[0])
	}
}

// TestBrokerChangesFarIDs: a partition's first and last step are matched
// whatever its id, far beyond the others' or negative.
func TestBrokerChangesFarIDs(t *testing.T) {
	p := &Plan{Steps: []Step{
		{Number: 1, Phase: PhaseRaiseRF, Partitions: []Move{
			{Topic: "a", Partition: 9000, From: []int32{1}, To: []int32{1, 2}, Size: 10},
			{Topic: "a", Partition: -1, From: []int32{1}, To: []int32{1, 3}, Size: 100},
			{Topic: "a", Partition: 0, From: []int32{1}, To: []int32{1, 4}, Size: 1000},
		}},
		{Number: 2, Phase: PhaseLowerRF, Partitions: []Move{
			{Topic: "a", Partition: 6000, From: []int32{1}, To: []int32{1}, Size: 1},
			{Topic: "a", Partition: 9000, From: []int32{1, 2}, To: []int32{2}, Size: 10},
			{Topic: "a", Partition: -1, From: []int32{1, 3}, To: []int32{1}, Size: 100},
		}},
	}}
	want := []BrokerChange{
		{Broker: 1, ReplicasOut: 1, LeadersOut: 1, BytesOut: 10},
		{Broker: 2, ReplicasIn: 1, LeadersIn: 1, BytesIn: 10},
		{Broker: 4, ReplicasIn: 1, BytesIn: 1000},
	}
	if got := BrokerChanges(p); !slices.Equal(got, want) {
		t.Errorf("BrokerChanges = %+v\nwant %+v", got, want)
	}
}
