package main

import (
	"github.com/kshift/kshift/internal/version"
	"github.com/urfave/cli/v2"
)

// newApp builds the command tree. Each subcommand lives in its own file with a
// new...Command constructor.
func newApp() *cli.App {
	app := &cli.App{
		Name:    "kshift",
		Usage:   "move a live ZooKeeper-mode Kafka cluster onto new brokers and ZooKeeper nodes",
		Version: version.Version,
		Description: `kshift runs the source and target brokers as one shared cluster and moves data with
Kafka's own partition reassignment, in small reviewed steps:

  kshift snapshot   read a live cluster into snapshot.yaml
  kshift plan       snapshot.yaml + mapping.yaml -> plan.yaml, rollback.yaml, SUMMARY.md
  kshift apply      apply one plan step under throttles, verify it, clear the throttles

Exit codes: 0 success; 1 failure talking to the cluster or doing the work;
2 bad input (files, flags); 3 refused by a safety check (gate, drift, invariant,
lock); 4 interrupted (what is left is printed); 5 partly done with a broker
down (what is left, on which broker, is printed: run it again once it is back).`,
		HideHelpCommand: true,
		// Shell completion asks the binary: see completion.go.
		EnableBashCompletion: true,
		// main prints errors once, with the exit code mapped from their kind.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		// In the order of a migration: read, plan, prepare, apply, watch,
		// undo; then ZooKeeper; then the tools that need no cluster.
		Commands: []*cli.Command{
			newSnapshotCommand(),
			newPlanCommand(),
			newCheckCommand(),
			newJoinCommand(),
			newApplyCommand(),
			newStatusCommand(),
			newCancelCommand(),
			newRollbackCommand(),
			newThrottleCommand(),
			newZKCommand(),
			newRehearseCommand(),
			newSandboxCommand(),
			newDemoCommand(),
			newCompletionCommand(),
		},
	}
	markUsageErrors(app.Commands)
	return app
}
