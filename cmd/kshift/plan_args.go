package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed lets a command take flags after its positional arguments, as
// in `kshift plan validate plan.yaml --snapshot snapshot.yaml`: urfave/cli v2
// stops parsing flags at the first positional argument and would pass the
// rest on as arguments. When such trailing flags are present, the wrapper
// parses the command's flags again over all the arguments and runs action
// with the result; otherwise it runs action as it is.
func interspersed(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		args := c.Args().Slice()
		if !flagAfterPositional(args) {
			return action(c)
		}
		set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
		set.SetOutput(io.Discard)
		for _, f := range c.Command.Flags {
			if err := f.Apply(set); err != nil {
				return err
			}
		}
		// Flags given before the first positional argument were parsed
		// already; carry them over.
		for _, f := range c.Command.Flags {
			name := f.Names()[0]
			if c.IsSet(name) {
				if err := set.Set(name, fmt.Sprint(c.Value(name))); err != nil {
					return usageError{fmt.Sprintf("%s: --%s: %v", c.Command.FullName(), name, err)}
				}
			}
		}
		var positional []string
		rest := args
		for len(rest) > 0 {
			if rest[0] == "--" {
				positional = append(positional, rest[1:]...)
				break
			}
			if err := set.Parse(rest); err != nil {
				return usageError{fmt.Sprintf("%s: %v (see kshift %s --help)", c.Command.FullName(), err, c.Command.FullName())}
			}
			rest = set.Args()
			if len(rest) > 0 && rest[0] != "--" {
				positional = append(positional, rest[0])
				rest = rest[1:]
			}
		}
		if err := set.Parse(append([]string{"--"}, positional...)); err != nil {
			return usageError{err.Error()}
		}
		if err := syncAliases(c.Command.Flags, set); err != nil {
			return usageError{fmt.Sprintf("%s: %v", c.Command.FullName(), err)}
		}
		reparsed := cli.NewContext(c.App, set, parentContext(c))
		reparsed.Command = c.Command
		return action(reparsed)
	}
}

// flagAfterPositional reports whether args (what is left after the flags
// cli parsed) hold a flag after a positional argument.
func flagAfterPositional(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			return true
		}
	}
	return false
}

// syncAliases gives every name of a flag the value set under any of its
// names (-o json sets --output), as cli does after its own parsing.
func syncAliases(flags []cli.Flag, set *flag.FlagSet) error {
	given := map[string]bool{}
	set.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, f := range flags {
		names := f.Names()
		for _, n := range names {
			if !given[n] {
				continue
			}
			v := set.Lookup(n).Value.String()
			for _, other := range names {
				if other != n {
					if err := set.Set(other, v); err != nil {
						return err
					}
				}
			}
			break
		}
	}
	return nil
}

func parentContext(c *cli.Context) *cli.Context {
	if l := c.Lineage(); len(l) > 1 {
		return l[1]
	}
	return nil
}
