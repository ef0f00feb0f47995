package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"sync/atomic"
	"time"

	"github.com/kshift/kshift/plans"
)

// Errors the command line maps to exit codes.
var (
	// ErrRefused marks a safety refusal: a gate, drift, a foreign
	// reassignment, the lock. Nothing was changed.
	ErrRefused = errors.New("refused")
	// ErrInterrupted marks a run stopped by its context (Ctrl-C, SIGTERM);
	// the error says what is left and how to resume.
	ErrInterrupted = errors.New("interrupted")
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
	// PollInterval is how often progress is read while a step runs.
	PollInterval time.Duration
	// SettleTimeout is how long a read that trails the truth (ISR, leaders:
	// docs/kafka-behaviour.md 21) is polled before a conclusion is drawn.
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
	BreakLock          bool // take over a lock left by another run
	// DryRun reads the cluster and runs the gates, but only writes each
	// mutating call it would make to DryRunOut.
	DryRun    bool
	DryRunOut io.Writer

	// ZooKeeper, when set, is read for throttle rates that the broker hides;
	// ZooKeeperChroot is the cluster's chroot on it.
	ZooKeeper       ZooKeeper
	ZooKeeperChroot string

	// Progress receives the state of a running step after every poll.
	Progress func(Progress)
	// Log receives what the executor does, for people (nil discards).
	Log *slog.Logger
	// Audit is the audit log (nil writes none, and no throttle record
	// survives the process).
	Audit *Audit
	// Gates are extra health checks run before a step of a plan (`kshift
	// check` for its brokers and partitions); an error refuses the step.
	Gates func(ctx context.Context, p *plans.Plan, s *plans.Step) error
	// ZooKeeperSteps applies and undoes zk-* steps; without it such steps are
	// refused.
	ZooKeeperSteps ZooKeeperSteps
	// Command names the command in the audit log ("apply", "rollback", ...).
	Command string
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

// Executor applies plan steps to one cluster.
type Executor struct {
	k     Kafka
	opts  Options
	log   *slog.Logger
	calls atomic.Int64

	// set per run by begin
	plan     *plans.Plan
	planPath string
	planHash string
	step     int
	// undoes is the forward step whose undo the run is on, 0 otherwise.
	undoes  int
	cluster string

	// dry is what the steps of this dry run so far would have left.
	dry dryRunState
}

// dryRunState is what the steps already dry-run by this executor would have
// left on the cluster, had they run: a dry run over several steps gates each
// step against it, not against the live cluster, where nothing was applied.
type dryRunState struct {
	// steps are the steps dry-run so far, in order.
	steps []*plans.Step
	// left is the state each step dry-run so far would leave, by its
	// number: done after a dry-run apply, pending after a dry-run undo
	// (kshift rollback). The order gates read it before the live cluster,
	// where nothing changed; Status and a ZooKeeper step's own run read it
	// for ZooKeeper steps, whose state comes from the ensemble, which moved
	// does not cover.
	left map[int]StepState
	// moved are their partitions as they would end: at `to`, in sync.
	moved map[tp]*livePartition
	// records are the throttle records as the dry-run steps would leave
	// them, once a step has finished them (openRecords then returns these).
	records     []*ThrottleRecord
	haveRecords bool
}

// New returns an executor talking to the cluster through k.
func New(k Kafka, opts Options) *Executor {
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
	if opts.DryRunOut == nil {
		opts.DryRunOut = io.Discard
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Executor{k: k, opts: opts, log: log}
}

// Calls is the number of Kafka requests sent so far.
func (e *Executor) Calls() int64 { return e.calls.Load() }

// PlanRef names the plan a run works on, for the audit log and the lock.
type PlanRef struct {
	Plan   *plans.Plan
	Path   string
	SHA256 string
}

func (e *Executor) begin(ref PlanRef, step int) {
	e.plan, e.planPath, e.planHash, e.step, e.undoes = ref.Plan, ref.Path, ref.SHA256, step, 0
	if ref.Plan != nil {
		e.cluster = ref.Plan.ClusterID
	}
}

// dryRun writes a call that a dry run would make and reports whether this is
// a dry run.
func (e *Executor) dryRun(call string, req any) bool {
	if !e.opts.DryRun {
		return false
	}
	fmt.Fprintf(e.opts.DryRunOut, "would call %s: %v\n", call, req)
	return true
}

// dryRunDone records that step s was dry-run: later steps of this dry run
// see its partitions at `to`, in sync, and led as the step leaves them (v is
// the last read of the cluster before it).
func (e *Executor) dryRunDone(s *plans.Step, v *view) {
	e.dry.steps = append(e.dry.steps, s)
	if e.dry.moved == nil {
		e.dry.moved = map[tp]*livePartition{}
	}
	for _, m := range s.Partitions {
		key := tp{m.Topic, m.Partition}
		leader := m.To[0]
		if lp := v.Partitions[key]; lp != nil && s.Phase != plans.PhaseMoveLeader && slices.Contains(m.To, lp.Leader) {
			leader = lp.Leader // only move-leader steps (and removing the leader) move it
		}
		e.dry.moved[key] = &livePartition{Replicas: slices.Clone(m.To), ISR: slices.Clone(m.To), Leader: leader}
	}
}

// dryRunLeaves records that this dry run leaves step n in state: the steps
// after it in the run are checked against that state.
func (e *Executor) dryRunLeaves(n int, state StepState) {
	if e.dry.left == nil {
		e.dry.left = map[int]StepState{}
	}
	e.dry.left[n] = state
}

// dryRunLeft returns the state this dry run left step n in, and false when
// it did not dry-run it (or this is no dry run).
func (e *Executor) dryRunLeft(n int) (StepState, bool) {
	if !e.opts.DryRun {
		return "", false
	}
	state, ok := e.dry.left[n]
	return state, ok
}

// overlayDryRun shows v as the steps dry-run so far would have left it.
func (e *Executor) overlayDryRun(v *view) {
	for key, lp := range e.dry.moved {
		if _, read := v.Partitions[key]; read {
			moved := *lp
			v.Partitions[key] = &moved
		}
		delete(v.InFlight, key) // a dry-run step waits for its moves to finish
	}
}

// dryRunNote says, before the step labelled label of a dry run that
// follows other dry-run steps, that it is checked against what they would
// leave.
func (e *Executor) dryRunNote(label string) {
	if !e.opts.DryRun || len(e.dry.steps) == 0 {
		return
	}
	gates := ""
	if e.opts.Gates != nil {
		gates = "; the health gates still read the live cluster"
	}
	fmt.Fprintf(e.opts.DryRunOut, "dry run: %s is checked against the cluster as the %d step(s) dry-run before it would leave it (their partitions at their to), not against the live cluster, where nothing changed%s\n",
		label, len(e.dry.steps), gates)
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

func (e *Executor) auditRecord(ev AuditEvent) AuditRecord {
	name, host := whoAmI()
	return AuditRecord{
		Time: time.Now().UTC(), User: name, Host: host, PID: os.Getpid(),
		ClusterID: e.cluster, Plan: e.planPath, PlanSHA256: e.planHash,
		Command: e.opts.Command, Step: e.step, Undoes: e.undoes, Event: ev,
	}
}

// audit appends a record; failing to write the audit log is logged, not
// fatal, once the cluster was changed (the change happened either way).
func (e *Executor) audit(r AuditRecord) {
	if e.opts.DryRun {
		return
	}
	if err := e.opts.Audit.Append(r); err != nil {
		e.log.Error("audit log", "err", err)
	}
}

func (e *Executor) auditCall(call string, req any, err error) {
	r := e.auditRecord(AuditCall)
	r.Call, r.Request, r.Result = call, req, "ok"
	if err != nil {
		r.Result, r.Error = "error", err.Error()
	}
	e.audit(r)
}

// recordThrottles writes the throttle record ahead of the config change; it
// must succeed, or kshift could not undo what it is about to do.
func (e *Executor) recordThrottles(rec *ThrottleRecord) error {
	if e.opts.DryRun || e.opts.Audit == nil {
		return nil
	}
	r := e.auditRecord(AuditThrottles)
	if rec.empty() {
		r.Event = AuditThrottlesCleared
	}
	r.Throttles = rec
	if err := e.opts.Audit.Append(r); err != nil {
		return fmt.Errorf("recording throttles before changing them: %w", err)
	}
	return nil
}

// openRecords returns the throttle records a previous run left open.
func (e *Executor) openRecords() ([]*ThrottleRecord, error) {
	if e.opts.DryRun && e.dry.haveRecords {
		return e.dry.records, nil // as the earlier dry-run steps left them
	}
	if e.opts.Audit == nil {
		return nil, nil
	}
	return openThrottleRecords(e.opts.Audit.Path(), e.cluster)
}
