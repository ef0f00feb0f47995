package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// requireFlags returns a usage error (exit 2) naming every listed flag that
// was not given. Commands call it instead of cli's Required, whose error
// cannot be told from a failure.
func requireFlags(c *cli.Context, names ...string) error {
	var missing []string
	for _, n := range names {
		if !c.IsSet(n) {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return usageError{fmt.Sprintf("%s: missing required flag %v (see kshift %s --help)", c.Command.FullName(), missing, c.Command.FullName())}
	}
	return nil
}

// requireArgs returns a usage error unless exactly n positional arguments were given.
func requireArgs(c *cli.Context, n int, what string) error {
	if c.NArg() != n {
		return usageError{fmt.Sprintf("%s: want %s, got %d argument(s) (see kshift %s --help)", c.Command.FullName(), what, c.NArg(), c.Command.FullName())}
	}
	return nil
}

// markUsageErrors makes flag-parsing errors of every command exit with
// exitBadInput, however deep the command tree goes.
func markUsageErrors(cmds []*cli.Command) {
	for _, cmd := range cmds {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = onUsageError
		}
		markUsageErrors(cmd.Subcommands)
	}
}

func onUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err.Error()} }
