// Package rehearsal runs a whole migration plan against the in-process Kafka
// test double seeded from the plan's snapshot, on a sped-up simulated clock,
// and measures what each step does to the cluster: how long its copies take
// in simulated time against the plan's estimate, the stalls the executor
// reports, and the peak replica counts and extra bytes on disk. It is a dry
// run of the migration itself (`kshift rehearse`), and the harness of the
// executor's benchmark.
//
// Every step goes through the executor over the double's Kafka listeners,
// as `kshift apply` does against production. It owns no Kafka behaviour (the
// double does) and no executor logic; it must not print (progress goes to a
// callback) and must never be pointed at a real cluster: it starts its own.
package rehearsal

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Options tune a rehearsal. Zero values take the defaults noted on each.
type Options struct {
	// Speed is how many times faster than real time the simulated clock
	// runs (default 1000).
	Speed float64
	// Tick is the real time between two advances of the simulated clock
	// (default 2ms); durations are measured to Tick × Speed of simulated
	// time. On a busy machine the simulated clock runs slower than Speed
	// rather than advancing more than two ticks at once.
	Tick time.Duration
	// Throttle overrides the plan's rate (bytes/s per broker) when > 0.
	Throttle plans.Rate
	// NetworkRate is each broker's replication bandwidth in bytes/s (default
	// 1 GiB/s, so that the throttle is what limits the copies).
	NetworkRate int64
	// Inbound is what producers write into the cluster while it rehearses,
	// bytes/s in all, spread over the partitions in proportion to their size:
	// copies slower than their partition's share never finish (a stall).
	Inbound plans.Rate
	// StepLimit gives up a step, and the rehearsal, when its reassignment
	// has run this long in simulated time (default: three times the step's
	// estimate plus one hour).
	StepLimit time.Duration
	// Version is the Kafka release the double emulates; by default 3.x when
	// every broker of the snapshot runs 3.0 or later, else 2.4.
	Version *kafkasim.Version
	// SkipHealthGates runs only the safety gates of the gate registry
	// before each step, as apply --skip-health-check does.
	SkipHealthGates bool
	// Progress receives the executor's progress of the step running.
	Progress func(executor.Progress)
	// Log receives what the executor does (nil discards).
	Log *slog.Logger
}

// DefaultSpeed is the speed-up of the simulated clock unless told otherwise.
const DefaultSpeed = 1000

func (o *Options) defaults() {
	if o.Speed <= 0 {
		o.Speed = DefaultSpeed
	}
	if o.Tick <= 0 {
		o.Tick = 2 * time.Millisecond
	}
	if o.NetworkRate <= 0 {
		o.NetworkRate = 1 << 30
	}
}

// StepReport is what one step did on the double.
type StepReport struct {
	Number     int         `json:"number" yaml:"number"`
	Phase      plans.Phase `json:"phase" yaml:"phase"`
	Partitions int         `json:"partitions" yaml:"partitions"`
	// Skipped says why a step was not run (ZooKeeper steps: the double has
	// no ensemble).
	Skipped     string         `json:"skipped,omitempty" yaml:"skipped,omitempty"`
	BytesToCopy plans.ByteSize `json:"bytes_to_copy" yaml:"bytes_to_copy"`
	// Estimate is the plan's estimate of the step (recomputed at the rate
	// used when Options.Throttle overrides the plan's).
	Estimate time.Duration `json:"estimate" yaml:"estimate"`
	// Simulated is the simulated time from the step's reassignment being
	// submitted to its last partition reaching `to` (and, for move-leader,
	// being led by its new first replica): what Kafka needs, without the
	// executor's gates and polling.
	Simulated time.Duration `json:"simulated" yaml:"simulated"`
	// Ratio is Simulated / Estimate, 0 without an estimate.
	Ratio float64 `json:"ratio,omitempty" yaml:"ratio,omitempty"`
	// Stalls are the distinct stall reasons the executor reported.
	Stalls []string `json:"stalls,omitempty" yaml:"stalls,omitempty"`
	// PeakReplicas is the most replicas any broker hosted while the step
	// ran, and PeakBroker that broker.
	PeakReplicas int   `json:"peak_replicas" yaml:"peak_replicas"`
	PeakBroker   int32 `json:"peak_broker" yaml:"peak_broker"`
	// PeakExtraBytes is the most bytes on disk, over all brokers, above what
	// the cluster held before the first step (data produced meanwhile with
	// Options.Inbound included).
	PeakExtraBytes int64 `json:"peak_extra_bytes" yaml:"peak_extra_bytes"`
	// GaveUp is set when the step ran past Options.StepLimit.
	GaveUp bool `json:"gave_up,omitempty" yaml:"gave_up,omitempty"`
	// Calls is the number of Kafka requests the executor sent; Real the real
	// time the step took.
	Calls int64         `json:"calls" yaml:"calls"`
	Real  time.Duration `json:"real" yaml:"real"`
}

// Report is a whole rehearsal.
type Report struct {
	ClusterID    string     `json:"cluster_id" yaml:"cluster_id"`
	KafkaVersion string     `json:"kafka_version" yaml:"kafka_version"`
	Speed        float64    `json:"speed" yaml:"speed"`
	Throttle     plans.Rate `json:"throttle" yaml:"throttle"`
	// Resolution is the simulated time between two clock advances: the
	// precision of every simulated duration.
	Resolution time.Duration `json:"resolution" yaml:"resolution"`
	Steps      []StepReport  `json:"steps" yaml:"steps"`
	// Simulated and Estimate sum the steps'.
	Simulated time.Duration `json:"simulated" yaml:"simulated"`
	Estimate  time.Duration `json:"estimate" yaml:"estimate"`
	// Ideal is the least time the whole migration can take: the busiest
	// broker's bytes in or out over every step, the leaders sending
	// (plans.BusiestTotal), at the throttle. IdealReached
	// is the same at the rate a throttle reaches (plans.ThrottleEfficiency).
	Ideal        time.Duration `json:"ideal" yaml:"ideal"`
	IdealReached time.Duration `json:"ideal_reached" yaml:"ideal_reached"`
	// PeakReplicas is the most replicas each broker hosted at any time.
	PeakReplicas   map[int32]int `json:"peak_replicas" yaml:"peak_replicas"`
	PeakExtraBytes int64         `json:"peak_extra_bytes" yaml:"peak_extra_bytes"`
	Stalls         int           `json:"stalls" yaml:"stalls"`
	Calls          int64         `json:"calls" yaml:"calls"`
	Real           time.Duration `json:"real" yaml:"real"`
}

// Ratio returns total simulated time over the ideal at the configured
// throttle (0 when nothing is copied).
func (r *Report) Ratio() float64 {
	if r.Ideal <= 0 {
		return 0
	}
	return float64(r.Simulated) / float64(r.Ideal)
}

// Run rehearses every step of p on a double seeded from snap. A step the
// executor refuses or fails stops the rehearsal: the report so far is
// returned with the error.
func Run(ctx context.Context, snap *plans.Snapshot, p *plans.Plan, o Options) (*Report, error) {
	o.defaults()
	if p.Kind != plans.KindMigration {
		return nil, fmt.Errorf("%w: rehearse takes a migration plan, this is a %s plan", plans.ErrBadInput, p.Kind)
	}
	if snap.ClusterID != p.ClusterID {
		return nil, fmt.Errorf("%w: the plan is for cluster %s, the snapshot of cluster %s: give the snapshot the plan was made from", plans.ErrBadInput, p.ClusterID, snap.ClusterID)
	}
	realStart := time.Now()
	version := versionOf(snap)
	if o.Version != nil {
		version = *o.Version
	}
	rate := p.Throttle
	if o.Throttle > 0 {
		rate = o.Throttle
	}
	clock := kafkasim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, err := startDouble(ctx, snap, p, version, clock, o.NetworkRate)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	clients, err := kafkaconn.Connect(ctx, kafkaconn.Options{Bootstrap: d.Bootstrap()})
	if err != nil {
		return nil, fmt.Errorf("rehearse: connect to the double: %w", err)
	}
	defer clients.Close()

	sim := newSimulator(d, clock, o.Speed, o.Tick)
	if err := sim.load(snap); err != nil {
		return nil, err
	}
	if err := produce(d, snap, o.Inbound); err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sim.run(rctx) }()
	defer func() { stop(); wg.Wait() }()

	rep := &Report{ClusterID: p.ClusterID, KafkaVersion: version.String(), Speed: o.Speed, Throttle: rate,
		Resolution: time.Duration(float64(o.Tick) * o.Speed)}
	_, busiest := plans.BusiestTotal(p, snap)
	rep.Ideal = rate.TimeFor(busiest)
	rep.IdealReached = plans.Rate(float64(rate) * plans.ThrottleEfficiency).TimeFor(busiest)

	ref := executor.PlanRef{Plan: p, Path: "rehearsal", SHA256: "rehearsal"}
	k := &recorder{Client: clients.Kafka, sim: sim}
	store := state.NewMemory()
	var stepErr error
	for i := range p.Steps {
		s := &p.Steps[i]
		sr := StepReport{Number: s.Number, Phase: s.Phase, Partitions: len(s.Partitions),
			BytesToCopy: s.Estimate.BytesToCopy, Estimate: time.Duration(s.Estimate.Duration)}
		planned := s.ThrottleOr(p.Throttle)
		if o.Throttle > 0 && o.Throttle != planned {
			sr.Estimate = time.Duration(plans.EstimateMoves(s.Partitions, o.Throttle).Duration)
		}
		if s.Phase.IsZooKeeper() {
			sr.Skipped = "ZooKeeper step: not rehearsed, the simulator has no ensemble (kshift zk status checks it live)"
			rep.Steps = append(rep.Steps, sr)
			continue
		}
		if s.Phase == plans.PhaseRetireSources {
			sr.Skipped = "retire-sources step: not rehearsed, it waits for the operator to stop the source brokers"
			rep.Steps = append(rep.Steps, sr)
			continue
		}
		// After a skipped ZooKeeper step the executor cannot tell that the
		// previous step is done.
		force := i > 0 && (p.Steps[i-1].Phase.IsZooKeeper() || p.Steps[i-1].Phase == plans.PhaseRetireSources)
		e := executor.New(k, executorOptions(o, clients, store, force, &sr))
		limit := o.StepLimit
		if limit <= 0 {
			limit = 3*sr.Estimate + time.Hour
		}
		sctx, cancelStep := context.WithCancel(ctx)
		sim.begin(s, limit, cancelStep)
		start := time.Now()
		res, err := e.Apply(sctx, ref, s.Number)
		cancelStep()
		sim.observe()
		w := sim.end()
		if w.gaveUp {
			sr.GaveUp = true
			// Not wrapped: the executor's error says "interrupted", and the
			// rehearsal was not.
			err = fmt.Errorf("gave up after %s of simulated time without finishing (stalls: %s); the executor said: %v",
				limit, strings.Join(sr.Stalls, "; "), err)
		}
		sr.Real = time.Since(start)
		if res != nil {
			sr.Calls = res.Calls
		}
		sr.Simulated, sr.PeakReplicas, sr.PeakBroker, sr.PeakExtraBytes = w.result()
		if sr.Estimate > 0 {
			sr.Ratio = float64(sr.Simulated) / float64(sr.Estimate)
		}
		rep.Steps = append(rep.Steps, sr)
		if err != nil {
			stepErr = fmt.Errorf("rehearse: step %d (%s): %w", s.Number, s.Phase, err)
			break
		}
	}
	for _, sr := range rep.Steps {
		rep.Simulated += sr.Simulated
		rep.Estimate += sr.Estimate
		rep.Stalls += len(sr.Stalls)
		rep.Calls += sr.Calls
		rep.PeakExtraBytes = max(rep.PeakExtraBytes, sr.PeakExtraBytes)
	}
	rep.PeakReplicas = sim.peakReplicas()
	rep.Real = time.Since(realStart)
	return rep, stepErr
}

// produce spreads rate over the snapshot's partitions in proportion to
// their size.
func produce(d *kafkasim.Cluster, snap *plans.Snapshot, rate plans.Rate) error {
	if rate <= 0 {
		return nil
	}
	var total float64
	for _, t := range snap.Topics {
		for _, p := range t.Partitions {
			total += float64(p.Size)
		}
	}
	if total == 0 {
		return nil
	}
	for _, t := range snap.Topics {
		for _, p := range t.Partitions {
			if err := d.SetInboundRate(t.Name, p.ID, int64(float64(rate)*float64(p.Size)/total)); err != nil {
				return fmt.Errorf("rehearse: %w", err)
			}
		}
	}
	return nil
}

// executorOptions are apply's defaults with every wait scaled to the
// simulated clock, so the executor paces itself as it would in real time.
func executorOptions(o Options, clients *kafkaconn.Clients, store state.Store, force bool, sr *StepReport) executor.Options {
	d := executor.DefaultOptions()
	scaled := func(x time.Duration) time.Duration { return max(time.Duration(float64(x)/o.Speed), time.Millisecond) }
	eo := executor.Options{
		// Polls are what costs: no more often than every 5ms of real time
		// (the durations are measured by the simulator, not by the polls).
		PollInterval: max(scaled(d.PollInterval), 5*time.Millisecond),
		ElectionWait: scaled(d.ElectionWait),
		StallAfter:   scaled(d.StallAfter),
		Throttle:     o.Throttle,
		ForceOrder:   force,
		Log:          o.Log,
		Command:      "rehearse",
		// kshift's own state (lock, throttle records, audit) lives in
		// memory beside the simulated cluster.
		Store: store,
		Progress: func(pr executor.Progress) {
			if pr.Stalled && !slices.Contains(sr.Stalls, pr.StallReason) {
				sr.Stalls = append(sr.Stalls, pr.StallReason)
			}
			if o.Progress != nil {
				o.Progress(pr)
			}
		},
	}
	eo.SkipHealthGates = o.SkipHealthGates
	return eo
}

// versionOf picks the double's Kafka release from the brokers' versions.
func versionOf(s *plans.Snapshot) kafkasim.Version {
	if len(s.Brokers) == 0 {
		return kafkasim.V2_4
	}
	for _, b := range s.Brokers {
		major, _, _ := strings.Cut(b.KafkaVersion, ".")
		if n, err := strconv.Atoi(major); err != nil || n < 3 {
			return kafkasim.V2_4
		}
	}
	return kafkasim.V3_x
}

// startDouble starts the double with every broker of the snapshot and the
// plan's target brokers, and loads the snapshot's topics, sizes and configs.
func startDouble(ctx context.Context, snap *plans.Snapshot, p *plans.Plan, v kafkasim.Version, clock *kafkasim.Clock, network int64) (*kafkasim.Cluster, error) {
	cfg := kafkasim.Config{ClusterID: snap.ClusterID, Version: v, Controller: snap.Controller, Clock: clock, NetworkRate: network}
	seen := map[int32]bool{}
	for _, b := range snap.Brokers {
		cfg.Brokers = append(cfg.Brokers, kafkasim.BrokerConfig{ID: b.ID, Rack: b.Rack, DiskCapacity: int64(b.DiskCapacity)})
		seen[b.ID] = true
	}
	for _, id := range slices.Concat(p.SourceBrokers, p.TargetBrokers) {
		if !seen[id] {
			cfg.Brokers = append(cfg.Brokers, kafkasim.BrokerConfig{ID: id})
			seen[id] = true
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := kafkasim.Start(sctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("rehearse: %w", err)
	}
	if err := d.LoadSnapshot(Loadable(snap)); err != nil {
		d.Close()
		return nil, fmt.Errorf("rehearse: seed the double from the snapshot: %w", err)
	}
	return d, nil
}

// Loadable is the snapshot without what the double must not take from a real
// cluster's: its listeners (the double has its own) and configs recorded as
// unknown (rates a Kafka 2.4 broker hides).
func Loadable(s *plans.Snapshot) *plans.Snapshot {
	out := *s
	out.Brokers = make([]plans.Broker, len(s.Brokers))
	for i, b := range s.Brokers {
		b.Configs = nil
		for k, v := range s.Brokers[i].Configs {
			if v == inspect.UnknownValue || k == inspect.KeyListeners || k == inspect.KeyAdvertisedListeners {
				continue
			}
			if b.Configs == nil {
				b.Configs = map[string]string{}
			}
			b.Configs[k] = v
		}
		out.Brokers[i] = b
	}
	return &out
}

// recorder is the executor's Kafka client, noting on the simulated clock
// when a step's reassignment is submitted.
type recorder struct {
	*kgo.Client
	sim *simulator
}

var _ kafkaapi.Requester = (*recorder)(nil)

func (r *recorder) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	if a, ok := req.(*kmsg.AlterPartitionAssignmentsRequest); ok && len(a.Topics) > 0 {
		r.sim.submitted()
	}
	return r.Client.Request(ctx, req)
}
