package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/internal/rehearsal"
	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newSandboxCommand() *cli.Command {
	return &cli.Command{
		Name:  "sandbox",
		Usage: "run a Kafka test double in the foreground to try kshift against",
		Description: `Starts an in-process cluster on 127.0.0.1 that speaks the Kafka protocol and
behaves like a ZooKeeper-mode controller (reassignments, throttles, elections),
prints its bootstrap address, and runs until Ctrl-C. Point any other command
at it with --bootstrap. Its shape is synthetic (--source-brokers, --topics, ...:
source brokers hold every replica, target brokers are joined and empty) or
mirrors a snapshot (--from-snapshot, with --target-brokers empty brokers added).
Nothing is stored: a restart starts afresh.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "source-brokers", Value: 3, Usage: "source brokers (ids 1..N)"},
			&cli.IntFlag{Name: "target-brokers", Value: 3, Usage: "target brokers (ids 1001..)"},
			&cli.IntFlag{Name: "racks", Value: 3, Usage: "racks of each side (r1.. for sources, z1.. for targets)"},
			&cli.IntFlag{Name: "topics", Value: 10, Usage: "topics, Kafka's two internal ones included"},
			&cli.IntFlag{Name: "partitions", Value: 100, Usage: "partitions in all"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the synthetic shape and sizes"},
			&cli.PathFlag{Name: "from-snapshot", Usage: "mirror this snapshot's brokers, topics, replicas and sizes instead"},
			&cli.StringFlag{Name: "kafka-version", Value: "2.4", Usage: "behave like Kafka 2.4 or 3.x"},
			&cli.StringFlag{Name: "disk-capacity", Usage: "disk per broker reported by 3.x (e.g. 2TiB; default: the snapshot's, else unknown)"},
			&cli.IntFlag{Name: "port-base", Usage: "listen on consecutive ports from `P`, the brokers in id order: the first (the lowest id) on P, the next on P+1, and so on", DefaultText: "a free port each"},
			&cli.Float64Flag{Name: "speed", Value: 1, Usage: "simulated time runs this many times faster than real time"},
			&cli.PathFlag{Name: "write-snapshot", Usage: "write what kshift snapshot reads from the sandbox to this file"},
			&cli.PathFlag{Name: "write-mapping", Usage: "write a mapping template for the sandbox's brokers to this file"},
		},
		Action: sandboxAction,
	}
}

func sandboxAction(c *cli.Context) error {
	for _, name := range []string{"write-snapshot", "write-mapping"} {
		if p := c.Path(name); p != "" && p != "-" {
			if err := outdir.CheckFile(p); err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
		}
	}
	shape, mapping, err := sandboxShape(c)
	if err != nil {
		return err
	}
	var version kafkasim.Version
	switch c.String("kafka-version") {
	case "2.4":
		version = kafkasim.V2_4
	case "3.x", "3":
		version = kafkasim.V3_x
	default:
		return badInput(fmt.Errorf("--kafka-version %q: want 2.4 or 3.x", c.String("kafka-version")))
	}
	var capacity plans.ByteSize
	if v := c.String("disk-capacity"); v != "" {
		if capacity, err = plans.ParseByteSize(v); err != nil {
			return badInput(fmt.Errorf("--disk-capacity: %w", err))
		}
	}
	if c.Float64("speed") <= 0 {
		return badInput(fmt.Errorf("--speed %g: must be positive", c.Float64("speed")))
	}
	cfg := kafkasim.Config{ClusterID: shape.ClusterID, Version: version, Controller: shape.Controller,
		Clock: kafkasim.NewScaledClock(time.Now(), c.Float64("speed"))}
	for i, b := range shape.Brokers {
		bc := kafkasim.BrokerConfig{ID: b.ID, Rack: b.Rack, DiskCapacity: int64(b.DiskCapacity)}
		if capacity > 0 {
			bc.DiskCapacity = int64(capacity)
		}
		if base := c.Int("port-base"); base > 0 {
			bc.Port = base + i
		}
		cfg.Brokers = append(cfg.Brokers, bc)
	}
	startCtx, cancel := context.WithTimeout(c.Context, 30*time.Second)
	defer cancel()
	d, err := kafkasim.Start(startCtx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.LoadSnapshot(rehearsal.Loadable(shape)); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	bootstrap := strings.Join(d.Bootstrap(), ",")
	if err := writeSandboxFiles(c, bootstrap, mapping); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "bootstrap: %s\n", bootstrap)
	fmt.Fprintf(c.App.Writer, "kafka %s double, cluster %s: %d brokers, %d topics, %d partitions; Ctrl-C stops it\n",
		version, shape.ClusterID, len(shape.Brokers), len(shape.Topics), shape.PartitionCount())
	<-c.Context.Done()
	fmt.Fprintln(c.App.ErrWriter, "sandbox stopped")
	return nil
}

// sandboxShape is the cluster to mirror and its mapping template.
func sandboxShape(c *cli.Context) (*plans.Snapshot, *plans.Mapping, error) {
	if p := c.Path("from-snapshot"); p != "" {
		s, _, err := plans.LoadFile[plans.Snapshot](p)
		if err != nil {
			return nil, nil, err
		}
		m := &plans.Mapping{Version: plans.FormatVersion, Limits: plans.DefaultLimits, Throttle: plans.DefaultThrottle,
			InternalTopics: plans.InternalTopicsFirst, Strategy: plans.StrategyPhased}
		var racks []string
		var maxID int32
		for _, b := range s.Brokers {
			m.SourceBrokers = append(m.SourceBrokers, b.ID)
			maxID = max(maxID, b.ID)
			if b.Rack != "" && !slices.Contains(racks, b.Rack) {
				racks = append(racks, b.Rack)
			}
		}
		// New, empty target brokers numbered above the snapshot's.
		base := (maxID/1000 + 1) * 1000
		for i := 0; i < c.Int("target-brokers"); i++ {
			b := plans.Broker{ID: base + int32(i) + 1}
			if len(racks) > 0 {
				b.Rack = racks[i%len(racks)]
			}
			s.Brokers = append(s.Brokers, b)
			m.TargetBrokers = append(m.TargetBrokers, b.ID)
		}
		return s, m, nil
	}
	for _, f := range []string{"source-brokers", "target-brokers", "racks", "topics", "partitions"} {
		if c.Int(f) < 1 {
			return nil, nil, badInput(fmt.Errorf("--%s %d: must be at least 1", f, c.Int(f)))
		}
	}
	s, m := synth.Generate(synth.Options{SourceBrokers: c.Int("source-brokers"), TargetBrokers: c.Int("target-brokers"),
		Racks: c.Int("racks"), Topics: c.Int("topics"), Partitions: c.Int("partitions"), Seed: c.Uint64("seed")})
	return s, m, nil
}

// writeSandboxFiles writes the snapshot kshift reads from the running sandbox
// (the same read as kshift snapshot) and the mapping template.
func writeSandboxFiles(c *cli.Context, bootstrap string, m *plans.Mapping) error {
	if p := c.Path("write-snapshot"); p != "" {
		cl, err := kafkaconn.Connect(c.Context, kafkaconn.Options{Bootstrap: strings.Split(bootstrap, ",")})
		if err != nil {
			return err
		}
		st, err := inspect.Read(c.Context, kafkaAPI(cl), inspect.ReadOptions{})
		cl.Close()
		if err != nil {
			return err
		}
		if err := writeLiveOutput(c, p, func(w io.Writer) error { return inspect.WriteSnapshot(w, st.Snapshot) }); err != nil {
			return err
		}
		fmt.Fprintln(c.App.ErrWriter, "wrote snapshot "+p)
	}
	if p := c.Path("write-mapping"); p != "" {
		data, err := plans.Marshal(m)
		if err != nil {
			return err
		}
		if err := writeLiveOutput(c, p, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return err
		}
		fmt.Fprintln(c.App.ErrWriter, "wrote mapping template "+p)
	}
	return nil
}
