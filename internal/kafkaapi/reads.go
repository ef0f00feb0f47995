package kafkaapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Broker is a live broker as Metadata lists it.
type Broker struct {
	ID   int32
	Host string
	Port int32
	Rack string
}

// Partition is one partition as Metadata reports it.
type Partition struct {
	Replicas []int32
	ISR      []int32
	Leader   int32
	// LeaderEpoch rises with every change the controller makes to the
	// partition: a reassignment submitted, completed or cancelled, a
	// reorder, an election (docs/kafka-behaviour.md 5); -1 when unknown.
	LeaderEpoch int32
	Offline     []int32
	// Err is the partition's error code as an error (LEADER_NOT_AVAILABLE
	// for an offline partition, whose replica list is still right).
	Err error
}

// Metadata is one Metadata answer.
type Metadata struct {
	ClusterID  string
	Controller int32
	Brokers    map[int32]Broker
	Partitions map[TP]Partition
	// TopicErrors are the topics Metadata answered with an error
	// (UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist).
	TopicErrors map[string]error
	// source is the broker that answered (Refresh does not ask it again),
	// -1 when any broker did.
	source int32
}

// AllTopics asks Metadata for every topic.
var AllTopics []string = nil

// Metadata reads the brokers and the given topics' partitions; nil topics
// (AllTopics) reads every topic, an empty non-nil slice none. A broker
// answers from its own metadata cache, which can trail the controller by
// up to about half a second after a change (docs/kafka-behaviour.md 24):
// callers that need the controller's view of a move in flight read
// Reassignments.
func (c *Client) Metadata(ctx context.Context, topics []string) (*Metadata, error) {
	md, err := c.metadataFrom(ctx, nil, topics)
	if err != nil {
		return nil, err
	}
	if c.dry != nil {
		c.dry.metadata(md)
	}
	return md, nil
}

// BrokerRequester can send a request to one chosen broker (part of
// Requester); *kgo.Client does.
type BrokerRequester interface {
	Broker(id int) *kgo.Broker
}

var _ BrokerRequester = (*kgo.Client)(nil)

// Refresh asks every broker at once about up to freshAllAtOnce partitions
// (one round trip), and freshConcurrency brokers at a time about more.
const (
	freshAllAtOnce   = 20000
	freshConcurrency = 4
)

// FreshMetadata reads Metadata from every live broker and keeps, for each
// partition, the answer with the highest leader epoch: the controller's
// changes reach the brokers one by one, so one broker can still show a
// partition as it was before a change that others already show
// (docs/kafka-behaviour.md 24), and the leader epoch tells the newer view
// (every controller change raises it, item 5). Use it where one read
// decides (is a step done, pending, drifted); a poll that reads again
// anyway can use Metadata. It costs brokers × partitions: a read of many
// topics of which few can be in doubt takes ControllerMetadata and Refresh.
func (c *Client) FreshMetadata(ctx context.Context, topics []string) (*Metadata, error) {
	md, err := c.metadataFrom(ctx, nil, topics)
	if err != nil {
		return nil, err
	}
	if _, err := c.refresh(ctx, md, topics, -1); err != nil {
		return nil, err
	}
	if c.dry != nil {
		c.dry.metadata(md)
	}
	return md, nil
}

// ControllerMetadata is Metadata answered by the controller, whose cache
// is usually the first to hold its own changes (docs/kafka-behaviour.md
// 24), or by any broker when the controller does not answer. It is still
// one broker's view: a caller that decides on it passes the topics whose
// state is in doubt to Refresh.
func (c *Client) ControllerMetadata(ctx context.Context, topics []string) (*Metadata, error) {
	head, err := c.metadataFrom(ctx, nil, []string{})
	if err != nil {
		return nil, err
	}
	var md *Metadata
	if _, live := head.Brokers[head.Controller]; live {
		if md, err = c.metadataFrom(ctx, c.k.Broker(int(head.Controller)), topics); err == nil {
			md.source = head.Controller
		}
	}
	if md == nil {
		if md, err = c.metadataFrom(ctx, nil, topics); err != nil {
			return nil, err
		}
	}
	if c.dry != nil {
		c.dry.metadata(md)
	}
	return md, nil
}

// Refresh asks every live broker of md, but the one md came from, about
// topics again and keeps in md, for each of their partitions, the answer
// with the highest leader epoch (FreshMetadata's rule): with md read by
// ControllerMetadata, the topics refreshed read as FreshMetadata would
// read them. A broker that does not answer has nothing newer to say. It
// returns the partitions whose view it replaced.
func (c *Client) Refresh(ctx context.Context, md *Metadata, topics []string) ([]TP, error) {
	changed, err := c.refresh(ctx, md, topics, md.source)
	if err != nil {
		return nil, err
	}
	if c.dry != nil {
		c.dry.metadata(md)
	}
	return changed, nil
}

// refresh merges into md the newer views of topics every live broker but
// skip holds, and returns the partitions it replaced.
func (c *Client) refresh(ctx context.Context, md *Metadata, topics []string, skip int32) ([]TP, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	// A few brokers at a time, each answer merged as it comes and dropped:
	// on a 200,000-partition cluster of 120 brokers, asking all at once
	// held 120 answers (over a gigabyte) and had brokers time out under
	// the load.
	ids := slices.Sorted(maps.Keys(md.Brokers))
	ids = slices.DeleteFunc(ids, func(id int32) bool { return id == skip })
	index, asked := newEpochIndex(md.Partitions, topics)
	limit := len(ids)
	if asked > freshAllAtOnce {
		limit = freshConcurrency
	}
	sem := make(chan struct{}, max(limit, 1))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var changed []TP
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, fmt.Errorf("reading cluster metadata: %w", ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := c.metadataResponse(ctx, c.k.Broker(int(id)), topics)
			if err != nil {
				return // a broker that does not answer has nothing newer to say
			}
			mu.Lock()
			defer mu.Unlock()
			changed = mergeNewer(md, index, resp, changed)
		}()
	}
	wg.Wait()
	return changed, nil
}

// metadataFrom sends one Metadata request, to broker b (nil: any broker).
func (c *Client) metadataFrom(ctx context.Context, b *kgo.Broker, topics []string) (*Metadata, error) {
	resp, err := c.metadataResponse(ctx, b, topics)
	if err != nil {
		return nil, err
	}
	md := &Metadata{source: -1, Controller: resp.ControllerID, Brokers: map[int32]Broker{}, Partitions: map[TP]Partition{}, TopicErrors: map[string]error{}}
	if resp.ClusterID != nil {
		md.ClusterID = *resp.ClusterID
	}
	for _, b := range resp.Brokers {
		br := Broker{ID: b.NodeID, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			br.Rack = *b.Rack
		}
		md.Brokers[b.NodeID] = br
	}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		if err := CodeError(t.ErrorCode, nil); err != nil {
			md.TopicErrors[*t.Topic] = err
			continue
		}
		for _, p := range t.Partitions {
			md.Partitions[TP{*t.Topic, p.Partition}] = partitionOf(&p)
		}
	}
	return md, nil
}

func partitionOf(p *kmsg.MetadataResponseTopicPartition) Partition {
	return Partition{
		Replicas: p.Replicas, ISR: p.ISR, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Offline: p.OfflineReplicas,
		Err: CodeError(p.ErrorCode, nil),
	}
}

// metadataResponse sends one Metadata request, to broker b (nil: any broker).
func (c *Client) metadataResponse(ctx context.Context, b *kgo.Broker, topics []string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = make([]kmsg.MetadataRequestTopic, 0, len(topics))
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	var resp *kmsg.MetadataResponse
	var err error
	if b == nil {
		resp, err = send[*kmsg.MetadataResponse](ctx, c, req)
	} else {
		cctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		c.calls.Add(1)
		resp, err = req.RequestWith(cctx, b)
		cancel()
	}
	if err != nil {
		return nil, fmt.Errorf("reading cluster metadata: %w", err)
	}
	return resp, nil
}

// epochIndex holds, per topic, the leader epoch of each partition by id
// (-1 for an id not seen), so that merging another broker's answer costs
// one map lookup per topic, not one per partition.
type epochIndex map[string][]int32

// newEpochIndex indexes the partitions of topics in parts; asked is how
// many there are.
func newEpochIndex(parts map[TP]Partition, topics []string) (x epochIndex, asked int) {
	x = make(epochIndex, len(topics))
	for _, t := range topics {
		x[t] = nil
	}
	for key, p := range parts {
		es, ok := x[key.Topic]
		if !ok {
			continue
		}
		asked++
		if key.Partition < 0 || int(key.Partition) >= len(es)+maxEpochGap {
			continue // never indexed: merged by the slow path
		}
		for int(key.Partition) >= len(es) {
			es = append(es, -1)
		}
		es[key.Partition] = p.LeaderEpoch
		x[key.Topic] = es
	}
	return x, asked
}

// maxEpochGap bounds the empty slots an odd partition id can make.
const maxEpochGap = 1 << 12

// mergeNewer keeps, of resp's partitions, those newer than md's (a higher
// leader epoch) or that md lacks, and returns changed with them appended.
func mergeNewer(md *Metadata, x epochIndex, resp *kmsg.MetadataResponse, changed []TP) []TP {
	for _, t := range resp.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			continue
		}
		es := x[*t.Topic]
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.Partition >= 0 && int(p.Partition) < len(es) && es[p.Partition] >= 0 && p.LeaderEpoch <= es[p.Partition] {
				continue // the common case: not newer
			}
			key := TP{*t.Topic, p.Partition}
			if cur, seen := md.Partitions[key]; seen && p.LeaderEpoch <= cur.LeaderEpoch {
				continue
			}
			md.Partitions[key] = partitionOf(p)
			changed = append(changed, key)
			if p.Partition >= 0 && int(p.Partition) < len(es) {
				es[p.Partition] = p.LeaderEpoch
			}
		}
	}
	return changed
}

// Reassignment is a reassignment in flight, as the controller lists it:
// Replicas is target ++ (origin − target), Adding = target − origin,
// Removing = origin − target (docs/kafka-behaviour.md 1).
type Reassignment struct {
	Replicas, Adding, Removing []int32
}

// Target is where the reassignment goes: the listed replicas without the
// removing ones.
func (r Reassignment) Target() []int32 {
	return slices.DeleteFunc(slices.Clone(r.Replicas), func(b int32) bool { return slices.Contains(r.Removing, b) })
}

// Origin is the replica set the reassignment started from, in today's
// order (Kafka does not keep the origin's order).
func (r Reassignment) Origin() []int32 {
	return slices.DeleteFunc(slices.Clone(r.Replicas), func(b int32) bool { return slices.Contains(r.Adding, b) })
}

// Reassignments lists every reassignment in flight on the cluster. The
// controller answers, so it is current the moment a submission returns
// (docs/kafka-behaviour.md 24). It sends topics = null, which lists all
// (item 9): kadm's helper with a nil set sends nothing.
func (c *Client) Reassignments(ctx context.Context) (map[TP]Reassignment, error) {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = int32(c.opts.Timeout.Milliseconds())
	req.Topics = nil
	resp, err := send[*kmsg.ListPartitionReassignmentsResponse](ctx, c, req)
	if err == nil {
		err = CodeError(resp.ErrorCode, resp.ErrorMessage)
	}
	if err != nil {
		return nil, fmt.Errorf("listing reassignments in flight: %w", err)
	}
	out := map[TP]Reassignment{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[TP{t.Topic, p.Partition}] = Reassignment{Replicas: p.Replicas, Adding: p.AddingReplicas, Removing: p.RemovingReplicas}
		}
	}
	if c.dry != nil {
		c.dry.reassignments(out)
	}
	return out, nil
}

// ConfigResource names a config resource: a topic, a broker ("N"), or the
// cluster-wide broker default (broker "").
type ConfigResource struct {
	Type kmsg.ConfigResourceType
	Name string
}

// TopicResource is topic t's config resource.
func TopicResource(t string) ConfigResource {
	return ConfigResource{kmsg.ConfigResourceTypeTopic, t}
}

// BrokerResource is broker id's config resource.
func BrokerResource(id int32) ConfigResource {
	return ConfigResource{kmsg.ConfigResourceTypeBroker, fmt.Sprint(id)}
}

// ClusterDefault is the cluster-wide broker default resource (broker "").
var ClusterDefault = ConfigResource{kmsg.ConfigResourceTypeBroker, ""}

// String names the resource for messages: "topic orders", "broker 3",
// "broker <default>".
func (r ConfigResource) String() string {
	switch {
	case r.Type != kmsg.ConfigResourceTypeBroker:
		return "topic " + r.Name
	case r.Name == "":
		return "broker <default>"
	}
	return "broker " + r.Name
}

// ConfigEntry is one config key of a resource as DescribeConfigs reports
// it.
type ConfigEntry struct {
	// Value is nil when the broker hides it (throttle rates on 2.4,
	// docs/kafka-behaviour.md 13) or it has none.
	Value  *string
	Source kmsg.ConfigSource
}

// SetOn reports whether the key is set on resource r itself, not inherited
// or a default: a dynamic topic config for a topic, a dynamic per-broker
// config for broker N (not the cluster default it may inherit), a dynamic
// cluster default for broker "". Kafka 2.4 lists an unset throttle rate
// with source DEFAULT_CONFIG once the broker has processed any rate
// change: that is not set (docs/kafka-behaviour.md 26).
func (e ConfigEntry) SetOn(r ConfigResource) bool { return e.Source == dynamicSource(r) }

// Configs are the config keys read per resource.
type Configs map[ConfigResource]map[string]ConfigEntry

// DescribeConfigs reads the given keys (all when keys is nil) of every
// resource. kgo sends a broker resource to that broker, as Kafka requires
// (a BROKER "N" resource elsewhere is refused, docs/kafka-behaviour.md).
// A resource answered with an error fails the whole read.
func (c *Client) DescribeConfigs(ctx context.Context, resources []ConfigResource, keys []string) (Configs, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, r := range resources {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.Type, r.Name
		rr.ConfigNames = keys
		req.Resources = append(req.Resources, rr)
	}
	out := Configs{}
	if len(resources) == 0 {
		return out, nil
	}
	var errs []error
	for _, sh := range c.sendSharded(ctx, req) {
		if sh.Err != nil {
			errs = append(errs, fmt.Errorf("broker %d: %w", sh.Meta.NodeID, sh.Err))
			continue
		}
		resp, ok := sh.Resp.(*kmsg.DescribeConfigsResponse)
		if !ok {
			continue
		}
		for _, r := range resp.Resources {
			res := ConfigResource{r.ResourceType, r.ResourceName}
			if err := CodeError(r.ErrorCode, r.ErrorMessage); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", res, err))
				continue
			}
			entries := map[string]ConfigEntry{}
			for _, e := range r.Configs {
				entries[e.Name] = ConfigEntry{Value: e.Value, Source: e.Source}
			}
			out[res] = entries
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reading configs: %w", errors.Join(errs...))
	}
	if c.dry != nil {
		c.dry.configs(out)
	}
	return out, nil
}

// LogDirSizes reads the on-disk size of every replica of the given
// partitions: broker -> partition -> bytes (a replica split over log dirs
// is summed; a future replica of an intra-broker move is left out). A
// broker that does not answer is left out.
func (c *Client) LogDirSizes(ctx context.Context, parts []TP) map[int32]map[TP]int64 {
	out := map[int32]map[TP]int64{}
	if len(parts) == 0 {
		return out
	}
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Topics = logDirsTopics(parts)
	for _, sh := range c.sendSharded(ctx, req) {
		resp, ok := sh.Resp.(*kmsg.DescribeLogDirsResponse)
		if sh.Err != nil || !ok {
			continue
		}
		m := out[sh.Meta.NodeID]
		if m == nil {
			m = map[TP]int64{}
			out[sh.Meta.NodeID] = m
		}
		for _, d := range resp.Dirs {
			if d.ErrorCode != 0 {
				continue
			}
			for _, t := range d.Topics {
				for _, p := range t.Partitions {
					if !p.IsFuture {
						m[TP{t.Topic, p.Partition}] += p.Size
					}
				}
			}
		}
	}
	return out
}

// Offsets are a partition's log start and end offsets.
type Offsets struct{ Start, End int64 }

// Offsets reads the log start and end offsets of parts from their leaders.
// It returns those read in both and, for the others, why not (a leader
// elected a moment ago answers OFFSET_NOT_AVAILABLE until its high
// watermark is known; a shard without a leader fails as a whole).
func (c *Client) Offsets(ctx context.Context, parts []TP) (map[TP]Offsets, map[TP]string) {
	failed := map[TP]string{}
	got := map[TP]Offsets{}
	for _, ts := range []int64{-2, -1} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		unanswered := map[TP]bool{}
		topics, byTopic := GroupByTopic(parts, func(p TP) string { return p.Topic })
		for _, name := range topics {
			t := kmsg.NewListOffsetsRequestTopic()
			t.Topic = name
			for _, p := range byTopic[name] {
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p.Partition, ts, -1
				t.Partitions = append(t.Partitions, rp)
				unanswered[p] = true
			}
			req.Topics = append(req.Topics, t)
		}
		for _, sh := range c.sendSharded(ctx, req) {
			if sh.Err != nil {
				if r, ok := sh.Req.(*kmsg.ListOffsetsRequest); ok {
					for _, t := range r.Topics {
						for _, p := range t.Partitions {
							key := TP{t.Topic, p.Partition}
							failed[key], unanswered[key] = sh.Err.Error(), false
						}
					}
				}
				continue
			}
			resp, ok := sh.Resp.(*kmsg.ListOffsetsResponse)
			if !ok {
				continue
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					key := TP{t.Topic, p.Partition}
					if !unanswered[key] {
						continue // not asked, or answered twice
					}
					unanswered[key] = false
					if err := CodeError(p.ErrorCode, nil); err != nil {
						failed[key] = err.Error()
						continue
					}
					o := got[key]
					if ts == -2 {
						o.Start = p.Offset
					} else {
						o.End = p.Offset
					}
					got[key] = o
				}
			}
		}
		for key, missing := range unanswered {
			if missing {
				failed[key] = "not in the ListOffsets answer"
			}
		}
	}
	for key := range failed {
		delete(got, key)
	}
	return got, failed
}

// GroupByTopic returns the topics of items in the order they first appear,
// with each topic's items: Kafka's requests list every topic once, with its
// partitions under it.
func GroupByTopic[T any](items []T, topic func(T) string) ([]string, map[string][]T) {
	var order []string
	groups := map[string][]T{}
	for _, it := range items {
		name := topic(it)
		if _, seen := groups[name]; !seen {
			order = append(order, name)
		}
		groups[name] = append(groups[name], it)
	}
	return order, groups
}

// SortedTPs returns the keys of m in topic, then partition order.
func SortedTPs[V any](m map[TP]V) []TP {
	out := slices.Collect(maps.Keys(m))
	slices.SortFunc(out, func(a, b TP) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}
