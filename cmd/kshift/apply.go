package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/plans"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/urfave/cli/v2"
)

// loadPlan reads the plan named by the first argument, with its hash for
// the audit trail and the lock, and refuses (exit 3) one that breaks an
// invariant it can be checked for on its own (plans.CheckStandalone),
// naming every violation: nothing unchecked is executed.
func loadPlan(c *cli.Context) (executor.PlanRef, error) {
	return readPlanArg(c, true)
}

// readPlanArg is loadPlan; without hashed, the plan's hash is not computed
// (PlanRef.SHA256 is empty): a command that writes no audit record and
// takes no lock has no use for it, and on a 73 MB plan it costs encoding
// the plan again.
func readPlanArg(c *cli.Context, hashed bool) (executor.PlanRef, error) {
	if err := requireArgs(c, 1, "PLAN (a plan.yaml written by kshift plan)"); err != nil {
		return executor.PlanRef{}, err
	}
	path := c.Args().First()
	var p *plans.Plan
	var sum string
	var err error
	if hashed {
		p, sum, err = plans.LoadFile[plans.Plan](path)
	} else {
		p, err = plans.ReadFile[plans.Plan](path)
	}
	if err != nil {
		return executor.PlanRef{}, err
	}
	if err := plans.CheckStandalone(p); err != nil {
		return executor.PlanRef{}, refused(fmt.Errorf("%s breaks the plan invariants, so kshift runs none of it (kshift plan validate %s lists the same; plan again rather than edit a plan by hand):\n%w", path, path, err))
	}
	return executor.PlanRef{Plan: p, Path: path, SHA256: sum}, nil
}

func newApplyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "apply plan steps to the live cluster: gates, lock, throttles, reassignment, verification",
		ArgsUsage: "PLAN",
		Description: `Applies step N of PLAN (--step N), steps 1..N not yet done (--through N) or every step
(--all), asking before each step that will change something unless --auto-continue. Each
step is checked against the live cluster first (cluster id, drift, foreign reassignments,
brokers alive, partitions in sync, min.insync.replicas, previous step done) and refused
with the reasons otherwise. A step already done is a no-op; a step left in flight by an
interrupted run is resumed. Ctrl-C leaves the reassignment to finish in Kafka under its
throttles and prints how to resume (exit 4); with --cancel-on-interrupt it reverts the step
instead.

The retire-sources step (the plan's last Kafka step) changes no replica: it checks that the
source brokers hold nothing (no replica, leader or coordinator, nothing the plan does not
cover, nothing moving, everything in sync), moves the controller off them (by deleting
/controller in ZooKeeper, re-elected until a target wins), and prints the target bootstrap
list, a checklist of what still names the sources, and the order to stop them in. It is done
once every source broker has left and nothing went offline or under-replicated: it waits
--wait-for-sources for that, and a later run checks again. --all stops there while the
operator stops the sources (exit 0).`,
		Flags: append(append([]cli.Flag{
			&cli.IntFlag{Name: "step", Usage: "apply step `N`", DefaultText: "none"},
			&cli.IntFlag{Name: "through", Usage: "apply steps 1 to `N` (those not done yet), asking before each one that will change something unless --auto-continue", DefaultText: "none"},
			&cli.BoolFlag{Name: "all", Usage: "apply every step (those not done yet), asking before each one that will change something unless --auto-continue"},
			&cli.BoolFlag{Name: "auto-continue", Usage: "with --through or --all, do not ask before each step"},
			&cli.BoolFlag{Name: "force-order", Usage: "apply a step although the step before it is not done"},
			&cli.BoolFlag{Name: "cancel-on-interrupt", Usage: "on Ctrl-C or SIGTERM, cancel the step in flight and restore its from state"},
			&cli.StringFlag{Name: "throttle", Usage: "replication `RATE` per broker (e.g. 50MiB/s), overriding the plan's rate and each step's own", DefaultText: "each step's rate, else the plan's"},
			&cli.IntFlag{Name: "election-batch", Value: executor.DefaultOptions().ElectionBatch, Usage: "partitions per preferred-leader election (move-leader steps)"},
			&cli.DurationFlag{Name: "election-wait", Value: executor.DefaultOptions().ElectionWait, Usage: "pause between election batches"},
			&cli.IntFlag{Name: "chunk-size", Value: executor.DefaultOptions().ChunkSize, Usage: "partitions per reassignment request"},
			&cli.DurationFlag{Name: "stall-after", Value: executor.DefaultOptions().StallAfter, Usage: "report a stall after this long without progress"},
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve Prometheus metrics of the step's progress on this `host:port` (/metrics)"},
			waitForSourcesFlag("stop"),
			&cli.DurationFlag{Name: "progress-interval", Value: defaultProgressInterval, Usage: "how often a progress line is written when stderr is not a terminal (0: at every poll)"},
		}, executorFlags()...), clusterFlags()...),
		Action: flagsAfterArgs(runApply),
	}
}

func runApply(c *cli.Context) error {
	ref, err := loadPlan(c)
	if err != nil {
		return err
	}
	p := ref.Plan
	set := 0
	for _, f := range []string{"step", "through", "all"} {
		if c.IsSet(f) {
			set++
		}
	}
	if set != 1 {
		return usageError{"apply: give exactly one of --step N, --through N, --all"}
	}
	var steps []int
	switch {
	case c.IsSet("step"):
		steps = []int{c.Int("step")}
	case c.IsSet("through"):
		for n := 1; n <= c.Int("through"); n++ {
			steps = append(steps, n)
		}
	default:
		for n := 1; n <= len(p.Steps); n++ {
			steps = append(steps, n)
		}
	}
	for _, n := range steps {
		if p.Step(n) == nil {
			return badInput(fmt.Errorf("%s has no step %d (it has %d)", ref.Path, n, len(p.Steps)))
		}
	}
	// Every step after the first is asked about: refuse before anything
	// changes when nobody can answer.
	if len(steps) > 1 && !c.Bool("auto-continue") && !c.Bool(flagDryRun) && !isTerminal(c.App.Reader) {
		return usageError{"apply: --through and --all ask before each step, and standard input is not a terminal: give --auto-continue to run the steps unattended, or apply one --step N at a time"}
	}
	o := executor.Options{
		ForceOrder:        c.Bool("force-order"),
		CancelOnInterrupt: c.Bool("cancel-on-interrupt"),
		ElectionBatch:     c.Int("election-batch"),
		ElectionWait:      c.Duration("election-wait"),
		ChunkSize:         c.Int("chunk-size"),
		StallAfter:        c.Duration("stall-after"),
		RetireWait:        c.Duration(flagWaitForSources),
	}
	if c.IsSet("throttle") {
		r, err := plans.ParseRate(c.String("throttle"))
		if err != nil || r <= 0 {
			return usageError{fmt.Sprintf("--throttle %q: want a positive rate like 50MiB/s", c.String("throttle"))}
		}
		o.Throttle = r
	}
	pr := newProgressPrinter(c.App.ErrWriter)
	pr.interval = c.Duration("progress-interval")
	o.Progress = pr.update
	var metrics *stepMetrics
	if addr := c.String("metrics-addr"); addr != "" {
		m, _, stop, err := serveMetrics(addr)
		if err != nil {
			return badInput(err)
		}
		defer stop()
		metrics = m
		o.Progress = func(p executor.Progress) { pr.update(p); metrics.update(p) }
	}
	s, err := openSession(c, ref.Path, "apply", !c.Bool(flagDryRun), o)
	if err != nil {
		return err
	}
	defer s.close()
	// Every apply compares the cluster's partitions with the plan's first:
	// partitions created since the snapshot are never left behind unseen.
	cov, err := s.exec.Coverage(c.Context, ref)
	if err != nil {
		return execErr(err)
	}
	if msg := s.exec.CoverageSummary(cov, ref); msg != "" {
		fmt.Fprintln(c.App.Writer, "warning: "+msg)
	}
	in := bufio.NewReader(c.App.Reader)
	for i, n := range steps {
		st := p.Step(n)
		if i > 0 && !c.Bool("auto-continue") && !c.Bool(flagDryRun) {
			goOn, err := confirmStep(c, s.exec, ref, st, in)
			if err != nil || !goOn {
				return err
			}
		}
		if st.Retire != nil {
			fmt.Fprintf(c.App.Writer, "step %d (%s): %s\n", n, st.Phase, st.Retire.Summary())
		} else {
			fmt.Fprintf(c.App.Writer, "step %d (%s): %d partitions, %s to copy\n", n, st.Phase, len(st.Partitions), st.Estimate.BytesToCopy)
		}
		res, err := s.exec.Apply(c.Context, ref, n)
		pr.finish()
		if res != nil {
			printStepResult(c.App.Writer, res, err)
		}
		if err != nil {
			return execErr(err)
		}
		if res != nil && res.Retire != nil && res.Retire.Waiting {
			if i < len(steps)-1 {
				fmt.Fprintf(c.App.Writer, "stopped at step %d: the steps after it need the source brokers gone; once they are, run: kshift apply %s --step %d (it checks they left), then the later steps\n", n, ref.Path, n)
			}
			return nil
		}
	}
	if steps[len(steps)-1] == len(p.Steps) && !c.Bool(flagDryRun) {
		return printMigrationEnd(c, s.exec, ref)
	}
	return nil
}

// printMigrationEnd says, after a run that applied the plan's last step,
// whether the migration is finished: it is not while a step is not done or
// a partition still has a replica on a source broker.
func printMigrationEnd(c *cli.Context, e *executor.Executor, ref executor.PlanRef) error {
	st, err := e.Status(c.Context, ref)
	if err != nil {
		return execErr(err)
	}
	if st.Coverage == nil {
		return nil
	}
	if st.Finished && !hasRetireStep(ref.Plan) {
		fmt.Fprintf(c.App.Writer, "plan finished: every step of %s is done and no partition has a replica on source brokers %v; %s\n", ref.Path, ref.Plan.SourceBrokers, noRetireStepAdvice)
		return nil
	}
	if st.Finished {
		fmt.Fprintf(c.App.Writer, "migration finished: every step of %s is done and no partition has a replica on source brokers %v\n", ref.Path, ref.Plan.SourceBrokers)
		return nil
	}
	msg := fmt.Sprintf("the migration is NOT finished: %d partition(s) still have a replica on source brokers %v (kshift status %s shows which steps are not done)", st.Coverage.OnSources, ref.Plan.SourceBrokers, ref.Path)
	if u := e.CoverageSummary(st.Coverage, ref); u != "" {
		msg += "; " + u
	}
	fmt.Fprintln(c.App.Writer, msg)
	return nil
}

// hasRetireStep says whether p ends its Kafka side by retiring the
// sources. A catch-up plan has no such step: the plan it catches up owns it.
func hasRetireStep(p *plans.Plan) bool {
	return slices.ContainsFunc(p.Steps, func(s plans.Step) bool { return s.Phase == plans.PhaseRetireSources })
}

// noRetireStepAdvice is what kshift says when a plan without a
// retire-sources step (a catch-up plan) is done: the sources still run.
const noRetireStepAdvice = "the sources are still running and this plan has no retire-sources step: the migration finishes with the retire-sources step of the plan it catches up (kshift apply FIRST-PLAN --step N)"

// flagWaitForSources is apply's and rollback's wait for the operator in a
// retire-sources step.
const flagWaitForSources = "wait-for-sources"

func waitForSourcesFlag(what string) cli.Flag {
	return &cli.DurationFlag{Name: flagWaitForSources, Usage: "in a retire-sources step, wait this long for the operator to " + what + " the source brokers (0: look once; a later run checks again)"}
}

// nextStepPrompt asks whether to go on with step st, saying how long it
// should take: its copy time and its fixed cost together.
func nextStepPrompt(st *plans.Step) string {
	return fmt.Sprintf("next: step %d (%s, %d partitions, %s). Continue? [y/N] ", st.Number, st.Phase, len(st.Partitions), aboutEstimate(st.Estimate))
}

// confirmStep asks whether to go on with step st, unless it is done
// already: only a step that will change something is asked about.
func confirmStep(c *cli.Context, e *executor.Executor, ref executor.PlanRef, st *plans.Step, in *bufio.Reader) (bool, error) {
	done, err := e.StepDone(c.Context, ref, st.Number)
	if err != nil || done {
		return err == nil, execErr(err)
	}
	fmt.Fprint(c.App.Writer, nextStepPrompt(st))
	line, _ := in.ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		fmt.Fprintf(c.App.Writer, "stopped before step %d; continue with: kshift apply %s --step %d\n", st.Number, ref.Path, st.Number)
		return false, nil
	}
	return true, nil
}

// leftoversNote says which throttles of earlier runs a run cleared.
func leftoversNote(res *executor.StepResult) string {
	if len(res.ClearedLeftovers) == 0 {
		return ""
	}
	return "; cleared the throttles earlier runs left: " + strings.Join(res.ClearedLeftovers, ", ") + " (those of moves still in flight stay)"
}

// printStepResult prints what a step did. A step that failed or was
// refused before submitting anything prints only its warnings: the error
// says the rest.
func printStepResult(w io.Writer, res *executor.StepResult, err error) {
	label := plans.StepLabel(res.Step, res.Undoes)
	sent := res.Submitted > 0 || res.Elected > 0
	rate := ""
	if res.Rate > 0 {
		rate = fmt.Sprintf(", throttled at %s per broker (%s)", res.Rate, res.RateFrom)
	}
	switch {
	case res.Retire != nil:
		printRetire(w, label, res, err)
	case res.AlreadyDone:
		fmt.Fprintf(w, "%s (%s): already done, nothing changed%s\n", label, res.Phase, leftoversNote(res))
	case err != nil && !sent:
	case res.DryRun && res.Phase.IsZooKeeper():
		fmt.Fprintf(w, "%s (%s): dry run, nothing changed\n", label, res.Phase)
	case res.DryRun:
		fmt.Fprintf(w, "%s (%s): dry run, would submit %d partitions%s; nothing changed\n", label, res.Phase, res.WouldSubmit, rate)
	case res.Phase.IsZooKeeper():
		fmt.Fprintf(w, "%s (%s): done, %s\n", label, res.Phase, res.Duration.Round(time.Millisecond))
	case !sent:
		fmt.Fprintf(w, "%s (%s): done, finishing the moves an earlier run left in flight (none submitted)%s, %s, %d Kafka calls%s\n",
			label, res.Phase, rate, res.Duration.Round(time.Millisecond), res.Calls, leftoversNote(res))
	default:
		fmt.Fprintf(w, "%s (%s): %d partitions submitted, %d leaders elected%s, %s, %d Kafka calls%s\n",
			label, res.Phase, res.Submitted, res.Elected, rate, res.Duration.Round(time.Millisecond), res.Calls, leftoversNote(res))
	}
	printWarnings(w, res)
}

// printWarnings prints what a step's run says the operator must know, and
// what it did besides the step (a lock broken, records moved).
func printWarnings(w io.Writer, res *executor.StepResult) {
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	for _, wn := range res.Warnings {
		fmt.Fprintln(w, "warning: "+wn)
	}
}

// progressPrinter renders progress: a bar redrawn in place on a terminal,
// a line every interval (and on every stall change) otherwise. Both name the
// least advanced adding replicas, so that a step of hundreds of partitions
// stays readable: one on the bar, progressLineReplicas on a line.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	last     time.Time
	stalled  bool
	drawn    bool
	interval time.Duration
}

// defaultProgressInterval is how often a progress line is written when
// stderr is not a terminal.
const defaultProgressInterval = 10 * time.Second

// progressLineReplicas is how many of the least advanced adding replicas a
// progress line names.
const progressLineReplicas = 3

func newProgressPrinter(w io.Writer) *progressPrinter {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressPrinter{w: w, tty: tty, interval: defaultProgressInterval}
}

func (p *progressPrinter) update(pr executor.Progress) {
	frac := 0.0
	if pr.BytesTotal > 0 {
		frac = float64(pr.BytesCopied) / float64(pr.BytesTotal)
	} else if pr.Partitions > 0 {
		frac = float64(pr.Done) / float64(pr.Partitions)
	}
	line := fmt.Sprintf("%s %s: %d/%d partitions done, %s of %s copied (%.0f%%)",
		plans.StepLabel(pr.Step, pr.Undoes), pr.Phase, pr.Done, pr.Partitions, plans.ByteSize(pr.BytesCopied), plans.ByteSize(pr.BytesTotal), frac*100)
	line += receivingNow(pr)
	if pr.ETA > 0 {
		line += fmt.Sprintf(", eta %s", pr.ETA.Round(time.Second))
	}
	if pr.Note != "" {
		line += ", " + pr.Note
	}
	if pr.Stalled {
		line += "; STALLED: " + pr.StallReason
	}
	if p.tty {
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r\033[K[%s%s] %s%s", strings.Repeat("#", n), strings.Repeat(".", width-n), line, leastAdvanced(pr.Replicas, 1))
		p.drawn = true
		return
	}
	if time.Since(p.last) >= p.interval || pr.Stalled != p.stalled {
		fmt.Fprintln(p.w, line+leastAdvanced(pr.Replicas, progressLineReplicas))
		p.last = time.Now()
	}
	p.stalled = pr.Stalled
}

// receivingNow says how fast the busiest receiving broker copies now,
// against the per-broker throttle: rates are per broker, so a cluster-wide
// sum would read as "above the throttle" when every broker is below it.
func receivingNow(pr executor.Progress) string {
	if pr.BytesTotal == 0 || pr.BytesCopied >= pr.BytesTotal {
		return ""
	}
	throttle := ""
	if pr.Throttle > 0 {
		throttle = fmt.Sprintf(" (throttle %s per broker)", pr.Throttle)
	}
	switch {
	case pr.Idle:
		return "; nothing copied since the last read" + throttle
	case pr.BusiestBroker < 0:
		return ""
	}
	return fmt.Sprintf("; busiest receiver now broker %d at %s/s%s", pr.BusiestBroker, plans.ByteSize(pr.BusiestRate), throttle)
}

// leastAdvanced names the first n replicas (the executor sorts them least
// advanced first) with their bytes copied and size, or "" when none copies.
func leastAdvanced(rs []executor.ReplicaProgress, n int) string {
	if len(rs) == 0 {
		return ""
	}
	parts := make([]string, 0, n)
	for _, r := range rs[:min(n, len(rs))] {
		pct := 100.0
		if r.Size > 0 {
			pct = 100 * float64(r.Copied) / float64(r.Size)
		}
		parts = append(parts, fmt.Sprintf("%s on broker %d %s/%s (%.0f%%)", r.Name(), r.Broker, plans.ByteSize(r.Copied), plans.ByteSize(r.Size), pct))
	}
	return fmt.Sprintf("; least advanced of %d adding replicas: %s", len(rs), strings.Join(parts, ", "))
}

func (p *progressPrinter) finish() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// stepMetrics are the Prometheus gauges of --metrics-addr
// (examples/grafana has a dashboard of them).
type stepMetrics struct {
	step, partitions, done, inFlight, bytesTotal, bytesCopied, stalled, eta prometheus.Gauge
	// copyRate is the step's copy rate so far, all brokers together;
	// throttle the per-broker rate in force.
	copyRate, throttle prometheus.Gauge
	// busiest is the rate of the broker receiving the most since the last
	// read (label broker), the figure to hold against throttle.
	busiest *prometheus.GaugeVec
	// replicaCopied and replicaSize are per adding replica of the partitions
	// in flight (labels topic, partition, broker).
	replicaCopied, replicaSize *prometheus.GaugeVec
}

func (m *stepMetrics) update(p executor.Progress) {
	m.step.Set(float64(p.Step))
	m.partitions.Set(float64(p.Partitions))
	m.done.Set(float64(p.Done))
	m.inFlight.Set(float64(p.InFlight))
	m.copyRate.Set(p.Rate)
	m.throttle.Set(float64(p.Throttle))
	// Only the busiest broker of the last read: the others go.
	m.busiest.Reset()
	if p.BusiestBroker >= 0 && !p.Idle {
		m.busiest.With(prometheus.Labels{"broker": strconv.Itoa(int(p.BusiestBroker))}).Set(p.BusiestRate)
	}
	m.bytesTotal.Set(float64(p.BytesTotal))
	m.bytesCopied.Set(float64(p.BytesCopied))
	m.eta.Set(p.ETA.Seconds())
	if p.Stalled {
		m.stalled.Set(1)
	} else {
		m.stalled.Set(0)
	}
	// Replicas that finished or belong to an earlier step go.
	m.replicaCopied.Reset()
	m.replicaSize.Reset()
	for _, r := range p.Replicas {
		labels := prometheus.Labels{"topic": r.Topic, "partition": strconv.Itoa(int(r.Partition)), "broker": strconv.Itoa(int(r.Broker))}
		m.replicaCopied.With(labels).Set(float64(r.Copied))
		m.replicaSize.With(labels).Set(float64(r.Size))
	}
}

// serveMetrics serves the gauges on addr until stop is called; bound is the
// address it listens on.
func serveMetrics(addr string) (m *stepMetrics, bound string, stop func(), err error) {
	reg := prometheus.NewRegistry()
	g := func(name, help string) prometheus.Gauge {
		x := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kshift", Subsystem: "step", Name: name, Help: help})
		reg.MustRegister(x)
		return x
	}
	vec := func(subsystem, name, help string, labels ...string) *prometheus.GaugeVec {
		x := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "kshift", Subsystem: subsystem, Name: name, Help: help}, labels)
		reg.MustRegister(x)
		return x
	}
	perReplica := func(name, help string) *prometheus.GaugeVec {
		return vec("adding_replica", name, help, "topic", "partition", "broker")
	}
	m = &stepMetrics{
		step:          g("number", "Number of the plan step being applied."),
		partitions:    g("partitions", "Partitions in the step."),
		done:          g("partitions_done", "Partitions of the step at their target replicas."),
		inFlight:      g("partitions_in_flight", "Partitions of the step moving now."),
		copyRate:      g("copy_rate_bytes_per_second", "The step's copy rate so far, all brokers together."),
		throttle:      g("throttle_bytes_per_second", "The replication throttle in force, per broker (0: none)."),
		busiest:       vec("step", "busiest_receiver_bytes_per_second", "Rate of the broker receiving the most since the last read (label broker): hold it against the per-broker throttle.", "broker"),
		bytesTotal:    g("bytes_to_copy", "Bytes the step's new replicas must copy."),
		bytesCopied:   g("bytes_copied", "Bytes the step's new replicas hold now."),
		stalled:       g("stalled", "1 while the step makes no progress."),
		eta:           g("eta_seconds", "Estimated seconds until the copy completes."),
		replicaCopied: perReplica("bytes_copied", "Bytes an adding replica of a partition in flight holds now."),
		replicaSize:   perReplica("leader_bytes", "Bytes an adding replica must hold: its leader's size."),
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return m, ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
