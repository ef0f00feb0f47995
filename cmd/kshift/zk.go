package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/zkdial"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
	"github.com/urfave/cli/v2"
)

// newZKCommand is `kshift zk`: read and prepare ZooKeeper ensembles.
func newZKCommand() *cli.Command {
	return &cli.Command{
		Name:  "zk",
		Usage: "inspect a ZooKeeper ensemble, print target node configs, dry-run or run a prune",
		Subcommands: []*cli.Command{
			newZKStatusCommand(),
			newZKConfigCommand(),
			newZKPruneCommand(),
		},
	}
}

// zkConnFlags are the flags of every zk subcommand that talks to an ensemble.
func zkConnFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagZooKeeper, EnvVars: []string{"KSHIFT_ZOOKEEPER"}, Usage: "the ensemble, `host:port,...` (a /chroot suffix is ignored)"},
		&cli.StringFlag{Name: flagZKDigestEnv, Value: "KSHIFT_ZK_DIGEST",
			Usage: "environment variable holding digest credentials `user:password` (the super user, to reconfigure or see whether reconfig is authorised)"},
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "give up connecting and reading after this long"},
		outputFlag,
	}
}

// dialZK connects to --zookeeper with the digest from the named variable.
func dialZK(c *cli.Context) (*zk.Conn, context.Context, context.CancelFunc, error) {
	if err := requireFlags(c, flagZooKeeper); err != nil {
		return nil, nil, nil, err
	}
	connect, err := zkdial.Parse(c.String(flagZooKeeper))
	if err != nil {
		return nil, nil, nil, badInput(fmt.Errorf("--zookeeper: %w", err))
	}
	if c.Duration("timeout") <= 0 {
		return nil, nil, nil, badInput(fmt.Errorf("--timeout %s: must be positive", c.Duration("timeout")))
	}
	env := c.String(flagZKDigestEnv)
	if err := kafkaconn.CheckEnvName(env, "--"+flagZKDigestEnv, "the ZooKeeper digest credentials"); err != nil {
		return nil, nil, nil, badInput(err)
	}
	digest := os.Getenv(env)
	switch {
	case digest != "" && !strings.Contains(digest, ":"):
		return nil, nil, nil, badInput(fmt.Errorf("%s must hold user:password", kafkaconn.ShowEnvName(env, "--"+flagZKDigestEnv)))
	case digest == "" && c.IsSet(flagZKDigestEnv):
		fmt.Fprintf(c.App.ErrWriter, "warning: %s is not set: connecting to ZooKeeper without authentication\n", kafkaconn.ShowEnvName(env, "--"+flagZKDigestEnv))
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	// zkops works with absolute paths: the chroot is ignored.
	conn, err := zkdial.Dial(ctx, connect, zkdial.Options{Digest: digest})
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return conn, ctx, cancel, nil
}

func newZKStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the ensemble's members, leader, sync and reconfig access, and the Kafka clusters on it",
		UsageText: "kshift zk status --zookeeper HOST:PORT,... [--output table|yaml|json]",
		Description: `Reads /zookeeper/config for the members, asks each with srvr (mode, zxid; lag
behind the leader) and the leader with mntr (synced followers and observers),
probes whether reconfig is enabled and authorised for this session (a conditional
reconfig and write that cannot match: nothing changes), and lists the Kafka
clusters found under chroots (cluster id, live brokers, controller) and any
other data.`,
		Flags:  zkConnFlags(),
		Action: runZKStatus,
	}
}

type zkStatusOutput struct {
	Ensemble *zkops.EnsembleStatus `json:"ensemble" yaml:"ensemble"`
	Layout   *zkops.Layout         `json:"layout" yaml:"layout"`
}

func runZKStatus(c *cli.Context) error {
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	if err := requireArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	conn, ctx, cancel, err := dialZK(c)
	if err != nil {
		return err
	}
	defer cancel()
	defer conn.Close()
	st, err := zkops.ReadStatus(ctx, conn)
	if err != nil {
		return err
	}
	layout, err := zkops.ReadLayout(ctx, conn)
	if err != nil {
		return err
	}
	out := zkStatusOutput{Ensemble: st, Layout: layout}
	return p.print(out, func() []table { return zkStatusTables(out) })
}

func zkStatusTables(o zkStatusOutput) []table {
	st := o.Ensemble
	members := table{title: "Members", header: []string{"id", "address", "role", "mode", "zxid", "lag", "in sync", "error"}}
	for _, m := range st.Members {
		lag := "?"
		if m.Lag >= 0 {
			lag = strconv.FormatInt(m.Lag, 10)
		}
		members.rows = append(members.rows, []string{strconv.Itoa(m.ID), zkops.ClientAddr(m.ZKServer), m.Role, m.Mode, m.Zxid, lag, yesNo(m.InSync), m.Error})
	}
	reconfig := fmt.Sprintf("enabled: %s, authorised: %s", yesNo(st.Reconfig.Enabled), yesNo(st.Reconfig.Authorised))
	if st.Reconfig.Detail != "" {
		reconfig += " (" + st.Reconfig.Detail + ")"
	}
	summary := table{title: "Ensemble", header: []string{"config version", "leader", "quorum size", "synced followers", "synced observers", "non-voting followers", "reconfig"},
		rows: [][]string{{st.ConfigVersion, strconv.Itoa(st.Leader), strconv.Itoa(st.QuorumSize), strconv.Itoa(st.SyncedFollowers), strconv.Itoa(st.SyncedObservers), strconv.Itoa(st.SyncedNonVoting), reconfig}}}
	clusters := table{title: "Kafka clusters", header: []string{"chroot", "cluster id", "live brokers", "controller", "legacy reassignment", "note"}}
	for _, k := range o.Layout.Clusters {
		ctrl := "none"
		if k.Controller >= 0 {
			ctrl = strconv.Itoa(int(k.Controller))
		}
		reassign := "none"
		if len(k.Reassignment) > 0 {
			reassign = fmt.Sprintf("%d partitions in flight", len(k.Reassignment))
		}
		note := ""
		if len(k.Brokers) == 0 {
			// After a fork this is the migrated chroot left on the old ensemble.
			note = "no broker registered: ready for removal if its cluster moved to another ensemble"
		}
		clusters.rows = append(clusters.rows, []string{k.Chroot, k.ClusterID, fmt.Sprint(k.Brokers), ctrl, reassign, note})
	}
	other := table{title: "Other data", header: []string{"path", "znodes"}}
	for _, s := range o.Layout.Other {
		other.rows = append(other.rows, []string{s.Path, strconv.Itoa(s.ZNodes)})
	}
	return []table{summary, members, clusters, other}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newZKConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "print each target ZooKeeper node's zoo.cfg and dynamic config, from the mapping's zookeeper section",
		UsageText: "kshift zk config --mapping MAPPING (--zookeeper HOST:PORT,... | --snapshot SNAPSHOT) [--kind observer|fork|static]",
		Description: `Prints what each target node of the mapping needs to start: its zoo.cfg, its
dynamic config, its java.env (the JVM option with ZooKeeper's super digest, which
every server needs for kshift's reconfigs: printed with the digest when the
variable --zookeeper-digest-env names holds super:PASSWORD) and its myid.

  --kind observer  (default) start it as an observer of the source ensemble, before
                   the zk-join step adds it with reconfig. The source members come
                   from the live ensemble (--zookeeper) or the snapshot (--snapshot).
  --kind fork      restart the targets as an ensemble of their own (zk-fork runbook).
  --kind static    for ensembles without dynamic reconfig (ZooKeeper < 3.5 or
                   reconfigEnabled=false): a zoo.cfg with the full server list, the
                   targets as observers; apply it to every node by a rolling restart.
                   Chosen by default when --zookeeper shows reconfig disabled.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "mapping", Usage: "the mapping with a zookeeper section (`FILE`)"},
			&cli.StringFlag{Name: "snapshot", Usage: "read the source members from this snapshot (`FILE`) instead of --zookeeper"},
			&cli.StringFlag{Name: "kind", Value: string(zkops.ConfigObserver), Usage: "observer, fork or static"},
			&cli.StringFlag{Name: flagZooKeeper, EnvVars: []string{"KSHIFT_ZOOKEEPER"}, Usage: "read the source members from the live ensemble `host:port,...`"},
			&cli.StringFlag{Name: flagZKDigestEnv, Value: "KSHIFT_ZK_DIGEST", Usage: "environment variable holding digest credentials `user:password`"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "give up connecting and reading after this long"},
			outputFlag,
		},
		Action: runZKConfig,
	}
}

func runZKConfig(c *cli.Context) error {
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	if err := requireFlags(c, "mapping"); err != nil {
		return err
	}
	if err := requireArgs(c, 0, "no arguments"); err != nil {
		return err
	}
	m, _, err := plans.LoadFile[plans.Mapping](c.String("mapping"))
	if err != nil {
		return err
	}
	if m.ZooKeeper == nil {
		return badInput(fmt.Errorf("%s has no zookeeper section: add one listing the target nodes (see README, File formats)", c.String("mapping")))
	}
	kind := zkops.ConfigKind(c.String("kind"))
	var members []plans.ZKServer
	switch {
	case kind == zkops.ConfigFork:
	case c.IsSet("snapshot"):
		snap, _, err := plans.LoadFile[plans.Snapshot](c.String("snapshot"))
		if err != nil {
			return err
		}
		if snap.ZooKeeper == nil || len(snap.ZooKeeper.Members) == 0 {
			return badInput(fmt.Errorf("%s records no ZooKeeper members: use --zookeeper", c.String("snapshot")))
		}
		members = snap.ZooKeeper.Members
	case c.IsSet(flagZooKeeper):
		conn, ctx, cancel, err := dialZK(c)
		if err != nil {
			return err
		}
		defer cancel()
		defer conn.Close()
		cfg, err := zkops.ReadConfig(ctx, conn)
		if err != nil {
			return err
		}
		members = cfg.Members
		if acc := zkops.ProbeReconfig(ctx, conn); !acc.Enabled && !c.IsSet("kind") {
			fmt.Fprintf(c.App.ErrWriter, "note: %s\nprinting static configs (--kind static)\n", acc.Detail)
			kind = zkops.ConfigStatic
		}
	default:
		return usageError{"kshift zk config: give --zookeeper or --snapshot for the source members (not needed with --kind fork)"}
	}
	ncs, err := zkops.NodeConfigs(m.ZooKeeper, members, kind)
	if err != nil {
		return badInput(err)
	}
	if d := os.Getenv(c.String(flagZKDigestEnv)); strings.Contains(d, ":") {
		zkops.SetSuperDigest(ncs, d)
	}
	if p.format != formatTable {
		return p.print(ncs, nil)
	}
	for _, nc := range ncs {
		fmt.Fprintf(p.w, "### server %d (%s)\n# %s/zoo.cfg\n%s", nc.ID, nc.Host, nc.ConfDir, nc.ZooCfg)
		if nc.DynamicConfig != "" {
			fmt.Fprintf(p.w, "# %s/zoo.cfg.dynamic\n%s", nc.ConfDir, nc.DynamicConfig)
		}
		fmt.Fprintf(p.w, "# %s/java.env\n%s", nc.ConfDir, nc.JavaEnv)
		fmt.Fprintf(p.w, "# %s/myid\n%d\n\n", nc.DataDir, nc.ID)
	}
	return nil
}

func newZKPruneCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "delete other clusters' chroots from a forked ensemble (dry run unless --execute)",
		UsageText: "kshift zk prune --zookeeper NEW_ENSEMBLE --chroot MIGRATED --sources 1,2,3 --prune /other [--prune ...] [--execute]",
		Description: `Counts (and with --execute deletes) the znodes of each --prune path on the ensemble.
Refused, changing nothing, unless the ensemble is the forked one: no --sources server
is a member, its members are exactly the servers of --zookeeper, and the migrated
cluster (--chroot) runs on it (brokers registered, with sessions connected to its
members). Refused too when a path holds live broker registrations, or overlaps
--chroot, the root or /zookeeper. The zk-prune
plan step runs the same code from kshift apply.`,
		Flags: append(zkConnFlags(),
			&cli.StringFlag{Name: "chroot", Usage: "the migrated cluster's chroot, never pruned"},
			&cli.IntSliceFlag{Name: "sources", Usage: "ids of the source servers that must no longer be members"},
			&cli.StringSliceFlag{Name: "prune", Usage: "a chroot to delete (repeat)"},
			&cli.BoolFlag{Name: "execute", Usage: "delete; without it nothing changes"},
		),
		Action: runZKPrune,
	}
}

func runZKPrune(c *cli.Context) error {
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	if err := requireFlags(c, flagZooKeeper, "chroot", "sources", "prune"); err != nil {
		return err
	}
	conn, ctx, cancel, err := dialZK(c)
	if err != nil {
		return err
	}
	defer cancel()
	defer conn.Close()
	ch := &plans.ZooKeeperChange{Connect: c.String(flagZooKeeper), Chroot: c.String("chroot"), Sources: c.IntSlice("sources"), Prune: c.StringSlice("prune")}
	rep, err := zkops.Prune(ctx, conn, ch, !c.Bool("execute"), zkops.Options{Out: c.App.ErrWriter})
	if errors.Is(err, zkops.ErrRefused) {
		return refused(err)
	}
	if err != nil {
		return err
	}
	return p.print(rep, func() []table {
		title := "Deleted"
		if rep.DryRun {
			title = "Dry run: would delete (run again with --execute)"
		}
		t := table{title: title, header: []string{"path", "znodes"}}
		for _, s := range rep.Paths {
			t.rows = append(t.rows, []string{s.Path, strconv.Itoa(s.ZNodes)})
		}
		return []table{t}
	})
}
