package main

import (
	"errors"
	"fmt"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newThrottleCommand() *cli.Command {
	return &cli.Command{
		Name:  "throttle",
		Usage: "change or clear the replication throttles kshift set",
		Description: `kshift records every throttle config it changes, with the value from before, in the
cluster's ZooKeeper (under the cluster's chroot, in kshift/throttles), so these commands work
from any host: give --zookeeper. "set" changes the rate on the brokers kshift throttles while
a step runs; the rate stands until that step ends, across interruptions and resumes (a
resumed apply uses it and says so). "clear" removes what kshift set and restores earlier
values, and with --all also deletes every other throttle config on the cluster, the
cluster-default rates included. PLAN, when given, names the plan in the audit trail and
places the local audit log beside it.`,
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "change the per-broker rate of kshift's throttles (while a step runs)",
				ArgsUsage: "RATE [PLAN]",
				Description: `RATE is bytes per second per broker, e.g. 80MiB/s or 80MB/s; a unit with a lower-case b
counts bits, as network rates are written (640Mbps is 80 MB/s). Rates above 1 PiB/s are refused.`,
				Flags:  append(executorFlags(), clusterFlags()...),
				Action: flagsAfterArgs(runThrottleSet),
			},
			{
				Name:      "clear",
				Usage:     "remove the throttles kshift set, restoring earlier values",
				ArgsUsage: "[PLAN]",
				Flags: append(append([]cli.Flag{
					&cli.BoolFlag{Name: "all", Usage: "also delete throttle configs kshift did not set, the cluster-default (<default>) rates included"},
				}, executorFlags()...), clusterFlags()...),
				Action: flagsAfterArgs(runThrottleClear),
			},
		},
	}
}

// optionalPlan loads the optional PLAN argument at index i: it names the
// plan in the audit trail and places the local audit log.
func optionalPlan(c *cli.Context, i int) (executor.PlanRef, error) {
	if c.NArg() <= i {
		return executor.PlanRef{}, nil
	}
	path := c.Args().Get(i)
	p, sum, err := plans.LoadFile[plans.Plan](path)
	if err != nil {
		return executor.PlanRef{}, err
	}
	return executor.PlanRef{Plan: p, Path: path, SHA256: sum}, nil
}

func runThrottleSet(c *cli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return usageError{"throttle set: want RATE [PLAN] (see kshift throttle set --help)"}
	}
	rate, err := plans.ParseRate(c.Args().First())
	if err != nil {
		return usageError{"throttle set: " + err.Error()}
	}
	if rate <= 0 {
		return usageError{fmt.Sprintf("throttle set: %q is not a positive rate like 80MiB/s", c.Args().First())}
	}
	ref, err := optionalPlan(c, 1)
	if err != nil {
		return err
	}
	s, err := openSession(c, ref.Path, "throttle set", true, executor.Options{})
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.exec.SetThrottleRate(c.Context, ref, rate)
	if err == nil {
		fmt.Fprintf(c.App.Writer, "rate %s set on brokers %v of cluster %s; it stands until the step running now ends\n", rate, res.Brokers, res.ClusterID)
	}
	return execErr(err)
}

func runThrottleClear(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageError{"throttle clear: want at most one PLAN (see kshift throttle clear --help)"}
	}
	ref, err := optionalPlan(c, 0)
	if err != nil {
		return err
	}
	s, err := openSession(c, ref.Path, "throttle clear", !c.Bool(flagDryRun), executor.Options{})
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.exec.ClearThrottles(c.Context, ref, c.Bool("all"))
	if res != nil && (err == nil || errors.Is(err, executor.ErrPartial)) {
		fmt.Fprintf(c.App.Writer, "cleared throttles on topics %v and brokers %v of cluster %s\n", res.Topics, res.Brokers, res.ClusterID)
		if res.ClusterDefault {
			fmt.Fprintln(c.App.Writer, "deleted the cluster-default throttle rates (broker <default>)")
		}
		if res.InFlight > 0 {
			fmt.Fprintf(c.App.Writer, "warning: %d reassignment(s) are in flight and now copy unthrottled\n", res.InFlight)
		}
		for _, n := range res.Notes {
			fmt.Fprintln(c.App.Writer, "note: "+n)
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(c.App.Writer, "warning: "+w)
		}
	}
	return execErr(err)
}
