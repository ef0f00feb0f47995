package kafkasim

import (
	"testing"

	"github.com/kshift/kshift/plans"
)

// LoadSnapshot seeds brokers (with racks and disk), topics with replica
// lists, leaders, ISR, sizes and configs, and broker throttle rates.
func TestLoadSnapshot(t *testing.T) {
	c, adm, _ := start(t, Config{Brokers: []BrokerConfig{{ID: 0, Rack: "r1"}}})
	snap := &plans.Snapshot{
		Version: 1, ClusterID: "prod-eu", Controller: 1,
		Brokers: []plans.Broker{
			{ID: 0, Rack: "r1"},
			{ID: 1, Rack: "r2", Configs: map[string]string{FollowerRateKey: "5000", "num.replica.fetchers": "4"}},
			{ID: 2, Rack: "r3", DiskCapacity: 1 << 40},
		},
		Topics: []plans.Topic{{
			Name:    "orders",
			Configs: map[string]string{MinInsyncReplicasKey: "2"},
			Partitions: []plans.Partition{
				{ID: 0, Replicas: []int32{0, 1, 2}, Leader: 1, ISR: []int32{1, 0}, Size: 7 * mib},
				{ID: 1, Replicas: []int32{2, 0}, Leader: 2, ISR: []int32{2, 0}, Size: 3 * mib},
			},
		}},
	}
	if err := c.LoadSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	s := state(t, c, "orders", 0)
	if s.Leader != 1 || !equal(s.ISR, []int32{1, 0}) || s.Size != 7*mib || s.ReplicaSizes[2] != 0 {
		t.Errorf("orders-0: %+v, want leader 1 isr [1 0] size 7 MiB, replica 2 empty", s)
	}
	if s := state(t, c, "orders", 1); !equal(s.Replicas, []int32{2, 0}) || s.Size != 3*mib {
		t.Errorf("orders-1: %+v", s)
	}
	if got := c.BrokerRates(1)[FollowerRateKey]; got != "5000" {
		t.Errorf("broker 1 follower rate %q, want 5000", got)
	}
	if got, id := c.Controller(), c.ClusterID(); got != 1 || id != "prod-eu" {
		t.Errorf("controller %d cluster id %q, want 1 and prod-eu", got, id)
	}
	md, err := adm.Metadata(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 3 {
		t.Errorf("metadata lists %d brokers, want 3", len(md.Brokers))
	}
	if cfgs, _ := c.TopicConfigs("orders"); cfgs[MinInsyncReplicasKey] != "2" {
		t.Errorf("topic configs %v", cfgs)
	}
}

// AddBroker starts a new (target) broker that reassignments can use.
func TestAddBrokerJoinsCluster(t *testing.T) {
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.AddBroker(BrokerConfig{ID: 10, Rack: "r9"}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddBroker(BrokerConfig{ID: 10}); err == nil {
		t.Error("adding broker 10 twice succeeded")
	}
	if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: {10, 1, 2}})); code != 0 {
		t.Fatalf("move onto the new broker: code %d", code)
	}
	if got := len(c.Bootstrap()); got != 7 {
		t.Errorf("bootstrap lists %d brokers, want 7", got)
	}
}

// CreateTopics and DeleteTopics through kadm (on the controller).
func TestCreateAndDeleteTopicsThroughKadm(t *testing.T) {
	c, adm, _ := start(t, Config{})
	resp, err := adm.CreateTopic(ctx(t), 4, 3, map[string]*string{MinInsyncReplicasKey: strp("2")}, "events")
	if err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	for p := int32(0); p < 4; p++ {
		s := state(t, c, "events", p)
		if len(s.Replicas) != 3 || s.Leader != s.Replicas[0] {
			t.Errorf("events-%d: %+v", p, s)
		}
	}
	if resp, err := adm.CreateTopic(ctx(t), 1, 7, nil, "too-wide"); err == nil && resp.Err == nil {
		t.Error("replication factor 7 on 6 brokers was accepted")
	}
	dresp, err := adm.DeleteTopics(ctx(t), "events")
	if err != nil || dresp["events"].Err != nil {
		t.Fatalf("delete: %v %+v", err, dresp)
	}
	if _, ok := c.Partition("events", 0); ok {
		t.Error("events still exists after delete")
	}
}
