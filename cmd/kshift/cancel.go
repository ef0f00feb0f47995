package main

import (
	"fmt"
	"io"

	"github.com/kshift/kshift/executor"
	"github.com/urfave/cli/v2"
)

func newCancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "revert the plan's step in flight (or the undo of one): cancel its reassignments, restore the exact order, clear its throttles",
		ArgsUsage: "PLAN",
		Description: `Cancels every reassignment of PLAN still in flight (KIP-455 cancel), waits until Kafka
reports them reverted, reorders each partition to the step's exact from list (a cancel keeps
the in-flight order), and removes the throttles kshift set, restoring earlier values.
Partitions that already finished stay done: roll them back with kshift rollback.
A move-leader step stopped between its elections has nothing in flight in Kafka: its
partitions not yet elected are reordered back to from (their leader has not moved).
The undo of a step left in flight by an interrupted kshift rollback is reverted the same way:
its partitions go back to the step's exact to list (the step stays done).
Throttles of reassignments still in flight that are neither a step of PLAN nor the undo of
one are kept (they would copy unthrottled), and named.`,
		Flags:  append(executorFlags(), clusterFlags()...),
		Action: flagsAfterArgs(runCancel),
	}
}

func runCancel(c *cli.Context) error {
	ref, err := loadPlan(c)
	if err != nil {
		return err
	}
	if err := checkAuditLog(c, ref.Path); err != nil {
		return err
	}
	s, err := openSession(c, ref.Path, "cancel", executor.Options{})
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.exec.Cancel(c.Context, ref)
	if res != nil {
		printCancel(c.App.Writer, res, err)
	}
	return execErr(err)
}

// printCancel says what a cancel did. A failed cancel claims nothing: its
// error says what failed and that the throttles are left in place.
func printCancel(w io.Writer, res *executor.CancelResult, err error) {
	if err == nil {
		if len(res.Steps) == 0 && len(res.Undos) == 0 {
			fmt.Fprintln(w, "nothing of the plan, nor the undo of any of its steps, is in flight")
		}
		if len(res.Steps) > 0 {
			fmt.Fprintf(w, "reverted step(s) %v to their from state\n", res.Steps)
		}
		if len(res.Undos) > 0 {
			fmt.Fprintf(w, "reverted the undo (rollback) of step(s) %v: back at their to state\n", res.Undos)
		}
		if len(res.Unrecognised) > 0 {
			fmt.Fprintln(w, "kept kshift's throttles for the reassignments still in flight; cleared the others")
		} else {
			fmt.Fprintln(w, "cleared kshift's throttles")
		}
	}
	for _, warning := range res.Warnings {
		fmt.Fprintln(w, "warning: "+warning)
	}
}
