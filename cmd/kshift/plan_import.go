package main

import (
	"errors"
	"fmt"

	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newPlanImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "turn a Kafka reassignment JSON into a checked, phased kshift plan",
		UsageText: "kshift plan import FILE --snapshot SNAPSHOT --out DIR [--throttle RATE] [limits]",
		Description: `Reads FILE, a reassignment JSON as kafka-reassign-partitions or topicmappr write it
({"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..]}]}), and
turns each partition's move from its replicas in SNAPSHOT to the JSON's replicas
into kshift's safe phases: raise-rf (add the new replicas after the current ones),
move-leader (when the first replica changes), lower-rf (drop the removed ones).
The plan is checked against the invariants and written like kshift plan writes
one: DIR/plan.yaml, DIR/rollback.yaml, DIR/SUMMARY.md. Its mapping_sha256 is the
JSON's hash. Unknown topics, partitions or brokers are refused with their place
in the JSON.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "snapshot", Usage: "the cluster snapshot (`FILE`, from kshift snapshot)"},
			&cli.StringFlag{Name: "out", Usage: "the output `DIR`; its parent must exist"},
			&cli.StringFlag{Name: "throttle", Value: plans.DefaultThrottle.String(), Usage: "replication `RATE` per broker in bytes/s, e.g. 50MiB/s (a lower-case b means bits: 400Mbps)"},
			&cli.IntFlag{Name: "partitions-per-step", Value: plans.DefaultLimits.PartitionsPerStep, Usage: "at most `N` partitions per step"},
			&cli.StringFlag{Name: "bytes-per-step", Value: plans.DefaultLimits.BytesPerStep.String(), Usage: "at most `SIZE` copied per step, e.g. 500GiB"},
			&cli.IntFlag{Name: "moves-into-broker", Value: plans.DefaultLimits.MovesIntoBroker, Usage: "at most `N` replicas added to one broker per step"},
		},
		Action: flagsAfterArgs(runPlanImport),
	}
}

func runPlanImport(c *cli.Context) error {
	if err := requireFlags(c, "snapshot", "out"); err != nil {
		return err
	}
	if err := requireArgs(c, 1, "one reassignment JSON file"); err != nil {
		return err
	}
	if err := checkPlanDir(c.String("out")); err != nil {
		return err
	}
	throttle, err := plans.ParseRate(c.String("throttle"))
	if err != nil {
		return usageError{"--throttle: " + err.Error()}
	}
	if throttle < 1 {
		return usageError{fmt.Sprintf("--throttle %q: want a positive rate such as 50MiB/s", c.String("throttle"))}
	}
	bytesPerStep, err := plans.ParseByteSize(c.String("bytes-per-step"))
	if err != nil || bytesPerStep < 1 {
		return usageError{fmt.Sprintf("--bytes-per-step %q: want a positive size such as 500GiB", c.String("bytes-per-step"))}
	}
	limits := plans.Limits{PartitionsPerStep: c.Int("partitions-per-step"), BytesPerStep: bytesPerStep, MovesIntoBroker: c.Int("moves-into-broker")}
	if limits.PartitionsPerStep < 1 || limits.MovesIntoBroker < 1 {
		return usageError{"--partitions-per-step and --moves-into-broker must be at least 1"}
	}
	path := c.Args().First()
	r, rSHA, err := plans.LoadKafkaJSONFile(path)
	if err != nil {
		return err
	}
	snap, snapSHA, err := plans.LoadFile[plans.Snapshot](c.String("snapshot"))
	if err != nil {
		return err
	}
	res, err := planner.Import(planner.ImportInput{
		Snapshot: snap, Reassignment: r, SnapshotSHA256: snapSHA, ReassignmentSHA256: rSHA,
		ReassignmentName: path, Limits: limits, Throttle: throttle,
	})
	if errors.Is(err, planner.ErrImportBreaksInvariants) {
		return refused(fmt.Errorf("%s: %w", path, err))
	}
	if err != nil {
		return err
	}
	dir := c.String("out")
	if err := writePlanDir(dir, res, nil); err != nil {
		return err
	}
	printPlanned(c.App.Writer, res, dir)
	return nil
}
