package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v2"
)

// The files the demo writes besides the plan directory's.
const (
	demoSnapshotFile = "snapshot.yaml"
	demoMappingFile  = "mapping.yaml"
	demoAuditFile    = "kshift-audit.jsonl"
)

func newDemoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run a whole migration on an in-process Kafka simulator, start to finish",
		Description: `Starts a Kafka simulator on 127.0.0.1 (3 source brokers 1-3 and 3 empty target
brokers 101-103 on racks r1-r3, a few topics with records), then does what an
operator does: kshift snapshot, a mapping, kshift plan (snapshot.yaml,
mapping.yaml, plan.yaml, rollback.yaml, SUMMARY.md in --dir), kshift apply of
every step (throttled copies with progress), kshift status, kshift rollback of
the last step and its re-apply, and prints the final assignment. It talks to
the simulator over the Kafka protocol with the same executor as apply; the
simulator's clock runs --speed times faster, so the copies take seconds. Exits 0
only when every partition is on the target brokers at its target replication
factor, fully in sync, with no throttle left. No network, no ZooKeeper.`,
		Flags: []cli.Flag{
			&cli.PathFlag{Name: "dir", Usage: "write the demo's files into this `DIR` (absent or empty; default: a new temporary directory)"},
			&cli.Float64Flag{Name: "speed", Value: 100, Usage: "simulated time runs this many times faster than real time"},
		},
		Action: runDemo,
	}
}

// demoTopic is one topic the demo creates: partitions of size bytes each.
type demoTopic struct {
	name       string
	partitions int
	rf         int
	size       int64
	configs    map[string]string
}

var demoTopics = []demoTopic{
	{name: "__consumer_offsets", partitions: 3, rf: 3, size: 64 << 20, configs: map[string]string{"cleanup.policy": "compact"}},
	{name: "orders", partitions: 6, rf: 3, size: 2 << 30, configs: map[string]string{"min.insync.replicas": "2"}},
	{name: "payments", partitions: 3, rf: 3, size: 1 << 30, configs: map[string]string{"min.insync.replicas": "2"}},
	{name: "clicks", partitions: 6, rf: 2, size: 768 << 20},
}

var (
	demoSources = []int32{1, 2, 3}
	demoTargets = []int32{101, 102, 103}
)

// demoRecords is how many records the demo produces into each partition, so
// offsets are real and offset continuity is checked on every step.
const demoRecords = 20

func runDemo(c *cli.Context) error {
	if err := requireArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	speed := c.Float64("speed")
	if speed <= 0 {
		return badInput(fmt.Errorf("--speed %g: must be positive", speed))
	}
	dir := c.Path("dir")
	if dir != "" {
		// Refused before anything starts; outdir.Write checks again.
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return badInput(fmt.Errorf("--dir %s is not empty: give an absent or empty directory", dir))
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "kshift-demo-"); err != nil {
			return fmt.Errorf("create the demo directory: %w", err)
		}
	}
	out := c.App.Writer
	ctx := c.Context

	d, err := startDemoCluster(ctx, speed)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(out, "Started a Kafka %s simulator, cluster %s: source brokers %v and empty target brokers %v on racks r1-r3, at %s (simulated time x%g).\n",
		kafkasim.V2_4, d.ClusterID(), demoSources, demoTargets, strings.Join(d.Bootstrap(), ","), speed)
	clients, err := kafkaconn.Connect(ctx, kafkaconn.Options{Bootstrap: d.Bootstrap()})
	if err != nil {
		return err
	}
	defer clients.Close()
	if err := produceDemoRecords(ctx, clients.Kafka, d); err != nil {
		return err
	}

	// kshift snapshot, a mapping, kshift plan.
	st, err := inspect.Read(ctx, kafkaAPI(clients), inspect.ReadOptions{})
	if err != nil {
		return err
	}
	snap := st.Snapshot
	ref, res, err := writeDemoPlan(dir, snap, demoMapping())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ kshift snapshot && kshift plan   # read the cluster, plan its migration\n")
	printPlanned(out, res, dir)

	// kshift apply --all.
	e, pr := demoExecutor(c, clients, dir, speed)
	fmt.Fprintf(out, "\n$ kshift apply %s --all --auto-continue\n", ref.Path)
	// Every step but retire-sources, which needs the operator (below).
	var retire *plans.Step
	for _, s := range ref.Plan.Steps {
		if s.Phase == plans.PhaseRetireSources {
			retire = &s
			break
		}
		if err := demoApply(ctx, out, e, ref, &s, pr, d.Clock()); err != nil {
			return err
		}
	}

	// kshift status.
	fmt.Fprintf(out, "\n$ kshift status %s\n", ref.Path)
	status, err := e.Status(ctx, ref)
	if err != nil {
		return execErr(err)
	}
	p := &printer{w: out, format: formatTable}
	if err := p.print(status, func() []table { return statusTables(ref, status, e.CoverageSummary(status.Coverage, ref)) }); err != nil {
		return err
	}

	// kshift rollback --step N, and apply it again: the last step that
	// moved replicas.
	last := &ref.Plan.Steps[len(ref.Plan.Steps)-1]
	if retire != nil {
		last = &ref.Plan.Steps[retire.Number-2]
	}
	fmt.Fprintf(out, "\n$ kshift rollback %s --step %d   # undo the last step (%s): the source replicas come back\n", ref.Path, last.Number, last.Phase)
	start := d.Clock().Now()
	rb, err := e.Rollback(ctx, ref, last.Number, false)
	pr.finish()
	if rb != nil {
		printStepResult(out, rb, err)
		fmt.Fprintf(out, "  (%s of the simulator's time)\n", d.Clock().Now().Sub(start).Round(time.Second))
	}
	if err != nil {
		return execErr(err)
	}
	fmt.Fprintf(out, "\n$ kshift apply %s --step %d   # and forward again\n", ref.Path, last.Number)
	if err := demoApply(ctx, out, e, ref, last, pr, d.Clock()); err != nil {
		return err
	}

	if retire != nil {
		if err := demoRetire(ctx, out, e, ref, retire, pr, d); err != nil {
			return err
		}
	}

	// The final assignment, read over the Kafka protocol, and its check.
	final, err := inspect.Read(ctx, kafkaAPI(clients), inspect.ReadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nFinal assignment:")
	if err := renderTable(out, assignmentTable(final.Snapshot)); err != nil {
		return err
	}
	if err := verifyDemo(ref.Plan, final.Snapshot, d); err != nil {
		return fmt.Errorf("demo: the final state is wrong (a kshift bug: please report it with %s): %w", dir, err)
	}
	fmt.Fprintf(out, "\nVerified: every partition is on target brokers %v at its target replication factor, fully in sync; no throttle left.\n", demoTargets)
	fmt.Fprintf(out, "Files: %s (%s, %s, %s, %s, %s, %s).\n", dir, demoSnapshotFile, demoMappingFile, planFileName, rollbackFileName, summaryFileName, demoAuditFile)
	fmt.Fprintf(out, "Next: kshift plan --snapshot examples/six-brokers/snapshot.yaml --mapping examples/six-brokers/mapping.yaml --out /tmp/six-brokers-plan\n")
	return nil
}

// startDemoCluster starts the simulator with the demo's brokers and topics.
func startDemoCluster(ctx context.Context, speed float64) (*kafkasim.Cluster, error) {
	cfg := kafkasim.Config{ClusterID: "kshift-demo", Version: kafkasim.V2_4, Controller: demoSources[0],
		Clock: kafkasim.NewScaledClock(time.Now(), speed)}
	for i, id := range slices.Concat(demoSources, demoTargets) {
		cfg.Brokers = append(cfg.Brokers, kafkasim.BrokerConfig{ID: id, Rack: fmt.Sprintf("r%d", i%3+1)})
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := kafkasim.Start(sctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, t := range demoTopics {
		var assign [][]int32
		for p := 0; p < t.partitions; p++ {
			var rs []int32
			for r := 0; r < t.rf; r++ {
				rs = append(rs, demoSources[(p+r)%len(demoSources)])
			}
			assign = append(assign, rs)
		}
		if err := d.CreateTopic(t.name, assign, t.configs); err != nil {
			d.Close()
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return d, nil
}

// produceDemoRecords writes records into every partition over the Kafka
// protocol, then gives each partition its history's size (the simulator keeps
// sizes, not bytes).
func produceDemoRecords(ctx context.Context, cl *kgo.Client, d *kafkasim.Cluster) error {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for _, t := range demoTopics {
		for p := 0; p < t.partitions; p++ {
			for i := 0; i < demoRecords; i++ {
				recs = append(recs, &kgo.Record{Topic: t.name, Partition: int32(p), Value: []byte(fmt.Sprintf("%s-%d record %d", t.name, p, i))})
			}
		}
	}
	if err := cl.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("demo: produce records: %w", err)
	}
	for _, t := range demoTopics {
		for p := 0; p < t.partitions; p++ {
			// Skew the sizes a little, as real partitions are.
			if err := d.SetPartitionSize(t.name, int32(p), t.size+int64(p)*t.size/8); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
	}
	return nil
}

// demoMapping maps each source broker onto the target in its rack, in steps
// of at most 6 partitions, at 50 MiB/s.
func demoMapping() *plans.Mapping {
	m := &plans.Mapping{Version: plans.FormatVersion, SourceBrokers: demoSources, TargetBrokers: demoTargets,
		BrokerMap: map[int32]int32{}, Limits: plans.DefaultLimits, Throttle: plans.DefaultThrottle,
		InternalTopics: plans.InternalTopicsFirst, Strategy: plans.StrategyPhased, Canaries: []string{"clicks"}}
	for i, s := range demoSources {
		m.BrokerMap[s] = demoTargets[i]
	}
	m.Limits.PartitionsPerStep = 6
	return m
}

// writeDemoPlan plans the migration and writes the snapshot, the mapping
// and the plan directory's files into dir.
func writeDemoPlan(dir string, snap *plans.Snapshot, m *plans.Mapping) (executor.PlanRef, *planner.Result, error) {
	snapYAML, err := plans.Marshal(snap)
	if err != nil {
		return executor.PlanRef{}, nil, fmt.Errorf("encode the snapshot: %w", err)
	}
	mapYAML, err := plans.Marshal(m)
	if err != nil {
		return executor.PlanRef{}, nil, fmt.Errorf("encode the mapping: %w", err)
	}
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m,
		SnapshotSHA256: plans.SHA256Hex(snapYAML), MappingSHA256: plans.SHA256Hex(mapYAML)})
	if err != nil {
		return executor.PlanRef{}, nil, err
	}
	if err := plans.CheckInvariants(res.Plan, snap, plans.CheckOptionsFor(m)); err != nil {
		return executor.PlanRef{}, nil, fmt.Errorf("demo: the plan breaks its invariants (a kshift bug): %w", err)
	}
	files := append(planDirFiles(res), outdir.File{Name: demoSnapshotFile, Data: snapYAML}, outdir.File{Name: demoMappingFile, Data: mapYAML})
	if err := outdir.Write(dir, files); err != nil {
		if errors.Is(err, outdir.ErrRefused) {
			return executor.PlanRef{}, nil, badInput(fmt.Errorf("--dir: %w (give an absent or empty directory)", err))
		}
		return executor.PlanRef{}, nil, err
	}
	// Apply what was written, exactly as kshift apply would read it.
	path := filepath.Join(dir, planFileName)
	p, sum, err := plans.LoadFile[plans.Plan](path)
	if err != nil {
		return executor.PlanRef{}, nil, err
	}
	return executor.PlanRef{Plan: p, Path: path, SHA256: sum}, res, nil
}

// demoExecutor is the executor apply would build for the simulator, with its
// waits scaled to the simulator's clock.
func demoExecutor(c *cli.Context, clients *kafkaconn.Clients, dir string, speed float64) (*executor.Executor, *progressPrinter) {
	d := executor.DefaultOptions()
	scaled := func(x time.Duration) time.Duration { return max(time.Duration(float64(x)/speed), time.Millisecond) }
	pr := newProgressPrinter(c.App.ErrWriter)
	pr.interval = time.Second
	o := executor.Options{
		PollInterval: scaled(d.PollInterval),
		ElectionWait: scaled(d.ElectionWait),
		StallAfter:   scaled(d.StallAfter),
		Audit:        executor.OpenAudit(filepath.Join(dir, demoAuditFile)),
		Progress:     pr.update,
		Command:      "apply",
		// The demo's cluster lives in this process, and so does kshift's
		// own state (lock, throttle records, audit trail).
		Store: state.NewMemory(),
	}
	return executor.New(clients.Kafka, o), pr
}

// demoApply applies one step and prints what apply prints.
func demoApply(ctx context.Context, out io.Writer, e *executor.Executor, ref executor.PlanRef, s *plans.Step, pr *progressPrinter, clock *kafkasim.Clock) error {
	fmt.Fprintf(out, "step %d (%s): %d partitions, %s to copy, about %s at %s\n", s.Number, s.Phase, len(s.Partitions), s.Estimate.BytesToCopy, s.Estimate.Duration, ref.Plan.Throttle)
	start := clock.Now()
	res, err := e.Apply(ctx, ref, s.Number)
	pr.finish()
	if res != nil {
		printStepResult(out, res, err)
		fmt.Fprintf(out, "  (%s of the simulator's time)\n", clock.Now().Sub(start).Round(time.Second))
	}
	return execErr(err)
}

// demoRetire applies the retire-sources step, stops the source brokers in
// the order it prints, as the operator would, and applies it again to
// check that they left.
func demoRetire(ctx context.Context, out io.Writer, e *executor.Executor, ref executor.PlanRef, s *plans.Step, pr *progressPrinter, d *kafkasim.Cluster) error {
	fmt.Fprintf(out, "\n$ kshift apply %s --step %d   # retire the sources: checks, controller, checklist\n", ref.Path, s.Number)
	res, err := e.Apply(ctx, ref, s.Number)
	pr.finish()
	if res != nil {
		printStepResult(out, res, err)
	}
	if err != nil {
		return execErr(err)
	}
	order := res.Retire.StopOrder
	fmt.Fprintf(out, "\n# the operator stops source brokers %v in that order\n", order)
	for _, id := range order {
		if err := d.StopBroker(id); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\n$ kshift apply %s --step %d   # check that they left\n", ref.Path, s.Number)
	return demoApply(ctx, out, e, ref, s, pr, d.Clock())
}

// assignmentTable lists every partition's replicas, leader and ISR.
func assignmentTable(s *plans.Snapshot) table {
	t := table{header: []string{"topic", "partition", "replicas", "leader", "isr"}}
	for _, tp := range s.Topics {
		for _, p := range tp.Partitions {
			t.rows = append(t.rows, []string{tp.Name, fmt.Sprint(p.ID), fmt.Sprint(p.Replicas), fmt.Sprint(p.Leader), fmt.Sprint(p.ISR)})
		}
	}
	return t
}

// verifyDemo checks the final state: every partition of the plan at its
// last `to` (target brokers only, the target RF), in sync, led by a target;
// no topic the plan does not know; no throttle config on any topic or broker.
func verifyDemo(p *plans.Plan, s *plans.Snapshot, d *kafkasim.Cluster) error {
	final := map[string][]int32{}
	for _, st := range p.Steps {
		for _, m := range st.Partitions {
			final[m.Name()] = m.To
		}
	}
	var errs []error
	seen := 0
	for _, t := range s.Topics {
		for _, sp := range t.Partitions {
			name := fmt.Sprintf("%s-%d", t.Name, sp.ID)
			want, ok := final[name]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: not in the plan", name))
				continue
			}
			seen++
			isr := slices.Clone(sp.ISR)
			slices.Sort(isr)
			sorted := slices.Clone(want)
			slices.Sort(sorted)
			switch {
			case !slices.Equal(sp.Replicas, want):
				errs = append(errs, fmt.Errorf("%s: replicas %v, want %v", name, sp.Replicas, want))
			case !slices.Equal(isr, sorted):
				errs = append(errs, fmt.Errorf("%s: isr %v, want all of %v", name, sp.ISR, want))
			case !slices.Contains(demoTargets, sp.Leader):
				errs = append(errs, fmt.Errorf("%s: leader %d is not a target broker", name, sp.Leader))
			}
			for _, r := range sp.Replicas {
				if !slices.Contains(demoTargets, r) {
					errs = append(errs, fmt.Errorf("%s: replica on broker %d, not a target", name, r))
				}
			}
		}
		cfg, _ := d.TopicConfigs(t.Name)
		for _, k := range []string{kafkasim.LeaderThrottledKey, kafkasim.FollowerThrottledKey} {
			if v, ok := cfg[k]; ok {
				errs = append(errs, fmt.Errorf("topic %s: throttle %s=%q left", t.Name, k, v))
			}
		}
	}
	if seen != len(final) {
		errs = append(errs, fmt.Errorf("%d partitions of the plan found, want %d", seen, len(final)))
	}
	for _, b := range slices.Concat(demoSources, demoTargets) {
		if r := d.BrokerRates(b); len(r) > 0 {
			errs = append(errs, fmt.Errorf("broker %d: throttle rates %v left", b, r))
		}
	}
	return errors.Join(errs...)
}
