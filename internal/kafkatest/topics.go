package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicName is a topic name of t's own: t.Name() made safe for Kafka, then
// suffix and a random part, so that tests sharing a cluster, and reruns
// with -count, never meet.
func TopicName(t testing.TB, suffix string) string {
	return uniqueName(t, suffix)
}

// GroupName is a consumer group name of t's own, made as TopicName.
func GroupName(t testing.TB, suffix string) string {
	return uniqueName(t, "group-"+suffix)
}

func uniqueName(t testing.TB, suffix string) string {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, s)
	}
	name := safe(t.Name())
	if len(name) > 150 {
		name = name[:150]
	}
	if suffix != "" {
		name += "-" + safe(suffix)
	}
	return name + "-" + randomHex(3)
}

// Topic is how CreateTopic makes a topic: either Partitions and
// ReplicationFactor (Kafka places the replicas on the brokers that are up,
// rack-aware) or Assignment.
type Topic struct {
	Partitions        int32
	ReplicationFactor int16
	// Assignment lists each partition's replicas, the first the preferred
	// leader: [][]int32{{1, 2}, {2, 1}} is two partitions on brokers 1-2.
	Assignment [][]int32
	// Configs are topic configs, e.g. min.insync.replicas.
	Configs map[string]string
}

// CreateTopic creates topic name and waits until Metadata shows every
// partition with a leader and its ISR equal to its replicas, failing t
// when Kafka refuses it or it does not settle in DefaultWait.
func (c *Cluster) CreateTopic(t testing.TB, name string, spec Topic) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), DefaultWait)
	defer cancel()
	if err := c.createTopic(ctx, name, spec); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	c.WaitInSync(t, name)
}

func (c *Cluster) createTopic(ctx context.Context, name string, spec Topic) error {
	if (len(spec.Assignment) > 0) == (spec.Partitions > 0 || spec.ReplicationFactor > 0) {
		return fmt.Errorf("creating topic %s: give either Assignment or Partitions and ReplicationFactor", name)
	}
	cl, err := c.internalClient()
	if err != nil {
		return err
	}
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = name
	rt.NumPartitions, rt.ReplicationFactor = -1, -1
	if len(spec.Assignment) == 0 {
		rt.NumPartitions, rt.ReplicationFactor = spec.Partitions, spec.ReplicationFactor
	}
	for p, replicas := range spec.Assignment {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(p), replicas
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	keys := make([]string, 0, len(spec.Configs))
	for k := range spec.Configs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(spec.Configs[k])
		rt.Configs = append(rt.Configs, cfg)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("creating topic %s: %w", name, err)
	}
	for _, r := range resp.Topics {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			msg := ""
			if r.ErrorMessage != nil {
				msg = ": " + *r.ErrorMessage
			}
			return fmt.Errorf("creating topic %s: %w%s", name, err, msg)
		}
	}
	return nil
}

// Partition is one partition as a Metadata answer shows it.
type Partition struct {
	Topic     string
	Partition int32
	// Leader is -1 when the partition has none.
	Leader   int32
	Replicas []int32
	ISR      []int32
	// Err is the partition's error in the answer (nil, or e.g.
	// LEADER_NOT_AVAILABLE).
	Err error
}

// InSync reports whether p has a leader and its ISR holds exactly its replicas.
func (p Partition) InSync() bool {
	if p.Leader < 0 || len(p.ISR) != len(p.Replicas) {
		return false
	}
	for _, r := range p.Replicas {
		if !slices.Contains(p.ISR, r) {
			return false
		}
	}
	return true
}

// Partitions reads the given topics' partitions, in partition order, with
// one Metadata request (answered by whichever broker kgo picks: right after
// a change a broker can lag the controller by about 0.5 s). A topic that
// does not exist is an error.
func (c *Cluster) Partitions(ctx context.Context, topics ...string) (map[string][]Partition, error) {
	cl, err := c.internalClient()
	if err != nil {
		return nil, err
	}
	return partitionsVia(ctx, cl, topics)
}

// partitionsVia is Partitions asked of one requestor: the client (any
// broker) or one broker.
func partitionsVia(ctx context.Context, via kmsg.Requestor, topics []string) (map[string][]Partition, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, topic := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, via)
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %v: %w", topics, err)
	}
	out := map[string][]Partition{}
	var errs []error
	for _, rt := range resp.Topics {
		topic := ""
		if rt.Topic != nil {
			topic = *rt.Topic
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", topic, err))
			continue
		}
		for _, rp := range rt.Partitions {
			out[topic] = append(out[topic], Partition{
				Topic: topic, Partition: rp.Partition, Leader: rp.Leader,
				Replicas: rp.Replicas, ISR: rp.ISR, Err: kerr.ErrorForCode(rp.ErrorCode),
			})
		}
		sort.Slice(out[topic], func(i, j int) bool { return out[topic][i].Partition < out[topic][j].Partition })
	}
	return out, errors.Join(errs...)
}

// Reassignments lists the reassignments in flight as the controller sees
// them (a raw ListPartitionReassignments with no topics, which lists all:
// kadm's with nil sends nothing), keyed "topic-partition".
func (c *Cluster) Reassignments(ctx context.Context) (map[string]kmsg.ListPartitionReassignmentsResponseTopicPartition, error) {
	cl, err := c.internalClient()
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("listing reassignments: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("listing reassignments: %w", err)
	}
	out := map[string]kmsg.ListPartitionReassignmentsResponseTopicPartition{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			out[fmt.Sprintf("%s-%d", rt.Topic, rp.Partition)] = rp
		}
	}
	return out, nil
}

// Controller is the id of the active controller, from Metadata.
func (c *Cluster) Controller(ctx context.Context) (int32, error) {
	cl, err := c.internalClient()
	if err != nil {
		return 0, err
	}
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, fmt.Errorf("reading the controller: %w", err)
	}
	if resp.ControllerID < 0 {
		return 0, errors.New("no controller yet")
	}
	return resp.ControllerID, nil
}

// WaitInSync waits (DefaultWait) until every partition of the given topics
// has a leader and an ISR equal to its replicas in every running broker's Metadata.
func (c *Cluster) WaitInSync(t testing.TB, topics ...string) {
	t.Helper()
	cl, err := c.internalClient()
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	// Every running broker must answer it: a broker's Metadata can lag the
	// controller (docs/kafka-behaviour.md 24), and the test's next read may
	// go to the one that lags.
	WaitFor(t, DefaultWait, fmt.Sprintf("every partition of %v in sync on every broker", topics), func(ctx context.Context) error {
		var behind []string
		for _, id := range c.Running() {
			parts, err := partitionsVia(ctx, cl.Broker(int(id)), topics)
			if err != nil {
				return fmt.Errorf("broker %d: %w", id, err)
			}
			for _, topic := range topics {
				if len(parts[topic]) == 0 {
					behind = append(behind, fmt.Sprintf("broker %d: %s: no partitions yet", id, topic))
				}
				for _, p := range parts[topic] {
					if !p.InSync() {
						behind = append(behind, fmt.Sprintf("broker %d: %s-%d leader %d replicas %v isr %v", id, topic, p.Partition, p.Leader, p.Replicas, p.ISR))
					}
				}
			}
		}
		if len(behind) > 0 {
			return fmt.Errorf("not in sync: %s", strings.Join(behind, "; "))
		}
		return nil
	})
}

// WaitNoReassignments waits (DefaultWait) until the controller lists no
// reassignment in flight.
func (c *Cluster) WaitNoReassignments(t testing.TB) {
	t.Helper()
	WaitFor(t, DefaultWait, "no reassignment in flight", func(ctx context.Context) error {
		moves, err := c.Reassignments(ctx)
		if err != nil {
			return err
		}
		if len(moves) > 0 {
			keys := make([]string, 0, len(moves))
			for k := range moves {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return fmt.Errorf("%d in flight: %v", len(moves), keys)
		}
		return nil
	})
}

// Fill writes n records of size bytes each to topic (spread over its
// partitions, acks=all) and waits for every ack, failing t on the first
// error: data for a move to copy. It returns the bytes written.
func (c *Cluster) Fill(t testing.TB, topic string, n, size int) int64 {
	t.Helper()
	cl := c.Client(t, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), DefaultWait)
	defer cancel()
	value := []byte(strings.Repeat("x", size))
	const batch = 1000
	for sent := 0; sent < n; sent += batch {
		recs := make([]*kgo.Record, 0, batch)
		for i := sent; i < n && i < sent+batch; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Value: value})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("kafkatest: filling %s (record %d of %d): %v", topic, sent, n, err)
		}
	}
	return int64(n) * int64(size)
}
