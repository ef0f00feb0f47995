package kafkasim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/kshift/kshift/plans"
)

// Version selects which Kafka release the double emulates.
type Version int

const (
	// V2_4 is Apache Kafka 2.4 in ZooKeeper mode, as docs/kafka-behaviour.md
	// recorded it: no DescribeCluster, DescribeLogDirs v1 without disk totals,
	// throttle rates hidden from DescribeConfigs, the cluster-default rate not
	// enforced, APPEND onto "" producing an unparsable list.
	V2_4 Version = iota
	// V3_x is a ZooKeeper-mode 3.x broker (3.6.0's API versions): DescribeCluster,
	// DescribeLogDirs v4 with total and usable bytes, readable throttle rates,
	// the default rate enforced, APPEND fixed.
	V3_x
)

var allVersions = []Version{V2_4, V3_x}

func (v Version) String() string {
	switch v {
	case V2_4:
		return "2.4"
	case V3_x:
		return "3.x"
	}
	return "unknown(" + strconv.Itoa(int(v)) + ")"
}

func (v Version) valid() bool {
	for _, a := range allVersions {
		if a == v {
			return true
		}
	}
	return false
}

// BrokerConfig describes one broker of the double.
type BrokerConfig struct {
	ID   int32
	Rack string
	// DiskCapacity is the size of the broker's log dir in bytes, reported by
	// DescribeLogDirs v4 on V3_x (0: reported as unknown, -1).
	DiskCapacity int64
	// Port to listen on, 0 for a free one. A restarted broker keeps its port.
	Port int
	// Configs are static broker configs (server.properties) overriding the
	// double's defaults, e.g. {"auto.leader.rebalance.enable": "false"} or a
	// different "inter.broker.protocol.version" to make a config mismatch.
	Configs map[string]string
}

// SASLUser is one user the double accepts with SASL.
type SASLUser struct {
	User, Password string
}

// Config describes a cluster to start.
type Config struct {
	// ClusterID is reported in Metadata (and DescribeCluster on V3_x);
	// "kafkasim" when empty.
	ClusterID string
	Brokers   []BrokerConfig
	// Controller is the id of the controller broker; the lowest broker id when
	// zero and no broker has id 0.
	Controller int32
	Version    Version
	// Clock runs every timed behaviour; a scaled clock at 1x (real time) when nil.
	Clock *Clock
	// NetworkRate is each broker's replication bandwidth in bytes/s, shared by
	// the copies into it and the copies out of it; 100 MiB/s when zero.
	NetworkRate int64
	// ISRLag makes Metadata show ISR changes late, as item 21 observed
	// (0.5-7.5 s for changes by leaders, 1 s for changes by the controller).
	// Off by default so tests see changes at once.
	ISRLag bool
	// LogDeleteDelay keeps a removed or cancelled replica's log listed in
	// DescribeLogDirs for this long (item 20 saw 1-2 s); 0 deletes at once.
	LogDeleteDelay time.Duration
	// MetadataLag makes Metadata lag the controller (item 24): after a
	// controller change (a reassignment submitted, completed inside the call
	// or cancelled, an election, a leader or ISR change the controller makes)
	// each broker's Metadata answers show the new state only after that
	// broker's own delay, drawn from Seed, of at most MetadataLag: the brokers
	// holding the partition learn it in the later half of the window, the
	// others in the earlier half, and each broker learns changes in the order
	// they were made. ListPartitionReassignments, answered from the
	// controller's state, is current at once. Zero takes RealMetadataLag,
	// what a real 2.4 cluster showed, on a clock that runs (not on a manual
	// one); negative: Metadata is current at once. A test that stops the
	// clock (SetFactor 0) stops the lag too: the brokers catch up only when
	// it runs again.
	MetadataLag time.Duration
	// TopicDeletionTime is how long a deleted topic's name stays taken
	// (item 25: CreateTopics answers TOPIC_ALREADY_EXISTS meanwhile, while
	// every other request already treats the topic as gone): each deletion
	// takes between a tenth of it and all of it, drawn from Seed. Zero
	// takes RealTopicDeletionTime, what a real 2.4 cluster showed, on a
	// clock that runs; negative: the name is free at once.
	TopicDeletionTime time.Duration
	// ConfigChangeLag is how long a broker takes to process a change of
	// its dynamic configs (its own or the cluster default's, item 26):
	// until then its DescribeConfigs answers as before the change, so a
	// rate just set is not listed yet and a rate just deleted still reads
	// as set, with source DYNAMIC_BROKER_CONFIG. The throttles themselves
	// apply at once. Zero takes RealConfigChangeLag on a clock that runs;
	// negative: at once.
	ConfigChangeLag time.Duration
	// NoCopyCallTime is how long an AlterPartitionReassignments call takes
	// when a move in it completes inside the call (a reorder, an RF
	// decrease, a cancel: item 32 saw ~0.9-1 s): the moves are applied at the
	// end of it. ElectionCallTime is how long an ElectLeaders call that
	// moves a leader takes (item 32: ~0.5 s): the leaders move at its start.
	// Both pass on a running clock only (a manual or stopped clock moves by
	// Advance alone, so there such calls are instant). Zero takes the real
	// timings (RealNoCopyCallTime, RealElectionCallTime); negative makes such
	// calls instant.
	NoCopyCallTime, ElectionCallTime time.Duration
	// Seed varies the ISR lag, Metadata lag and topic deletion delays; the
	// same seed gives the same delays.
	Seed int64
	// RebalanceInterval is leader.imbalance.check.interval.seconds; 300 s when
	// zero. The check itself is switched by each broker's
	// auto.leader.rebalance.enable (true unless Configs say otherwise).
	RebalanceInterval time.Duration
	// TLS, when set, makes every listener TLS with this server config.
	TLS *tls.Config
	// SASLMechanism, when set ("PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512"),
	// requires every connection to authenticate as one of SASLUsers.
	SASLMechanism string
	SASLUsers     []SASLUser
}

// Cluster is a running double. All methods are safe for concurrent use.
type Cluster struct {
	cfg      Config
	clock    *Clock
	sasl     *saslServer
	versions map[int16]int16 // API key → max version ApiVersions advertises

	mu         sync.Mutex
	now        time.Time
	brokers    map[int32]*broker
	controller int32
	topics     map[string]*topic
	// topicNames caches the topic names in order (sortedTopicsLocked);
	// nil after a topic is created or deleted.
	topicNames []string
	// onBroker indexes the partitions by the brokers of their replicas
	// (replicasOnLocked); nil after any replica list changes.
	onBroker map[int32][]*partition
	defaults map[string]string // dynamic cluster-default broker configs (resource "")
	// defaultsWritten is set once the cluster default was altered: its
	// config znode exists from then on (item 13).
	defaultsWritten bool
	// busy holds the partitions time changes: replicas out of sync or
	// producers writing; delayed those with ISR changes not yet shown.
	busy, delayed map[*partition]struct{}
	// inFlight holds the partitions reassigned since the last rebalance
	// check (some may have completed since).
	inFlight      map[*partition]struct{}
	nextRebalance time.Time
	producerID    int64
	closed        bool
	wg            sync.WaitGroup
	// zk is the ZooKeeper registration, nil without one; legacy the moves
	// picked up from /admin/reassign_partitions still in flight.
	zk     *zkRegistration
	legacy []legacyMove
	// dirty holds the partitions the controller changed since the brokers
	// were last sent metadata; learnt is, per broker, when it learns the
	// last metadata sent to it (Config.MetadataLag, item 24).
	dirty  map[*partition]struct{}
	learnt map[int32]time.Time
	// deletedNames holds the names of deleted topics still taken, until when
	// (Config.TopicDeletionTime, item 25).
	deletedNames map[string]time.Time
}

type broker struct {
	cfg     BrokerConfig
	static  map[string]string
	dynamic map[string]string
	alive   bool
	port    int
	ln      net.Listener
	conns   map[net.Conn]struct{}
	// stray are logs left on disk by a replica removed while the broker was
	// down, with their sizes (item 11): listed with offsetLag -1.
	stray map[string]map[int32]int64
	// deleting are logs of removed replicas still listed until their
	// deletion (Config.LogDeleteDelay, item 20).
	deleting map[string]map[int32]deletingLog
	// expireAt is when the ZooKeeper session of a killed broker times out;
	// until then the cluster still counts it as registered (item 22).
	expireAt time.Time
	// view is what DescribeConfigs answers from: the dynamic configs as
	// the broker last processed them (Config.ConfigChangeLag, item 26).
	view configView
	// configWritten is set once the broker's dynamic configs were altered:
	// its config znode exists from then on (item 13).
	configWritten bool
}

// registered reports whether the cluster sees b: running, or killed with its
// session not yet expired.
func (b *broker) registered() bool { return b.alive || !b.expireAt.IsZero() }

const (
	defaultClusterID   = "kafkasim"
	defaultNetworkRate = 100 << 20
	defaultRebalance   = 300 * time.Second
)

// What a real Kafka 2.4 cluster showed (docs/kafka-behaviour.md), for the
// Config knobs that are off by default and for the defaults of the others.
const (
	// RealMetadataLag is the longest a broker's Metadata lagged the
	// controller (item 24).
	RealMetadataLag = 500 * time.Millisecond
	// RealTopicDeletionTime is the longest a deleted topic's name stayed
	// taken (item 25: 48-518 ms).
	RealTopicDeletionTime = 520 * time.Millisecond
	// RealConfigChangeLag is how long a broker took to process a change of
	// its dynamic configs (item 26: 15-60 ms on an idle 2-core host; more
	// under load).
	RealConfigChangeLag = 100 * time.Millisecond
	// RealNoCopyCallTime is how long an RF decrease or a reorder took to
	// complete inside AlterPartitionReassignments (items 2 and 32).
	RealNoCopyCallTime = 900 * time.Millisecond
	// RealElectionCallTime is how long a preferred election took (items 18
	// and 32).
	RealElectionCallTime = 500 * time.Millisecond
)

// Start starts a cluster with one listener per broker on 127.0.0.1. ctx
// bounds only the start; Close stops the cluster.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start kafka double: %w", err)
	}
	if !cfg.Version.valid() {
		return nil, fmt.Errorf("start kafka double: unknown version %v: use V2_4 or V3_x", cfg.Version)
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("start kafka double: no brokers configured: list at least one in Config.Brokers")
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = defaultClusterID
	}
	if cfg.Clock == nil {
		cfg.Clock = NewScaledClock(time.Now(), 1)
	}
	if cfg.NetworkRate <= 0 {
		cfg.NetworkRate = defaultNetworkRate
	}
	if cfg.RebalanceInterval <= 0 {
		cfg.RebalanceInterval = defaultRebalance
	}
	if cfg.NoCopyCallTime == 0 {
		cfg.NoCopyCallTime = RealNoCopyCallTime
	}
	// The lags of a real cluster pass on the simulated clock: they are on
	// by default where that clock runs by itself. A manual clock moves only
	// when a test moves it, so there they are on only when asked for.
	if cfg.Clock.Factor() > 0 {
		if cfg.MetadataLag == 0 {
			cfg.MetadataLag = RealMetadataLag
		}
		if cfg.TopicDeletionTime == 0 {
			cfg.TopicDeletionTime = RealTopicDeletionTime
		}
		if cfg.ConfigChangeLag == 0 {
			cfg.ConfigChangeLag = RealConfigChangeLag
		}
	}
	if cfg.ElectionCallTime == 0 {
		cfg.ElectionCallTime = RealElectionCallTime
	}
	sasl, err := newSASLServer(cfg.SASLMechanism, cfg.SASLUsers)
	if err != nil {
		return nil, fmt.Errorf("start kafka double: %w", err)
	}
	c := &Cluster{
		cfg:      cfg,
		versions: emulated(cfg.Version),
		clock:    cfg.Clock,
		sasl:     sasl,
		brokers:  make(map[int32]*broker),
		topics:   make(map[string]*topic),
		defaults: make(map[string]string),
		busy:     make(map[*partition]struct{}),
		delayed:  make(map[*partition]struct{}),
		inFlight: make(map[*partition]struct{}),
		dirty:    make(map[*partition]struct{}),
		learnt:   make(map[int32]time.Time),

		deletedNames: make(map[string]time.Time),
	}
	c.now = c.clock.Now()
	c.nextRebalance = c.now.Add(cfg.RebalanceInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, bc := range cfg.Brokers {
		if err := c.addBrokerLocked(bc); err != nil {
			c.closeLocked()
			return nil, fmt.Errorf("start kafka double: %w", err)
		}
	}
	c.controller = c.lowestAliveLocked()
	if _, ok := c.brokers[cfg.Controller]; ok {
		c.controller = cfg.Controller
	}
	return c, nil
}

func (c *Cluster) addBrokerLocked(bc BrokerConfig) error {
	if bc.ID < 0 {
		return fmt.Errorf("broker id %d is negative", bc.ID)
	}
	if _, ok := c.brokers[bc.ID]; ok {
		return fmt.Errorf("broker %d is configured twice", bc.ID)
	}
	b := &broker{
		cfg:      bc,
		static:   defaultBrokerConfigs(bc, c.cfg.Version),
		dynamic:  make(map[string]string),
		port:     bc.Port,
		conns:    make(map[net.Conn]struct{}),
		stray:    make(map[string]map[int32]int64),
		deleting: make(map[string]map[int32]deletingLog),
	}
	for k, v := range bc.Configs {
		b.static[k] = v
	}
	b.view = c.newConfigView(b)
	if err := c.openLocked(b); err != nil {
		return err
	}
	c.brokers[bc.ID] = b
	return nil
}

func (c *Cluster) lowestAliveLocked() int32 {
	best := int32(-1)
	for id, b := range c.brokers {
		if b.alive && (best == -1 || id < best) {
			best = id
		}
	}
	return best
}

// nextAliveAfterLocked is the live broker with the next id after id
// (wrapping round), never id itself unless it is the only one alive: -1
// when none is alive.
func (c *Cluster) nextAliveAfterLocked(id int32) int32 {
	ids := c.brokerIDsLocked() // sorted
	var after, before []int32
	for _, cand := range ids {
		switch b := c.brokers[cand]; {
		case !b.alive || cand == id:
		case cand > id:
			after = append(after, cand)
		default:
			before = append(before, cand)
		}
	}
	switch {
	case len(after) > 0:
		return after[0]
	case len(before) > 0:
		return before[0]
	case c.brokers[id] != nil && c.brokers[id].alive:
		return id
	}
	return -1
}

// ReelectController models what deleting the /controller znode does to a
// ZooKeeper-mode cluster: the controller resigns and the live brokers race
// to recreate the znode (docs/kafka-behaviour.md 35). On a real 2.4 cluster
// any broker but the old controller won, in no order; the simulator picks
// the live broker with the next id, wrapping round, so that a test sees
// the old side win again before the other does. It returns the new
// controller. A registered cluster does this by itself when its
// /controller znode disappears.
func (c *Cluster) ReelectController() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reelectLocked()
}

func (c *Cluster) reelectLocked() int32 {
	c.advanceLocked()
	if c.controller != -1 {
		c.controller = c.nextAliveAfterLocked(c.controller)
	} else {
		c.controller = c.lowestAliveLocked()
	}
	return c.controller
}

// Close stops every listener and connection and waits for them to end.
func (c *Cluster) Close() error {
	c.mu.Lock()
	c.closeLocked()
	reg := c.zk
	c.mu.Unlock()
	c.wg.Wait()
	if reg != nil {
		reg.unregister()
	}
	return nil
}

func (c *Cluster) closeLocked() {
	if c.zk != nil && !c.closed {
		close(c.zk.stop)
	}
	c.closed = true
	for _, b := range c.brokers {
		c.shutLocked(b)
	}
}

// Clock returns the cluster's clock.
func (c *Cluster) Clock() *Clock { return c.clock }

// ClusterID returns the cluster id.
func (c *Cluster) ClusterID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.ClusterID
}

// Bootstrap returns "127.0.0.1:port" of every live broker, by broker id.
func (c *Cluster) Bootstrap() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, id := range c.brokerIDsLocked() {
		if b := c.brokers[id]; b.alive {
			out = append(out, b.addr())
		}
	}
	return out
}

// Addr returns broker id's "127.0.0.1:port", alive or not.
func (c *Cluster) Addr(id int32) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.brokers[id]
	if !ok {
		return "", false
	}
	return b.addr(), true
}

func (b *broker) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

func (c *Cluster) brokerIDsLocked() []int32 {
	ids := make([]int32, 0, len(c.brokers))
	for id := range c.brokers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Controller returns the current controller id, -1 when every broker is down.
func (c *Cluster) Controller() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.controller
}

// AddBroker starts a new broker (a target broker joining the cluster).
func (c *Cluster) AddBroker(bc BrokerConfig) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("add broker: the cluster is closed")
	}
	c.advanceLocked()
	if err := c.addBrokerLocked(bc); err != nil {
		return fmt.Errorf("add broker %d: %w", bc.ID, err)
	}
	if c.controller == -1 {
		c.controller = bc.ID
	}
	return nil
}

// StopBroker stops a broker cleanly: its listener and connections close, it
// leaves every ISR (the last member of an ISR stays, as in ZooKeeper mode),
// partitions it led fail over to the first live ISR member or go offline
// (leader -1), and a new controller is chosen if it was the controller.
func (c *Cluster) StopBroker(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.brokers[id]
	if !ok {
		return fmt.Errorf("stop broker %d: no such broker", id)
	}
	if !b.alive {
		return fmt.Errorf("stop broker %d: already stopped", id)
	}
	c.advanceLocked()
	c.shutLocked(b)
	c.brokerDownLocked(id)
	if c.controller == id {
		c.controller = c.lowestAliveLocked()
	}
	return nil
}

// KillBroker stops a broker abruptly (kill -9): its listener and connections
// close at once, but the cluster notices only when its ZooKeeper session
// times out (item 22: 6 s on 2.4, 18 s from 2.5), until then Metadata still
// lists it and its partitions keep it as leader; then it is handled as
// StopBroker does.
func (c *Cluster) KillBroker(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.brokers[id]
	if !ok {
		return fmt.Errorf("kill broker %d: no such broker", id)
	}
	if !b.alive {
		return fmt.Errorf("kill broker %d: already stopped", id)
	}
	c.advanceLocked()
	c.shutLocked(b)
	timeout := 6 * time.Second
	if c.cfg.Version != V2_4 {
		timeout = 18 * time.Second
	}
	b.expireAt = c.now.Add(timeout)
	return nil
}

// expireLocked handles the session timeout of killed broker id.
func (c *Cluster) expireLocked(id int32) {
	c.brokers[id].expireAt = time.Time{}
	c.brokerDownLocked(id)
	if c.controller == id {
		c.controller = c.lowestAliveLocked()
	}
}

// StartBroker restarts a stopped broker on the same port. Its replicas catch
// up from the data they kept and rejoin the ISR; an offline partition whose
// last ISR member it is gets it as leader; stalled reassignments resume.
func (c *Cluster) StartBroker(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.brokers[id]
	if !ok {
		return fmt.Errorf("start broker %d: no such broker", id)
	}
	if b.alive {
		return fmt.Errorf("start broker %d: already running", id)
	}
	if c.closed {
		return errors.New("start broker: the cluster is closed")
	}
	c.advanceLocked()
	if !b.expireAt.IsZero() {
		c.expireLocked(id)
	}
	if err := c.openLocked(b); err != nil {
		return fmt.Errorf("start broker %d: %w", id, err)
	}
	if c.controller == -1 {
		c.controller = id
	}
	// A broker that starts builds its config from ZooKeeper afresh.
	b.view = c.newConfigView(b)
	c.brokerUpLocked(id)
	return nil
}

// BrokerAlive reports whether broker id is running.
func (c *Cluster) BrokerAlive(id int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.brokers[id]
	return ok && b.alive
}

// BrokerRates returns the throttle rates stored for broker id (per-broker
// dynamic configs, as Kafka 2.4 keeps them in ZooKeeper at /config/brokers/N),
// whatever the version hides from DescribeConfigs. Keys absent when unset.
func (c *Cluster) BrokerRates(id int32) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string)
	b, ok := c.brokers[id]
	if !ok {
		return out
	}
	for _, k := range []string{LeaderRateKey, FollowerRateKey} {
		if v, ok := b.dynamic[k]; ok {
			out[k] = v
		}
	}
	return out
}

// BrokerDynamicConfigs returns a copy of broker id's dynamic configs (what
// ZooKeeper holds at /config/brokers/N); id -1 gives the cluster defaults
// (/config/brokers/<default>).
func (c *Cluster) BrokerDynamicConfigs(id int32) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	src := c.defaults
	if id != -1 {
		b, ok := c.brokers[id]
		if !ok {
			return map[string]string{}
		}
		src = b.dynamic
	}
	out := make(map[string]string, len(src))
	for k, v := range src {
		out[k] = v
	}
	return out
}

// TopicConfigs returns a copy of the configs set on a topic.
func (c *Cluster) TopicConfigs(name string) (map[string]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.topics[name]
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(t.configs))
	for k, v := range t.configs {
		out[k] = v
	}
	return out, true
}

// CreateTopic creates a topic with the given replica assignment (one replica
// list per partition, first replica leading) and configs. Every replica starts
// in sync with an empty log.
func (c *Cluster) CreateTopic(name string, assignment [][]int32, configs map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	if err := c.createTopicLocked(name, assignment, configs); err != nil {
		return fmt.Errorf("create topic %q: %w", name, err)
	}
	return nil
}

// SetPartitionSize sets a partition's leader log size in bytes; every
// in-sync replica has the same size, replicas copying keep theirs.
func (c *Cluster) SetPartitionSize(topic string, partition int32, bytes int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	p, err := c.partitionLocked(topic, partition)
	if err != nil {
		return fmt.Errorf("set partition size: %w", err)
	}
	if bytes < 0 {
		return fmt.Errorf("set partition size of %s-%d: %d bytes is negative", topic, partition, bytes)
	}
	p.size = float64(bytes)
	if p.offset < p.size/avgRecordBytes {
		p.offset = p.size / avgRecordBytes
	}
	c.settleLocked(p)
	return nil
}

// SetInboundRate makes producers write bytesPerSec into a partition from now
// on (0 stops them). A throttled copy slower than this never catches up.
func (c *Cluster) SetInboundRate(topic string, partition int32, bytesPerSec int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	p, err := c.partitionLocked(topic, partition)
	if err != nil {
		return fmt.Errorf("set inbound rate: %w", err)
	}
	if bytesPerSec < 0 {
		return fmt.Errorf("set inbound rate of %s-%d: %d bytes/s is negative", topic, partition, bytesPerSec)
	}
	p.inbound = float64(bytesPerSec)
	c.busy[p] = struct{}{}
	return nil
}

// SetLogOffsets sets a partition's log start and end offsets, as an
// unclean leader election that truncates the log (end going back) or records
// deleted or expired (start going forward) would. A test control: the model
// moves these offsets only by producing.
func (c *Cluster) SetLogOffsets(topic string, partition int32, start, end int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	p, err := c.partitionLocked(topic, partition)
	if err != nil {
		return fmt.Errorf("set log offsets: %w", err)
	}
	if start < 0 || end < start {
		return fmt.Errorf("set log offsets of %s-%d: start %d and end %d must satisfy 0 <= start <= end", topic, partition, start, end)
	}
	p.start, p.offset = start, float64(end)
	return nil
}

// SetListOffsetsError makes the partition's leader answer ListOffsets with
// error code (0 answers normally again), as a leader elected a moment ago
// answers OFFSET_NOT_AVAILABLE (78) until its high watermark is known
// (KIP-207), or one whose log dir failed answers KAFKA_STORAGE_ERROR (56).
// A test control: the model never sets it by itself.
func (c *Cluster) SetListOffsetsError(topic string, partition int32, code int16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	p, err := c.partitionLocked(topic, partition)
	if err != nil {
		return fmt.Errorf("set ListOffsets error: %w", err)
	}
	p.listOffsetsErr = code
	return nil
}

func (c *Cluster) partitionLocked(topic string, partition int32) (*partition, error) {
	t, ok := c.topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q does not exist", topic)
	}
	if partition < 0 || int(partition) >= len(t.partitions) {
		return nil, fmt.Errorf("partition %s-%d does not exist (the topic has %d)", topic, partition, len(t.partitions))
	}
	return t.partitions[partition], nil
}

// PartitionState is the true state of one partition (what Metadata shows
// without lag, plus what only the brokers' disks know).
type PartitionState struct {
	Topic       string
	Partition   int32
	Replicas    []int32
	Leader      int32
	LeaderEpoch int32
	ISR         []int32
	// Adding and Removing are the replicas a reassignment in flight adds and
	// removes; both nil when none is in flight.
	Adding, Removing []int32
	Reassigning      bool
	// Size is the leader's log size in bytes; ReplicaSizes holds every
	// replica's (an adding replica's grows as it copies).
	Size         int64
	ReplicaSizes map[int32]int64
	// StartOffset and EndOffset are the log start and end offsets.
	StartOffset, EndOffset int64
}

// Partition returns a partition's state, false when it does not exist.
func (c *Cluster) Partition(topic string, partition int32) (PartitionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	p, err := c.partitionLocked(topic, partition)
	if err != nil {
		return PartitionState{}, false
	}
	s := PartitionState{
		Topic:        topic,
		Partition:    partition,
		Replicas:     clone(p.replicas),
		Leader:       p.leader,
		LeaderEpoch:  p.epoch,
		ISR:          clone(p.isr),
		Reassigning:  p.moving(),
		Size:         int64(p.size),
		ReplicaSizes: make(map[int32]int64, len(p.replicas)),
		StartOffset:  p.start,
		EndOffset:    int64(p.offset),
	}
	if p.moving() {
		s.Adding, s.Removing = p.adding(), p.removing()
	}
	for _, r := range p.replicas {
		s.ReplicaSizes[r] = int64(p.replicaSize(r))
	}
	return s, true
}

// Topics returns every topic name, sorted.
func (c *Cluster) Topics() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sortedTopicsLocked())
}

// sortedTopicsLocked returns every topic name, sorted: the answers list
// topics in this order, and a 20,000-topic cluster should not sort them
// again for every request. Callers must not change the slice.
func (c *Cluster) sortedTopicsLocked() []string {
	if c.topicNames == nil {
		c.topicNames = sortedKeys(c.topics)
	}
	return c.topicNames
}

// LoadSnapshot seeds the cluster from a kshift snapshot: it takes the
// snapshot's cluster id (so plans made from the snapshot apply to the
// double), every broker of the snapshot not yet running is added (with its
// rack and disk capacity), and
// every topic is created with the snapshot's replica lists, sizes, leaders,
// ISR and configs. Broker configs recorded in the snapshot become dynamic
// configs where they are throttle rates, static ones otherwise.
func (c *Cluster) LoadSnapshot(s *plans.Snapshot) error {
	if s == nil {
		return errors.New("load snapshot: snapshot is nil")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	if s.ClusterID != "" {
		c.cfg.ClusterID = s.ClusterID
	}
	for _, sb := range s.Brokers {
		b, ok := c.brokers[sb.ID]
		if !ok {
			bc := BrokerConfig{ID: sb.ID, Rack: sb.Rack, DiskCapacity: int64(sb.DiskCapacity)}
			if err := c.addBrokerLocked(bc); err != nil {
				return fmt.Errorf("load snapshot: add broker %d: %w", sb.ID, err)
			}
			b = c.brokers[sb.ID]
		}
		for k, v := range sb.Configs {
			if isRate(k) {
				b.dynamic[k] = v
				b.configWritten = true
			} else {
				b.static[k] = v
			}
		}
	}
	for k, v := range s.ClusterConfigs {
		c.defaults[k] = v
		c.defaultsWritten = true
	}
	// The brokers of a snapshot have been running with these configs.
	for _, b := range c.brokers {
		b.view = c.newConfigView(b)
	}
	for _, st := range s.Topics {
		assign := make([][]int32, len(st.Partitions))
		for _, sp := range st.Partitions {
			if sp.ID < 0 || int(sp.ID) >= len(st.Partitions) {
				return fmt.Errorf("load snapshot: topic %q: partition ids must be 0..%d, got %d", st.Name, len(st.Partitions)-1, sp.ID)
			}
			assign[sp.ID] = sp.Replicas
		}
		if err := c.createTopicLocked(st.Name, assign, st.Configs); err != nil {
			return fmt.Errorf("load snapshot: topic %q: %w", st.Name, err)
		}
		t := c.topics[st.Name]
		for _, sp := range st.Partitions {
			p := t.partitions[sp.ID]
			p.size = float64(sp.Size)
			p.offset = p.size / avgRecordBytes
			if len(sp.ISR) > 0 {
				c.loadISRLocked(p, sp.ISR, sp.Leader)
			}
		}
	}
	if s.Controller >= 0 {
		if b, ok := c.brokers[s.Controller]; ok && b.alive {
			c.controller = s.Controller
		}
	}
	return nil
}
