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
	s, err := openSession(c, ref.Path, "cancel", !c.Bool(flagDryRun), executor.Options{})
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
		if len(res.Steps) == 0 {
			fmt.Fprintln(w, "nothing of the plan, nor the undo of any of its steps, is in flight")
		}
		for _, s := range res.Steps {
			if s.Undo {
				fmt.Fprintf(w, "undo (rollback) of step %d: reverted %d partition(s) back to the step's to; %d were already back at its from and stay there (kshift apply --step %d re-applies them)\n", s.Step, s.Reverted, s.Done, s.Step)
				continue
			}
			fmt.Fprintf(w, "step %d: reverted %d of its %d partition(s) to their from; %d had finished and stay done (kshift rollback --step %d undoes them)\n", s.Step, s.Reverted, s.Partitions, s.Done, s.Step)
		}
		if res.ThrottlesKept {
			fmt.Fprintln(w, "kept kshift's throttles for the reassignments still in flight; cleared the others")
		} else {
			fmt.Fprintln(w, "cleared kshift's throttles")
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	for _, warning := range res.Warnings {
		fmt.Fprintln(w, "warning: "+warning)
	}
}
