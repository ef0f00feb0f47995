package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/kshift/kshift/internal/zkdial"

	"github.com/go-zookeeper/zk"

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
		Usage: "run a simulated Kafka cluster in the foreground to try kshift against",
		Description: `Starts an in-process cluster on 127.0.0.1 that speaks the Kafka protocol and
behaves like a ZooKeeper-mode controller (reassignments, throttles, elections),
prints its bootstrap address, and runs until Ctrl-C. Point any other command
at it with --bootstrap. Its shape is synthetic (--source-brokers, --topics, ...:
source brokers hold every replica, target brokers are joined and empty) or
mirrors a snapshot (--from-snapshot, with --target-brokers empty brokers added).

Commands that change the cluster (apply, rollback, cancel, throttle set and
clear) keep kshift's operator lock, throttle records and audit trail in the
cluster's ZooKeeper. With --zookeeper HOST:PORT (a ZooKeeper you run, e.g.
the zookeeper package's server on 127.0.0.1:2181) the sandbox registers its
cluster there under a fresh chroot, as a ZooKeeper-mode cluster does
(/cluster/id, /brokers, /config), prints the connect string to give those
commands (--zookeeper HOST:PORT/CHROOT), and deletes the chroot when it
stops. Without it, only the commands that read the cluster, and --dry-run,
work against the sandbox.

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
			&cli.StringFlag{Name: flagZooKeeper, Usage: "a ZooKeeper to register the cluster in, HOST:PORT,...[/CHROOT] (under a fresh chroot, deleted at the end), so that commands that change the cluster can keep kshift's state there; digest credentials user:password from " + kafkaconn.EnvZKDigest},
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
	startCtx, cancel := context.WithTimeout(c.Context, 30*time.Second)
	defer cancel()
	var reg *sandboxZooKeeper
	if c.IsSet(flagZooKeeper) {
		if reg, err = openSandboxZooKeeper(startCtx, c.String(flagZooKeeper)); err != nil {
			return err
		}
		defer reg.close(c.App.ErrWriter)
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
		if reg != nil {
			// As in server.properties: kshift names it when --zookeeper is missing.
			bc.Configs = map[string]string{"zookeeper.connect": reg.connect}
		}
		cfg.Brokers = append(cfg.Brokers, bc)
	}
	d, err := kafkasim.Start(startCtx, cfg)
	if err != nil {
		return err
	}
	// Closed before the ZooKeeper session (deferred earlier): the brokers'
	// registrations go first.
	defer d.Close()
	if err := d.LoadSnapshot(rehearsal.Loadable(shape)); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if reg != nil {
		if err := d.RegisterZooKeeper(startCtx, reg.conn.Conn, reg.chroot); err != nil {
			return fmt.Errorf("sandbox: registering the cluster in zookeeper %s: %w", reg.connect, err)
		}
	}
	bootstrap := strings.Join(d.Bootstrap(), ",")
	if err := writeSandboxFiles(c, bootstrap, mapping); err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "bootstrap: %s\n", bootstrap)
	if reg != nil {
		fmt.Fprintf(w, "zookeeper: %s\n", reg.connect)
	}
	fmt.Fprintf(w, "kafka %s simulator, cluster %s: %d brokers, %d topics, %d partitions; Ctrl-C stops it\n",
		version, shape.ClusterID, len(shape.Brokers), len(shape.Topics), shape.PartitionCount())
	if reg != nil {
		fmt.Fprintf(w, "commands that change the cluster take: --bootstrap %s --zookeeper %s\n", bootstrap, reg.connect)
	} else {
		fmt.Fprintln(w, "note: commands that change the cluster (apply, rollback, cancel, throttle set, throttle clear) keep kshift's state in the cluster's ZooKeeper, and this sandbox has none: start it with --zookeeper HOST:PORT of a ZooKeeper you run to use them; commands that read the cluster, and --dry-run, work without")
	}
	<-c.Context.Done()
	fmt.Fprintln(c.App.ErrWriter, "sandbox stopped")
	return nil
}

// sandboxZooKeeper is the sandbox's session with a real ZooKeeper and the
// fresh chroot it registered its cluster under.
type sandboxZooKeeper struct {
	conn *kafkaconn.ZooKeeper
	// chroot is the cluster's chroot; connect is what --zookeeper of the
	// other commands takes: the servers and the chroot.
	chroot, connect string
}

// openSandboxZooKeeper connects to connect (HOST:PORT,...[/BASE]) and
// claims a fresh chroot under BASE ("/" when none).
func openSandboxZooKeeper(ctx context.Context, connect string) (*sandboxZooKeeper, error) {
	o := kafkaconn.Options{ZooKeeper: kafkaconn.ZooKeeperOptions{Connect: connect}}.WithDefaults()
	o.ResolveSecrets(os.Getenv)
	if err := kafkaconn.CheckZooKeeperConnect(connect); err != nil {
		return nil, badInput(fmt.Errorf("--zookeeper: %w", err))
	}
	conn, err := kafkaconn.ConnectZooKeeper(ctx, o.ZooKeeper, o.DialTimeout)
	if err != nil {
		return nil, err
	}
	z := &sandboxZooKeeper{conn: conn}
	if z.chroot, err = claimChroot(ctx, conn.Conn, conn.Chroot); err != nil {
		conn.Close()
		return nil, err
	}
	z.connect = strings.Join(o.ZooKeeper.Servers(), ",") + z.chroot
	return z, nil
}

// sandboxCallTimeout bounds each ZooKeeper call of the sandbox's own (the
// client takes no context).
const sandboxCallTimeout = 10 * time.Second

// zkCall runs one blocking ZooKeeper call under ctx and sandboxCallTimeout.
func zkCall[T any](ctx context.Context, f func() (T, error)) (T, error) {
	return zkdial.Call(ctx, sandboxCallTimeout, f)
}

// claimChroot creates base (with its parents) when missing and a new
// znode kshift-sandbox-RANDOM under it, and returns its path.
func claimChroot(ctx context.Context, conn *zk.Conn, base string) (string, error) {
	acl := zk.WorldACL(zk.PermAll)
	p := ""
	for _, part := range strings.Split(strings.Trim(base, "/"), "/") {
		if part == "" {
			continue
		}
		p += "/" + part
		if _, err := zkCall(ctx, func() (string, error) { return conn.Create(p, nil, 0, acl) }); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return "", fmt.Errorf("sandbox: creating %s in zookeeper: %w", p, err)
		}
	}
	for range 5 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("sandbox: naming a chroot: %w", err)
		}
		chroot := path.Join("/", base, "kshift-sandbox-"+hex.EncodeToString(b[:]))
		_, err := zkCall(ctx, func() (string, error) { return conn.Create(chroot, nil, 0, acl) })
		if errors.Is(err, zk.ErrNodeExists) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("sandbox: creating the cluster's chroot %s in zookeeper: %w", chroot, err)
		}
		return chroot, nil
	}
	return "", fmt.Errorf("sandbox: every chroot name tried under %s exists already", base)
}

// close deletes the sandbox's chroot (the cluster's znodes and kshift's
// state in it: nothing of a sandbox is kept) and ends the session, saying
// what it could not delete.
func (z *sandboxZooKeeper) close(w io.Writer) {
	defer z.conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := deleteTree(ctx, z.conn.Conn, z.chroot); err != nil {
		fmt.Fprintf(w, "sandbox: could not delete its chroot %s from zookeeper: %v\n", z.chroot, err)
	}
}

// deleteTree deletes p and everything under it.
func deleteTree(ctx context.Context, conn *zk.Conn, p string) error {
	children, err := zkCall(ctx, func() ([]string, error) {
		c, _, err := conn.Children(p)
		return c, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ch := range children {
		if err := deleteTree(ctx, conn, path.Join(p, ch)); err != nil {
			return err
		}
	}
	_, err = zkCall(ctx, func() (struct{}, error) { return struct{}{}, conn.Delete(p, -1) })
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
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
