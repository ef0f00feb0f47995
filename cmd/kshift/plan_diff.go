package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/kshift/kshift/plandiff"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

var diffFormats = []outputFormat{formatTable, formatMarkdown, formatJSON}

func newPlanDiffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "show what changed between two plans of one cluster, for a reviewer",
		UsageText: "kshift plan diff OLD NEW [--output table|markdown|json]",
		Description: `Compares OLD and NEW, two plan.yaml (or two rollback.yaml) files of the same
cluster, usually the committed plan and the one a pull request brings: the
steps added, removed, resized (another number of partitions or bytes) or
changed (same size, other moves), matched by the partitions they share in a
phase rather than by number; the partitions whose final replicas or step
changed; the totals, the estimate and the balance (the spread of the replicas,
leaders and bytes each plan places on the target brokers) before and after.
markdown is what the CI examples post on the pull request (the step and
partition tables stop at 50 rows); json lists everything.

Exit codes: 0 the diff was printed, whether the plans differ or not; 2 a file
cannot be read or parsed, or the plans are of different clusters or kinds.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: string(formatTable), Usage: "output format: table, markdown or json"},
		},
		Action: flagsAfterArgs(runPlanDiff),
	}
}

func runPlanDiff(c *cli.Context) error {
	if err := requireArgs(c, 2, "two plan files, OLD and NEW"); err != nil {
		return err
	}
	format := outputFormat(c.String("output"))
	if !slices.Contains(diffFormats, format) {
		return usageError{fmt.Sprintf("--output %q is not one of table, markdown, json", format)}
	}
	oldPath, newPath := c.Args().Get(0), c.Args().Get(1)
	old, _, err := plans.LoadFile[plans.Plan](oldPath)
	if err != nil {
		return err
	}
	new, _, err := plans.LoadFile[plans.Plan](newPath)
	if err != nil {
		return err
	}
	d, err := plandiff.Compare(old, new)
	if errors.Is(err, plandiff.ErrNotComparable) {
		return badInput(fmt.Errorf("%s and %s: %w", oldPath, newPath, err))
	}
	if err != nil {
		return err
	}
	switch format {
	case formatMarkdown:
		return plandiff.WriteMarkdown(c.App.Writer, d)
	case formatJSON:
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	default:
		for i, t := range diffTables(d) {
			if i > 0 {
				fmt.Fprintln(c.App.Writer)
			}
			if err := renderTable(c.App.Writer, t); err != nil {
				return err
			}
		}
		return nil
	}
}

// diffTables are the diff for a terminal: totals side by side, the changed
// steps, and the changed partitions.
func diffTables(d *plandiff.Diff) []table {
	o, n := d.Old, d.New
	totals := table{
		title:  fmt.Sprintf("plan diff for cluster %s (%s plan)", d.ClusterID, d.Kind),
		header: []string{"", "old", "new"},
		rows: [][]string{
			{"strategy", string(o.Strategy), string(n.Strategy)},
			{"throttle per broker", o.Throttle.String(), n.Throttle.String()},
			{"steps", fmt.Sprint(o.Totals.Steps), fmt.Sprint(n.Totals.Steps)},
			{"partitions moved", fmt.Sprint(o.Totals.Partitions), fmt.Sprint(n.Totals.Partitions)},
			{"bytes to copy", o.Totals.BytesToCopy.String(), n.Totals.BytesToCopy.String()},
			{"estimated duration", secondsText(o.Totals.TotalDurationSeconds), secondsText(n.Totals.TotalDurationSeconds)},
			{"replica spread on the targets", fmt.Sprintf("%.1f", o.Balance.ReplicaDeviation), fmt.Sprintf("%.1f", n.Balance.ReplicaDeviation)},
			{"leader spread on the targets", fmt.Sprintf("%.1f", o.Balance.LeaderDeviation), fmt.Sprintf("%.1f", n.Balance.LeaderDeviation)},
			{"bytes spread on the targets", fmt.Sprintf("%.1f%%", 100*o.Balance.BytesDeviation), fmt.Sprintf("%.1f%%", 100*n.Balance.BytesDeviation)},
		},
	}
	steps := table{
		title:  fmt.Sprintf("%d step(s) changed, %d unchanged", len(d.Steps), d.UnchangedSteps),
		header: []string{"change", "phase", "old step", "new step", "partitions", "bytes to copy", "estimate"},
	}
	for _, s := range d.Steps {
		both := func(old, new string) string {
			switch {
			case s.OldNumber == 0:
				return new
			case s.NewNumber == 0 || old == new:
				return old
			}
			return old + " -> " + new
		}
		steps.rows = append(steps.rows, []string{string(s.Change), string(s.Phase), numberCell(s.OldNumber), numberCell(s.NewNumber),
			both(fmt.Sprint(s.OldPartitions), fmt.Sprint(s.NewPartitions)), both(s.OldBytes.String(), s.NewBytes.String()),
			both(secondsText(s.OldSeconds), secondsText(s.NewSeconds))})
	}
	parts := table{
		title:  fmt.Sprintf("%d partition(s) changed", len(d.Partitions)),
		header: []string{"partition", "old target", "new target", "old steps", "new steps"},
	}
	for i := range d.Partitions {
		p := &d.Partitions[i]
		parts.rows = append(parts.rows, []string{p.Name(), replicaCell(p.OldTarget), replicaCell(p.NewTarget), intsCell(p.OldSteps), intsCell(p.NewSteps)})
	}
	return []table{totals, steps, parts}
}

func numberCell(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func intsCell(list []int) string {
	if len(list) == 0 {
		return "-"
	}
	out := ""
	for i, n := range list {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprint(n)
	}
	return out
}

func secondsText(s float64) string {
	return plans.Duration(s * 1e9).String()
}
