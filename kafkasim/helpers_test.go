package kafkasim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sixBrokers is the cluster docs/kafka-behaviour.md was observed on: brokers 0-5,
// racks r1/r2/r3.
func sixBrokers() []BrokerConfig {
	var bs []BrokerConfig
	for i := int32(0); i < 6; i++ {
		bs = append(bs, BrokerConfig{ID: i, Rack: []string{"r1", "r2", "r3"}[i%3]})
	}
	return bs
}

// start starts a cluster (six brokers and a manual clock unless cfg says
// otherwise) and a kadm client whose metadata is never cached.
func start(t *testing.T, cfg Config) (*Cluster, *kadm.Client, *kgo.Client) {
	t.Helper()
	if cfg.Brokers == nil {
		cfg.Brokers = sixBrokers()
	}
	if cfg.Clock == nil {
		cfg.Clock = NewManualClock(testStart)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	cl := client(t, c)
	return c, kadm.NewClient(cl), cl
}

func client(t *testing.T, c *Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(c.Bootstrap()...),
		kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.RetryTimeout(2 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustCreate(t *testing.T, c *Cluster, name string, assignment ...[]int32) {
	t.Helper()
	if err := c.CreateTopic(name, assignment, nil); err != nil {
		t.Fatal(err)
	}
}

func state(t *testing.T, c *Cluster, topic string, p int32) PartitionState {
	t.Helper()
	s, ok := c.Partition(topic, p)
	if !ok {
		t.Fatalf("partition %s-%d does not exist", topic, p)
	}
	return s
}

// reassign sends one raw AlterPartitionReassignments request to broker via
// (the controller unless via >= 0 says otherwise) and returns the response.
func reassign(t *testing.T, cl *kgo.Client, via int32, topic string, moves map[int32][]int32) *kmsg.AlterPartitionAssignmentsResponse {
	t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	for p, rs := range moves {
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = p, rs
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	var resp kmsg.Response
	var err error
	if via >= 0 {
		resp, err = cl.Broker(int(via)).Request(ctx(t), req)
	} else {
		resp, err = req.RequestWith(ctx(t), cl)
	}
	if err != nil {
		t.Fatalf("alter partition reassignments: %v", err)
	}
	return resp.(*kmsg.AlterPartitionAssignmentsResponse)
}

// partitionCode returns the single partition result's code of a response.
func partitionCode(t *testing.T, resp *kmsg.AlterPartitionAssignmentsResponse) int16 {
	t.Helper()
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("want one partition result, got %+v", resp.Topics)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func equal(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// listAll sends ListPartitionReassignments with null topics (item 9; kadm's
// helper with a nil set sends nothing).
func listAll(t *testing.T, cl *kgo.Client) *kmsg.ListPartitionReassignmentsResponse {
	t.Helper()
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	resp, err := req.RequestWith(ctx(t), cl)
	if err != nil {
		t.Fatalf("list partition reassignments: %v", err)
	}
	return resp
}

// alterBroker sets configs on broker id (-1: the cluster default "") through
// kadm and returns the per-resource error.
func alterBroker(t *testing.T, adm *kadm.Client, id int32, op kadm.IncrementalOp, kv ...string) kadm.AlterConfigsResponse {
	t.Helper()
	var brokers []int32
	if id >= 0 {
		brokers = []int32{id}
	}
	resps, err := adm.AlterBrokerConfigs(ctx(t), alterConfigs(op, kv), brokers...)
	if err != nil {
		t.Fatalf("alter broker %d configs: %v", id, err)
	}
	return resps[0]
}

func alterTopic(t *testing.T, adm *kadm.Client, topic string, op kadm.IncrementalOp, kv ...string) kadm.AlterConfigsResponse {
	t.Helper()
	resps, err := adm.AlterTopicConfigs(ctx(t), alterConfigs(op, kv), topic)
	if err != nil {
		t.Fatalf("alter topic %s configs: %v", topic, err)
	}
	return resps[0]
}

func alterConfigs(op kadm.IncrementalOp, kv []string) []kadm.AlterConfig {
	var out []kadm.AlterConfig
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		out = append(out, kadm.AlterConfig{Op: op, Name: kv[i], Value: &v})
	}
	return out
}

// mustOK fails the test when an alteration failed.
func mustOK(t *testing.T, r kadm.AlterConfigsResponse) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("alter %s: %v (%s)", r.Name, r.Err, r.ErrMessage)
	}
}

// errCode returns the Kafka error code of a kadm error, 0 for nil.
func errCode(err error) int16 {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	if err != nil {
		return -2
	}
	return 0
}

// rawMetadata sends a Metadata request for one topic, bypassing kadm's
// metadata cache (CONTRIBUTING.md: kadm.Metadata answers from cache).
func rawMetadata(t *testing.T, cl *kgo.Client, topic string) kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx(t), cl)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	return resp.Topics[0]
}

// deref returns *s, "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
