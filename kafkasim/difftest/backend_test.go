package difftest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kshift/kshift/internal/kafkatest"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
)

// Both backends have the same shape: brokers 1-3 running, on racks r1-r3,
// and broker 4, which the cluster does not see: a stopped broker in the
// simulator, a broker never started on the real cluster (a stopped broker
// is unregistered from ZooKeeper, so Kafka cannot tell the two apart).
var (
	running = []int32{1, 2, 3}
	stopped = int32(4)
)

// realCluster is the real backend's shape (kafkatest names the racks r1-r4).
var realCluster = kafkatest.Options{Brokers: 3, Later: 1}

func TestMain(m *testing.M) {
	code := kafkatest.Main(m)
	sim.mu.Lock()
	if sim.c != nil {
		sim.c.Close()
	}
	if sim.zkConn != nil {
		sim.zkConn.Close()
	}
	if sim.zk != nil {
		if err := sim.zk.Stop(10 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "difftest: stopping the simulator's ZooKeeper: %v\n", err)
		}
		_ = os.RemoveAll(sim.zkDir)
	}
	sim.mu.Unlock()
	os.Exit(code)
}

// sim is the simulator backend, shared by the rows as the real cluster is,
// and, once a row needs one, the ZooKeeper it is registered in.
var sim struct {
	mu      sync.Mutex
	started bool
	c       *kafkasim.Cluster
	err     error

	zkStarted bool
	zk        *zktest.Server
	zkDir     string
	zkConn    *zk.Conn
	zkErr     error
}

// simChroot is where the simulator registers in its ZooKeeper.
const simChroot = "/kafkasim"

// simConfig runs the simulator as a real 2.4 cluster runs: on a clock at
// real speed (so the Metadata lag, the deleted-topic name, the deleted-rate
// lag and the time a no-copy move takes are on), with ISR changes shown
// late (item 21) and removed logs listed for a while (item 20).
func simConfig() kafkasim.Config {
	var brokers []kafkasim.BrokerConfig
	for _, id := range append(slices.Clone(running), stopped) {
		brokers = append(brokers, kafkasim.BrokerConfig{ID: id, Rack: "r" + strconv.Itoa(int(id))})
	}
	return kafkasim.Config{Brokers: brokers, ISRLag: true, LogDeleteDelay: 1500 * time.Millisecond}
}

// simulator is the shared simulator, started on first use.
func simulator(t *testing.T) []string {
	t.Helper()
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if !sim.started {
		sim.started = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sim.c, sim.err = kafkasim.Start(ctx, simConfig())
		if sim.err == nil {
			sim.err = sim.c.StopBroker(stopped)
		}
	}
	if sim.err != nil {
		t.Fatalf("starting the simulator: %v", sim.err)
	}
	return sim.c.Bootstrap()
}

// simZooKeeper registers the shared simulator in a ZooKeeper of its own,
// started on first use, and returns a connection to it. It skips (or
// fails, as zktest.Require says) when ZooKeeper cannot run here.
func simZooKeeper(t *testing.T) *zk.Conn {
	t.Helper()
	if testing.Short() {
		t.Skip("the simulator's ZooKeeper is a JVM, which -short skips")
	}
	zktest.Require(t)
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if !sim.zkStarted {
		sim.zkStarted = true
		sim.zkErr = startSimZooKeeper()
	}
	if sim.zkErr != nil {
		t.Fatalf("registering the simulator in ZooKeeper: %v", sim.zkErr)
	}
	return sim.zkConn
}

func startSimZooKeeper() error {
	dir, err := os.MkdirTemp("", "difftest-zk-")
	if err != nil {
		return err
	}
	sim.zkDir = dir
	if sim.zk, err = zktest.StartServer(dir, time.Minute); err != nil {
		return err
	}
	if sim.zkConn, err = dialZooKeeper(sim.zk.Addr()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return sim.c.RegisterZooKeeper(ctx, sim.zkConn, simChroot)
}

// dialZooKeeper connects to a ZooKeeper server and waits for its session.
func dialZooKeeper(addr string) (*zk.Conn, error) {
	conn, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		return nil, fmt.Errorf("connecting to ZooKeeper %s: %w", addr, err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn, nil
			}
		case <-timeout:
			conn.Close()
			return nil, fmt.Errorf("connecting to ZooKeeper %s: no session after 30 s", addr)
		}
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// kit is one row's view of one backend: a client and the requests the
// rows send, each failing the test when the request itself fails (an
// error answer is returned, not failed).
type kit struct {
	t       *testing.T
	backend string // "sim" or "real"
	cl      *kgo.Client
	// real is the real cluster, sim the simulator: the one of this backend.
	real *kafkatest.Cluster
	sim  *kafkasim.Cluster
	// down are the brokers the row stopped.
	down map[int32]bool
}

// up are the running brokers the row did not stop.
func (k *kit) up() []int32 {
	var ids []int32
	for _, id := range running {
		if !k.down[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

func newKit(t *testing.T, backend string) *kit {
	t.Helper()
	k := &kit{t: t, backend: backend, down: map[int32]bool{}}
	var seeds []string
	switch backend {
	case "sim":
		seeds = simulator(t)
		k.sim = sim.c
	case "real":
		k.real = kafkatest.Shared(t, realCluster)
		seeds = k.real.Addrs(running...)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.MetadataMinAge(10*time.Millisecond),
		kgo.RetryTimeout(5*time.Second),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		t.Fatalf("making a client: %v", err)
	}
	t.Cleanup(cl.Close)
	k.cl = cl
	return k
}

// manualSim is a kit on a simulator of the row's own, shaped as the shared
// one, on a clock the row moves (Clock().Advance), for the simulator-only
// rows.
func (k *kit) manualSim() *kit {
	k.t.Helper()
	cfg := simConfig()
	cfg.Clock = kafkasim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kafkasim.Start(ctx, cfg)
	if err != nil {
		k.t.Fatalf("starting a simulator: %v", err)
	}
	k.t.Cleanup(func() { c.Close() })
	if err := c.StopBroker(stopped); err != nil {
		k.t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		k.t.Fatalf("making a client: %v", err)
	}
	k.t.Cleanup(cl.Close)
	return &kit{t: k.t, backend: k.backend, cl: cl, sim: c, down: map[int32]bool{}}
}

// stopBroker stops broker id cleanly (a controlled shutdown), and starts it
// again at the row's end if the row did not.
func (k *kit) stopBroker(id int32) {
	k.t.Helper()
	if k.real != nil {
		k.real.Broker(k.t, id).Stop(k.t)
	} else if err := k.sim.StopBroker(id); err != nil {
		k.t.Fatal(err)
	}
	k.down[id] = true
	k.t.Cleanup(func() {
		if k.real != nil && !k.real.Broker(k.t, id).Running() || k.sim != nil && !k.sim.BrokerAlive(id) {
			k.startBroker(id)
		}
	})
}

// startBroker starts a stopped broker and waits until it is up.
func (k *kit) startBroker(id int32) {
	k.t.Helper()
	if k.real != nil {
		k.real.StartBrokers(k.t, id)
	} else if err := k.sim.StartBroker(id); err != nil {
		k.t.Fatal(err)
	}
	delete(k.down, id)
}

// zkConn is a connection to the backend's ZooKeeper and the cluster's
// chroot in it.
func (k *kit) zkConn() (*zk.Conn, string) {
	k.t.Helper()
	if k.sim != nil {
		return simZooKeeper(k.t), simChroot
	}
	conn, err := dialZooKeeper(k.real.ZooKeeperEnsemble())
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(conn.Close)
	return conn, k.real.Chroot()
}

// zkGet reads znode p under the cluster's chroot, and whether it exists.
func (k *kit) zkGet(conn *zk.Conn, chroot, p string) (string, bool) {
	k.t.Helper()
	data, _, err := conn.Get(chroot + p)
	if errors.Is(err, zk.ErrNoNode) {
		return "", false
	}
	if err != nil {
		k.t.Fatalf("reading %s%s: %v", chroot, p, err)
	}
	return string(data), true
}

// requestTimeout bounds every request a row sends.
const requestTimeout = 30 * time.Second

// request sends req to broker via (any broker when via < 0).
func (k *kit) request(via int32, req kmsg.Request) kmsg.Response {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var resp kmsg.Response
	var err error
	if via < 0 {
		resp, err = k.cl.Request(ctx, req)
	} else {
		resp, err = k.cl.Broker(int(via)).Request(ctx, req)
	}
	if err != nil {
		k.t.Fatalf("%s to broker %d: %v", kmsg.NameForKey(req.Key()), via, err)
	}
	return resp
}

// wait polls check until it returns nil, failing the row with check's last
// error after timeout.
func (k *kit) wait(timeout time.Duration, what string, check func() error) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := kafkatest.Poll(ctx, 100*time.Millisecond, func(context.Context) error { return check() })
	if err != nil {
		k.t.Fatalf("waited %s for %s: %v", time.Since(start).Round(time.Millisecond), what, err)
	}
}

// settle is how long a row waits for what Kafka does asynchronously (a
// broker learning a change, a config change processed): seconds on a real
// cluster, generous for a loaded 2-core machine.
const settle = 20 * time.Second

// controller is the active controller's id.
func (k *kit) controller() int32 {
	k.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp := k.request(-1, req).(*kmsg.MetadataResponse)
	if resp.ControllerID < 0 {
		k.t.Fatal("no controller")
	}
	return resp.ControllerID
}

// other is a running broker that is not the controller.
func (k *kit) other() int32 {
	k.t.Helper()
	ctrl := k.controller()
	for _, id := range k.up() {
		if id != ctrl {
			return id
		}
	}
	k.t.Fatal("no broker but the controller")
	return -1
}

// brokersOn are the brokers broker via's Metadata lists, in id order.
func (k *kit) brokersOn(via int32) []int32 {
	k.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	var ids []int32
	for _, b := range k.request(via, req).(*kmsg.MetadataResponse).Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return ids
}

// topic is a topic name of the row's own.
func (k *kit) topic(suffix string) string { return kafkatest.TopicName(k.t, suffix) }

// createTopic sends CreateTopics for one topic with an explicit assignment
// (partition p on assignment[p]) and configs, and returns its error code and
// message. A topic it creates is deleted at the row's end, after its moves
// are cancelled.
func (k *kit) createTopic(name string, configs map[string]string, assignment ...[]int32) (int16, string) {
	k.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, -1, -1
	for p, rs := range assignment {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(p), rs
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	for _, key := range sortedKeys(configs) {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = key, kmsg.StringPtr(configs[key])
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp := k.request(k.controller(), req).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != 1 {
		k.t.Fatalf("creating %s: %d results", name, len(resp.Topics))
	}
	r := resp.Topics[0]
	if r.ErrorCode == 0 {
		k.t.Cleanup(func() { k.dropTopic(name, len(assignment)) })
	}
	return r.ErrorCode, deref(r.ErrorMessage)
}

// create creates a topic and waits until every running broker shows each
// partition led, with its ISR holding all its replicas.
func (k *kit) create(name string, assignment ...[]int32) {
	k.t.Helper()
	if code, msg := k.createTopic(name, nil, assignment...); code != 0 {
		k.t.Fatalf("creating %s: code %d %q", name, code, msg)
	}
	k.wait(settle, name+" created and in sync on every broker", func() error {
		for _, id := range k.up() {
			parts, err := k.tryPartitions(id, name)
			if err != nil {
				return err
			}
			if len(parts) != len(assignment) {
				return fmt.Errorf("broker %d shows %d partitions of %s", id, len(parts), name)
			}
			for _, p := range parts {
				if p.Leader < 0 || !plans.SameMembers(p.ISR, p.Replicas) {
					return fmt.Errorf("broker %d shows %s-%d led by %d, replicas %v, isr %v", id, name, p.Partition, p.Leader, p.Replicas, p.ISR)
				}
			}
		}
		return nil
	})
}

// dropTopic cancels the topic's moves and deletes it, at a row's end.
func (k *kit) dropTopic(name string, partitions int) {
	var moves []move
	for p := range partitions {
		moves = append(moves, move{int32(p), nil})
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req := reassignRequest(name, moves)
	if _, err := req.RequestWith(ctx, k.cl); err != nil {
		k.t.Errorf("cleanup: cancelling the moves of %s: %v", name, err)
	}
	// Deletion goes on in the background after the answer; a broker busy
	// enough to take longer than this answers REQUEST_TIMED_OUT, which is
	// no failure of the row (it once ran past the client's deadline).
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 5000
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr(name)
	del.Topics = append(del.Topics, dt)
	del.TopicNames = []string{name}
	resp, err := del.RequestWith(ctx, k.cl)
	if err != nil {
		k.t.Errorf("cleanup: deleting %s: %v", name, err)
		return
	}
	for _, r := range resp.Topics {
		if r.ErrorCode != 0 && r.ErrorCode != kerr.UnknownTopicOrPartition.Code && r.ErrorCode != kerr.RequestTimedOut.Code {
			k.t.Errorf("cleanup: deleting %s: code %d", name, r.ErrorCode)
		}
	}
}

// fill writes n bytes of incompressible records to partition p of topic,
// acks=all: data for a move to copy.
func (k *kit) fill(topic string, p int32, n int) {
	k.t.Helper()
	const size = 100 << 10
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var recs []*kgo.Record
	for sent := 0; sent < n; sent += size {
		v := make([]byte, size)
		_, _ = rand.Read(v)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: v})
	}
	if err := k.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		k.t.Fatalf("writing %d bytes to %s-%d: %v", n, topic, p, err)
	}
}

// throttleRate is the rate (bytes/s) slowMoves sets: after the burst a
// throttled copy starts with (about one fetch), 4 MiB take about an hour.
const throttleRate = "1024"

// slowData is what slowMoves writes to each partition.
const slowData = 4 << 20

// slowMoves makes copies into topic's partitions take far longer than a
// row: it writes slowData to each of its partitions and throttles them.
func (k *kit) slowMoves(topic string, partitions int) {
	k.t.Helper()
	for p := range partitions {
		k.fill(topic, int32(p), slowData)
	}
	k.throttle(topic)
}

// throttle throttles every replica of topic (both lists "*") at
// throttleRate, set on every running broker, and waits until each broker
// lists both rates as set. The brokers process config changes in the order
// they were made, so by then they apply the topic's lists too. The rates
// are deleted at the row's end.
func (k *kit) throttle(topic string) {
	k.t.Helper()
	k.throttleAt(topic, throttleRate)
}

// throttleAt is throttle at rate (bytes/s).
func (k *kit) throttleAt(topic, rate string) {
	k.t.Helper()
	for _, key := range []string{leaderList, followerList} {
		if code, msg := k.alterTopic(topic, kmsg.IncrementalAlterConfigOpSet, key, "*"); code != 0 {
			k.t.Fatalf("throttling %s: %s: code %d %q", topic, key, code, msg)
		}
	}
	k.t.Cleanup(k.clearRates)
	for _, id := range running {
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, leaderRate, rate, followerRate, rate); code != 0 {
			k.t.Fatalf("setting broker %d's rates: code %d %q", id, code, msg)
		}
	}
	if k.sim != nil && k.sim.Clock().Factor() == 0 {
		k.sim.Clock().Advance(time.Second) // the brokers process the change
	}
	k.wait(settle, "every broker applying the throttle", func() error {
		for _, id := range running {
			for _, d := range k.describeBroker(id, strconv.Itoa(int(id)), []string{leaderRate, followerRate}) {
				if d.source != kmsg.ConfigSourceDynamicBrokerConfig {
					return fmt.Errorf("broker %d lists %v", id, d)
				}
			}
		}
		return nil
	})
}

// clearRates deletes both rates on every running broker, at a row's end.
func (k *kit) clearRates() {
	for _, id := range running {
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, leaderRate, "", followerRate, ""); code != 0 {
			k.t.Errorf("cleanup: deleting broker %d's rates: code %d %q", id, code, msg)
		}
	}
}

// move is one partition of an AlterPartitionReassignments request;
// replicas nil cancels.
type move struct {
	partition int32
	replicas  []int32
}

func reassignRequest(topic string, moves []move) *kmsg.AlterPartitionAssignmentsRequest {
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	for _, m := range moves {
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = m.partition, m.replicas
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// reassign sends AlterPartitionReassignments for moves of topic to broker
// via (the controller when via < 0).
func (k *kit) reassign(via int32, topic string, moves ...move) *kmsg.AlterPartitionAssignmentsResponse {
	k.t.Helper()
	if via < 0 {
		via = k.controller()
	}
	return k.request(via, reassignRequest(topic, moves)).(*kmsg.AlterPartitionAssignmentsResponse)
}

// reassignOne moves (or, with replicas nil, cancels) one partition through
// the controller and returns that partition's code and message.
func (k *kit) reassignOne(topic string, p int32, replicas []int32) (int16, string) {
	k.t.Helper()
	resp := k.reassign(-1, topic, move{p, replicas})
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		k.t.Fatalf("reassigning %s-%d: want one result, got %+v", topic, p, resp.Topics)
	}
	rp := resp.Topics[0].Partitions[0]
	return rp.ErrorCode, deref(rp.ErrorMessage)
}

// mustReassign moves one partition and fails the row unless it is accepted.
func (k *kit) mustReassign(topic string, p int32, replicas []int32) {
	k.t.Helper()
	if code, msg := k.reassignOne(topic, p, replicas); code != 0 {
		k.t.Fatalf("reassigning %s-%d to %v: code %d %q", topic, p, replicas, code, msg)
	}
}

// list sends ListPartitionReassignments to broker via (the controller when
// via < 0) for the given partitions (nil: topics null, every move).
func (k *kit) list(via int32, partitions map[string][]int32) *kmsg.ListPartitionReassignmentsResponse {
	k.t.Helper()
	if via < 0 {
		via = k.controller()
	}
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = 30000
	for _, topic := range sortedKeys(partitions) {
		rt := kmsg.NewListPartitionReassignmentsRequestTopic()
		rt.Topic, rt.Partitions = topic, partitions[topic]
		req.Topics = append(req.Topics, rt)
	}
	return k.request(via, req).(*kmsg.ListPartitionReassignmentsResponse)
}

// inFlight is one partition ListPartitionReassignments lists.
type inFlight struct {
	replicas, adding, removing []int32
}

func (f inFlight) String() string {
	return fmt.Sprintf("replicas %v adding %v removing %v", f.replicas, f.adding, f.removing)
}

// moving lists, through the controller, the given partitions of topic in
// flight, keyed by partition.
func (k *kit) moving(topic string, partitions ...int32) map[int32]inFlight {
	k.t.Helper()
	resp := k.list(-1, map[string][]int32{topic: partitions})
	if resp.ErrorCode != 0 {
		k.t.Fatalf("listing the moves of %s: code %d", topic, resp.ErrorCode)
	}
	return flights(resp)[topic]
}

// flights indexes a ListPartitionReassignments answer by topic and partition.
func flights(resp *kmsg.ListPartitionReassignmentsResponse) map[string]map[int32]inFlight {
	out := map[string]map[int32]inFlight{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if out[rt.Topic] == nil {
				out[rt.Topic] = map[int32]inFlight{}
			}
			out[rt.Topic][rp.Partition] = inFlight{rp.Replicas, rp.AddingReplicas, rp.RemovingReplicas}
		}
	}
	return out
}

// partition is one partition as a broker's Metadata shows it.
type partition struct {
	Partition    int32
	Leader       int32
	LeaderEpoch  int32
	Replicas     []int32
	ISR          []int32
	ErrorCode    int16
	OfflineCount int
}

// tryPartitions reads topic's partitions, in partition order, from broker
// via's Metadata.
func (k *kit) tryPartitions(via int32, topic string) ([]partition, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := k.cl.Broker(int(via)).Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("metadata from broker %d: %w", via, err)
	}
	mr := resp.(*kmsg.MetadataResponse)
	if len(mr.Topics) != 1 {
		return nil, fmt.Errorf("metadata from broker %d: %d topics", via, len(mr.Topics))
	}
	if code := mr.Topics[0].ErrorCode; code != 0 {
		return nil, fmt.Errorf("metadata from broker %d: %s: code %d", via, topic, code)
	}
	var out []partition
	for _, p := range mr.Topics[0].Partitions {
		out = append(out, partition{p.Partition, p.Leader, p.LeaderEpoch, p.Replicas, p.ISR, p.ErrorCode, len(p.OfflineReplicas)})
	}
	slices.SortFunc(out, func(a, b partition) int { return int(a.Partition - b.Partition) })
	return out, nil
}

// partitionOn is partition p of topic as broker via shows it.
func (k *kit) partitionOn(via int32, topic string, p int32) partition {
	k.t.Helper()
	parts, err := k.tryPartitions(via, topic)
	if err != nil {
		k.t.Fatal(err)
	}
	if int(p) >= len(parts) {
		k.t.Fatalf("broker %d shows %d partitions of %s, not %d", via, len(parts), topic, p)
	}
	return parts[p]
}

// waitShown waits until every running broker's Metadata shows partition p
// of topic as ok says (item 24: brokers learn a change after the
// controller), and returns it as the controller shows it.
func (k *kit) waitShown(topic string, p int32, what string, ok func(partition) bool) partition {
	k.t.Helper()
	k.wait(settle, fmt.Sprintf("every broker to show %s-%d %s", topic, p, what), func() error {
		for _, id := range k.up() {
			parts, err := k.tryPartitions(id, topic)
			if err != nil {
				return err
			}
			if int(p) >= len(parts) || !ok(parts[p]) {
				return fmt.Errorf("broker %d shows %+v", id, parts)
			}
		}
		return nil
	})
	return k.partitionOn(k.controller(), topic, p)
}

// waitReplicas waits until every running broker shows partition p of topic
// with replicas want.
func (k *kit) waitReplicas(topic string, p int32, want []int32) partition {
	k.t.Helper()
	return k.waitShown(topic, p, fmt.Sprintf("with replicas %v", want), func(got partition) bool {
		return slices.Equal(got.Replicas, want)
	})
}

// Config keys.
const (
	leaderRate   = kafkasim.LeaderRateKey
	followerRate = kafkasim.FollowerRateKey
	leaderList   = kafkasim.LeaderThrottledKey
	followerList = kafkasim.FollowerThrottledKey
)

// alter sends one IncrementalAlterConfigs resource to broker via and
// returns its code and message. kv alternates keys and values; the value
// of a DELETE is not sent.
func (k *kit) alter(via int32, typ kmsg.ConfigResourceType, name string, validateOnly bool, op kmsg.IncrementalAlterConfigOp, kv ...string) (int16, string) {
	k.t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = typ, name
	for i := 0; i+1 < len(kv); i += 2 {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op = kv[i], op
		if op != kmsg.IncrementalAlterConfigOpDelete {
			c.Value = kmsg.StringPtr(kv[i+1])
		}
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp := k.request(via, req).(*kmsg.IncrementalAlterConfigsResponse)
	if len(resp.Resources) != 1 {
		k.t.Fatalf("altering %s: %d results", name, len(resp.Resources))
	}
	r := resp.Resources[0]
	return r.ErrorCode, deref(r.ErrorMessage)
}

// alterBroker alters broker id's configs (id < 0: the cluster default,
// resource ""), sent to broker via.
func (k *kit) alterBroker(via, id int32, op kmsg.IncrementalAlterConfigOp, kv ...string) (int16, string) {
	k.t.Helper()
	return k.alter(via, kmsg.ConfigResourceTypeBroker, brokerResource(id), false, op, kv...)
}

// alterTopic alters a topic's configs through any broker.
func (k *kit) alterTopic(topic string, op kmsg.IncrementalAlterConfigOp, kv ...string) (int16, string) {
	k.t.Helper()
	return k.alter(-1, kmsg.ConfigResourceTypeTopic, topic, false, op, kv...)
}

func brokerResource(id int32) string {
	if id < 0 {
		return ""
	}
	return strconv.Itoa(int(id))
}

// described is one DescribeConfigs entry, as the rows compare it.
type described struct {
	name      string
	value     *string
	source    kmsg.ConfigSource
	sensitive bool
	readOnly  bool
	synonyms  []kmsg.ConfigSource // each named as the entry
}

func (d described) String() string {
	v := "null"
	if d.value != nil {
		v = strconv.Quote(*d.value)
	}
	return fmt.Sprintf("%s=%s %v sensitive=%v readOnly=%v synonyms=%v", d.name, v, d.source, d.sensitive, d.readOnly, d.synonyms)
}

// describeResult is a whole DescribeConfigs resource answer.
type describeResult struct {
	code    int16
	message string
	entries []described
}

// describe sends DescribeConfigs with synonyms for one resource to broker
// via; keys nil asks for every config.
func (k *kit) describe(via int32, typ kmsg.ConfigResourceType, name string, keys []string) describeResult {
	k.t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = typ, name, keys
	req.Resources = append(req.Resources, r)
	resp := k.request(via, req).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 1 {
		k.t.Fatalf("describing %s: %d results", name, len(resp.Resources))
	}
	res := resp.Resources[0]
	out := describeResult{code: res.ErrorCode, message: deref(res.ErrorMessage)}
	for _, c := range res.Configs {
		d := described{name: c.Name, value: c.Value, source: c.Source, sensitive: c.IsSensitive, readOnly: c.ReadOnly}
		for _, s := range c.ConfigSynonyms {
			if s.Name != c.Name {
				k.t.Errorf("%s: a synonym named %s", c.Name, s.Name)
			}
			d.synonyms = append(d.synonyms, s.Source)
		}
		out.entries = append(out.entries, d)
	}
	return out
}

// describeBroker describes broker resource name (a broker id, or "" for the
// cluster default) through broker via, failing the row on an error answer.
func (k *kit) describeBroker(via int32, name string, keys []string) []described {
	k.t.Helper()
	res := k.describe(via, kmsg.ConfigResourceTypeBroker, name, keys)
	if res.code != 0 {
		k.t.Fatalf("describing broker %q via %d: code %d %q", name, via, res.code, res.message)
	}
	return res.entries
}

// topicConfig is topic's config key as DescribeConfigs shows it (read from
// ZooKeeper by the broker, so current at once), and whether it is listed.
func (k *kit) topicConfig(topic, key string) (described, bool) {
	k.t.Helper()
	res := k.describe(-1, kmsg.ConfigResourceTypeTopic, topic, []string{key})
	if res.code != 0 {
		k.t.Fatalf("describing topic %s: code %d %q", topic, res.code, res.message)
	}
	for _, d := range res.entries {
		if d.name == key {
			return d, true
		}
	}
	return described{}, false
}

// elect sends a preferred ElectLeaders for partitions of topic to broker via
// (the controller when via < 0).
func (k *kit) elect(via int32, topic string, partitions ...int32) *kmsg.ElectLeadersResponse {
	k.t.Helper()
	if via < 0 {
		via = k.controller()
	}
	req := kmsg.NewPtrElectLeadersRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewElectLeadersRequestTopic()
	rt.Topic, rt.Partitions = topic, partitions
	req.Topics = append(req.Topics, rt)
	return k.request(via, req).(*kmsg.ElectLeadersResponse)
}

// elected is one partition's answer to ElectLeaders.
type elected struct {
	code    int16
	message string
}

// electOne elects partition p of topic through the controller.
func (k *kit) electOne(topic string, p int32) elected {
	k.t.Helper()
	resp := k.elect(-1, topic, p)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		k.t.Fatalf("electing %s-%d: %+v", topic, p, resp)
	}
	rp := resp.Topics[0].Partitions[0]
	return elected{rp.ErrorCode, deref(rp.ErrorMessage)}
}

// logDir is one replica's log as its broker's DescribeLogDirs lists it.
type logDir struct {
	size, offsetLag int64
}

// logDirOn is partition p of topic on broker id, and whether it is listed.
func (k *kit) logDirOn(id int32, topic string, p int32) (logDir, bool) {
	k.t.Helper()
	req := kmsg.NewPtrDescribeLogDirsRequest()
	rt := kmsg.NewDescribeLogDirsRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{p}
	req.Topics = append(req.Topics, rt)
	resp := k.request(id, req).(*kmsg.DescribeLogDirsResponse)
	for _, d := range resp.Dirs {
		for _, t := range d.Topics {
			for _, lp := range t.Partitions {
				if t.Topic == topic && lp.Partition == p {
					return logDir{lp.Size, lp.OffsetLag}, true
				}
			}
		}
	}
	return logDir{}, false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
