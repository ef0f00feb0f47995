package main

import (
	"fmt"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newRollbackCommand() *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "undo a done step of a plan (or unwind several) on the live cluster",
		ArgsUsage: "PLAN",
		Description: `Applies the undo of step N of the migration PLAN (the same step rollback.yaml lists):
raise-rf drops the added replicas, move-leader restores the order and elects again,
lower-rf re-adds the source replicas (copying their data back, throttled), retire-sources
has nothing to undo but the source brokers to start again (it waits for them, see
--wait-for-sources, and the undo of the steps before it needs them). Step N must be
done and every later step pending, unless --force. --to-step N unwinds every step from the
last one applied down to N, in reverse order. Same gates, lock, throttles and verification
as apply.`,
		Flags: append(append([]cli.Flag{
			&cli.IntFlag{Name: "step", Usage: "undo step `N`"},
			&cli.IntFlag{Name: "to-step", Usage: "undo every applied step down to and including `N`"},
			&cli.BoolFlag{Name: "force", Usage: "undo although the step is not done or later steps are not pending"},
			&cli.BoolFlag{Name: "cancel-on-interrupt", Usage: "on Ctrl-C or SIGTERM, cancel the undo in flight"},
			waitForSourcesFlag("start again"),
		}, executorFlags()...), clusterFlags()...),
		Action: flagsAfterArgs(runRollback),
	}
}

func runRollback(c *cli.Context) error {
	ref, err := loadPlan(c)
	if err != nil {
		return err
	}
	if c.IsSet("step") == c.IsSet("to-step") {
		return usageError{"rollback: give exactly one of --step N, --to-step N"}
	}
	s, err := openSession(c, ref.Path, "rollback", !c.Bool(flagDryRun), executor.Options{CancelOnInterrupt: c.Bool("cancel-on-interrupt"), RetireWait: c.Duration(flagWaitForSources)})
	if err != nil {
		return err
	}
	defer s.close()
	if c.IsSet("step") {
		res, err := s.exec.Rollback(c.Context, ref, c.Int("step"), c.Bool("force"))
		if res != nil {
			printRollback(c, res, err)
		}
		return execErr(err)
	}
	results, err := s.exec.RollbackTo(c.Context, ref, c.Int("to-step"), c.Bool("force"))
	for i, res := range results {
		var resErr error
		if i == len(results)-1 {
			resErr = err // the steps before the last one succeeded
		}
		printRollback(c, res, resErr)
	}
	return execErr(err)
}

func printRollback(c *cli.Context, res *executor.StepResult, err error) {
	if res.Retire != nil {
		printStepResult(c.App.Writer, res, err)
		return
	}
	if res.AlreadyDone {
		fmt.Fprintf(c.App.Writer, "%s (%s): nothing to undo%s\n", plans.StepLabel(res.Step, res.Undoes), res.Phase, leftoversNote(res))
		printWarnings(c.App.Writer, res)
		return
	}
	printStepResult(c.App.Writer, res, err)
}
