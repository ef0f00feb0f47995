package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kshift/kshift/internal/rehearsal"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newRehearseCommand() *cli.Command {
	return &cli.Command{
		Name:      "rehearse",
		Usage:     "run a whole plan on an in-process Kafka simulator seeded from the snapshot, on a simulated clock",
		ArgsUsage: "PLAN",
		Description: `A dry run of the migration itself. Starts a Kafka simulator on 127.0.0.1 with
the snapshot's brokers, topics, replica lists, sizes and configs plus the plan's
target brokers, and applies every reassignment step of PLAN through the same
executor as kshift apply (gates, lock, throttles, reassignment, elections,
verification). The simulator's clock runs --speed times faster than real time while
a step's reassignment runs, and stands still while kshift checks, locks and
verifies, so the numbers do not depend on the machine.

Reports per step the simulated duration (submission to the last partition at its
target) against the plan's estimate, the stalls the executor reported, the most
replicas on one broker and the most extra bytes on disk; then totals and the
ideal time (the busiest broker's bytes in or out over the whole plan at the
throttle; "ideal reached" at the 0.9x of it a throttled copy reaches).

With --inbound, producers keep writing meanwhile; a step that cannot finish (a
stall) is given up after --step-limit of simulated time and the rehearsal stops
(exit 1). ZooKeeper steps and the retire-sources step are listed, not run. Touches no real
cluster.`,
		Flags: []cli.Flag{
			&cli.PathFlag{Name: "snapshot", Usage: "the snapshot the plan was made from"},
			&cli.Float64Flag{Name: "speed", Value: rehearsal.DefaultSpeed, Usage: "simulated time runs this many times faster than real time"},
			&cli.StringFlag{Name: "throttle", Usage: "replication rate per broker, overriding the plan's (e.g. 100MiB/s)"},
			&cli.StringFlag{Name: "inbound", Usage: "producers write this much into the cluster while it rehearses (e.g. 200MiB/s), spread over the partitions by size"},
			&cli.DurationFlag{Name: "step-limit", Usage: "give up when a step's reassignment runs this long in simulated time (default: 3x its estimate + 1h)"},
			&cli.StringFlag{Name: "network-rate", Value: "1GiB/s", Usage: "each simulated broker's replication bandwidth, in and out together (bytes/s; a lower-case b means bits: 10Gbps)"},
			&cli.BoolFlag{Name: flagSkipHealthCheck, Usage: "do not run the kshift check gates before each step"},
			outputFlag,
		},
		Action: flagsAfterArgs(runRehearse),
	}
}

func runRehearse(c *cli.Context) error {
	if err := requireFlags(c, "snapshot"); err != nil {
		return err
	}
	ref, err := loadPlan(c)
	if err != nil {
		return err
	}
	out, err := newPrinter(c)
	if err != nil {
		return err
	}
	snap, _, err := plans.LoadFile[plans.Snapshot](c.Path("snapshot"))
	if err != nil {
		return err
	}
	o := rehearsal.Options{Speed: c.Float64("speed")}
	if o.Speed <= 0 {
		return badInput(fmt.Errorf("--speed %g: must be positive", o.Speed))
	}
	if c.IsSet("throttle") {
		r, err := plans.ParseRate(c.String("throttle"))
		if err != nil {
			return usageError{"--throttle: " + err.Error()}
		}
		if r <= 0 {
			return usageError{fmt.Sprintf("--throttle %q: want a positive rate like 50MiB/s", c.String("throttle"))}
		}
		o.Throttle = r
	}
	nr, err := plans.ParseRate(c.String("network-rate"))
	if err != nil {
		return usageError{"--network-rate: " + err.Error()}
	}
	if nr <= 0 {
		return usageError{fmt.Sprintf("--network-rate %q: want a positive rate like 1GiB/s", c.String("network-rate"))}
	}
	o.NetworkRate = int64(nr)
	if c.IsSet("inbound") {
		r, err := plans.ParseRate(c.String("inbound"))
		if err != nil {
			return usageError{"--inbound: " + err.Error()}
		}
		if r < 0 {
			return usageError{fmt.Sprintf("--inbound %q: want a rate like 200MiB/s", c.String("inbound"))}
		}
		o.Inbound = r
	}
	o.StepLimit = c.Duration("step-limit")
	o.SkipHealthGates = c.Bool(flagSkipHealthCheck)
	pr := newProgressPrinter(c.App.ErrWriter)
	o.Progress = pr.update
	rep, runErr := rehearsal.Run(c.Context, snap, ref.Plan, o)
	pr.finish()
	if rep != nil {
		if err := out.print(rep, func() []table { return rehearsalTables(rep) }); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return execErr(runErr)
}

func rehearsalTables(r *rehearsal.Report) []table {
	steps := table{
		title: fmt.Sprintf("rehearsal of cluster %s on a Kafka %s simulator at %s, simulated time x%g (durations to %s)",
			r.ClusterID, r.KafkaVersion, r.Throttle, r.Speed, r.Resolution),
		header: []string{"step", "phase", "partitions", "to copy", "estimate", "simulated", "ratio", "peak replicas", "peak extra bytes", "calls", "stalls"},
	}
	for _, s := range r.Steps {
		if s.Skipped != "" {
			steps.rows = append(steps.rows, []string{fmt.Sprint(s.Number), string(s.Phase), "", "", "", "skipped", "", "", "", "", s.Skipped})
			continue
		}
		ratio := ""
		if s.GaveUp {
			ratio = "gave up"
		} else if s.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", s.Ratio)
		}
		stalls := ""
		for i, st := range s.Stalls {
			if i > 0 {
				stalls += "; "
			}
			stalls += st
		}
		steps.rows = append(steps.rows, []string{fmt.Sprint(s.Number), string(s.Phase), fmt.Sprint(s.Partitions), s.BytesToCopy.String(),
			roundDur(s.Estimate), roundDur(s.Simulated), ratio, fmt.Sprintf("%d on %d", s.PeakReplicas, s.PeakBroker),
			plans.ByteSize(s.PeakExtraBytes).String(), fmt.Sprint(s.Calls), stalls})
	}
	ratio := "-"
	if r.Ideal > 0 {
		ratio = fmt.Sprintf("%.2f", r.Ratio())
	}
	totals := table{title: "totals", header: []string{"simulated", "estimate", "ideal", "ideal reached", "ratio to ideal", "peak extra bytes", "stalls", "calls", "real time"},
		rows: [][]string{{roundDur(r.Simulated), roundDur(r.Estimate), roundDur(r.Ideal), roundDur(r.IdealReached), ratio,
			plans.ByteSize(r.PeakExtraBytes).String(), fmt.Sprint(r.Stalls), fmt.Sprint(r.Calls), r.Real.Round(time.Millisecond).String()}}}
	peaks := table{title: "most replicas per broker", header: []string{"broker", "replicas"}}
	var ids []int32
	for b := range r.PeakReplicas {
		ids = append(ids, b)
	}
	slices.Sort(ids)
	for _, b := range ids {
		peaks.rows = append(peaks.rows, []string{fmt.Sprint(b), fmt.Sprint(r.PeakReplicas[b])})
	}
	return []table{steps, totals, peaks}
}

func roundDur(d time.Duration) string { return d.Round(time.Second).String() }
