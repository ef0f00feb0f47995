package inspect

import (
	"bytes"
	"testing"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/plans"
)

// WriteSnapshot must write the very bytes plans.Marshal writes.
func TestWriteSnapshotMatchesMarshal(t *testing.T) {
	big, _ := synth.Generate(synth.Options{SourceBrokers: 6, TargetBrokers: 3, Topics: 40, Partitions: 400, Seed: 9})
	big.ClusterConfigs = map[string]string{KeyLeaderRate: "1000"}
	withZK, _ := synth.Generate(synth.Options{Topics: 3, Partitions: 6, Seed: 2})
	withZK.ZooKeeper = &plans.Ensemble{Connect: "z1:2181,z2:2181/kafka", Chroot: "/kafka", ConfigVersion: "100000000",
		Members: []plans.ZKServer{{ID: 1, Host: "z1", QuorumPort: 2888, ElectionPort: 3888, ClientPort: 2181, Role: "participant"}}}
	withZK.Topics[0].Configs = map[string]string{KeyFollowerThrottledReplicas: "0:1,1:2", "odd key": "multi\nline: value"}
	for name, s := range map[string]*plans.Snapshot{
		"synthetic":                big,
		"zookeeper and odd values": withZK,
		"edge partitions": {Version: 1, ClusterID: "c", Brokers: []plans.Broker{{ID: 1}}, Topics: []plans.Topic{
			{Name: "empty"},
			{Name: "edges", Partitions: []plans.Partition{{ID: 0, Leader: -1, ISR: []int32{}}, {ID: 1, Replicas: []int32{1}, Leader: 1, Size: 1 << 50}}},
		}},
		"no topics":            {Version: 1, ClusterID: "c", Brokers: []plans.Broker{{ID: 1}}},
		"no topics, zookeeper": {Version: 1, ClusterID: "c", Brokers: []plans.Broker{{ID: 1}}, ZooKeeper: &plans.Ensemble{Connect: "z:1"}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := plans.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteSnapshot(&got, s); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("WriteSnapshot differs from plans.Marshal:\n--- got\n%s\n--- want\n%s", got.String(), want)
			}
		})
	}
}
