package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// Errors the command line maps to exit codes.
var (
	// ErrRefused marks a safety refusal: a gate, drift, a foreign
	// reassignment, the lock. Nothing was changed.
	ErrRefused = errors.New("refused")
	// ErrInterrupted marks a run stopped by its context (Ctrl-C, SIGTERM);
	// the error says what is left and how to resume.
	ErrInterrupted = errors.New("interrupted")
	// ErrNoState refuses a command that changes the cluster without a
	// place to keep kshift's own state (the lock, the throttle record, the
	// audit trail): the command line gives it from --zookeeper.
	ErrNoState = errors.New("no state store")
	// ErrPartial marks a command that did all it could while a broker was
	// down and left the rest, which the error names with the broker: run it
	// again once the broker is back.
	ErrPartial = errors.New("partly done")
	// ErrAuditUnwritable refuses a run whose start cannot be recorded in
	// the audit trail: nothing was changed.
	ErrAuditUnwritable = errors.New("the audit trail cannot be written")
)

// refusal wraps a formatted message as ErrRefused.
func refusal(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// settlePause is how often a value that trails the truth is read again
// while it settles (docs/kafka-behaviour.md 21 and 24).
const settlePause = 100 * time.Millisecond

// Options tune an Executor. Zero values take the defaults of DefaultOptions.
type Options struct {
	// CallTimeout bounds every Kafka call.
	CallTimeout time.Duration
	// PollInterval is the longest pause between two reads of a running
	// step's progress (the first reads come sooner).
	PollInterval time.Duration
	// SettleTimeout is how long a read that trails the truth (ISR, leaders,
	// a broker's Metadata after a change: docs/kafka-behaviour.md 21, 24)
	// is read again before a conclusion is drawn.
	SettleTimeout time.Duration
	// StallAfter reports a stall when no byte was copied for this long.
	StallAfter time.Duration
	// ChunkSize is the most partitions per AlterPartitionAssignments request.
	ChunkSize int
	// ElectionBatch is the most partitions per preferred-leader election.
	ElectionBatch int
	// ElectionWait is the pause between election batches.
	ElectionWait time.Duration
	// Throttle overrides the plan's rate (bytes/s per broker) when > 0.
	Throttle plans.Rate

	ForceOrder         bool // run a step although the previous one is not done
	AcceptUnknownRates bool // overwrite throttle rates the broker hides
	CancelOnInterrupt  bool // on ctx cancel, revert the step instead of leaving it to finish
	BreakLock          bool // take the lock from a holder that is alive
	// DryRun reads the cluster and runs the gates, but writes each mutating
	// call it would make to DryRunOut instead of making it; later reads
	// see what the calls would have done.
	DryRun    bool
	DryRunOut io.Writer

	// Store keeps kshift's own state in the cluster: the operator lock,
	// the throttle records, the operator's rate override and the audit
	// trail. Commands that change the cluster refuse without it
	// (ErrNoState); status reads it when given.
	Store state.Store
	// ZooKeeper, when set, is read for throttle rates that the broker hides;
	// ZooKeeperChroot is the cluster's chroot on it.
	ZooKeeper       ZooKeeper
	ZooKeeperChroot string

	// Progress receives the state of a running step after every poll.
	Progress func(Progress)
	// Doing receives, as it starts, what the run is doing ("waiting for 3
	// partitions to copy", "restoring throttles"), so that an interrupt can
	// say at once what kshift is waiting for.
	Doing func(string)
	// Cleanup bounds the cleanup a run does after it stops (restoring
	// throttles, releasing the lock), which runs after an interrupt:
	// cancelling it abandons the cleanup (a second Ctrl-C), and the error
	// then says exactly what is left. Nil: the cleanup runs on its own
	// timeout.
	Cleanup context.Context
	// Log receives what the executor does, for people (nil discards).
	Log *slog.Logger
	// Audit is a local copy of the audit trail, JSON lines for people to
	// read (nil writes none). The trail itself is in Store.
	Audit *Audit
	// SkipHealthGates runs only the safety gates of the gate registry
	// (inspect.Gates) before a step, not its health gates
	// (--skip-health-check).
	SkipHealthGates bool
	// ZooKeeperSteps applies and undoes zk-* steps; without it such steps are
	// refused.
	ZooKeeperSteps ZooKeeperSteps
	// RetireWait is how long a retire-sources step (or its undo) waits for
	// the operator to stop the source brokers (start them again); 0 looks
	// once. Still waiting then is no error: the step reports it, and a
	// later run checks again.
	RetireWait time.Duration
	// ControllerElections bounds how many times a retire-sources step
	// deletes /controller while a source keeps winning the election
	// (default DefaultControllerElections).
	ControllerElections int
	// Command names the command in the audit trail ("apply", "rollback", ...).
	Command string
	// CommandFlags are the connection flags to print in the commands kshift
	// tells the operator to run (" --bootstrap b1:9092 --zookeeper
	// z1:2181/kafka", with a leading space; never a secret), so that they
	// can be run as printed.
	CommandFlags string
}

// ZooKeeperSteps runs the ZooKeeper steps of a plan (zkops): the ensemble
// is their source of truth, as the cluster is for reassignment steps.
type ZooKeeperSteps interface {
	// State says where the step stands: StepDone, StepPending, StepPartial
	// or StepDrifted, with a one-line explanation.
	State(ctx context.Context, s *plans.Step) (StepState, string, error)
	// Apply makes the step's change (finishing a partial one).
	Apply(ctx context.Context, s *plans.Step) error
	// Undo restores what the forward step s found.
	Undo(ctx context.Context, s *plans.Step) error
}

// DefaultOptions are the executor's defaults.
func DefaultOptions() Options {
	return Options{
		CallTimeout:   30 * time.Second,
		PollInterval:  2 * time.Second,
		SettleTimeout: 15 * time.Second,
		StallAfter:    5 * time.Minute,
		ChunkSize:     500,
		ElectionBatch: 50,
		ElectionWait:  2 * time.Second,
		Command:       "apply",
	}
}

// Executor applies plan steps to one cluster. It holds no state of a run:
// each step run is a stepRun of its own. A dry-run executor remembers what
// the steps it dry-ran would have left (in its Kafka client's and store's
// overlays, and zkLeft for ZooKeeper steps), so that a dry run over several
// steps checks each against what the ones before would have left.
type Executor struct {
	kafka *kafkaapi.Client
	store state.Store
	opts  Options
	log   *slog.Logger
	// gates is the gate registry run before every step: inspect.Gates
	// (a test adds one to see what the gates are given).
	gates inspect.Registry

	// zkLeft is the state each ZooKeeper step dry-run so far would leave:
	// the ensemble is not in the Kafka overlay. dryRunSteps counts the
	// steps dry-run so far.
	zkLeft      map[int]StepState
	dryRunSteps int
}

// New returns an executor talking to the cluster through k.
func New(k kafkaapi.Requester, opts Options) *Executor {
	d := DefaultOptions()
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = d.CallTimeout
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = d.PollInterval
	}
	if opts.SettleTimeout <= 0 {
		opts.SettleTimeout = d.SettleTimeout
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = d.StallAfter
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = d.ChunkSize
	}
	if opts.ElectionBatch <= 0 {
		opts.ElectionBatch = d.ElectionBatch
	}
	if opts.ElectionWait < 0 {
		opts.ElectionWait = 0
	}
	if opts.Command == "" {
		opts.Command = d.Command
	}
	if opts.ControllerElections <= 0 {
		opts.ControllerElections = DefaultControllerElections
	}
	if opts.DryRunOut == nil {
		opts.DryRunOut = io.Discard
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &Executor{kafka: kafkaapi.New(k, kafkaapi.Options{Timeout: opts.CallTimeout}), store: opts.Store, opts: opts, log: log, gates: inspect.Gates}
	if opts.DryRun {
		e.kafka = kafkaapi.DryRun(e.kafka, opts.DryRunOut)
		if e.store == nil {
			// A dry run changes nothing, so it may run without the
			// cluster's state store; it then cannot see the lock or the
			// throttles earlier runs left.
			fmt.Fprintln(opts.DryRunOut, "dry run without kshift's state store (no --zookeeper): the operator lock and the throttles earlier runs left are not read")
			e.store = state.NewMemory()
		}
		e.store = state.DryRun(e.store)
		e.zkLeft = map[int]StepState{}
	}
	return e
}

// Calls is the number of Kafka requests sent so far.
func (e *Executor) Calls() int64 { return e.kafka.Calls() }

// PlanRef names the plan a run works on, for the audit trail and the lock.
type PlanRef struct {
	Plan   *plans.Plan
	Path   string
	SHA256 string
}

// doing says what the run does now (Options.Doing).
func (e *Executor) doing(format string, args ...any) {
	if e.opts.Doing != nil {
		e.opts.Doing(fmt.Sprintf(format, args...))
	}
}

// cleanupContext bounds a cleanup that must run after the run's own
// context ended (Options.Cleanup).
func (e *Executor) cleanupContext() (context.Context, context.CancelFunc) {
	parent := e.opts.Cleanup
	if parent == nil {
		parent = context.Background()
	}
	return context.WithTimeout(parent, 4*e.opts.CallTimeout)
}

// requireStore refuses a command that changes the cluster without a store.
func (e *Executor) requireStore() error {
	if e.store == nil {
		return fmt.Errorf("%w: kshift keeps its operator lock, the record of the throttles it sets and its audit trail in the cluster's ZooKeeper: give --zookeeper (the brokers' zookeeper.connect, chroot included) to %s", ErrNoState, e.opts.Command)
	}
	return nil
}

func whoAmI() (string, string) {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return name, host
}
