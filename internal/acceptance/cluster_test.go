package acceptance

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/kafkatest"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMain(m *testing.M) {
	code := kafkatest.Main(m)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// The kshift binary the tests run, built once from this checkout.
var (
	buildOnce sync.Once
	binDir    string
	kshiftBin string
	buildErr  error
)

// kshiftBinary builds kshift from this checkout (once per test binary) and
// returns its path.
func kshiftBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "kshift-acceptance-"); buildErr != nil {
			return
		}
		kshiftBin = filepath.Join(binDir, "kshift")
		out, err := exec.Command("go", "build", "-o", kshiftBin, "github.com/kshift/kshift/cmd/kshift").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/kshift: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return kshiftBin
}

// The shared cluster: sources 1-3 and targets 4-6 on racks r1-r3 (a target
// on its source's rack), started with the data on 1-3 and 4-6 joined empty
// afterwards, as an operator joins new brokers. Tests migrate it back and
// forth between the two sides; each finds where it stands.
var (
	sides = [2][]int32{{1, 2, 3}, {4, 5, 6}}
	racks = map[int32]string{1: "r1", 2: "r2", 3: "r3", 4: "r1", 5: "r2", 6: "r3"}
)

// Topics of the shared cluster, created on first use with data on brokers
// 1-3: RF 3, RF 2 (its partitions of very different sizes, so that some
// finish copying long before others), RF 3 with min.insync.replicas=2, and
// __consumer_offsets. Each test's workload writes a topic of its own,
// created where the data is when the test starts (workloadTopic).
const (
	topicRF3    = "clicks"
	topicRF2    = "logs"
	topicMinISR = "payments"
)

var (
	setupOnce sync.Once
	// workloadTopics are the topics every test's workload created so far:
	// all tests migrate them along.
	workloadTopics []string
)

// fixture is the shared cluster, set up once, and what tests need around it.
type fixture struct {
	t  testing.TB
	c  *kafkatest.Cluster
	zk *zk.Conn
}

// sharedCluster returns the shared cluster, creating its topics and data
// and joining the target brokers on first use.
func sharedCluster(t testing.TB) *fixture {
	t.Helper()
	c := kafkatest.Shared(t, kafkatest.Options{Brokers: 3, Later: 3, IDs: []int32{1, 2, 3, 4, 5, 6}, Racks: racks})
	kshiftBinary(t)
	setupOnce.Do(func() {
		c.CreateTopic(t, topicRF3, kafkatest.Topic{Partitions: 6, ReplicationFactor: 3})
		c.CreateTopic(t, topicRF2, kafkatest.Topic{Partitions: 4, ReplicationFactor: 2})
		c.CreateTopic(t, topicMinISR, kafkatest.Topic{Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"min.insync.replicas": "2"}})
		for p := range int32(6) {
			fill(t, c, topicRF3, p, 4<<20)
		}
		for p, size := range []int{24 << 20, 4 << 20, 1 << 20, 256 << 10} {
			fill(t, c, topicRF2, int32(p), size)
		}
		for p := range int32(3) {
			fill(t, c, topicMinISR, p, 4<<20)
		}
		createOffsetsTopic(t, c)
		c.StartBrokers(t, 4, 5, 6)
	})
	conn, _, err := zk.Connect([]string{c.ZooKeeperEnsemble()}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return &fixture{t: t, c: c, zk: conn}
}

// createOffsetsTopic makes Kafka create __consumer_offsets now, on the
// source brokers: a group coordinator lookup creates it, as a consumer
// group's first does.
func createOffsetsTopic(t testing.TB, c *kafkatest.Cluster) {
	t.Helper()
	cl := c.Client(t)
	kafkatest.WaitFor(t, time.Minute, "__consumer_offsets created and in sync", func(ctx context.Context) error {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = "kshift-acceptance"
		if _, err := req.RequestWith(ctx, cl); err != nil {
			return err
		}
		parts, err := c.Partitions(ctx, "__consumer_offsets")
		if err != nil {
			return err
		}
		for _, p := range parts["__consumer_offsets"] {
			if !p.InSync() {
				return fmt.Errorf("%s-%d not in sync", p.Topic, p.Partition)
			}
		}
		return nil
	})
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// fill writes about bytes of incompressible data to partition p of topic,
// so that its copies take time under a throttle.
func fill(t testing.TB, c *kafkatest.Cluster, topic string, p int32, bytes int) {
	t.Helper()
	cl := c.Client(t, kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const size = 16 << 10
	var recs []*kgo.Record
	for range bytes / size {
		v := make([]byte, size)
		rand.Read(v)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: v})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("filling %s: %v", topic, err)
	}
}

// workloadTopic creates a topic of the test's own for its workload (RF 3,
// min.insync.replicas=2), on the brokers that hold the data now, and
// returns its name.
func (f *fixture) workloadTopic() string {
	f.t.Helper()
	name := kafkatest.TopicName(f.t, "orders")
	from, _ := f.side()
	var assign [][]int32
	for p := range 4 {
		assign = append(assign, []int32{from[p%3], from[(p+1)%3], from[(p+2)%3]})
	}
	f.c.CreateTopic(f.t, name, kafkatest.Topic{Assignment: assign, Configs: map[string]string{"min.insync.replicas": "2"}})
	workloadTopics = append(workloadTopics, name)
	return name
}

// side returns the brokers that hold every replica now (1-3 or 4-6) and
// the others, failing the test when replicas sit on both sides.
func (f *fixture) side() (from, to []int32) {
	f.t.Helper()
	parts := f.partitions()
	on := map[int]bool{}
	for _, p := range parts {
		for _, r := range p.Replicas {
			on[slices.IndexFunc(sides[:], func(s []int32) bool { return slices.Contains(s, r) })] = true
		}
	}
	switch {
	case on[0] && !on[1]:
		return sides[0], sides[1]
	case on[1] && !on[0]:
		return sides[1], sides[0]
	}
	f.t.Fatalf("replicas on both sides: %v", parts)
	return nil, nil
}

// partitions reads every partition of the cluster.
func (f *fixture) partitions() []kafkatest.Partition {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.t.Context(), 30*time.Second)
	defer cancel()
	topics := append([]string{topicRF3, topicRF2, topicMinISR, "__consumer_offsets"}, workloadTopics...)
	all, err := f.c.Partitions(ctx, topics...)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []kafkatest.Partition
	for _, ps := range all {
		out = append(out, ps...)
	}
	return out
}

// kshift runs the kshift binary with args and the cluster's connection
// flags (--zookeeper too unless noZK), and returns its combined output and
// exit code.
func (f *fixture) kshift(args ...string) (string, int) {
	f.t.Helper()
	cmd := f.command(true, args...)
	out, err := cmd.CombinedOutput()
	return string(out), exitCode(err)
}

// kshiftNoZK is kshift without --zookeeper.
func (f *fixture) kshiftNoZK(args ...string) (string, int) {
	f.t.Helper()
	out, err := f.command(false, args...).CombinedOutput()
	return string(out), exitCode(err)
}

// command is the kshift command line, not started.
func (f *fixture) command(withZK bool, args ...string) *exec.Cmd {
	args = append(args, "--bootstrap", strings.Join(f.c.Bootstrap(), ","))
	if withZK {
		args = append(args, "--zookeeper", f.c.ZooKeeper())
	}
	cmd := exec.Command(kshiftBin, args...)
	cmd.Env = append(os.Environ(), "KSHIFT_PROFILE=")
	return cmd
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// mapping is the mapping file of a migration from one side to the other.
type mapping struct {
	from, to []int32
	// rackMap uses rack_map instead of broker_map.
	rackMap bool
	// rf is the default replication factor after the migration (0 keeps).
	rf       int
	strategy plans.Strategy
	// throttle is the rate, e.g. "4MiB/s".
	throttle string
	// perStep bounds the partitions per step.
	perStep int
}

func (m mapping) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nsource_brokers: %s\ntarget_brokers: %s\n", ids(m.from), ids(m.to))
	if m.rackMap {
		b.WriteString("rack_map: {r1: r1, r2: r2, r3: r3}\n")
	} else {
		b.WriteString("broker_map: {")
		for i := range m.from {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d: %d", m.from[i], m.to[i])
		}
		b.WriteString("}\n")
	}
	if m.rf > 0 {
		fmt.Fprintf(&b, "replication_factor: {default: %d}\n", m.rf)
	}
	fmt.Fprintf(&b, "limits: {partitions_per_step: %d}\nthrottle: %s\nstrategy: %s\n", m.perStep, m.throttle, m.strategy)
	return b.String()
}

func ids(l []int32) string {
	s := make([]string, len(l))
	for i, id := range l {
		s[i] = fmt.Sprint(id)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// plan snapshots the cluster, writes m and plans the migration in a fresh
// directory, and returns the plan's path and the plan.
func (f *fixture) plan(m mapping) (string, *plans.Plan) {
	f.t.Helper()
	dir := f.t.TempDir()
	snap := filepath.Join(dir, "snapshot.yaml")
	if out, code := f.kshift("snapshot", "--out", snap); code != 0 {
		f.t.Fatalf("snapshot: exit %d\n%s", code, out)
	}
	mp := filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(mp, []byte(m.yaml()), 0o644); err != nil {
		f.t.Fatal(err)
	}
	out, err := exec.Command(kshiftBin, "plan", "--snapshot", snap, "--mapping", mp, "--out", filepath.Join(dir, "plan")).CombinedOutput()
	if err != nil {
		f.t.Fatalf("plan: %v\n%s\nmapping:\n%s", err, out, m.yaml())
	}
	p := filepath.Join(dir, "plan", "plan.yaml")
	pl, _, err := plans.LoadFile[plans.Plan](p)
	if err != nil {
		f.t.Fatal(err)
	}
	return p, pl
}

// migrated fails the test unless the cluster is where plan p ends: every
// partition it moves at its last `to`, fully in sync and led by its first
// replica; no reassignment in flight; no throttle config left in ZooKeeper
// (/config/brokers/*, /config/topics/*); no operator lock and no open
// throttle record of kshift's. Metadata trails the controller, so the
// partitions are read until they agree or a minute passes.
func (f *fixture) migrated(p *plans.Plan) {
	f.t.Helper()
	last := map[string]plans.Move{}
	for _, s := range p.Steps {
		for _, m := range s.Partitions {
			last[m.Name()] = m
		}
	}
	var bad []string
	kafkatest.WaitFor(f.t, time.Minute, "every partition at its target, in sync, led by its first replica", func(ctx context.Context) error {
		bad = nil
		for _, part := range f.partitions() {
			m, moved := last[fmt.Sprintf("%s-%d", part.Topic, part.Partition)]
			if !moved {
				continue
			}
			if !slices.Equal(part.Replicas, m.To) || !part.InSync() || part.Leader != m.To[0] {
				bad = append(bad, fmt.Sprintf("%s-%d: replicas %v isr %v leader %d, want %v", part.Topic, part.Partition, part.Replicas, part.ISR, part.Leader, m.To))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%d partition(s) not at their target: %s", len(bad), strings.Join(bad, "; "))
		}
		return nil
	})
	f.c.WaitNoReassignments(f.t)
	f.noThrottlesInZooKeeper()
	root := path.Join(f.c.Chroot(), "kshift")
	if ok, _, err := f.zk.Exists(root + "/lock"); err != nil || ok {
		f.t.Errorf("operator lock left in ZooKeeper (%s/lock exists: %v, %v)", root, ok, err)
	}
	if recs, _, err := f.zk.Children(root + "/throttles"); err != nil && !errors.Is(err, zk.ErrNoNode) || len(recs) > 0 {
		f.t.Errorf("throttle records left open in ZooKeeper: %v, %v", recs, err)
	}
}

// noThrottlesInZooKeeper fails the test when a broker or topic config in
// ZooKeeper holds a throttle key.
func (f *fixture) noThrottlesInZooKeeper() {
	f.t.Helper()
	keys := []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate",
		"leader.replication.throttled.replicas", "follower.replication.throttled.replicas"}
	for _, kind := range []string{"brokers", "topics"} {
		dir := path.Join(f.c.Chroot(), "config", kind)
		names, _, err := f.zk.Children(dir)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			f.t.Fatal(err)
		}
		for _, n := range names {
			data, _, err := f.zk.Get(dir + "/" + n)
			if err != nil {
				f.t.Fatal(err)
			}
			var doc struct {
				Config map[string]string `json:"config"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				f.t.Fatalf("%s/%s: %v", dir, n, err)
			}
			for _, k := range keys {
				if v, ok := doc.Config[k]; ok {
					f.t.Errorf("%s %s keeps %s=%q", kind, n, k, v)
				}
			}
		}
	}
}

// brokerRates returns broker b's throttle rates as ZooKeeper holds them
// (Kafka 2.4 hides them from DescribeConfigs).
func (f *fixture) brokerRates(b int32) map[string]string {
	f.t.Helper()
	data, _, err := f.zk.Get(path.Join(f.c.Chroot(), "config", "brokers", fmt.Sprint(b)))
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var doc struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range doc.Config {
		if strings.HasSuffix(k, ".throttled.rate") {
			out[k] = v
		}
	}
	return out
}
