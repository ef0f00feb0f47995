package plans

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// Snapshot is a point-in-time read of a live cluster: everything the planner
// needs and nothing it does not. `kshift snapshot` writes it; `kshift plan`
// reads it.
type Snapshot struct {
	Version    int    `yaml:"version"`
	ClusterID  string `yaml:"cluster_id"`
	Controller int32  `yaml:"controller"`
	// Brokers are the registered brokers, source and target alike.
	Brokers []Broker `yaml:"brokers"`
	// ClusterConfigs are the cluster-wide dynamic broker configs (the default
	// resource "") that matter for a move.
	ClusterConfigs map[string]string `yaml:"cluster_configs,omitempty"`
	Topics         []Topic           `yaml:"topics"`
	// ZooKeeper is the ensemble the cluster uses, when it was read.
	ZooKeeper *Ensemble `yaml:"zookeeper,omitempty"`
}

func (s *Snapshot) formatVersion() int { return s.Version }

// Broker is one registered broker.
type Broker struct {
	ID           int32  `yaml:"id"`
	Rack         string `yaml:"rack,omitempty"`
	Host         string `yaml:"host,omitempty"`
	Port         int32  `yaml:"port,omitempty"`
	KafkaVersion string `yaml:"kafka_version,omitempty"`
	// DiskCapacity is the total size of the broker's log dirs in bytes, 0 when
	// the broker does not report it (before Kafka 3.3).
	DiskCapacity ByteSize `yaml:"disk_capacity,omitempty"`
	// Configs are the broker configs that matter for a move (inter.broker.protocol.version,
	// throttle rates, replica.fetch.max.bytes, ...).
	Configs map[string]string `yaml:"configs,omitempty"`
}

// Topic is one topic with its partitions.
type Topic struct {
	Name string `yaml:"name"`
	// Configs are the topic configs that matter for a move: min.insync.replicas
	// and any existing throttled-replica lists.
	Configs    map[string]string `yaml:"configs,omitempty"`
	Partitions []Partition       `yaml:"partitions"`
}

// Partition is one partition as the cluster reported it.
type Partition struct {
	ID int32 `yaml:"id"`
	// Replicas in Kafka's order: the first is the preferred leader.
	Replicas []int32 `yaml:"replicas"`
	// Leader is the current leader, -1 when the partition is offline.
	Leader int32   `yaml:"leader"`
	ISR    []int32 `yaml:"isr"`
	// Size is the leader's log size in bytes: what a new replica must copy.
	Size ByteSize `yaml:"size"`
}

// MarshalYAML writes a partition on one line so a snapshot diff shows one
// changed line per changed partition.
func (p Partition) MarshalYAML() (any, error) {
	type plain Partition
	return flowNode(plain(p))
}

// MinInsyncReplicasKey is the topic config that bounds how low RF may go.
const MinInsyncReplicasKey = "min.insync.replicas"

// MinInsyncReplicas returns the topic's min.insync.replicas, or 1 (Kafka's
// default) when the snapshot does not record it.
func (t *Topic) MinInsyncReplicas() int {
	v := t.Configs[MinInsyncReplicasKey]
	if v == "" {
		return 1
	}
	// A plain number (the usual case) is read as Sscanf would, without its
	// cost: the planner and the checker ask every topic of a large cluster.
	n, err := strconv.Atoi(v)
	if err != nil {
		_, err = fmt.Sscanf(v, "%d", &n)
	}
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// Broker returns the broker with the given id, or nil.
func (s *Snapshot) Broker(id int32) *Broker {
	for i := range s.Brokers {
		if s.Brokers[i].ID == id {
			return &s.Brokers[i]
		}
	}
	return nil
}

// PartitionCount returns the number of partitions over all topics.
func (s *Snapshot) PartitionCount() int {
	n := 0
	for i := range s.Topics {
		n += len(s.Topics[i].Partitions)
	}
	return n
}

// Normalize sorts brokers by id, topics by name and partitions by id, so that
// the order a cluster happened to list them in never changes a plan. A list
// already strictly in that order, as kshift writes it, is left as it is
// without sorting: sorting it would too.
func (s *Snapshot) Normalize() {
	if !brokersInOrder(s.Brokers) {
		sort.Slice(s.Brokers, func(i, j int) bool { return s.Brokers[i].ID < s.Brokers[j].ID })
	}
	if !topicsInOrder(s.Topics) {
		sort.Slice(s.Topics, func(i, j int) bool { return s.Topics[i].Name < s.Topics[j].Name })
	}
	for i := range s.Topics {
		if ps := s.Topics[i].Partitions; !partitionsInOrder(ps) {
			sort.Slice(ps, func(a, b int) bool { return ps[a].ID < ps[b].ID })
		}
	}
}

// The lists below are in order when each item's key is strictly above the
// one before: only then is a list sure to be as Normalize's sort leaves
// it, sort.Slice leaving the order of equal keys undefined.

func brokersInOrder(bs []Broker) bool {
	for i := 1; i < len(bs); i++ {
		if bs[i-1].ID >= bs[i].ID {
			return false
		}
	}
	return true
}

func topicsInOrder(ts []Topic) bool {
	for i := 1; i < len(ts); i++ {
		if ts[i-1].Name >= ts[i].Name {
			return false
		}
	}
	return true
}

func partitionsInOrder(ps []Partition) bool {
	for i := 1; i < len(ps); i++ {
		if ps[i-1].ID >= ps[i].ID {
			return false
		}
	}
	return true
}

// Validate reports every structural problem of the snapshot with its location.
func (s *Snapshot) Validate() error {
	var p problems
	if s.ClusterID == "" {
		p.add("", "cluster_id is empty")
	}
	brokers := make(map[int32]bool, len(s.Brokers))
	for i, b := range s.Brokers {
		loc := fmt.Sprintf("brokers[%d] (id %d)", i, b.ID)
		if b.ID < 0 {
			p.add(loc, "broker id is negative")
		}
		if brokers[b.ID] {
			p.add(loc, "broker %d is listed twice", b.ID)
		}
		if b.DiskCapacity < 0 {
			p.add(loc, "disk_capacity is negative")
		}
		brokers[b.ID] = true
	}
	if len(s.Brokers) == 0 {
		p.add("", "no brokers listed")
	}
	topics := make(map[string]bool, len(s.Topics))
	for _, t := range s.Topics {
		if t.Name == "" {
			p.add("topics", "a topic has an empty name")
			continue
		}
		if topics[t.Name] {
			p.add("topic "+t.Name, "topic is listed twice")
		}
		topics[t.Name] = true
		seen := make(map[int32]bool, len(t.Partitions))
		for i := range t.Partitions {
			part := &t.Partitions[i]
			dup := seen[part.ID]
			seen[part.ID] = true
			if part.ID >= 0 && !dup && partitionValid(part, brokers) {
				continue // the common case: no location to format
			}
			loc := fmt.Sprintf("partition %s-%d", t.Name, part.ID)
			if part.ID < 0 {
				p.add(loc, "partition id is negative")
			}
			if dup {
				p.add(loc, "partition is listed twice")
			}
			validateSnapshotPartition(&p, loc, *part, brokers)
		}
	}
	if s.ZooKeeper != nil {
		s.ZooKeeper.validate(&p)
	}
	return p.err()
}

// partitionValid reports, without allocating, whether validateSnapshotPartition
// would find nothing: replica lists are a handful of ids, so scans beat maps.
func partitionValid(part *Partition, brokers map[int32]bool) bool {
	r := part.Replicas
	if len(r) == 0 || part.Size < 0 {
		return false
	}
	for k, id := range r {
		if !brokers[id] || slices.Contains(r[:k], id) {
			return false
		}
	}
	if part.Leader != -1 && !slices.Contains(r, part.Leader) {
		return false
	}
	for _, id := range part.ISR {
		if !slices.Contains(r, id) {
			return false
		}
	}
	return true
}

func validateSnapshotPartition(p *problems, loc string, part Partition, brokers map[int32]bool) {
	if len(part.Replicas) == 0 {
		p.add(loc, "replicas is empty")
	}
	if d := duplicateIDs(part.Replicas); len(d) > 0 {
		p.add(loc, "replicas %v list broker %v twice", part.Replicas, d)
	}
	replica := make(map[int32]bool, len(part.Replicas))
	for _, r := range part.Replicas {
		replica[r] = true
		if !brokers[r] {
			p.add(loc, "replica on broker %d, which is not in the brokers list", r)
		}
	}
	if part.Leader != -1 && !replica[part.Leader] {
		p.add(loc, "leader %d is not one of the replicas %v", part.Leader, part.Replicas)
	}
	for _, r := range part.ISR {
		if !replica[r] {
			p.add(loc, "isr member %d is not one of the replicas %v", r, part.Replicas)
		}
	}
	if part.Size < 0 {
		p.add(loc, "size is negative")
	}
}
