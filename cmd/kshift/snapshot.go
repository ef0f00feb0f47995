package main

import (
	"fmt"

	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

// newSnapshotCommand is `kshift snapshot`: reading a live cluster (its
// flags and action are in snapshot_live.go) and `snapshot synth`.
func newSnapshotCommand() *cli.Command {
	return &cli.Command{
		Name:   "snapshot",
		Usage:  "read a live cluster into snapshot.yaml, or synthesize one (snapshot synth)",
		Flags:  snapshotLiveFlags(),
		Action: snapshotLiveAction,
		Subcommands: []*cli.Command{
			newSnapshotSynthCommand(),
		},
	}
}

func newSnapshotSynthCommand() *cli.Command {
	return &cli.Command{
		Name:      "synth",
		Usage:     "write a realistic synthetic cluster snapshot and a matching mapping",
		UsageText: "kshift snapshot synth --out SNAPSHOT --mapping-out MAPPING [--source-brokers N] [--target-brokers N] [--racks N] [--topics N] [--partitions N] [--seed N]",
		Description: `Writes a synthetic cluster in mid-migration shape: source brokers holding every
replica (mostly RF 3, rack-aware), target brokers joined and empty, skewed topic
sizes and partition counts, the internal topics, some topics with
min.insync.replicas=2; and a mapping from the source racks to the target racks.
The same flags always give the same files. For trying kshift without a cluster,
tests and benchmarks:

  kshift snapshot synth --source-brokers 60 --target-brokers 60 --racks 3 \
      --topics 20000 --partitions 200000 --seed 1 --out snap.yaml --mapping-out mapping.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the snapshot to `FILE`"},
			&cli.StringFlag{Name: "mapping-out", Usage: "write the mapping to `FILE`"},
			&cli.IntFlag{Name: "source-brokers", Value: 6, Usage: "`N` source brokers, ids 1..N"},
			&cli.IntFlag{Name: "target-brokers", Value: 6, Usage: fmt.Sprintf("`N` target brokers, ids %d..", synth.TargetIDBase+1)},
			&cli.IntFlag{Name: "racks", Value: 3, Usage: "`N` racks for the source brokers (and as many for the targets)"},
			&cli.IntFlag{Name: "topics", Value: 30, Usage: "`N` topics, the internal topics included"},
			&cli.IntFlag{Name: "partitions", Value: 300, Usage: "`N` partitions in total"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random `SEED`: the same seed gives the same files"},
		},
		Action: runSnapshotSynth,
	}
}

func runSnapshotSynth(c *cli.Context) error {
	if err := requireFlags(c, "out", "mapping-out"); err != nil {
		return err
	}
	if err := requireArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	for _, name := range []string{"source-brokers", "target-brokers", "racks", "topics", "partitions"} {
		if c.Int(name) < 1 {
			return usageError{fmt.Sprintf("--%s %d: must be at least 1", name, c.Int(name))}
		}
	}
	for _, name := range []string{"out", "mapping-out"} {
		if err := outdir.CheckFile(c.String(name)); err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
	}
	snap, m := synth.Generate(synth.Options{
		SourceBrokers: c.Int("source-brokers"),
		TargetBrokers: c.Int("target-brokers"),
		Racks:         c.Int("racks"),
		Topics:        c.Int("topics"),
		Partitions:    c.Int("partitions"),
		Seed:          c.Uint64("seed"),
	})
	snapYAML, err := plans.Marshal(snap)
	if err != nil {
		return fmt.Errorf("encode the snapshot: %w", err)
	}
	mappingYAML, err := plans.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode the mapping: %w", err)
	}
	if err := outdir.WriteFile(c.String("out"), snapYAML); err != nil {
		return err
	}
	if err := outdir.WriteFile(c.String("mapping-out"), mappingYAML); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Wrote %s (cluster %s: %d brokers, %d topics, %d partitions) and %s.\n",
		c.String("out"), snap.ClusterID, len(snap.Brokers), len(snap.Topics), snap.PartitionCount(), c.String("mapping-out"))
	return nil
}
