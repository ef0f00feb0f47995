package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

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

// flagsAfterArgs lets a command take flags after its positional arguments, as
// in `kshift apply plan.yaml --step 3` (urfave/cli v2 stops parsing flags at the
// first positional argument). When flags trail, the command's flags are
// parsed again over the remaining arguments, on top of the values cli
// already parsed. Slice flags keep their elements (all their names share one
// value); every name of a scalar flag gets the value given under any of them.
func flagsAfterArgs(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		args := c.Args().Slice()
		trailing := false
		for _, a := range args {
			if a == "--" {
				break
			}
			trailing = trailing || (strings.HasPrefix(a, "-") && a != "-")
		}
		if !trailing {
			return action(c)
		}
		set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
		set.SetOutput(io.Discard)
		for _, f := range c.Command.Flags {
			if err := f.Apply(set); err != nil {
				return err
			}
		}
		for _, f := range c.Command.Flags {
			name := f.Names()[0]
			if !c.IsSet(name) {
				continue
			}
			vals := []string{fmt.Sprint(c.Value(name))}
			if _, ok := f.(*cli.StringSliceFlag); ok {
				vals = c.StringSlice(name)
			}
			for _, v := range vals {
				if err := set.Set(name, v); err != nil {
					return usageError{fmt.Sprintf("%s: --%s: %v", c.Command.FullName(), name, err)}
				}
			}
		}
		var positional []string
		for rest := args; len(rest) > 0; {
			if rest[0] == "--" {
				positional = append(positional, rest[1:]...)
				break
			}
			if err := set.Parse(rest); err != nil {
				return usageError{fmt.Sprintf("%s: %v (see kshift %s --help)", c.Command.FullName(), err, c.Command.FullName())}
			}
			if rest = set.Args(); len(rest) > 0 && rest[0] != "--" {
				positional, rest = append(positional, rest[0]), rest[1:]
			}
		}
		if err := set.Parse(append([]string{"--"}, positional...)); err != nil {
			return usageError{err.Error()}
		}
		// Scalar flags get one value per name: give every alias the value set.
		given := map[string]bool{}
		set.Visit(func(f *flag.Flag) { given[f.Name] = true })
		for _, f := range c.Command.Flags {
			if _, ok := f.(*cli.StringSliceFlag); ok {
				continue
			}
			for _, n := range f.Names() {
				if !given[n] {
					continue
				}
				for _, other := range f.Names() {
					if other != n {
						if err := set.Set(other, set.Lookup(n).Value.String()); err != nil {
							return usageError{err.Error()}
						}
					}
				}
				break
			}
		}
		var parent *cli.Context
		if l := c.Lineage(); len(l) > 1 {
			parent = l[1]
		}
		reparsed := cli.NewContext(c.App, set, parent)
		reparsed.Command = c.Command
		return action(reparsed)
	}
}
