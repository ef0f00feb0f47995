package kafkaapi

import (
	"cmp"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FreshMetadata keeps, of every broker's answer, each partition's newest
// view (the highest leader epoch), partitions the first answer lacked
// included, whatever order and ids the answers list them in.
func TestMergeNewerKeepsHighestEpoch(t *testing.T) {
	md := &Metadata{Partitions: map[TP]Partition{
		{"a", 0}:    {Replicas: []int32{1, 2}, LeaderEpoch: 3},
		{"a", 1}:    {Replicas: []int32{2, 3}, LeaderEpoch: 5},
		{"a", 9000}: {Replicas: []int32{3, 1}, LeaderEpoch: 2}, // beyond the index
		{"b", 0}:    {Replicas: []int32{1}, LeaderEpoch: -1},   // epoch unknown
	}}
	x, _ := newEpochIndex(md.Partitions, []string{"a", "b", "c"})
	answer := func(parts map[TP]Partition) *kmsg.MetadataResponse {
		resp := kmsg.NewPtrMetadataResponse()
		for _, topic := range []string{"a", "b", "c"} {
			rt := kmsg.NewMetadataResponseTopic()
			rt.Topic = kmsg.StringPtr(topic)
			for key, p := range parts {
				if key.Topic != topic {
					continue
				}
				rp := kmsg.NewMetadataResponseTopicPartition()
				rp.Partition, rp.Replicas, rp.LeaderEpoch = key.Partition, p.Replicas, p.LeaderEpoch
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	changed := mergeNewer(md, x, answer(map[TP]Partition{
		{"a", 0}:    {Replicas: []int32{1, 2, 4}, LeaderEpoch: 4}, // newer
		{"a", 1}:    {Replicas: []int32{9}, LeaderEpoch: 5},       // as old
		{"a", 9000}: {Replicas: []int32{3, 1, 4}, LeaderEpoch: 3}, // newer, not indexed
		{"b", 0}:    {Replicas: []int32{9}, LeaderEpoch: -1},      // as old
		{"c", 2}:    {Replicas: []int32{5}, LeaderEpoch: 0},       // not in the first answer
	}), nil)
	changed = mergeNewer(md, x, answer(map[TP]Partition{
		{"a", 0}: {Replicas: []int32{1, 2}, LeaderEpoch: 3}, // older than the merged one
		{"a", 1}: {Replicas: []int32{2, 3, 4}, LeaderEpoch: 6},
	}), changed)
	slices.SortFunc(changed, func(a, b TP) int { return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition)) })
	if want := []TP{{"a", 0}, {"a", 1}, {"a", 9000}, {"c", 2}}; !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v (the partitions replaced)", changed, want)
	}
	want := map[TP][]int32{
		{"a", 0}: {1, 2, 4}, {"a", 1}: {2, 3, 4}, {"a", 9000}: {3, 1, 4}, {"b", 0}: {1}, {"c", 2}: {5},
	}
	if len(md.Partitions) != len(want) {
		t.Errorf("%d partitions after the merge, want %d: %+v", len(md.Partitions), len(want), md.Partitions)
	}
	for key, replicas := range want {
		if got := md.Partitions[key].Replicas; !slices.Equal(got, replicas) {
			t.Errorf("%s: replicas %v, want %v", key, got, replicas)
		}
	}
}
