package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/urfave/cli/v2"
)

// Flags shared by the commands that change a cluster (apply, rollback, cancel, throttle).
const (
	flagAuditLog           = "audit-log"
	flagBreakLock          = "break-lock"
	flagDryRun             = "dry-run"
	flagAcceptUnknownRates = "accept-unknown-rates"
	flagPollInterval       = "poll-interval"
	flagSkipHealthCheck    = "skip-health-check"
)

func executorFlags() []cli.Flag {
	return []cli.Flag{
		&cli.PathFlag{Name: flagAuditLog, Usage: "JSON-lines audit log to append to (default: kshift-audit.jsonl beside the plan); it also records the throttles kshift set, keep it where every operator's kshift finds it"},
		&cli.BoolFlag{Name: flagBreakLock, Usage: "take over the cluster's operator lock from a kshift that is gone (check the holder first)"},
		&cli.BoolFlag{Name: flagDryRun, Usage: "read the cluster and run the gates, print every change it would make, change nothing; over several steps, each is checked against what the dry-run steps before it would leave"},
		&cli.BoolFlag{Name: flagAcceptUnknownRates, Usage: "overwrite throttle rates the brokers hide (Kafka 2.4 without --zookeeper); they are deleted at the end"},
		&cli.DurationFlag{Name: flagPollInterval, Value: 2 * time.Second, Usage: "how often progress is read"},
		&cli.BoolFlag{Name: flagSkipHealthCheck, Usage: "do not run the kshift check gates before a step (kshift's own safety gates still run)"},
	}
}

// loadPlan reads the plan named by the first argument and refuses (exit 3)
// one that breaks an invariant it can be checked for on its own
// (plans.CheckStandalone), naming every violation: nothing unchecked is
// executed.
func loadPlan(c *cli.Context) (executor.PlanRef, error) {
	if err := requireArgs(c, 1, "PLAN (a plan.yaml written by kshift plan)"); err != nil {
		return executor.PlanRef{}, err
	}
	path := c.Args().First()
	p, sum, err := plans.LoadFile[plans.Plan](path)
	if err != nil {
		return executor.PlanRef{}, err
	}
	if err := plans.CheckStandalone(p); err != nil {
		return executor.PlanRef{}, refused(fmt.Errorf("%s breaks the plan invariants, so kshift runs none of it (kshift plan validate %s lists the same; plan again rather than edit a plan by hand):\n%w", path, path, err))
	}
	return executor.PlanRef{Plan: p, Path: path, SHA256: sum}, nil
}

// session is a connected executor and what must be closed after it.
type session struct {
	exec    *executor.Executor
	clients *kafkaconn.Clients
	zk      *kafkaconn.ZooKeeper
	audit   *executor.Audit
}

func (s *session) close() {
	if s.zk != nil {
		s.zk.Close()
	}
	s.clients.Close()
}

// openSession connects to the cluster and builds the executor with the
// shared flags applied to o. planPath places the default audit log.
func openSession(c *cli.Context, planPath, command string, o executor.Options) (*session, error) {
	clients, err := connect(c)
	if err != nil {
		return nil, err
	}
	s := &session{clients: clients}
	if s.zk, err = connectZooKeeper(c, clients); err != nil {
		clients.Close()
		return nil, err
	}
	if s.zk != nil {
		o.ZooKeeper, o.ZooKeeperChroot = s.zk.Conn, s.zk.Chroot
	}
	auditPath := c.Path(flagAuditLog)
	if auditPath == "" {
		dir := "."
		if planPath != "" {
			dir = filepath.Dir(planPath)
		}
		auditPath = filepath.Join(dir, "kshift-audit.jsonl")
	}
	s.audit = executor.OpenAudit(auditPath)
	o.Audit = s.audit
	o.Command = command
	o.BreakLock = c.Bool(flagBreakLock)
	o.DryRun = c.Bool(flagDryRun)
	o.DryRunOut = c.App.Writer
	o.AcceptUnknownRates = c.Bool(flagAcceptUnknownRates)
	o.PollInterval = c.Duration(flagPollInterval)
	if rt := clients.Options.RequestTimeout; rt > 0 {
		o.CallTimeout = rt
	}
	o.Log = slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.ZooKeeperSteps = zkSteps{auth: zkAuth(clients), out: c.App.ErrWriter}
	if !c.Bool(flagSkipHealthCheck) {
		o.Gates = healthGates(clients)
	}
	s.exec = executor.New(clients.Kafka, o)
	return s, nil
}

// zkSteps runs the plan's zk-* steps with zkops, dialling the ensemble each
// step names.
type zkSteps struct {
	auth *zkops.Auth
	out  io.Writer
}

var _ executor.ZooKeeperSteps = zkSteps{}

func zkAuth(clients *kafkaconn.Clients) *zkops.Auth {
	user, pass, ok := strings.Cut(clients.Options.ZooKeeper.Digest, ":")
	if !ok {
		return nil
	}
	return &zkops.Auth{User: user, Password: pass}
}

func (z zkSteps) with(ctx context.Context, s *plans.Step, fn func(zkops.ZKConn) error) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := zkops.Dial(cctx, s.ZooKeeper.Connect, z.auth)
	if err != nil {
		return err
	}
	defer conn.Close()
	return fn(conn)
}

func (z zkSteps) State(ctx context.Context, s *plans.Step) (executor.StepState, string, error) {
	var state zkops.State
	var detail string
	err := z.with(ctx, s, func(conn zkops.ZKConn) error {
		var err error
		state, detail, err = zkops.StepStatus(ctx, conn, s)
		return err
	})
	if err != nil {
		return executor.StepUnknown, "", err
	}
	switch state {
	case zkops.StateDone:
		return executor.StepDone, detail, nil
	case zkops.StatePending:
		return executor.StepPending, detail, nil
	case zkops.StatePartial:
		return executor.StepPartial, detail, nil
	default:
		return executor.StepDrifted, detail, nil
	}
}

func (z zkSteps) Apply(ctx context.Context, s *plans.Step) error {
	return z.with(ctx, s, func(conn zkops.ZKConn) error { return zkops.ApplyStep(ctx, conn, s, z.out) })
}

func (z zkSteps) Undo(ctx context.Context, s *plans.Step) error {
	return z.with(ctx, s, func(conn zkops.ZKConn) error { return zkops.UndoStep(ctx, conn, s, z.out) })
}

// healthGates runs the `kshift check` gates for a step's brokers and
// partitions. The throttles gate is left out: the executor records foreign
// throttles and leaves them exactly as they were, so they need not stop a
// step. A failing check is read again for a while before it refuses: one
// read can catch a move completing between its Metadata and reassignment
// reads, and the ISR trails the truth (docs/kafka-behaviour.md 21).
func healthGates(clients *kafkaconn.Clients) func(context.Context, *plans.Plan, *plans.Step) error {
	return func(ctx context.Context, p *plans.Plan, s *plans.Step) error {
		deadline := time.Now().Add(healthSettle)
		for {
			err := healthCheck(ctx, clients, p, s)
			if err == nil || time.Now().After(deadline) {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

// healthSettle is how long a failing health check is retried.
const healthSettle = 10 * time.Second

func healthCheck(ctx context.Context, clients *kafkaconn.Clients, p *plans.Plan, s *plans.Step) error {
	rep, err := inspect.Check(ctx, clients, inspect.CheckScope{Plan: p, Step: s.Number, OwnMoves: s.Partitions, AllowOwnThrottles: true})
	if err != nil {
		return err
	}
	var failed []string
	for _, g := range rep.Gates {
		if g.Status == inspect.StatusFail && g.Gate != inspect.GateThrottles {
			msg := string(g.Gate) + ": " + g.Summary
			for i, f := range g.Findings {
				if i == 5 {
					msg += fmt.Sprintf("; and %d more", len(g.Findings)-5)
					break
				}
				msg += fmt.Sprintf("; %s: %s", f.Subject, f.Detail)
			}
			failed = append(failed, msg)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("step %d: kshift check failed (see kshift check for details, or --skip-health-check): %s", s.Number, strings.Join(failed, " | "))
	}
	return nil
}

// execErr maps executor errors to kshift's exit codes: a safety refusal by
// the executor (gates, drift, lock, a throttle rate it cannot read) or by a
// zkops guard exits 3.
func execErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, executor.ErrRefused), errors.Is(err, executor.ErrUnknownRate), errors.Is(err, zkops.ErrRefused):
		return refused(err)
	}
	return err
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
instead.`,
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
	if err := checkAuditLog(c, ref.Path); err != nil {
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
	s, err := openSession(c, ref.Path, "apply", o)
	if err != nil {
		return err
	}
	defer s.close()
	in := bufio.NewReader(c.App.Reader)
	for i, n := range steps {
		st := p.Step(n)
		if i > 0 && !c.Bool("auto-continue") && !c.Bool(flagDryRun) {
			goOn, err := confirmStep(c, s.exec, ref, st, in)
			if err != nil || !goOn {
				return err
			}
		}
		fmt.Fprintf(c.App.Writer, "step %d (%s): %d partitions, %s to copy\n", n, st.Phase, len(st.Partitions), st.Estimate.BytesToCopy)
		res, err := s.exec.Apply(c.Context, ref, n)
		pr.finish()
		if res != nil {
			printStepResult(c.App.Writer, res, err)
		}
		if err != nil {
			return execErr(err)
		}
	}
	return nil
}

// confirmStep asks whether to go on with step st, unless it is done
// already: only a step that will change something is asked about.
func confirmStep(c *cli.Context, e *executor.Executor, ref executor.PlanRef, st *plans.Step, in *bufio.Reader) (bool, error) {
	done, err := e.StepDone(c.Context, ref, st.Number)
	if err != nil || done {
		return err == nil, execErr(err)
	}
	fmt.Fprintf(c.App.Writer, "next: step %d (%s, %d partitions, about %s). Continue? [y/N] ", st.Number, st.Phase, len(st.Partitions), st.Estimate.Duration)
	line, _ := in.ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		fmt.Fprintf(c.App.Writer, "stopped before step %d; continue with: kshift apply %s --step %d\n", st.Number, ref.Path, st.Number)
		return false, nil
	}
	return true, nil
}

// printStepResult prints what a step did. A step that failed or was
// refused before submitting anything prints only its warnings: the error
// says the rest.
// leftoversNote says that a run which found its step done cleared the
// throttles an earlier run had left.
func leftoversNote(res *executor.StepResult) string {
	if !res.ClearedLeftovers {
		return ""
	}
	return "; cleared the throttles an earlier run left (those of moves still in flight stay)"
}

func printStepResult(w io.Writer, res *executor.StepResult, err error) {
	label := plans.StepLabel(res.Step, res.Undoes)
	sent := res.Submitted > 0 || res.Elected > 0
	switch {
	case res.AlreadyDone:
		fmt.Fprintf(w, "%s (%s): already done, nothing changed%s\n", label, res.Phase, leftoversNote(res))
	case err != nil && !sent:
	case res.DryRun && res.Phase.IsZooKeeper():
		fmt.Fprintf(w, "%s (%s): dry run, nothing changed\n", label, res.Phase)
	case res.DryRun:
		fmt.Fprintf(w, "%s (%s): dry run, would submit %d partitions; nothing changed\n", label, res.Phase, res.WouldSubmit)
	case res.Phase.IsZooKeeper():
		fmt.Fprintf(w, "%s (%s): done, %s\n", label, res.Phase, res.Duration.Round(time.Millisecond))
	case !sent:
		fmt.Fprintf(w, "%s (%s): done, finishing the moves an earlier run left in flight (none submitted), %s, %d Kafka calls\n",
			label, res.Phase, res.Duration.Round(time.Millisecond), res.Calls)
	default:
		fmt.Fprintf(w, "%s (%s): %d partitions submitted, %d leaders elected, %s, %d Kafka calls\n",
			label, res.Phase, res.Submitted, res.Elected, res.Duration.Round(time.Millisecond), res.Calls)
	}
	printWarnings(w, res)
}

// printWarnings prints what a step's run says the operator must know.
func printWarnings(w io.Writer, res *executor.StepResult) {
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
	if pr.ETA > 0 {
		line += fmt.Sprintf(" at %s/s, eta %s", plans.ByteSize(pr.Rate), pr.ETA.Round(time.Second))
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

// stepMetrics are the Prometheus gauges of --metrics-addr.
type stepMetrics struct {
	step, partitions, done, bytesTotal, bytesCopied, stalled, eta prometheus.Gauge
	// replicaCopied and replicaSize are per adding replica of the partitions
	// in flight (labels topic, partition, broker).
	replicaCopied, replicaSize *prometheus.GaugeVec
}

func (m *stepMetrics) update(p executor.Progress) {
	m.step.Set(float64(p.Step))
	m.partitions.Set(float64(p.Partitions))
	m.done.Set(float64(p.Done))
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
	perReplica := func(name, help string) *prometheus.GaugeVec {
		x := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "kshift", Subsystem: "adding_replica", Name: name, Help: help}, []string{"topic", "partition", "broker"})
		reg.MustRegister(x)
		return x
	}
	m = &stepMetrics{
		step:          g("number", "Number of the plan step being applied."),
		partitions:    g("partitions", "Partitions in the step."),
		done:          g("partitions_done", "Partitions of the step at their target replicas."),
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
