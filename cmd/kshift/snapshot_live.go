package main

import (
	"fmt"
	"io"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

// snapshotLiveFlags are the flags of `kshift snapshot` reading a live cluster.
func snapshotLiveFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.PathFlag{Name: "out", Usage: "write the snapshot to this file (- for stdout)"},
		&cli.StringSliceFlag{Name: "topic", Usage: "read only these topics (repeatable; default: every topic)"},
	}, clusterFlags()...)
}

// snapshotLiveAction reads the cluster the connection flags name into a
// snapshot file. Notes on what could not be known go to stderr.
func snapshotLiveAction(c *cli.Context) error {
	if err := requireFlags(c, "out"); err != nil {
		return err
	}
	// A path the snapshot cannot be written to is refused before the
	// cluster is read: reading a large cluster takes a while.
	if out := c.Path("out"); out != "-" {
		if err := outdir.CheckFile(out); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	clients, err := connect(c)
	if err != nil {
		return err
	}
	defer clients.Close()
	opts := inspect.ReadOptions{}
	if c.IsSet("topic") {
		opts.Topics = c.StringSlice("topic")
	}
	z, err := connectZooKeeper(c, clients)
	if err != nil {
		return err
	}
	if z != nil {
		defer z.Close()
		opts.ZooKeeper = liveZooKeeperSource(clients, z)
	}
	st, err := inspect.Read(c.Context, kafkaAPI(clients), opts)
	if err != nil {
		return err
	}
	out := c.Path("out")
	if err := writeLiveOutput(c, out, func(w io.Writer) error { return inspect.WriteSnapshot(w, st.Snapshot) }); err != nil {
		return err
	}
	for _, n := range st.Notes {
		fmt.Fprintln(c.App.ErrWriter, "note: "+n)
	}
	s := st.Snapshot
	var total plans.ByteSize
	for _, t := range s.Topics {
		for _, p := range t.Partitions {
			total += p.Size
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "cluster %s: %d brokers, %d topics, %d partitions, %s (leader sizes) -> %s\n",
		s.ClusterID, len(s.Brokers), len(s.Topics), s.PartitionCount(), total, out)
	// The cluster's answers may not make a snapshot kshift can plan from
	// (e.g. a topic being deleted); say so now rather than at plan time.
	if err := s.Validate(); err != nil {
		return fmt.Errorf("the snapshot was written to %s but does not validate, so kshift plan will refuse it; take it again once the cluster settles: %w", out, err)
	}
	return nil
}

func liveZooKeeperSource(clients *kafkaconn.Clients, z *kafkaconn.ZooKeeper) *inspect.ZooKeeperSource {
	return &inspect.ZooKeeperSource{Conn: z.Conn, Connect: clients.Options.ZooKeeper.Connect, Chroot: z.Chroot}
}

// writeLiveOutput writes a file through a temporary file in the same
// directory, so a failed write never leaves half a file, and refuses a path
// that is not a regular file (outdir.WriteFileFunc); "-" is stdout.
func writeLiveOutput(c *cli.Context, path string, write func(io.Writer) error) error {
	if path == "-" {
		return write(c.App.Writer)
	}
	return outdir.WriteFileFunc(path, write)
}
