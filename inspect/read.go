package inspect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kmsg"
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
	// fresh reads each partition from the broker with the newest view of it
	// (kafkaapi.FreshMetadata): the gates before a step decide on one read.
	fresh bool
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
	// InFlight are the reassignments in flight, as the controller lists
	// them (read by the gates, not for a snapshot).
	InFlight map[PartitionID]kafkaapi.Reassignment
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

// need is one kind of request Read makes; the gates read only the parts
// they need (GateDef.Needs).
type need uint8

const (
	// needVersions asks every broker for its API versions (does it answer,
	// which release) and, on 2.8+, its cluster id.
	needVersions need = 1 << iota
	// needBrokerConfigs reads every broker's configs and the cluster default.
	needBrokerConfigs
	// needTopicConfigs reads the configs of the topics read.
	needTopicConfigs
	// needLogDirs reads every broker's log dirs (replica sizes, disk).
	needLogDirs
	// needReassignments lists the reassignments in flight.
	needReassignments
	// needZooKeeper reads the ZooKeeper source when one is given.
	needZooKeeper
	// needPartitions reads the topics in scope from Metadata, not only the
	// brokers and the cluster.
	needPartitions

	// needSnapshot is what a snapshot needs.
	needSnapshot = needVersions | needBrokerConfigs | needTopicConfigs | needLogDirs | needZooKeeper | needPartitions
)

// Read reads the cluster: Metadata (brokers, topics, replicas, leader, ISR),
// DescribeCluster where the brokers have it, every broker's ApiVersions and
// configs, topic configs in batches, and every broker's log dirs for replica
// sizes and disk totals. The snapshot is normalized.
func Read(ctx context.Context, k *kafkaapi.Client, o ReadOptions) (*State, error) {
	st, err := read(ctx, k, o, needSnapshot)
	if err != nil {
		return nil, err
	}
	st.Snapshot.Normalize()
	return st, nil
}

// read reads Metadata and the parts asked for. Metadata is always read:
// every other part is per broker or per topic it lists.
func read(ctx context.Context, k *kafkaapi.Client, o ReadOptions, parts need) (*State, error) {
	o = o.withDefaults()
	st := &State{
		Snapshot:         &plans.Snapshot{Version: plans.FormatVersion},
		BrokerClusterIDs: map[int32]string{},
		Unreachable:      map[int32]error{},
		UsedBytes:        map[int32]int64{},
		UsableBytes:      map[int32]int64{},
		OfflineReplicas:  map[PartitionID][]int32{},
		InFlight:         map[PartitionID]kafkaapi.Reassignment{},
	}
	metadata := k.Metadata
	if o.fresh {
		metadata = k.FreshMetadata
	}
	if err := readMetadata(ctx, metadata, o.Topics, st); err != nil {
		return nil, err
	}
	if parts&needVersions != 0 {
		readBrokerVersions(ctx, k, st)
	}
	if parts&needBrokerConfigs != 0 {
		if err := readBrokerConfigs(ctx, k, st); err != nil {
			return nil, err
		}
		addVersionHints(st.Snapshot)
	}
	if parts&needTopicConfigs != 0 {
		if err := readTopicConfigs(ctx, k, o, st); err != nil {
			return nil, err
		}
	}
	if parts&needLogDirs != 0 {
		readBrokerLogDirs(ctx, k, o, st)
	}
	if parts&needReassignments != 0 {
		if err := readInFlight(ctx, k, st); err != nil {
			return nil, err
		}
	}
	if parts&needZooKeeper != 0 && o.ZooKeeper != nil {
		if err := readZooKeeper(ctx, o.ZooKeeper, st); err != nil {
			return nil, err
		}
	}
	if parts&needBrokerConfigs != 0 {
		noteHiddenRates(st)
	}
	return st, nil
}

func readMetadata(ctx context.Context, metadata func(context.Context, []string) (*kafkaapi.Metadata, error), topics []string, st *State) error {
	md, err := metadata(ctx, topics)
	if err != nil {
		return err
	}
	s := st.Snapshot
	s.ClusterID, s.Controller = md.ClusterID, md.Controller
	for _, id := range sortedIDs(md.Brokers) {
		b := md.Brokers[id]
		s.Brokers = append(s.Brokers, plans.Broker{ID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack})
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(md.TopicErrors)) {
		if !plans.IsKshiftTopic(name) {
			errs = append(errs, fmt.Errorf("topic %q: %w", name, md.TopicErrors[name]))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("reading cluster metadata: %w", errors.Join(errs...))
	}
	// Grouped by topic, then topics sorted by name and partitions by id:
	// sorting 200,000 partition keys by topic name cost more than reading
	// them.
	byTopic := map[string][]kafkaapi.TP{}
	for key := range md.Partitions {
		if plans.IsKshiftTopic(key.Topic) {
			// The operator lock of a kshift running now: not the cluster's data.
			continue
		}
		byTopic[key.Topic] = append(byTopic[key.Topic], key)
	}
	s.Topics = make([]plans.Topic, 0, len(byTopic))
	for _, name := range slices.Sorted(maps.Keys(byTopic)) {
		keys := byTopic[name]
		slices.SortFunc(keys, func(a, b kafkaapi.TP) int { return cmp.Compare(a.Partition, b.Partition) })
		t := plans.Topic{Name: name, Partitions: make([]plans.Partition, 0, len(keys))}
		for _, key := range keys {
			// LEADER_NOT_AVAILABLE is how an offline partition is reported;
			// its replica list is still right.
			p := md.Partitions[key]
			t.Partitions = append(t.Partitions, plans.Partition{ID: key.Partition, Replicas: p.Replicas, Leader: p.Leader, ISR: p.ISR})
			if len(p.Offline) > 0 {
				st.OfflineReplicas[PartitionID{key.Topic, key.Partition}] = p.Offline
			}
		}
		s.Topics = append(s.Topics, t)
	}
	if s.Topics == nil {
		s.Topics = []plans.Topic{}
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

// readBrokerVersions asks every broker for its API versions: a broker that
// does not answer is unreachable; the answer gives a guess of its Kafka
// version (2.4 brokers do not report their version) and whether
// DescribeCluster exists (2.8+), which then gives each broker's own cluster
// id, so a broker that joined another cluster by mistake shows up.
func readBrokerVersions(ctx context.Context, k *kafkaapi.Client, st *State) {
	s := st.Snapshot
	var ids []int32
	for _, b := range s.Brokers {
		if st.Unreachable[b.ID] == nil {
			ids = append(ids, b.ID)
		}
	}
	apis := make([]kafkaapi.BrokerAPIs, len(ids))
	errs := make([]error, len(ids))
	eachBroker(ids, func(i int, id int32) { apis[i], errs[i] = k.APIVersions(ctx, id) })
	describeCluster := 0
	for i, id := range ids {
		if errs[i] != nil {
			st.Unreachable[id] = errs[i]
			continue
		}
		s.Broker(id).KafkaVersion = apis[i].VersionGuess()
		if apis[i].Has(kmsg.DescribeCluster) {
			describeCluster++
		}
	}
	if len(ids) == 0 || describeCluster != len(ids) {
		return
	}
	st.HasDescribeCluster = true
	clusterIDs := make([]string, len(ids))
	eachBroker(ids, func(i int, id int32) { clusterIDs[i], errs[i] = k.ClusterIDOf(ctx, id) })
	for i, id := range ids {
		if errs[i] != nil {
			st.Unreachable[id] = errs[i]
			continue
		}
		st.BrokerClusterIDs[id] = clusterIDs[i]
	}
}

// eachBroker calls f for every broker at once and waits for all: one small
// request per broker, so the wait is one round trip, not one per broker.
func eachBroker(ids []int32, f func(i int, id int32)) {
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, id)
		}()
	}
	wg.Wait()
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

// readBrokerConfigs reads every reachable broker's configs and the cluster
// default. A throttle rate is recorded only where it is set on that very
// resource (kafkaapi.ConfigEntry.SetOn): Kafka 2.4 also lists unset rates,
// with source DEFAULT_CONFIG (docs/kafka-behaviour.md 26), and a broker
// lists the cluster default's rate as its own. A set rate whose value the
// broker hides (item 13) is recorded as UnknownValue.
func readBrokerConfigs(ctx context.Context, k *kafkaapi.Client, st *State) error {
	s := st.Snapshot
	var res []kafkaapi.ConfigResource
	for _, b := range s.Brokers {
		if st.Unreachable[b.ID] == nil {
			res = append(res, kafkaapi.BrokerResource(b.ID))
		}
	}
	// The cluster-wide dynamic defaults (resource ""), e.g. a default rate.
	res = append(res, kafkaapi.ClusterDefault)
	cfg, err := k.DescribeConfigs(ctx, res, brokerConfigKeys)
	if err != nil {
		return fmt.Errorf("reading broker configs: %w", err)
	}
	for _, r := range res {
		entries := cfg[r]
		if r == kafkaapi.ClusterDefault {
			for name, e := range entries {
				if e.SetOn(r) {
					if s.ClusterConfigs == nil {
						s.ClusterConfigs = map[string]string{}
					}
					s.ClusterConfigs[name] = configValue(e)
				}
			}
			continue
		}
		id, err := strconv.ParseInt(r.Name, 10, 32)
		b := s.Broker(int32(id))
		if err != nil || b == nil {
			continue
		}
		b.Configs = map[string]string{}
		for name, e := range entries {
			if isRate(name) && !e.SetOn(r) || !isRate(name) && e.Value == nil {
				continue
			}
			b.Configs[name] = configValue(e)
		}
	}
	return nil
}

// configValue is the config's value, or UnknownValue for a value the broker
// hides (throttle rates on 2.4, item 13).
func configValue(e kafkaapi.ConfigEntry) string {
	if e.Value == nil {
		return UnknownValue
	}
	return *e.Value
}

func isRate(k string) bool { return k == KeyLeaderRate || k == KeyFollowerRate }

// readTopicConfigs reads the configs of the topics read, o.TopicConfigBatch
// topics per request, o.Concurrency requests at once.
func readTopicConfigs(ctx context.Context, k *kafkaapi.Client, o ReadOptions, st *State) error {
	topics := st.Snapshot.Topics
	var batches [][]kafkaapi.ConfigResource
	for start := 0; start < len(topics); start += o.TopicConfigBatch {
		var batch []kafkaapi.ConfigResource
		for _, t := range topics[start:min(start+o.TopicConfigBatch, len(topics))] {
			batch = append(batch, kafkaapi.TopicResource(t.Name))
		}
		batches = append(batches, batch)
	}
	// Each answer is folded into its topics as it arrives and dropped.
	index := make(map[string]*plans.Topic, len(topics))
	for i := range topics {
		index[topics[i].Name] = &topics[i]
	}
	errs := make([]error, len(batches))
	var mu sync.Mutex
	if err := bounded(ctx, o.Concurrency, len(batches), func(i int) {
		cfg, err := k.DescribeConfigs(ctx, batches[i], topicConfigKeys)
		if err != nil {
			errs[i] = err
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for res, entries := range cfg {
			if t := index[res.Name]; t != nil && res == kafkaapi.TopicResource(t.Name) {
				recordTopicConfigs(t, entries)
			}
		}
	}); err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reading topic configs: %w", err)
	}
	return nil
}

// recordTopicConfigs records the configs a snapshot keeps of a topic.
func recordTopicConfigs(t *plans.Topic, entries map[string]kafkaapi.ConfigEntry) {
	for name, e := range entries {
		if e.Value == nil {
			continue
		}
		keep := alwaysRecordedTopicKeys[name] ||
			(e.Source != kmsg.ConfigSourceDefaultConfig && e.Source != kmsg.ConfigSourceStaticBrokerConfig && *e.Value != "")
		if !keep {
			continue
		}
		if t.Configs == nil {
			t.Configs = map[string]string{}
		}
		t.Configs[name] = *e.Value
	}
}

// bounded calls f(0..n-1), at most limit at once, and waits for all; it
// stops starting new calls once ctx ends.
func bounded(ctx context.Context, limit, n int, f func(i int)) error {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	return nil
}

// readBrokerLogDirs asks each broker for its log dirs: replica sizes (the
// leader's becomes Partition.Size), bytes used per broker, and disk totals
// from Kafka 3.3 on. A broker that fails is noted, not fatal: sizes on it
// are then unknown.
func readBrokerLogDirs(ctx context.Context, k *kafkaapi.Client, o ReadOptions, st *State) {
	s := st.Snapshot
	// Every partition gets a slot: index[topic] is its topic's first slot,
	// and a partition's slot is that plus its position in the topic. A
	// 200,000-partition cluster reports 600,000 replicas; slices keep this
	// to one map lookup per replica.
	type span struct{ first, n int }
	index := make(map[string]span, len(s.Topics))
	parts := make([]*plans.Partition, 0, s.PartitionCount())
	for i := range s.Topics {
		t := &s.Topics[i]
		index[t.Name] = span{len(parts), len(t.Partitions)}
		for j := range t.Partitions {
			parts = append(parts, &t.Partitions[j])
		}
	}
	slotOf := func(key kafkaapi.TP) int {
		sp, ok := index[key.Topic]
		if !ok {
			return -1
		}
		// Metadata lists partitions in id order: try the id as position first.
		if key.Partition >= 0 && int(key.Partition) < sp.n && parts[sp.first+int(key.Partition)].ID == key.Partition {
			return sp.first + int(key.Partition)
		}
		for i := sp.first; i < sp.first+sp.n; i++ {
			if parts[i].ID == key.Partition {
				return i
			}
		}
		return -1
	}
	var filter []kafkaapi.TP // nil: every replica of the broker
	if o.Topics != nil {
		filter = []kafkaapi.TP{}
		for _, t := range s.Topics {
			for _, p := range t.Partitions {
				filter = append(filter, kafkaapi.TP{Topic: t.Name, Partition: p.ID})
			}
		}
	}
	var ids []int32
	for _, b := range s.Brokers {
		if st.Unreachable[b.ID] == nil {
			ids = append(ids, b.ID)
		}
	}
	// The largest size any replica other than the leader reported, used
	// when the leader's is missing, and whether the leader's was seen.
	fallback := make([]int64, len(parts))
	leaderSeen := make([]bool, len(parts))
	notes := make([][]string, len(ids))
	type totals struct {
		used, total, usable int64
		known               bool
	}
	brokerTotals := make([]totals, len(ids))
	readable := make([]bool, len(ids))
	// Each answer is folded in as it arrives and dropped, so memory holds
	// at most o.Concurrency answers, not one per broker.
	var mu sync.Mutex
	if bounded(ctx, o.Concurrency, len(ids), func(i int) {
		id := ids[i]
		dirs, err := k.LogDirs(ctx, id, filter)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			notes[i] = append(notes[i], fmt.Sprintf("broker %d: log dirs not readable (%v): replica sizes on it are unknown", id, err))
			return
		}
		readable[i] = true
		t := totals{known: len(dirs) > 0}
		for _, d := range dirs {
			if d.Err != nil {
				notes[i] = append(notes[i], fmt.Sprintf("broker %d: log dir %s is offline", id, d.Dir))
				continue
			}
			if d.TotalBytes < 0 || d.UsableBytes < 0 {
				t.known = false
			}
			t.total += d.TotalBytes
			t.usable += d.UsableBytes
			for _, r := range d.Replicas {
				t.used += r.Size
				slot := slotOf(r.TP)
				switch {
				case slot < 0:
				case parts[slot].Leader == id:
					parts[slot].Size = plans.ByteSize(r.Size)
					leaderSeen[slot] = true
				case r.Size > fallback[slot]:
					fallback[slot] = r.Size
				}
			}
		}
		brokerTotals[i] = t
	}) != nil {
		return
	}
	for i, id := range ids {
		st.Notes = append(st.Notes, notes[i]...)
		if !readable[i] {
			continue
		}
		t := brokerTotals[i]
		st.UsedBytes[id] = t.used
		if t.known {
			s.Broker(id).DiskCapacity = plans.ByteSize(t.total)
			st.UsableBytes[id] = t.usable
		}
	}
	// An offline partition (or one whose leader's log dirs failed) takes the
	// largest size any replica reported.
	for slot, size := range fallback {
		if size > 0 && !leaderSeen[slot] {
			parts[slot].Size = plans.ByteSize(size)
		}
	}
}

// readInFlight lists every reassignment in flight (the controller answers).
func readInFlight(ctx context.Context, k *kafkaapi.Client, st *State) error {
	inflight, err := k.Reassignments(ctx)
	if err != nil {
		return err
	}
	for key, r := range inflight {
		st.InFlight[PartitionID{key.Topic, key.Partition}] = r
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
