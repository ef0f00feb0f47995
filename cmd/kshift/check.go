package main

import (
	"fmt"
	"strings"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newCheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "run the health gates on a live cluster (before a step, or on its own)",
		Description: `Reads the cluster and evaluates every gate: one cluster id, a live controller,
target brokers registered and answering, source and target brokers agreeing on
IBP, message format, message and fetch sizes, listener names, racks and fetchers,
no offline, under-replicated or under-min-ISR partition, no reassignment or
throttle already in place (with its likely owner), and room on each target
broker's disk for the bytes the plan puts there.

With --plan the plan's brokers are the targets and sources and its cluster id
must match; with --step N the partition and disk gates look at that step only.
Exit 0 when every gate passes (warnings allowed), 3 when a gate fails.`,
		Flags: append([]cli.Flag{
			&cli.PathFlag{Name: "plan", Usage: "plan file whose brokers, cluster id and moves the gates use"},
			&cli.IntFlag{Name: "step", Usage: "check before this step of --plan (partition and disk gates scoped to it)"},
			&cli.IntSliceFlag{Name: "broker", Usage: "target broker id that must be registered and reachable (repeatable)"},
			&cli.StringFlag{Name: "target-capacity", Usage: "usable disk per target broker, e.g. 2TiB, when the brokers do not report it (before Kafka 3.3)"},
			outputFlag,
		}, clusterFlags()...),
		Action: checkAction,
	}
}

func checkAction(c *cli.Context) error {
	pr, err := newPrinter(c)
	if err != nil {
		return err
	}
	var scope inspect.CheckScope
	if p := c.Path("plan"); p != "" {
		plan, _, err := plans.LoadFile[plans.Plan](p)
		if err != nil {
			return err
		}
		scope.Plan = plan
	}
	if c.IsSet("step") {
		if scope.Plan == nil {
			return usageError{"check: --step needs --plan"}
		}
		scope.Step = c.Int("step")
		if scope.Plan.Step(scope.Step) == nil {
			return badInput(fmt.Errorf("--step %d: the plan has steps 1 to %d", scope.Step, len(scope.Plan.Steps)))
		}
	}
	for _, b := range c.IntSlice("broker") {
		scope.Brokers = append(scope.Brokers, int32(b))
	}
	if v := c.String("target-capacity"); v != "" {
		if scope.TargetCapacity, err = plans.ParseByteSize(v); err != nil {
			return badInput(fmt.Errorf("--target-capacity: %w", err))
		}
	}
	clients, err := connect(c)
	if err != nil {
		return err
	}
	defer clients.Close()
	z, err := connectZooKeeper(c, clients)
	if err != nil {
		return err
	}
	if z != nil {
		defer z.Close()
		scope.ZooKeeper = liveZooKeeperSource(clients, z)
	}
	rep, err := inspect.Check(c.Context, clients, scope)
	if err != nil {
		return err
	}
	if err := pr.print(rep, func() []table { return checkTables(rep) }); err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return refused(err)
	}
	return nil
}

func checkTables(rep *inspect.CheckReport) []table {
	gates := table{title: "cluster " + rep.ClusterID, header: []string{"gate", "status", "summary"}}
	found := table{title: "findings", header: []string{"gate", "subject", "detail", "owner"}}
	for _, g := range rep.Gates {
		gates.rows = append(gates.rows, []string{string(g.Gate), strings.ToUpper(string(g.Status)), g.Summary})
		if g.Status == inspect.StatusPass {
			continue
		}
		for _, f := range g.Findings {
			found.rows = append(found.rows, []string{string(g.Gate), f.Subject, f.Detail, f.Owner})
		}
	}
	out := []table{gates}
	if len(found.rows) > 0 {
		out = append(out, found)
	}
	if len(rep.Notes) > 0 {
		notes := table{title: "notes", header: []string{"what could not be known"}}
		for _, n := range rep.Notes {
			notes.rows = append(notes.rows, []string{n})
		}
		out = append(out, notes)
	}
	return out
}
