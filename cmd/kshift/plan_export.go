package main

import (
	"fmt"

	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

// exportFormatKafkaJSON is Kafka's reassignment JSON, read by
// kafka-reassign-partitions.sh --execute.
const exportFormatKafkaJSON = "kafka-json"

func newPlanExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write one step as Kafka's reassignment JSON, to fall back on kafka-reassign-partitions",
		UsageText: "kshift plan export PLAN --step N [--format kafka-json] [--out FILE]",
		Description: `Writes step N of PLAN as {"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..]}]}
with each partition's "to" list, one partition per line. Give it to
kafka-reassign-partitions.sh --reassignment-json-file FILE --execute (with
--throttle) if kshift cannot be used. kshift's checks, throttle cleanup and
preferred-leader election (after a move-leader step) are then yours to do.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "step", Usage: "the step `N` to export"},
			&cli.StringFlag{Name: "format", Value: exportFormatKafkaJSON, Usage: "output format: kafka-json"},
			&cli.StringFlag{Name: "out", Usage: "write to `FILE` instead of standard output"},
		},
		Action: flagsAfterArgs(runPlanExport),
	}
}

func runPlanExport(c *cli.Context) error {
	if err := requireFlags(c, "step"); err != nil {
		return err
	}
	if err := requireArgs(c, 1, "one plan file"); err != nil {
		return err
	}
	if f := c.String("format"); f != exportFormatKafkaJSON {
		return usageError{fmt.Sprintf("--format %q: the only export format is %s", f, exportFormatKafkaJSON)}
	}
	if c.IsSet("out") {
		if err := outdir.CheckFile(c.String("out")); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	path := c.Args().First()
	p, _, err := plans.LoadFile[plans.Plan](path)
	if err != nil {
		return err
	}
	s, err := planStep(p, path, c.Int("step"))
	if err != nil {
		return err
	}
	if !s.Phase.IsReassignment() {
		what := "changes ZooKeeper"
		if s.Phase == plans.PhaseRetireSources {
			what = "retires the source brokers"
		}
		return badInput(fmt.Errorf("--step %d: %s step %d %s, not partitions: nothing to export", s.Number, path, s.Number, what))
	}
	data, err := plans.MarshalKafkaJSON(plans.KafkaReassignmentFor(s))
	if err != nil {
		return err
	}
	if !c.IsSet("out") {
		_, err := c.App.Writer.Write(data)
		return err
	}
	return outdir.WriteFile(c.String("out"), data)
}
