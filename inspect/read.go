package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// ReadOptions bound what Read asks the cluster for.
type ReadOptions struct {
	// Topics limits the read to these topics; nil reads every topic.
	Topics []string
	// ZooKeeper, when set, is read for throttle rates the brokers hide and to
	// confirm the chroot holds this cluster.
	ZooKeeper *ZooKeeperSource
	// TopicConfigBatch is how many topics one DescribeConfigs asks about
	// (default 1000).
	TopicConfigBatch int
	// Concurrency is how many DescribeConfigs / DescribeLogDirs requests run
	// at once (default 4): enough to overlap round trips, few enough to keep
	// memory bounded to a few responses.
	Concurrency int
}

// State is a live cluster as Read found it: the snapshot plus what the
// snapshot format does not carry and the checks need.
type State struct {
	Snapshot *plans.Snapshot
	// HasDescribeCluster says the cluster id came from DescribeCluster (Kafka
	// 2.8+) rather than Metadata.
	HasDescribeCluster bool
	// BrokerClusterIDs are the cluster ids each broker reported, when brokers
	// were asked one by one (DescribeCluster).
	BrokerClusterIDs map[int32]string
	// Unreachable are registered brokers that did not answer, with the error.
	Unreachable map[int32]error
	// Unregistered are brokers that hold replicas but are not registered
	// (stopped or lost their ZooKeeper session). The snapshot lists them
	// without host and port so that its replica lists stay valid.
	Unregistered []int32
	// UsedBytes is the sum of every replica's size on each broker.
	UsedBytes map[int32]int64
	// UsableBytes is the free disk each broker reports (Kafka 3.3+), absent
	// when unknown.
	UsableBytes map[int32]int64
	// OfflineReplicas lists, per partition, replicas Metadata reports offline.
	OfflineReplicas map[PartitionID][]int32
	// Notes say what could not be known and why.
	Notes []string
}

// PartitionID names one partition.
type PartitionID struct {
	Topic     string `json:"topic" yaml:"topic"`
	Partition int32  `json:"partition" yaml:"partition"`
}

func (p PartitionID) String() string { return fmt.Sprintf("%s-%d", p.Topic, p.Partition) }

func (o ReadOptions) withDefaults() ReadOptions {
	if o.TopicConfigBatch <= 0 {
		o.TopicConfigBatch = 1000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	return o
}

// Read reads the cluster: Metadata (brokers, topics, replicas, leader, ISR),
// DescribeCluster where the brokers have it, every broker's ApiVersions and
// configs, topic configs in batches, and every broker's log dirs for replica
// sizes and disk totals. The snapshot is normalized.
func Read(ctx context.Context, cl *kafkaconn.Clients, o ReadOptions) (*State, error) {
	o = o.withDefaults()
	st := &State{
		Snapshot:         &plans.Snapshot{Version: plans.FormatVersion},
		BrokerClusterIDs: map[int32]string{},
		Unreachable:      map[int32]error{},
		UsedBytes:        map[int32]int64{},
		UsableBytes:      map[int32]int64{},
		OfflineReplicas:  map[PartitionID][]int32{},
	}
	if err := readMetadata(ctx, cl.Kafka, o.Topics, st); err != nil {
		return nil, err
	}
	readVersions(ctx, cl.Kafka, st)
	if err := readBrokerConfigs(ctx, cl.Kafka, st); err != nil {
		return nil, err
	}
	addVersionHints(st.Snapshot)
	if err := readTopicConfigs(ctx, cl.Kafka, o, st); err != nil {
		return nil, err
	}
	readLogDirs(ctx, cl.Kafka, o, st)
	if o.ZooKeeper != nil {
		if err := readZooKeeper(ctx, o.ZooKeeper, st); err != nil {
			return nil, err
		}
	}
	noteHiddenRates(st)
	st.Snapshot.Normalize()
	return st, nil
}

func readMetadata(ctx context.Context, cl *kgo.Client, topics []string, st *State) error {
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = make([]kmsg.MetadataRequestTopic, 0, len(topics))
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("read cluster metadata: %w", err)
	}
	s := st.Snapshot
	if resp.ClusterID != nil {
		s.ClusterID = *resp.ClusterID
	}
	s.Controller = resp.ControllerID
	for _, b := range resp.Brokers {
		pb := plans.Broker{ID: b.NodeID, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			pb.Rack = *b.Rack
		}
		s.Brokers = append(s.Brokers, pb)
	}
	s.Topics = make([]plans.Topic, 0, len(resp.Topics))
	var errs []error
	for _, t := range resp.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		if plans.IsKshiftTopic(name) {
			// The operator lock of a kshift running now: not the cluster's data.
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			errs = append(errs, fmt.Errorf("topic %q: %w", name, err))
			continue
		}
		pt := plans.Topic{Name: name, Partitions: make([]plans.Partition, 0, len(t.Partitions))}
		for _, p := range t.Partitions {
			// LEADER_NOT_AVAILABLE is how an offline partition is reported;
			// its replica list is still right.
			pt.Partitions = append(pt.Partitions, plans.Partition{
				ID: p.Partition, Replicas: p.Replicas, Leader: p.Leader, ISR: p.ISR,
			})
			if len(p.OfflineReplicas) > 0 {
				st.OfflineReplicas[PartitionID{name, p.Partition}] = p.OfflineReplicas
			}
		}
		s.Topics = append(s.Topics, pt)
	}
	if len(errs) > 0 {
		return fmt.Errorf("read cluster metadata: %w", errors.Join(errs...))
	}
	addUnregistered(st)
	return nil
}

func addUnregistered(st *State) {
	s := st.Snapshot
	known := make(map[int32]bool, len(s.Brokers))
	for _, b := range s.Brokers {
		known[b.ID] = true
	}
	for _, t := range s.Topics {
		for _, p := range t.Partitions {
			for _, r := range p.Replicas {
				if !known[r] {
					known[r] = true
					st.Unregistered = append(st.Unregistered, r)
				}
			}
		}
	}
	slices.Sort(st.Unregistered)
	for _, id := range st.Unregistered {
		s.Brokers = append(s.Brokers, plans.Broker{ID: id})
		st.Unreachable[id] = errors.New("not registered in the cluster (stopped, or its ZooKeeper session expired)")
		st.Notes = append(st.Notes, fmt.Sprintf("broker %d holds replicas but is not registered (down?): listed without host, configs or sizes", id))
	}
}

// readVersions asks every broker for its API versions: a broker that does not
// answer is unreachable; the answer gives a guess of its Kafka version (2.4
// brokers do not report their version; the guess is from the API versions
// they support) and whether DescribeCluster exists (2.8+).
func readVersions(ctx context.Context, cl *kgo.Client, st *State) {
	s := st.Snapshot
	var mu sync.Mutex
	var wg sync.WaitGroup
	describeCluster := map[int32]bool{}
	asked := 0
	for i := range s.Brokers {
		b := &s.Brokers[i]
		if st.Unreachable[b.ID] != nil {
			continue
		}
		asked++
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := kmsg.NewPtrApiVersionsRequest()
			req.ClientSoftwareName = "kshift"
			req.ClientSoftwareVersion = "1"
			resp, err := req.RequestWith(ctx, cl.Broker(int(b.ID)))
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				st.Unreachable[b.ID] = err
				return
			}
			b.KafkaVersion = versionGuess(resp)
			for _, k := range resp.ApiKeys {
				if k.ApiKey == kmsg.DescribeCluster.Int16() {
					describeCluster[b.ID] = true
				}
			}
		}()
	}
	wg.Wait()
	if asked > 0 && len(describeCluster) == asked {
		st.HasDescribeCluster = true
		readDescribeCluster(ctx, cl, st)
	}
}

// readDescribeCluster asks each broker for the cluster id it belongs to, so a
// broker that joined another cluster by mistake shows up.
func readDescribeCluster(ctx context.Context, cl *kgo.Client, st *State) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, b := range st.Snapshot.Brokers {
		if st.Unreachable[b.ID] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := kmsg.NewPtrDescribeClusterRequest()
			resp, err := req.RequestWith(ctx, cl.Broker(int(b.ID)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				st.Unreachable[b.ID] = err
				return
			}
			if kerr.ErrorForCode(resp.ErrorCode) == nil {
				st.BrokerClusterIDs[b.ID] = resp.ClusterID
			}
		}()
	}
	wg.Wait()
}

// versionGuess names the Kafka release whose API versions match exactly
// ("2.4"), or franz-go's wording when they match no release exactly ("between
// v2.4 and v2.5", "unknown custom version"). Brokers before 3.x do not
// report their version; their API versions are the best evidence.
func versionGuess(resp *kmsg.ApiVersionsResponse) string {
	g := kversion.FromApiVersionsResponse(resp).VersionGuess()
	if strings.HasPrefix(g, "v") && !strings.Contains(g, " ") {
		return g[1:]
	}
	return g
}

// addVersionHints adds the broker's inter.broker.protocol.version to a
// version guess that is not exact: it is a lower bound of the release, not
// the release (a broker mid-upgrade runs a newer release with an older IBP).
func addVersionHints(s *plans.Snapshot) {
	for i := range s.Brokers {
		b := &s.Brokers[i]
		ibp := b.Configs[KeyIBP]
		if b.KafkaVersion == "" || !strings.Contains(b.KafkaVersion, " ") || ibp == "" {
			continue
		}
		b.KafkaVersion += "; " + KeyIBP + "=" + ibp
	}
}

func readBrokerConfigs(ctx context.Context, cl *kgo.Client, st *State) error {
	s := st.Snapshot
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, b := range s.Brokers {
		if st.Unreachable[b.ID] != nil {
			continue
		}
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType = kmsg.ConfigResourceTypeBroker
		r.ResourceName = fmt.Sprint(b.ID)
		r.ConfigNames = brokerConfigKeys
		req.Resources = append(req.Resources, r)
	}
	// The cluster-wide dynamic defaults (resource ""), e.g. a default rate.
	def := kmsg.NewDescribeConfigsRequestResource()
	def.ResourceType = kmsg.ConfigResourceTypeBroker
	def.ConfigNames = brokerConfigKeys
	req.Resources = append(req.Resources, def)
	// kgo sends each BROKER "N" resource to broker N, as Kafka requires.
	shards := cl.RequestSharded(ctx, req)
	var errs []error
	for _, sh := range shards {
		if sh.Err != nil {
			errs = append(errs, fmt.Errorf("broker %d: %w", sh.Meta.NodeID, sh.Err))
			continue
		}
		for _, r := range sh.Resp.(*kmsg.DescribeConfigsResponse).Resources {
			if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
				errs = append(errs, fmt.Errorf("broker %q configs: %w", r.ResourceName, err))
				continue
			}
			if r.ResourceName == "" {
				for _, c := range r.Configs {
					if c.Source == kmsg.ConfigSourceDynamicDefaultBrokerConfig {
						if s.ClusterConfigs == nil {
							s.ClusterConfigs = map[string]string{}
						}
						s.ClusterConfigs[c.Name] = configValue(c)
					}
				}
				continue
			}
			var id int32
			if _, err := fmt.Sscan(r.ResourceName, &id); err != nil || s.Broker(id) == nil {
				continue
			}
			b := s.Broker(id)
			b.Configs = map[string]string{}
			for _, c := range r.Configs {
				if c.Value == nil && !isRate(c.Name) {
					continue
				}
				b.Configs[c.Name] = configValue(c)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("read broker configs: %w", errors.Join(errs...))
	}
	return nil
}

// configValue is the config's value, or UnknownValue for a value the broker
// hides (throttle rates on 2.4, item 13).
func configValue(c kmsg.DescribeConfigsResponseResourceConfig) string {
	if c.Value == nil {
		return UnknownValue
	}
	return *c.Value
}

func isRate(k string) bool { return k == KeyLeaderRate || k == KeyFollowerRate }

func readTopicConfigs(ctx context.Context, cl *kgo.Client, o ReadOptions, st *State) error {
	topics := st.Snapshot.Topics
	byName := make(map[string]*plans.Topic, len(topics))
	for i := range topics {
		byName[topics[i].Name] = &topics[i]
	}
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for start := 0; start < len(topics); start += o.TopicConfigBatch {
		end := min(start+o.TopicConfigBatch, len(topics))
		req := kmsg.NewPtrDescribeConfigsRequest()
		for _, t := range topics[start:end] {
			r := kmsg.NewDescribeConfigsRequestResource()
			r.ResourceType = kmsg.ConfigResourceTypeTopic
			r.ResourceName = t.Name
			r.ConfigNames = topicConfigKeys
			req.Resources = append(req.Resources, r)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := req.RequestWith(ctx, cl)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, r := range resp.Resources {
				t := byName[r.ResourceName]
				if t == nil {
					continue
				}
				if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
					errs = append(errs, fmt.Errorf("topic %q: %w", r.ResourceName, err))
					continue
				}
				for _, c := range r.Configs {
					if c.Value == nil {
						continue
					}
					keep := alwaysRecordedTopicKeys[c.Name] ||
						(c.Source != kmsg.ConfigSourceDefaultConfig && c.Source != kmsg.ConfigSourceStaticBrokerConfig && *c.Value != "")
					if !keep {
						continue
					}
					if t.Configs == nil {
						t.Configs = map[string]string{}
					}
					t.Configs[c.Name] = *c.Value
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("read topic configs: %w", errors.Join(errs...))
	}
	return nil
}

// readLogDirs asks each broker for its log dirs: replica sizes (the leader's
// becomes Partition.Size), bytes used per broker, and disk totals from
// Kafka 3.3 on. A broker that fails is noted, not fatal: sizes on it are
// then unknown.
func readLogDirs(ctx context.Context, cl *kgo.Client, o ReadOptions, st *State) {
	s := st.Snapshot
	type key struct {
		topic string
		part  int32
	}
	index := make(map[string]*plans.Topic, len(s.Topics))
	for i := range s.Topics {
		index[s.Topics[i].Name] = &s.Topics[i]
	}
	// replica sizes of partitions whose leader is not the broker answering,
	// kept only when the leader's size is missing.
	fallback := map[key]int64{}
	leaderSeen := map[key]bool{}
	// Built before any answer arrives: the goroutines below write the sizes
	// of the partitions this reads.
	var filter []kmsg.DescribeLogDirsRequestTopic
	if o.Topics != nil {
		filter = make([]kmsg.DescribeLogDirsRequestTopic, 0, len(s.Topics))
		for _, t := range s.Topics {
			rt := kmsg.NewDescribeLogDirsRequestTopic()
			rt.Topic = t.Name
			for i := range t.Partitions {
				rt.Partitions = append(rt.Partitions, t.Partitions[i].ID)
			}
			filter = append(filter, rt)
		}
	}
	var mu sync.Mutex
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for _, b := range s.Brokers {
		if st.Unreachable[b.ID] != nil {
			continue
		}
		req := kmsg.NewPtrDescribeLogDirsRequest()
		req.Topics = filter
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := req.RequestWith(ctx, cl.Broker(int(b.ID)))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			if err != nil {
				st.Notes = append(st.Notes, fmt.Sprintf("broker %d: log dirs not readable (%v): replica sizes on it are unknown", b.ID, err))
				return
			}
			var used, total, usable int64
			totalsKnown := len(resp.Dirs) > 0
			for _, d := range resp.Dirs {
				if kerr.ErrorForCode(d.ErrorCode) != nil {
					st.Notes = append(st.Notes, fmt.Sprintf("broker %d: log dir %s is offline", b.ID, d.Dir))
					continue
				}
				if d.TotalBytes < 0 || d.UsableBytes < 0 {
					totalsKnown = false
				}
				total += d.TotalBytes
				usable += d.UsableBytes
				for _, t := range d.Topics {
					pt := index[t.Topic]
					for _, p := range t.Partitions {
						if p.IsFuture {
							continue
						}
						used += p.Size
						if pt == nil {
							continue
						}
						k := key{t.Topic, p.Partition}
						part := findPartition(pt, p.Partition)
						if part == nil {
							continue
						}
						if part.Leader == b.ID {
							part.Size = plans.ByteSize(p.Size)
							leaderSeen[k] = true
						} else if p.Size > fallback[k] {
							fallback[k] = p.Size
						}
					}
				}
			}
			st.UsedBytes[b.ID] = used
			if totalsKnown {
				s.Broker(b.ID).DiskCapacity = plans.ByteSize(total)
				st.UsableBytes[b.ID] = usable
			}
		}()
	}
	wg.Wait()
	// An offline partition (or one whose leader's log dirs failed) takes the
	// largest size any replica reported.
	for k, size := range fallback {
		if !leaderSeen[k] {
			if p := findPartition(index[k.topic], k.part); p != nil {
				p.Size = plans.ByteSize(size)
			}
		}
	}
}

// findPartition finds a partition by id; Metadata lists them in id order, so
// the index is tried first.
func findPartition(t *plans.Topic, id int32) *plans.Partition {
	if t == nil {
		return nil
	}
	if int(id) < len(t.Partitions) && id >= 0 && t.Partitions[id].ID == id {
		return &t.Partitions[id]
	}
	for i := range t.Partitions {
		if t.Partitions[i].ID == id {
			return &t.Partitions[i]
		}
	}
	return nil
}

// hiddenRatesNote starts the note noteHiddenRates writes.
const hiddenRatesNote = "throttle rates are set but hidden by the brokers"

// noteHiddenRates notes the rates still unknown, replacing an earlier note.
func noteHiddenRates(st *State) {
	st.Notes = slices.DeleteFunc(st.Notes, func(n string) bool { return strings.HasPrefix(n, hiddenRatesNote) })
	var hidden []string
	for _, b := range st.Snapshot.Brokers {
		for _, k := range rateKeys {
			if b.Configs[k] == UnknownValue {
				hidden = append(hidden, fmt.Sprintf("%d:%s", b.ID, k))
			}
		}
	}
	for _, k := range rateKeys {
		if st.Snapshot.ClusterConfigs[k] == UnknownValue {
			hidden = append(hidden, "default:"+k)
		}
	}
	if len(hidden) > 0 {
		sort.Strings(hidden)
		st.Notes = append(st.Notes, fmt.Sprintf("%s (Kafka before 3.x), recorded as %q: %s; give --zookeeper to read them from /config/brokers",
			hiddenRatesNote, UnknownValue, strings.Join(hidden, ", ")))
	}
}
