package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/zkdial"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/kshift/kshift/zkops"
	"github.com/urfave/cli/v2"
)

// Flags shared by the commands that change a cluster (apply, rollback, cancel, throttle).
const (
	flagAuditLog           = "audit-log"
	flagBreakLock          = "break-lock"
	flagDryRun             = "dry-run"
	flagAcceptUnknownRates = "accept-unknown-rates"
	flagPollInterval       = "poll-interval"
	flagSkipHealthCheck    = "skip-health-check"
	flagVerbose            = "verbose"
)

func executorFlags() []cli.Flag {
	return []cli.Flag{
		&cli.PathFlag{Name: flagAuditLog, Usage: "local copy of the audit trail, JSON lines for people to read (default: kshift-audit.jsonl beside the plan); the trail kshift relies on is in the cluster's ZooKeeper"},
		&cli.BoolFlag{Name: flagBreakLock, Usage: "take the operator lock from a kshift that is alive and must be stopped (check the holder first; a holder that died frees it by itself within its lease)"},
		&cli.BoolFlag{Name: flagDryRun, Usage: "read the cluster and run the gates, print every change it would make, change nothing; over several steps, each is checked against what the dry-run steps before it would leave"},
		&cli.BoolFlag{Name: flagAcceptUnknownRates, Usage: "overwrite throttle rates the brokers hide and ZooKeeper does not show; they are deleted at the end"},
		&cli.DurationFlag{Name: flagPollInterval, Value: 2 * time.Second, Usage: "the longest pause between two reads of a step's progress (the first come sooner)"},
		&cli.BoolFlag{Name: flagSkipHealthCheck, Usage: "do not run the health gates before a step (the safety gates still run; kshift check lists which is which)"},
		&cli.BoolFlag{Name: flagVerbose, Aliases: []string{"v"}, Usage: "print each thing kshift does (reading, locking, throttling, submitting, waiting, electing, verifying, restoring) as it starts, with the time since the command began, to stderr"},
	}
}

// metaStateStore is the App.Metadata key under which an in-process caller
// that runs the Kafka simulator in the same process (kshift's own tests)
// gives the commands a state store, in place of the cluster's ZooKeeper.
const metaStateStore = "kshift.state-store"

// session is a connected executor and what must be closed after it.
type session struct {
	exec    *executor.Executor
	clients *kafkaconn.Clients
	zk      *kafkaconn.ZooKeeper
	// interrupt reports what the run was doing when it was interrupted.
	interrupt *interruptNotes
}

func (s *session) close() {
	if s.zk != nil {
		s.zk.Close()
	}
	s.clients.Close()
}

// openSession connects to the cluster and its ZooKeeper and builds the
// executor with the shared flags applied to o. planPath places the default
// local audit log. A command that changes the cluster (mutating) needs a
// state store: without --zookeeper it is refused (exit 2) before anything
// changes, naming the connect string the brokers use.
func openSession(c *cli.Context, planPath, command string, mutating bool, o executor.Options) (*session, error) {
	if mutating {
		if err := checkAuditLog(c, planPath); err != nil {
			return nil, err
		}
	}
	clients, err := connect(c)
	if err != nil {
		return nil, err
	}
	s := &session{clients: clients}
	if s.zk, err = connectZooKeeper(c, clients); err != nil {
		clients.Close()
		return nil, err
	}
	if s.zk != nil {
		o.ZooKeeper, o.ZooKeeperChroot = s.zk.Conn, s.zk.Chroot
		if o.Store, err = state.NewZooKeeper(s.zk.Conn, s.zk.Chroot, state.Options{SessionTimeout: clients.Options.ZooKeeper.SessionTimeout}); err != nil {
			s.close()
			return nil, err
		}
	}
	if st, ok := c.App.Metadata[metaStateStore].(state.Store); ok {
		o.Store = st
	}
	if mutating && o.Store == nil {
		err := missingZooKeeper(c.Context, clients, command)
		s.close()
		return nil, err
	}
	o.Audit = executor.OpenAudit(auditLogPath(c, planPath))
	o.Command = command
	o.BreakLock = c.Bool(flagBreakLock)
	o.DryRun = c.Bool(flagDryRun)
	o.DryRunOut = c.App.Writer
	o.AcceptUnknownRates = c.Bool(flagAcceptUnknownRates)
	o.PollInterval = c.Duration(flagPollInterval)
	if rt := clients.Options.RequestTimeout; rt > 0 {
		o.CallTimeout = rt
	}
	o.Log = slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.ZooKeeperSteps = zkSteps{digest: clients.Options.ZooKeeper.Digest, out: c.App.ErrWriter}
	o.SkipHealthGates = c.Bool(flagSkipHealthCheck)
	s.interrupt = interruptsOf(c)
	o.Doing = s.interrupt.doing
	if c.Bool(flagVerbose) {
		start, w := time.Now(), c.App.ErrWriter
		o.Doing = func(what string) {
			s.interrupt.doing(what)
			fmt.Fprintf(w, "[%7.3fs] %s\n", time.Since(start).Seconds(), what)
		}
	}
	o.Cleanup = s.interrupt.cleanup
	o.CommandFlags = connectionFlags(c)
	s.exec = executor.New(clients.Kafka, o)
	return s, nil
}

// missingZooKeeper is the refusal of a command that changes the cluster
// without --zookeeper: it names the connect string the brokers use, when
// they say.
func missingZooKeeper(ctx context.Context, clients *kafkaconn.Clients, command string) error {
	hint := ""
	if zkc := brokersZooKeeper(ctx, clients); zkc != "" {
		hint = fmt.Sprintf(" (the brokers use zookeeper.connect=%s)", zkc)
	}
	return badInput(fmt.Errorf("%s changes the cluster, and kshift keeps its operator lock, the record of the throttles it sets and its audit trail in the cluster's ZooKeeper: give --zookeeper HOST:PORT[,...]/CHROOT%s, or set it in the profile; nothing was changed", command, hint))
}

// brokersZooKeeper reads zookeeper.connect from a broker, "" when it cannot.
func brokersZooKeeper(ctx context.Context, clients *kafkaconn.Clients) string {
	k := kafkaapi.New(clients.Kafka, kafkaapi.Options{Timeout: 5 * time.Second})
	md, err := k.Metadata(ctx, []string{})
	if err != nil {
		return ""
	}
	for id := range md.Brokers {
		cfg, err := k.DescribeConfigs(ctx, []kafkaapi.ConfigResource{kafkaapi.BrokerResource(id)}, []string{"zookeeper.connect"})
		if err == nil {
			if e, ok := cfg[kafkaapi.BrokerResource(id)]["zookeeper.connect"]; ok && e.Value != nil {
				return *e.Value
			}
		}
		break
	}
	return ""
}

// zkSteps runs the plan's zk-* steps with zkops, dialling the ensemble each
// step names with the cluster's ZooKeeper credentials (digest
// "user:password", "" for none).
type zkSteps struct {
	digest string
	out    io.Writer
}

var _ executor.ZooKeeperSteps = zkSteps{}

func (z zkSteps) with(ctx context.Context, s *plans.Step, fn func(zkops.ZKConn) error) error {
	conn, closeConn, err := z.dial(ctx, zkops.StepConnect(s))
	if err != nil {
		return fmt.Errorf("%s: %w", s.Label(), err)
	}
	defer closeConn()
	return fn(conn)
}

// dial is the zkops.Dialer of the steps: a session with the ensemble at
// connect, with the cluster's ZooKeeper credentials.
func (z zkSteps) dial(ctx context.Context, connect string) (zkops.ZKConn, func(), error) {
	c, err := zkdial.Parse(connect)
	if err != nil {
		return nil, nil, err
	}
	conn, err := zkdial.Dial(ctx, c, zkdial.Options{Timeout: 30 * time.Second, Digest: z.digest})
	if err != nil {
		return nil, nil, err
	}
	return conn, conn.Close, nil
}

// opts: a zk-fork applied while its targets are in sync waits up to half
// an hour for the operator to restart them, watching.
func (z zkSteps) opts() zkops.Options {
	return zkops.Options{Out: z.out, Dial: z.dial, ForkWatch: 30 * time.Minute}
}

func (z zkSteps) State(ctx context.Context, s *plans.Step) (executor.StepState, string, error) {
	var st zkops.State
	var detail string
	err := z.with(ctx, s, func(conn zkops.ZKConn) error {
		var err error
		st, detail, err = zkops.StepStatus(ctx, conn, s, z.opts())
		return err
	})
	if err != nil {
		return executor.StepUnknown, "", err
	}
	switch st {
	case zkops.StateDone:
		return executor.StepDone, detail, nil
	case zkops.StatePending:
		return executor.StepPending, detail, nil
	case zkops.StatePartial:
		return executor.StepPartial, detail, nil
	default:
		return executor.StepDrifted, detail, nil
	}
}

func (z zkSteps) Apply(ctx context.Context, s *plans.Step) error {
	return z.with(ctx, s, func(conn zkops.ZKConn) error { return zkops.ApplyStep(ctx, conn, s, z.opts()) })
}

func (z zkSteps) Undo(ctx context.Context, s *plans.Step) error {
	return z.with(ctx, s, func(conn zkops.ZKConn) error { return zkops.UndoStep(ctx, conn, s, z.opts()) })
}

// execErr maps executor errors to kshift's exit codes: a safety refusal by
// the executor (gates, drift, lock, a throttle rate it cannot read) or by a
// zkops guard exits 3; a missing state store or an audit trail that cannot
// be written is bad input (exit 2): nothing was changed.
func execErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, executor.ErrNoState), errors.Is(err, executor.ErrAuditUnwritable):
		return badInput(err)
	case errors.Is(err, executor.ErrRefused), errors.Is(err, executor.ErrUnknownRate), errors.Is(err, zkops.ErrRefused):
		return refused(err)
	case errors.Is(err, executor.ErrPartial):
		return &kindError{kind: errPartial, err: err}
	}
	return err
}
