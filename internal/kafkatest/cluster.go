package kafkatest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kshift/kshift/internal/zktest"
)

// Options shape a test cluster. The zero value is three brokers, ids 1-3,
// on racks r1-r3, with config/server.properties as it ships.
type Options struct {
	// Brokers is how many brokers start with the cluster (default 3).
	Brokers int
	// Later is how many more brokers get an id, rack, port and folders but
	// are not started: StartBrokers starts them, e.g. targets that must
	// join empty after the data is written.
	Later int
	// IDs are the broker ids, Brokers+Later of them, those that start with
	// the cluster first (default 1, 2, 3, ...).
	IDs []int32
	// Racks maps a broker id to its broker.rack (default "r<id>").
	Racks map[int32]string
	// Properties are set on every broker over config/server.properties,
	// e.g. min.insync.replicas or auto.leader.rebalance.enable. The keys
	// the harness owns (broker.id, broker.rack, listeners,
	// advertised.listeners, log.dirs, zookeeper.connect) are refused.
	// When fewer than three brokers start with the cluster, the internal
	// topics' replication factors (offsets.topic.replication.factor,
	// transaction.state.log.replication.factor, its min ISR, and
	// default.replication.factor) are lowered to fit unless set here.
	Properties map[string]string
	// BrokerProperties are set on one broker, over Properties.
	BrokerProperties map[int32]map[string]string
	// Heap is KAFKA_HEAP_OPTS for the brokers, e.g. "-Xmx256m -Xms64m"
	// (default: the environment's KAFKA_HEAP_OPTS, else
	// bin/kafka-broker.sh's -Xmx384m -Xms64m). Below about 160 MiB a
	// broker dies at start: the log cleaner allocates a 128 MiB buffer
	// (log.cleaner.dedupe.buffer.size).
	Heap string
	// StartTimeout bounds each broker's start (default 120 s: a broker
	// takes 4-10 s, six at once on two busy cores 20-40 s).
	StartTimeout time.Duration
}

// ownedKeys are the broker properties the harness sets itself.
var ownedKeys = []string{"broker.id", "broker.rack", "listeners", "advertised.listeners", "log.dirs", "zookeeper.connect"}

// zkStartTimeout bounds the ZooKeeper server's start.
const zkStartTimeout = 60 * time.Second

// withDefaults fills the zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Brokers == 0 {
		o.Brokers = 3
	}
	if o.Brokers < 1 || o.Later < 0 {
		return o, fmt.Errorf("options: Brokers %d and Later %d: need at least one broker at start and no negative count", o.Brokers, o.Later)
	}
	n := o.Brokers + o.Later
	if o.IDs == nil {
		for i := 1; i <= n; i++ {
			o.IDs = append(o.IDs, int32(i))
		}
	}
	var errs []error
	if len(o.IDs) != n {
		errs = append(errs, fmt.Errorf("options: %d IDs for %d brokers (Brokers+Later)", len(o.IDs), n))
	}
	seen := map[int32]bool{}
	for _, id := range o.IDs {
		if id < 0 || seen[id] {
			errs = append(errs, fmt.Errorf("options: broker id %d is negative or repeated", id))
		}
		seen[id] = true
	}
	for k := range o.Properties {
		if slices.Contains(ownedKeys, k) {
			errs = append(errs, fmt.Errorf("options: property %s is set by the harness (use Racks for broker.rack)", k))
		}
	}
	for id, props := range o.BrokerProperties {
		if !seen[id] {
			errs = append(errs, fmt.Errorf("options: BrokerProperties for broker %d, which is not in the cluster", id))
		}
		for k := range props {
			if slices.Contains(ownedKeys, k) {
				errs = append(errs, fmt.Errorf("options: property %s of broker %d is set by the harness", k, id))
			}
		}
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 120 * time.Second
	}
	return o, errors.Join(errs...)
}

// Cluster is one ZooKeeper server and its Kafka brokers, all on 127.0.0.1,
// under one chroot. Its methods are safe for concurrent use.
type Cluster struct {
	home   string
	dir    string
	opts   Options
	chroot string
	zk     *zktest.Server
	zkAddr string // the ZooKeeper server's client address
	// ids are all broker ids in Options order; brokers is fixed after start.
	ids     []int32
	brokers map[int32]*Broker

	mu     sync.Mutex
	client *kgo.Client
	closed bool

	closeOnce sync.Once
	closeErr  error
}

// Start starts a cluster of the test's own, under t's temp dir, and stops
// it at t's cleanup (brokers first, then ZooKeeper). It skips or fails t as
// Require does when Kafka is not there, and fails t when the cluster does
// not come up, showing the tail of each failing broker's server.log.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	home := Require(t)
	dir := t.TempDir() // made before the stop is registered: removed after it
	c, err := newCluster(context.Background(), home, dir, opts)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("kafkatest: %v", err)
		}
	})
	c.dumpLogsOnFailure(t)
	return c
}

// newCluster starts ZooKeeper and opts.Brokers brokers with their files
// under dir. On failure it stops what it started.
func newCluster(ctx context.Context, home, dir string, opts Options) (*Cluster, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := readProperties(filepath.Join(home, "config", "server.properties"))
	if err != nil {
		return nil, err
	}
	c := &Cluster{home: home, dir: dir, opts: opts, chroot: "/kafka-" + randomHex(4), ids: opts.IDs, brokers: map[int32]*Broker{}}
	ports, err := zktest.FindFreePorts(len(opts.IDs))
	if err != nil {
		return nil, err
	}
	c.zk, err = zktest.StartServer(filepath.Join(dir, "zookeeper"), zkStartTimeout)
	if err != nil {
		return nil, fmt.Errorf("starting ZooKeeper: %w", err)
	}
	c.zkAddr = c.zk.Addr()
	for i, id := range opts.IDs {
		rack := opts.Racks[id]
		if rack == "" {
			rack = "r" + strconv.Itoa(int(id))
		}
		b := &Broker{ID: id, Rack: rack, Port: ports[i], c: c, dir: filepath.Join(dir, "broker-"+strconv.Itoa(int(id)))}
		c.brokers[id] = b
		if err := c.writeProperties(b, base); err != nil {
			return nil, errors.Join(err, c.Close())
		}
	}
	if err := c.startBrokers(ctx, opts.IDs[:opts.Brokers]); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// writeProperties writes b's server.properties: the shipped file with the
// harness's keys, the internal topics fitted to a small cluster, then the
// caller's properties.
func (c *Cluster) writeProperties(b *Broker, base []property) error {
	set := map[string]string{
		"broker.id":            strconv.Itoa(int(b.ID)),
		"broker.rack":          b.Rack,
		"listeners":            "PLAINTEXT://" + b.Addr(),
		"advertised.listeners": "PLAINTEXT://" + b.Addr(),
		"log.dirs":             b.DataDir(),
		"zookeeper.connect":    c.ZooKeeper(),
	}
	if n := c.opts.Brokers; n < 3 {
		for _, k := range []string{"offsets.topic.replication.factor", "transaction.state.log.replication.factor", "transaction.state.log.min.isr", "default.replication.factor"} {
			set[k] = strconv.Itoa(n)
		}
	}
	for k, v := range c.opts.Properties {
		set[k] = v
	}
	for k, v := range c.opts.BrokerProperties[b.ID] {
		set[k] = v
	}
	var out strings.Builder
	fmt.Fprintf(&out, "# Written by kafkatest from %s/config/server.properties\n", c.home)
	for _, p := range base {
		v, ok := set[p.key]
		if !ok {
			v = p.value
		}
		delete(set, p.key)
		fmt.Fprintf(&out, "%s=%s\n", p.key, v)
	}
	rest := make([]string, 0, len(set))
	for k := range set {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		fmt.Fprintf(&out, "%s=%s\n", k, set[k])
	}
	if err := os.MkdirAll(b.LogDir(), 0o755); err != nil {
		return fmt.Errorf("making broker %d's folders: %w", b.ID, err)
	}
	if err := os.WriteFile(b.PropertiesPath(), []byte(out.String()), 0o644); err != nil {
		return fmt.Errorf("writing broker %d's properties: %w", b.ID, err)
	}
	return nil
}

type property struct{ key, value string }

// readProperties reads the key=value lines of a Java properties file
// (comments and blank lines dropped; the file kafkatest reads uses no
// continuation lines or escapes).
func readProperties(path string) ([]property, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the broker config: %w", err)
	}
	defer f.Close()
	var props []property
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("reading %s: line %q is not key=value", path, line)
		}
		props = append(props, property{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return props, nil
}

// StartBrokers starts the given brokers together (never started, or
// stopped or killed before) and waits until each is up: its server.log
// says `[KafkaServer id=N] started` and its Metadata lists it. A broker
// that was killed is first given time for its old ZooKeeper session to
// expire. It fails t, with each failing broker's log tail, when one does
// not come up within Options.StartTimeout.
func (c *Cluster) StartBrokers(t testing.TB, ids ...int32) {
	t.Helper()
	for _, id := range ids {
		c.Broker(t, id)
	}
	if err := c.startBrokers(t.Context(), ids); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}

func (c *Cluster) startBrokers(ctx context.Context, ids []int32) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		b := c.brokers[id]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.waitDeregistered(ctx); err != nil {
				errs[i] = fmt.Errorf("broker %d: %w", id, err)
				return
			}
			mark, err := b.launch()
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = b.waitUp(ctx, mark)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close kills every broker (SIGKILL by pid, waiting for each to exit),
// then stops ZooKeeper (SIGTERM, SIGKILL after 10 s), and closes the
// cluster's client. Brokers are killed, not stopped: their data is thrown
// away, and brokers sent SIGTERM together run controlled shutdowns that
// cannot move their leaders anywhere and retry for about 20 s, where a
// kill takes about a second. A test that needs a clean stop calls
// Broker.Stop. Close is safe to call more than once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		if c.client != nil {
			c.client.Close()
			c.client = nil
		}
		c.mu.Unlock()
		for _, id := range c.ids {
			if b := c.brokers[id]; b != nil {
				b.kill()
			}
		}
		if c.zk != nil {
			if err := c.zk.Stop(10 * time.Second); err != nil {
				c.closeErr = fmt.Errorf("stopping the cluster's ZooKeeper: %w", err)
			}
		}
	})
	return c.closeErr
}

// IDs are all the cluster's broker ids, started or not, in Options order.
func (c *Cluster) IDs() []int32 { return slices.Clone(c.ids) }

// Running are the ids of the brokers whose process runs now.
func (c *Cluster) Running() []int32 {
	var ids []int32
	for _, id := range c.ids {
		if c.brokers[id].Running() {
			ids = append(ids, id)
		}
	}
	return ids
}

// Broker is broker id, failing t when the cluster has none.
func (c *Cluster) Broker(t testing.TB, id int32) *Broker {
	t.Helper()
	b, ok := c.brokers[id]
	if !ok {
		t.Fatalf("kafkatest: no broker %d in the cluster (brokers %v)", id, c.ids)
	}
	return b
}

// Racks maps every broker id to its rack.
func (c *Cluster) Racks() map[int32]string {
	racks := make(map[int32]string, len(c.ids))
	for _, id := range c.ids {
		racks[id] = c.brokers[id].Rack
	}
	return racks
}

// Bootstrap are the listeners of the brokers running now, in id order.
func (c *Cluster) Bootstrap() []string { return c.Addrs(c.Running()...) }

// Addrs are the listeners of the given brokers, started or not.
func (c *Cluster) Addrs(ids ...int32) []string {
	addrs := make([]string, 0, len(ids))
	for _, id := range ids {
		if b, ok := c.brokers[id]; ok {
			addrs = append(addrs, b.Addr())
		}
	}
	return addrs
}

// ZooKeeper is the brokers' zookeeper.connect, with the chroot:
// 127.0.0.1:PORT/kafka-XXXXXXXX, what kshift's --zookeeper takes.
func (c *Cluster) ZooKeeper() string { return c.zkAddr + c.chroot }

// ZooKeeperEnsemble is the bare ensemble address, 127.0.0.1:PORT.
func (c *Cluster) ZooKeeperEnsemble() string { return c.zkAddr }

// Chroot is the cluster's ZooKeeper chroot, /kafka-XXXXXXXX.
func (c *Cluster) Chroot() string { return c.chroot }

// ZooKeeperPid is the ZooKeeper server's process id.
func (c *Cluster) ZooKeeperPid() int { return c.zk.Pid() }

// ClientOpts are Client's options: every broker of the cluster as a seed
// (kgo skips those that are down) and a 10 ms metadata cache, so a test
// that polls sees changes at once (kgo caches Metadata 5 s by default).
func (c *Cluster) ClientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(c.Addrs(c.ids...)...),
		kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.MetadataMaxAge(time.Second),
	}
}

// Client is a kgo client of the cluster with ClientOpts and then opts,
// closed at t's cleanup.
func (c *Cluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(c.ClientOpts(), opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: making a client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin is a kadm client over Client, closed at t's cleanup.
func (c *Cluster) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t))
}

// internalClient is the cluster's own client (for waits and topic
// creation), made on first use and closed by Close.
func (c *Cluster) internalClient() (*kgo.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("the cluster is closed")
	}
	if c.client == nil {
		cl, err := kgo.NewClient(c.ClientOpts()...)
		if err != nil {
			return nil, fmt.Errorf("making the cluster's client: %w", err)
		}
		c.client = cl
	}
	return c.client, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
