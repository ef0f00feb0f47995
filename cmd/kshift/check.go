package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/urfave/cli/v2"
)

func newCheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "run the gates on a live cluster (before a step, or on its own)",
		Description: `Reads the cluster and evaluates every gate of kshift's gate registry, the
same gates apply runs before every step:

` + gateList() + `

A safety gate runs before every step; a health gate too, unless apply is given
--skip-health-check; a report gate only here (apply records throttles someone
else set and leaves them as they were). A failing gate that reads a value
Kafka reports late (Metadata, the ISR) is read again for --settle first.

With --plan the plan's brokers are the targets and sources and its cluster id
must match; with --step N the partition and disk gates look at that step only.
Exit 0 when every gate passes (warnings allowed), 3 when a gate fails.`,
		Flags: append([]cli.Flag{
			&cli.PathFlag{Name: "plan", Usage: "plan file whose brokers, cluster id and moves the gates use"},
			&cli.IntFlag{Name: "step", Usage: "check before this step of --plan (partition and disk gates scoped to it)"},
			&cli.IntSliceFlag{Name: "broker", Usage: "target broker id that must be registered and reachable (repeatable)"},
			&cli.StringFlag{Name: "target-capacity", Usage: "usable disk per target broker, e.g. 2TiB, when the brokers do not report it (before Kafka 3.3)"},
			&cli.DurationFlag{Name: "settle", Value: checkSettle, Usage: "how long a failing gate that reads a value Kafka reports late is read again before it fails"},
			outputFlag,
		}, clusterFlags()...),
		Action: checkAction,
	}
}

// checkSettle is how long kshift check reads a settling gate again.
const checkSettle = 10 * time.Second

// gateList lists the registry's gates for the help text: id, kind and what
// each checks.
func gateList() string {
	var b strings.Builder
	for i, g := range inspect.Gates {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "  %-19s %-7s %s", g.ID, g.Kind, g.Checks)
	}
	return b.String()
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
		// kshift's own throttle records tell its leftovers from others'.
		st, err := state.NewZooKeeper(z.Conn, z.Chroot, state.Options{SessionTimeout: clients.Options.ZooKeeper.SessionTimeout})
		if err != nil {
			return err
		}
		if scope.Records, err = st.ThrottleRecords(c.Context); err != nil {
			return fmt.Errorf("reading kshift's throttle records: %w", err)
		}
	}
	if st, ok := c.App.Metadata[metaStateStore].(state.Store); ok && scope.Records == nil {
		if scope.Records, err = st.ThrottleRecords(c.Context); err != nil {
			return fmt.Errorf("reading kshift's throttle records: %w", err)
		}
	}
	scope.Settle = c.Duration("settle")
	rep, err := inspect.Check(c.Context, kafkaAPI(clients), scope)
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
	gates := table{title: "cluster " + rep.ClusterID, header: []string{"gate", "kind", "status", "summary"}}
	found := table{title: "findings", header: []string{"gate", "subject", "detail", "owner"}}
	for _, g := range rep.Gates {
		gates.rows = append(gates.rows, []string{string(g.Gate), string(g.Kind), strings.ToUpper(string(g.Status)), g.Summary})
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
