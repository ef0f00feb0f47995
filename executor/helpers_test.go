package executor

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testCluster is a double with source brokers 0-2 and target brokers 3-5,
// on a clock running speed times faster than real time.
type testCluster struct {
	*kafkasim.Cluster
	client *kgo.Client
	// store is kshift's state for the cluster, shared by every executor of
	// the test as the cluster's ZooKeeper is by every operator.
	store state.Store
}

func startCluster(t *testing.T, speed float64, cfg kafkasim.Config) *testCluster {
	t.Helper()
	if cfg.Brokers == nil {
		for i := int32(0); i < 6; i++ {
			cfg.Brokers = append(cfg.Brokers, kafkasim.BrokerConfig{ID: i, Rack: fmt.Sprintf("r%d", i%3)})
		}
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = "test-cluster"
	}
	if cfg.Clock == nil {
		cfg.Clock = kafkasim.NewScaledClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), speed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kafkasim.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start double: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.MetadataMinAge(10*time.Millisecond), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &testCluster{Cluster: c, client: cl, store: state.NewMemory()}
}

// topicSpec creates a topic with literal replica lists and a size per partition.
func (c *testCluster) topic(t *testing.T, name string, size int64, configs map[string]string, replicas ...[]int32) {
	t.Helper()
	if err := c.CreateTopic(name, replicas, configs); err != nil {
		t.Fatal(err)
	}
	for i := range replicas {
		if err := c.SetPartitionSize(name, int32(i), size); err != nil {
			t.Fatal(err)
		}
	}
}

// phasedPlan builds the three reassignment steps of a migration of the
// given partitions from their current replicas onto targets (same index:
// source broker s moves to target s+3): raise-rf, move-leader, lower-rf.
func phasedPlan(t *testing.T, c *testCluster, rate plans.Rate, topics ...string) *plans.Plan {
	t.Helper()
	var raise, lead, lower []plans.Move
	for _, name := range topics {
		for p := int32(0); ; p++ {
			st, ok := c.Partition(name, p)
			if !ok {
				break
			}
			from := slices.Clone(st.Replicas)
			var tgt []int32
			for _, r := range from {
				tgt = append(tgt, r+3)
			}
			raised := append(slices.Clone(from), tgt...)
			led := append(slices.Clone(tgt), from...)
			raise = append(raise, plans.Move{Topic: name, Partition: p, From: from, To: raised, Size: plans.ByteSize(st.Size)})
			lead = append(lead, plans.Move{Topic: name, Partition: p, From: raised, To: led, Size: plans.ByteSize(st.Size)})
			lower = append(lower, plans.Move{Topic: name, Partition: p, From: led, To: tgt, Size: plans.ByteSize(st.Size)})
		}
	}
	p := &plans.Plan{
		Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: c.ClusterID(),
		Strategy: plans.StrategyPhased, Throttle: rate,
		SourceBrokers: []int32{0, 1, 2}, TargetBrokers: []int32{3, 4, 5},
		Steps: []plans.Step{
			{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: raise},
			{Number: 2, Phase: plans.PhaseMoveLeader, Partitions: lead},
			{Number: 3, Phase: plans.PhaseLowerRF, Partitions: lower},
		},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// testExecutor returns an executor with fast polling and an audit log in a
// temp dir.
func testExecutor(t *testing.T, c *testCluster, mod func(*Options)) (*Executor, string) {
	t.Helper()
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	o := Options{
		CallTimeout:   5 * time.Second,
		PollInterval:  20 * time.Millisecond,
		SettleTimeout: 3 * time.Second,
		StallAfter:    2 * time.Second,
		ElectionWait:  10 * time.Millisecond,
		Audit:         OpenAudit(audit),
		Store:         c.store,
	}
	if mod != nil {
		mod(&o)
	}
	return New(c.client, o), audit
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// noThrottles fails unless no broker, no topic and not the cluster default
// (broker -1 here) has a throttle config.
func (c *testCluster) noThrottles(t *testing.T) {
	t.Helper()
	for _, name := range c.Topics() {
		cfg, _ := c.TopicConfigs(name)
		for _, k := range []string{LeaderReplicasKey, FollowerReplicasKey} {
			if v, ok := cfg[k]; ok {
				t.Errorf("topic %s still has %s=%q", name, k, v)
			}
		}
	}
	for b := int32(-1); b < 6; b++ {
		for k, v := range c.BrokerDynamicConfigs(b) {
			if k == LeaderRateKey || k == FollowerRateKey {
				t.Errorf("broker %d still has %s=%q", b, k, v)
			}
		}
	}
}

// replicas returns a partition's live replica list.
func (c *testCluster) replicas(t *testing.T, topic string, p int32) kafkasim.PartitionState {
	t.Helper()
	st, ok := c.Partition(topic, p)
	if !ok {
		t.Fatalf("%s-%d does not exist", topic, p)
	}
	return st
}

// recordingKafka passes every request to the double through the real
// client and keeps what kshift sent and what came back, so a test can see
// the calls themselves (not kshift's own account of them). onAnswer, when
// set, sees each answer as it arrives.
type recordingKafka struct {
	kafkaapi.Requester
	mu   sync.Mutex
	sent []kmsg.Request
	// sentAt is when each request was sent, for pacing checks.
	sentAt   []time.Time
	onAnswer func(req kmsg.Request, resp kmsg.Response)
}

func (r *recordingKafka) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	r.record(req)
	resp, err := r.Requester.Request(ctx, req)
	if err == nil {
		r.answer(req, resp)
	}
	return resp, err
}

func (r *recordingKafka) RequestSharded(ctx context.Context, req kmsg.Request) []kgo.ResponseShard {
	r.record(req)
	shards := r.Requester.RequestSharded(ctx, req)
	for _, sh := range shards {
		if sh.Err == nil {
			r.answer(req, sh.Resp)
		}
	}
	return shards
}

func (r *recordingKafka) record(req kmsg.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, req)
	r.sentAt = append(r.sentAt, time.Now())
}

func (r *recordingKafka) answer(req kmsg.Request, resp kmsg.Response) {
	r.mu.Lock()
	f := r.onAnswer
	r.mu.Unlock()
	if f != nil {
		f(req, resp)
	}
}

// requests returns the requests sent with API key key, in order, and when
// each was sent.
func (r *recordingKafka) requests(key int16) ([]kmsg.Request, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []kmsg.Request
	var at []time.Time
	for i, req := range r.sent {
		if req.Key() == key {
			out, at = append(out, req), append(at, r.sentAt[i])
		}
	}
	return out, at
}

// recorded makes e send through a recordingKafka and returns it.
func recorded(e *Executor) *recordingKafka {
	r := &recordingKafka{}
	e.kafka.Wrap(func(k kafkaapi.Requester) kafkaapi.Requester { r.Requester = k; return r })
	return r
}

// splitStep replaces step n of p by one step per partition, in order, and
// renumbers the steps after it.
func splitStep(t *testing.T, p *plans.Plan, n int) {
	t.Helper()
	var steps []plans.Step
	for _, s := range p.Steps {
		if s.Number != n {
			s.Number = len(steps) + 1
			steps = append(steps, s)
			continue
		}
		for _, m := range s.Partitions {
			steps = append(steps, plans.Step{Number: len(steps) + 1, Phase: s.Phase, Partitions: []plans.Move{m}})
		}
	}
	p.Steps = steps
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

// holdLock takes the cluster's operator lock as another kshift would, for
// plan and step, and returns its lease (released at the end of the test).
func (c *testCluster) holdLock(t *testing.T, plan string, step int) state.Lease {
	t.Helper()
	lease, err := c.store.Acquire(context.Background(), state.Holder{Host: "other-host", PID: 4242, User: "other", Command: "apply", Plan: plan, Step: step, Since: time.Now()}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lease.Release() })
	return lease
}

// cancelled lists the steps a cancel reverted (undo: the steps whose undo
// it reverted).
func cancelled(res *CancelResult, undo bool) []int {
	var out []int
	for _, s := range res.Steps {
		if s.Undo == undo {
			out = append(out, s.Step)
		}
	}
	return out
}

// Broker passes FreshMetadata's per-broker reads through, unrecorded.
func (r *recordingKafka) Broker(id int) *kgo.Broker {
	return r.Requester.(kafkaapi.BrokerRequester).Broker(id)
}

// heldClock is the config of a cluster whose test stops its clock to hold
// a move in flight (Clock.SetFactor(0)) while kshift acts on it: the lags
// of a real cluster pass on the simulated clock, so with the clock stopped
// a broker's Metadata would never catch up with what kshift does; they are
// off there. The tests that pin those lags run on a clock that runs.
func heldClock() kafkasim.Config {
	return kafkasim.Config{MetadataLag: -1, ConfigChangeLag: -1, TopicDeletionTime: -1}
}

// applyThroughBrokerOutage applies step 1 of p in the background, stops
// broker id once the copy has started, waits for the first stall report,
// runs whileDown (if any), starts the broker again and waits for the step
// to finish without error. It returns the first stall reason. opts (if
// any) adjusts the executor's options before the progress hook is set.
func applyThroughBrokerOutage(t *testing.T, c *testCluster, p *plans.Plan, id int32, opts func(*Options), whileDown func()) string {
	t.Helper()
	var mu sync.Mutex
	var stalls []string
	copying := false
	e, _ := testExecutor(t, c, func(o *Options) {
		if opts != nil {
			opts(o)
		}
		o.Progress = func(pr Progress) {
			mu.Lock()
			defer mu.Unlock()
			copying = copying || pr.BytesCopied > 0
			if pr.Stalled {
				stalls = append(stalls, pr.StallReason)
			}
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := e.Apply(testCtx(t, 60*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1)
		done <- err
	}()
	waitFor(t, "copy started", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return copying })
	if err := c.StopBroker(id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stall reported", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(stalls) > 0 })
	mu.Lock()
	first := stalls[0]
	mu.Unlock()
	if whileDown != nil {
		whileDown()
	}
	if err := c.StartBroker(id); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("apply after broker %d came back returned: %v", id, err)
	}
	return first
}
