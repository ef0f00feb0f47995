package main

import (
	"fmt"

	"github.com/kshift/kshift/executor"
	"github.com/urfave/cli/v2"
)

func newCancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "revert the plan's step in flight: cancel its reassignments, restore the from order, clear its throttles",
		ArgsUsage: "PLAN",
		Description: `Cancels every reassignment of PLAN still in flight (KIP-455 cancel), waits until Kafka
reports them reverted, reorders each partition to the step's exact from list (a cancel keeps
the in-flight order), and removes the throttles kshift set, restoring earlier values.
Partitions that already finished stay done: roll them back with kshift rollback.`,
		Flags:  append(executorFlags(), clusterFlags()...),
		Action: flagsAfterArgs(runCancel),
	}
}

func runCancel(c *cli.Context) error {
	ref, err := loadPlan(c)
	if err != nil {
		return err
	}
	s, err := openSession(c, ref.Path, "cancel", executor.Options{})
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.exec.Cancel(c.Context, ref)
	if res != nil {
		if len(res.Steps) == 0 {
			fmt.Fprintln(c.App.Writer, "nothing of the plan is in flight; throttles kshift had left were cleared")
		} else {
			fmt.Fprintf(c.App.Writer, "reverted step(s) %v to their from state and cleared kshift's throttles\n", res.Steps)
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(c.App.Writer, "warning: "+w)
		}
	}
	return execErr(err)
}
