package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newJoinCommand() *cli.Command {
	return &cli.Command{
		Name:  "join",
		Usage: "prepare target brokers to join the cluster",
		Subcommands: []*cli.Command{{
			Name:  "config",
			Usage: "print each target broker's server.properties fragment",
			Description: `For each target broker of the mapping: broker.id, broker.rack, zookeeper.connect
(--zookeeper-hosts, else the mapping's target ZooKeeper nodes, else the ensemble the
cluster uses now, from the snapshot; with the cluster's chroot), listeners and
advertised.listeners from the mapping's listeners section (ports for every target,
and listeners.broker_ports for a target's own, e.g. targets sharing a host), and
inter.broker.protocol.version, log.message.format.version,
listener.security.protocol.map and inter.broker.listener.name copied from the
source brokers in the snapshot. Reads files only; talks to no cluster.`,
			Flags: []cli.Flag{
				&cli.PathFlag{Name: "snapshot", Usage: "snapshot of the cluster (kshift snapshot)"},
				&cli.PathFlag{Name: "mapping", Usage: "mapping with target_brokers and a listeners section"},
				&cli.StringFlag{Name: "zookeeper-hosts", Usage: "host:port,... of the ZooKeeper nodes the targets use", DefaultText: "the mapping's target nodes, else the cluster's ensemble from the snapshot"},
				&cli.StringFlag{Name: "chroot", Usage: "the cluster's ZooKeeper chroot (/ for none), when the snapshot does not tell"},
				&cli.PathFlag{Name: "out", Usage: "write server-<id>.properties files into this directory instead of printing"},
			},
			Action: joinConfigAction,
		}},
	}
}

func joinConfigAction(c *cli.Context) error {
	if err := requireFlags(c, "snapshot", "mapping"); err != nil {
		return err
	}
	snap, _, err := plans.LoadFile[plans.Snapshot](c.Path("snapshot"))
	if err != nil {
		return err
	}
	m, _, err := plans.LoadFile[plans.Mapping](c.Path("mapping"))
	if err != nil {
		return err
	}
	o := inspect.JoinOptions{Chroot: c.String("chroot")}
	for _, h := range strings.Split(c.String("zookeeper-hosts"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			o.ZooKeeperHosts = append(o.ZooKeeperHosts, h)
		}
	}
	if o.Chroot != "" && !strings.HasPrefix(o.Chroot, "/") {
		return badInput(fmt.Errorf("--chroot %q must start with /", o.Chroot))
	}
	cfgs, err := inspect.BuildJoinConfigs(snap, m, o)
	if err != nil {
		return badInput(fmt.Errorf("join config: %w", err))
	}
	dir := c.Path("out")
	if dir != "" {
		// Every file is checked before the first is written.
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return badInput(fmt.Errorf("--out %s is not a directory: give an existing directory to write server-<id>.properties files into", dir))
		}
		for _, j := range cfgs {
			if err := outdir.CheckFile(joinConfigPath(dir, j.BrokerID)); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
		}
	}
	for i, j := range cfgs {
		text := j.Text(snap.ClusterID)
		if dir == "" {
			if i > 0 {
				fmt.Fprintln(c.App.Writer)
			}
			fmt.Fprint(c.App.Writer, text)
			continue
		}
		path := joinConfigPath(dir, j.BrokerID)
		if err := outdir.WriteFile(path, []byte(text)); err != nil {
			return err
		}
		fmt.Fprintln(c.App.ErrWriter, "wrote "+path)
	}
	return nil
}

// joinConfigPath is where join config --out writes a target broker's fragment.
func joinConfigPath(dir string, id int32) string {
	return filepath.Join(dir, fmt.Sprintf("server-%d.properties", id))
}
