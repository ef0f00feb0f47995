package kafkasim

import (
	"testing"
	"time"

	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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

// topicOp sends one CreateTopics (one partition, replication factor 1),
// DeleteTopics or Metadata request for topic to the controller and returns
// the topic's error code and message.
func topicOp(t *testing.T, cl *kgo.Client, op, topic string) (int16, string) {
	t.Helper()
	var req kmsg.Request
	switch op {
	case "create":
		r := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
		r.Topics = append(r.Topics, rt)
		req = r
	case "delete":
		r := kmsg.NewPtrDeleteTopicsRequest()
		r.TopicNames = []string{topic}
		req = r
	case "metadata":
		r := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		r.Topics = append(r.Topics, rt)
		req = r
	}
	resp, err := cl.Request(ctx(t), req)
	if err != nil {
		t.Fatalf("%s %s: %v", op, topic, err)
	}
	switch r := resp.(type) {
	case *kmsg.CreateTopicsResponse:
		return r.Topics[0].ErrorCode, deref(r.Topics[0].ErrorMessage)
	case *kmsg.DeleteTopicsResponse:
		return r.Topics[0].ErrorCode, deref(r.Topics[0].ErrorMessage)
	case *kmsg.MetadataResponse:
		return r.Topics[0].ErrorCode, ""
	}
	return -2, ""
}

// Item 25: topic deletion is asynchronous. Right after a successful
// DeleteTopics the topic is gone for Metadata and DeleteTopics, but
// CreateTopics of its name answers TOPIC_ALREADY_EXISTS until the deletion
// ends: between a tenth of Config.TopicDeletionTime and all of it (the real
// cluster: 48-518 ms). Without the knob the name is free at once.
func TestTopicDeletionIsAsynchronous(t *testing.T) {
	const most = RealTopicDeletionTime
	type step struct {
		after    time.Duration // since the deletion
		op       string
		code     int16
		message  string
		preamble bool // before the deletion
	}
	exists := "Topic 'lock' already exists."
	tests := []struct {
		name     string
		deletion time.Duration
		steps    []step
	}{
		{"real timing", most, []step{
			{op: "create", preamble: true},
			{op: "delete", preamble: true},
			{0, "create", 36, exists, false},
			{0, "metadata", 3, "", false},
			{0, "delete", 3, "", false},
			{most/10 - time.Millisecond, "create", 36, exists, false},
			{most, "create", 0, "", false},
			{most, "metadata", 0, "", false},
		}},
		{"knob off: the name is free at once", 0, []step{
			{op: "create", preamble: true},
			{op: "delete", preamble: true},
			{0, "create", 0, "", false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, cl := start(t, Config{TopicDeletionTime: tc.deletion, Seed: 1})
			var deleted time.Time
			for _, s := range tc.steps {
				if s.preamble {
					if code, msg := topicOp(t, cl, s.op, "lock"); code != 0 {
						t.Fatalf("%s: code %d %q", s.op, code, msg)
					}
					deleted = c.Clock().Now()
					continue
				}
				c.Clock().Advance(deleted.Add(s.after).Sub(c.Clock().Now()))
				if code, msg := topicOp(t, cl, s.op, "lock"); code != s.code || msg != s.message {
					t.Errorf("+%v %s: code %d %q, want %d %q", s.after, s.op, code, msg, s.code, s.message)
				}
			}
		})
	}
}
