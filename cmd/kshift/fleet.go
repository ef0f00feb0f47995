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
	"sync"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/urfave/cli/v2"
)

// Flags of kshift status --fleet.
const (
	flagFleet          = "fleet"
	flagFleetParallel  = "parallel"
	flagClusterTimeout = "cluster-timeout"
)

// fleetProfileName and fleetPlanPath are where a cluster's directory of a
// migrations repository keeps its cluster profile and its plan.
const (
	fleetProfileName = "profile.yaml"
	fleetPlanPath    = "plan/plan.yaml"
)

func fleetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: flagFleet, Usage: "show every cluster of a migrations `DIR` (each <cluster>/ with profile.yaml and plan/plan.yaml; or one such directory) in one row each, instead of one PLAN; repeatable; --output markdown also works here"},
		&cli.IntFlag{Name: flagFleetParallel, Value: 8, Usage: "with --fleet, read at most this many clusters at once"},
		&cli.DurationFlag{Name: flagClusterTimeout, Value: 30 * time.Second, Usage: "with --fleet, give up on a cluster after this long: its row says so and the others are shown"},
	}
}

// fleetCluster is one cluster of a migrations repository: a directory
// holding its cluster profile and its plan.
type fleetCluster struct {
	Name, Dir string
}

func (f fleetCluster) plan() string    { return filepath.Join(f.Dir, fleetPlanPath) }
func (f fleetCluster) profile() string { return filepath.Join(f.Dir, fleetProfileName) }

// findFleet lists the clusters under dirs: a directory holding a plan or a
// profile is one cluster; otherwise each of its subdirectories holding
// either is one (others, like a ci/ folder, are skipped). A cluster missing
// one of the two still gets a row, which says so.
func findFleet(dirs []string) ([]fleetCluster, error) {
	isCluster := func(d string) bool {
		for _, f := range []string{fleetPlanPath, fleetProfileName} {
			if _, err := os.Stat(filepath.Join(d, f)); err == nil {
				return true
			}
		}
		return false
	}
	var out []fleetCluster
	for _, d := range dirs {
		if isCluster(d) {
			out = append(out, fleetCluster{Name: filepath.Base(filepath.Clean(d)), Dir: d})
			continue
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, badInput(fmt.Errorf("--fleet %s: %w", d, err))
		}
		found := false
		for _, e := range entries {
			if sub := filepath.Join(d, e.Name()); e.IsDir() && isCluster(sub) {
				out = append(out, fleetCluster{Name: e.Name(), Dir: sub})
				found = true
			}
		}
		if !found {
			return nil, badInput(fmt.Errorf("--fleet %s: no cluster directory in it: want %s/<cluster>/%s and %s/<cluster>/%s", d, d, fleetProfileName, d, fleetPlanPath))
		}
	}
	// Names must tell the rows apart: the same name twice shows the paths.
	seen := map[string]int{}
	for _, f := range out {
		seen[f.Name]++
	}
	for i := range out {
		if seen[out[i].Name] > 1 {
			out[i].Name = out[i].Dir
		}
	}
	return out, nil
}

// fleetRow is one cluster's migration as kshift status --fleet shows it.
type fleetRow struct {
	Cluster   string `json:"cluster" yaml:"cluster"`
	Plan      string `json:"plan" yaml:"plan"`
	ClusterID string `json:"cluster_id,omitempty" yaml:"cluster_id,omitempty"`
	// Steps counts the plan's steps; the others count them by state
	// (InFlight includes undos in flight; Unknown are ZooKeeper steps not read).
	Steps    int `json:"steps" yaml:"steps"`
	Done     int `json:"done" yaml:"done"`
	InFlight int `json:"in_flight" yaml:"in_flight"`
	Partial  int `json:"partial" yaml:"partial"`
	Pending  int `json:"pending" yaml:"pending"`
	Drifted  int `json:"drifted" yaml:"drifted"`
	Unknown  int `json:"unknown,omitempty" yaml:"unknown,omitempty"`
	// InFlightSteps are the numbers of the steps in flight.
	InFlightSteps []int `json:"in_flight_steps,omitempty" yaml:"in_flight_steps,omitempty"`
	// BytesCopied is what the plan has copied: its done steps' bytes (their
	// estimate) and what the steps in flight copied so far; BytesTotal is
	// what the whole plan copies.
	BytesCopied int64 `json:"bytes_copied" yaml:"bytes_copied"`
	BytesTotal  int64 `json:"bytes_total" yaml:"bytes_total"`
	// ETASeconds is how long the copy of the steps in flight should still
	// take at the throttle rate in force (0: none in flight, or nothing to copy).
	ETASeconds float64 `json:"eta_seconds,omitempty" yaml:"eta_seconds,omitempty"`
	// Lock is the operator lock's holder, when held.
	Lock *state.LockInfo `json:"lock,omitempty" yaml:"lock,omitempty"`
	// Throttles are the throttle records kshift has open; LeftoverThrottles
	// is set when some are open and nobody holds the lock: no kshift is
	// running to restore them (kshift cancel or the step's apply does).
	Throttles         []fleetThrottle `json:"throttles,omitempty" yaml:"throttles,omitempty"`
	LeftoverThrottles bool            `json:"leftover_throttles,omitempty" yaml:"leftover_throttles,omitempty"`
	// StateUnknown says why the lock and throttles were not read.
	StateUnknown string `json:"state_unknown,omitempty" yaml:"state_unknown,omitempty"`
	// Error says why the cluster could not be read; the other fields are
	// then empty.
	Error string `json:"error,omitempty" yaml:"error,omitempty"`
}

// fleetThrottle is one open throttle record.
type fleetThrottle struct {
	ID   string     `json:"id" yaml:"id"`
	Step int        `json:"step,omitempty" yaml:"step,omitempty"`
	Rate plans.Rate `json:"rate" yaml:"rate"`
}

// fleetRowOf folds a plan's status into its fleet row.
func fleetRowOf(p *plans.Plan, st *executor.PlanStatus) fleetRow {
	r := fleetRow{ClusterID: st.ClusterID, Steps: len(p.Steps), BytesTotal: int64(p.Totals.BytesToCopy),
		Lock: st.Lock, StateUnknown: st.StateUnknown}
	rate := func(n int) (planned, now plans.Rate) {
		planned = p.Throttle
		if s := p.Step(n); s != nil && s.Throttle > 0 {
			planned = s.Throttle
		}
		now = planned
		for _, rec := range st.Throttles {
			if rec.Step == n && rec.Rate > 0 {
				now = rec.Rate
			}
		}
		if st.RateOverride != nil && st.RateOverride.Rate > 0 {
			now = st.RateOverride.Rate
		}
		return planned, now
	}
	for _, ss := range st.Steps {
		step := p.Step(ss.Number)
		switch ss.State {
		case executor.StepDone:
			r.Done++
			if step != nil {
				r.BytesCopied += int64(step.Estimate.BytesToCopy)
			}
		case executor.StepInFlight, executor.StepUndoInFlight:
			r.InFlight++
			r.InFlightSteps = append(r.InFlightSteps, ss.Number)
			if ss.State == executor.StepInFlight {
				r.BytesCopied += ss.BytesCopied
			}
			if step != nil && ss.BytesTotal > 0 {
				left := 1 - float64(ss.BytesCopied)/float64(ss.BytesTotal)
				planned, now := rate(ss.Number)
				eta := time.Duration(step.Estimate.Duration).Seconds() * max(left, 0)
				if planned > 0 && now > 0 {
					eta *= float64(planned) / float64(now)
				}
				r.ETASeconds = max(r.ETASeconds, eta)
			}
		case executor.StepPartial:
			r.Partial++
		case executor.StepPending:
			r.Pending++
		case executor.StepDrifted:
			r.Drifted++
		default:
			r.Unknown++
		}
	}
	for _, rec := range st.Throttles {
		r.Throttles = append(r.Throttles, fleetThrottle{ID: rec.ID, Step: rec.Step, Rate: rec.Rate})
	}
	r.LeftoverThrottles = len(r.Throttles) > 0 && st.Lock == nil
	return r
}

// fleetStatus reads one cluster's row, within timeout: a cluster that
// cannot be read, or does not answer in time, is a row with its error.
func fleetStatus(ctx context.Context, fc fleetCluster, timeout time.Duration) fleetRow {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan fleetRow, 1)
	go func() { done <- readFleetRow(ctx, fc) }()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		// readFleetRow closes its connections at the deadline, which ends
		// the calls that ignore their context; its row is not waited for.
		why := fmt.Sprintf("no answer within --cluster-timeout %s", timeout)
		if errors.Is(ctx.Err(), context.Canceled) {
			why = "interrupted"
		}
		return fleetRow{Cluster: fc.Name, Plan: fc.plan(), Error: why}
	}
}

// readFleetRow loads the cluster's plan and profile, connects, and reads
// the plan's status as kshift status PLAN --profile PROFILE does.
func readFleetRow(ctx context.Context, fc fleetCluster) fleetRow {
	row := fleetRow{Cluster: fc.Name, Plan: fc.plan()}
	fail := func(err error) fleetRow {
		row.Error = err.Error()
		return row
	}
	p, err := plans.ReadFile[plans.Plan](fc.plan()) // status has no use for its hash
	if err != nil {
		return fail(err)
	}
	if err := plans.CheckStandalone(p); err != nil {
		return fail(fmt.Errorf("%s breaks the plan invariants (kshift plan validate %s lists them): %w", fc.plan(), fc.plan(), err))
	}
	o, err := kafkaconn.LoadProfile(fc.profile())
	if err != nil {
		return fail(err)
	}
	o = o.WithDefaults()
	o.ResolveSecrets(os.Getenv)
	if err := o.Validate(); err != nil {
		return fail(fmt.Errorf("cluster profile %s: %w", fc.profile(), err))
	}
	s, err := openReadSession(ctx, o)
	if err != nil {
		return fail(err)
	}
	// At the deadline, closing the connections ends what waits on them.
	stop := context.AfterFunc(ctx, s.close)
	defer func() {
		if stop() {
			s.close()
		}
	}()
	st, err := s.exec.Status(ctx, executor.PlanRef{Plan: p, Path: fc.plan()})
	if err != nil {
		return fail(err)
	}
	r := fleetRowOf(p, st)
	r.Cluster, r.Plan = row.Cluster, row.Plan
	return r
}

// openReadSession connects to the cluster o names, and to its ZooKeeper
// when o names one, for reading a plan's status (the fleet's counterpart of
// openSession, which takes its options from the command line).
func openReadSession(ctx context.Context, o kafkaconn.Options) (*session, error) {
	clients, err := kafkaconn.Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	s := &session{clients: clients}
	eo := executor.Options{Command: "status", CallTimeout: o.RequestTimeout,
		ZooKeeperSteps: zkSteps{digest: o.ZooKeeper.Digest, out: io.Discard}}
	if o.ZooKeeper.Connect != "" {
		if s.zk, err = kafkaconn.ConnectZooKeeper(ctx, o.ZooKeeper, o.DialTimeout); err != nil {
			clients.Close()
			return nil, err
		}
		eo.ZooKeeper, eo.ZooKeeperChroot = s.zk.Conn, s.zk.Chroot
		if eo.Store, err = state.NewZooKeeper(s.zk.Conn, s.zk.Chroot, state.Options{SessionTimeout: o.ZooKeeper.SessionTimeout}); err != nil {
			s.close()
			return nil, err
		}
	}
	s.exec = executor.New(clients.Kafka, eo)
	return s, nil
}

// runFleet is kshift status --fleet: every cluster read at once (at most
// --parallel together), one row each, in the order found. It fails (exit
// 1) when a cluster could not be read, after printing every row.
func runFleet(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError{"status: give either PLAN or --fleet DIR, not both"}
	}
	for _, f := range clusterFlags() {
		if c.IsSet(f.Names()[0]) {
			return usageError{fmt.Sprintf("status --fleet: --%s does not apply: each cluster's connection comes from its %s", f.Names()[0], fleetProfileName)}
		}
	}
	if c.Bool("watch") {
		return usageError{"status --fleet: --watch is for one plan; run it again (or under watch(1))"}
	}
	if c.Int(flagFleetParallel) < 1 || c.Duration(flagClusterTimeout) <= 0 {
		return usageError{"status --fleet: --parallel and --cluster-timeout must be positive"}
	}
	format := outputFormat(c.String(outputFlag.Name))
	if format == "md" {
		format = formatMarkdown
	}
	var out *printer
	if format != formatMarkdown {
		var err error
		if out, err = newPrinter(c); err != nil {
			return err
		}
	}
	fleet, err := findFleet(c.StringSlice(flagFleet))
	if err != nil {
		return err
	}
	rows := make([]fleetRow, len(fleet))
	sem := make(chan struct{}, c.Int(flagFleetParallel))
	var wg sync.WaitGroup
	for i, fc := range fleet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				rows[i] = fleetStatus(c.Context, fc, c.Duration(flagClusterTimeout))
			case <-c.Context.Done():
				rows[i] = fleetRow{Cluster: fc.Name, Plan: fc.plan(), Error: "interrupted"}
			}
		}()
	}
	wg.Wait()
	if format == formatMarkdown {
		if err := writeFleetMarkdown(c.App.Writer, rows); err != nil {
			return err
		}
	} else if err := out.print(rows, func() []table { return []table{fleetTable(rows)} }); err != nil {
		return err
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	var failed []string
	for _, r := range rows {
		if r.Error != "" {
			failed = append(failed, r.Cluster)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d clusters could not be read (%s): their rows say why; the others are shown", len(failed), len(rows), strings.Join(failed, ", "))
	}
	return nil
}

// fleetCells renders a row's cells, in the order of fleetHeader.
var fleetHeader = []string{"cluster", "done", "in flight", "pending", "drifted", "copied", "eta", "lock", "throttles", "error"}

func fleetCells(r fleetRow) []string {
	if r.Error != "" {
		return []string{r.Cluster, "", "", "", "", "", "", "", "", r.Error}
	}
	inFlight := fmt.Sprint(r.InFlight)
	if len(r.InFlightSteps) > 0 {
		inFlight += fmt.Sprintf(" (step %s)", joinInts(r.InFlightSteps))
	}
	pending := fmt.Sprint(r.Pending + r.Partial)
	if r.Partial > 0 {
		pending += fmt.Sprintf(" (%d partial)", r.Partial)
	}
	if r.Unknown > 0 {
		pending += fmt.Sprintf(", %d unknown", r.Unknown)
	}
	copied := ""
	if r.BytesTotal > 0 {
		copied = fmt.Sprintf("%s / %s", plans.ByteSize(r.BytesCopied), plans.ByteSize(r.BytesTotal))
	}
	eta := ""
	if r.ETASeconds > 0 {
		eta = time.Duration(r.ETASeconds * float64(time.Second)).Round(time.Second).String()
	}
	lock, throttles := "nobody", "none"
	switch {
	case r.StateUnknown != "":
		lock, throttles = "not read", "not read (no zookeeper in the profile)"
	case r.Lock != nil:
		lock = fmt.Sprintf("%s on %s (pid %d, user %s), step %d", r.Lock.Command, r.Lock.Host, r.Lock.PID, r.Lock.User, r.Lock.Step)
		if r.Lock.Problem != "" {
			lock = r.Lock.String()
		}
	}
	if len(r.Throttles) > 0 {
		var steps []int
		for _, t := range r.Throttles {
			if t.Step > 0 && !slices.Contains(steps, t.Step) {
				steps = append(steps, t.Step)
			}
		}
		throttles = fmt.Sprintf("%d record(s)", len(r.Throttles))
		if len(steps) > 0 {
			throttles += fmt.Sprintf(" of step %s", joinInts(steps))
		}
		if r.LeftoverThrottles {
			throttles += ", LEFTOVER: no kshift holds the lock"
		}
	}
	return []string{r.Cluster, fmt.Sprintf("%d/%d", r.Done, r.Steps), inFlight, pending, fmt.Sprint(r.Drifted), copied, eta, lock, throttles, r.Error}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

func fleetTable(rows []fleetRow) table {
	t := table{title: fmt.Sprintf("%d clusters", len(rows)), header: fleetHeader}
	for _, r := range rows {
		t.rows = append(t.rows, fleetCells(r))
	}
	return t
}

// writeFleetMarkdown writes the rows as one GitHub/GitLab Markdown table.
func writeFleetMarkdown(w io.Writer, rows []fleetRow) error {
	cell := func(s string) string {
		s = strings.ReplaceAll(s, "|", `\|`)
		return strings.ReplaceAll(s, "\n", " ")
	}
	var b strings.Builder
	b.WriteString("| " + strings.Join(fleetHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(fleetHeader)) + "\n")
	for _, r := range rows {
		cells := fleetCells(r)
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
