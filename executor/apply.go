package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// StepResult is what applying one step did.
type StepResult struct {
	Step int `json:"step" yaml:"step"`
	// Undoes is the forward step a rollback step undoes, 0 otherwise.
	Undoes int         `json:"undoes,omitempty" yaml:"undoes,omitempty"`
	Phase  plans.Phase `json:"phase" yaml:"phase"`
	// AlreadyDone is set when the step was done before the run: nothing changed.
	AlreadyDone bool `json:"already_done" yaml:"already_done"`
	// ClearedLeftovers names the throttle records an earlier, interrupted or
	// killed run left and this run cleared (keeping those of moves still in
	// flight), with the step each belonged to.
	ClearedLeftovers []string      `json:"cleared_leftovers,omitempty" yaml:"cleared_leftovers,omitempty"`
	Partitions       int           `json:"partitions" yaml:"partitions"`
	Submitted        int           `json:"submitted" yaml:"submitted"`
	Elected          int           `json:"elected" yaml:"elected"`
	Duration         time.Duration `json:"duration" yaml:"duration"`
	Calls            int64         `json:"calls" yaml:"calls"`
	// Rate is the throttle rate the step ran with, and RateFrom where it
	// came from ("the plan", "step 4's own rate", "--throttle", "kshift
	// throttle set by alice on host-b at ...").
	Rate     plans.Rate `json:"rate,omitempty" yaml:"rate,omitempty"`
	RateFrom string     `json:"rate_from,omitempty" yaml:"rate_from,omitempty"`
	// DryRun is set when the step was only dry-run: nothing was sent, and
	// WouldSubmit partitions would have been submitted.
	DryRun      bool `json:"dry_run,omitempty" yaml:"dry_run,omitempty"`
	WouldSubmit int  `json:"would_submit,omitempty" yaml:"would_submit,omitempty"`
	// Warnings are things the operator must know (a rate kshift could not
	// restore, a rate someone else changed, ...).
	Warnings []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
	// Notes are things worth knowing that need no action (a lock broken,
	// throttle records moved from an older kshift's local audit log).
	Notes []string `json:"notes,omitempty" yaml:"notes,omitempty"`
	// Retire is what a retire-sources step (or its undo) found and what
	// the operator must do.
	Retire *RetireReport `json:"retire,omitempty" yaml:"retire,omitempty"`
}

// Apply applies step number of the plan: gates, lock, throttles, submit,
// watch, elect, verify, restore. It is idempotent: a step already done is a
// no-op, a step in flight (an earlier run interrupted) is resumed.
func (e *Executor) Apply(ctx context.Context, ref PlanRef, number int) (*StepResult, error) {
	s := ref.Plan.Step(number)
	if s == nil {
		return nil, fmt.Errorf("%w: the plan has no step %d (it has %d)", plans.ErrBadInput, number, len(ref.Plan.Steps))
	}
	var prev func(context.Context) error
	if ref.Plan.Kind != plans.KindRollback { // a rollback step's order is checked against the forward plan by Rollback
		prev = func(ctx context.Context) error { return e.stepDone(ctx, ref.Plan, number-1) }
	}
	res, err := e.applyStep(ctx, ref, s, prev, false)
	if err == nil && e.opts.DryRun && s.Phase.IsZooKeeper() {
		e.zkLeft[number] = StepDone
	}
	return res, err
}

// stepRun is one run of one step: its plan, what it found, what it holds
// and what it did. applyStep drives it through its stages, each a method:
// prepare (read and gate), lock, throttle, submit, watch, elect, verify;
// and finish, the one cleanup, runs whatever happened.
type stepRun struct {
	*run
	step *plans.Step
	// foreign are the step's partitions another tool re-targeted while it
	// ran, with where they move now (leftUndone).
	foreign map[tp][]int32
	// undoes is the forward step whose undo this run applies (rollback, the
	// undo of a ZooKeeper step), 0 for a step of the plan itself.
	undoes   int
	undoZK   bool
	prevDone func(context.Context) error
	res      *StepResult
	start    time.Time
	calls0   int64

	view   *view
	states []PartitionStatus
	// recs are the open throttle records: earlier runs' leftovers and, once
	// the step throttles, its own (rec).
	recs     []*state.ThrottleRecord
	rec      *state.ThrottleRecord
	override *state.RateOverride
	// submitted is set once something of the step may be moving (a resumed
	// step already is): an interrupt with CancelOnInterrupt reverts it.
	submitted bool
	before    map[tp]offsetPair
}

// applyStep runs step s of ref's plan. undoZK runs the undo of a forward
// ZooKeeper step s instead of s itself.
func (e *Executor) applyStep(ctx context.Context, ref PlanRef, s *plans.Step, prevDone func(context.Context) error, undoZK bool) (*StepResult, error) {
	r := &stepRun{step: s, undoes: s.Undoes, undoZK: undoZK, prevDone: prevDone, start: time.Now(), calls0: e.Calls()}
	if undoZK {
		r.undoes = s.Number
	}
	r.res = &StepResult{Step: s.Number, Undoes: r.undoes, Phase: s.Phase, Partitions: len(s.Partitions), DryRun: e.opts.DryRun}
	if e.opts.DryRun && e.dryRunSteps > 0 {
		fmt.Fprintf(e.opts.DryRunOut, "dry run: %s is checked against the cluster as the %d step(s) dry-run before it would leave it (their partitions at their to), not against the live cluster, where nothing changed\n",
			plans.StepLabel(r.res.Step, r.res.Undoes), e.dryRunSteps)
	}
	e.dryRunSteps++
	run, err := e.begin(ctx, ref, ref.Plan.ClusterID, s.Number, r.undoes)
	if err != nil {
		return r.res, err
	}
	r.run = run
	err = r.runStages(ctx)
	return r.res, r.finish(ctx, err)
}

// runStages runs the step's stages in order until one fails or the step
// turns out to have nothing left to do.
func (r *stepRun) runStages(ctx context.Context) error {
	if r.step.Phase.IsZooKeeper() {
		return r.applyZooKeeper(ctx)
	}
	if r.step.Phase == plans.PhaseRetireSources && r.step.Retire != nil {
		return r.applyRetire(ctx)
	}
	// A step already done with no throttles left by an earlier run changes
	// nothing: say so without taking the lock another run may hold.
	if err := r.prepare(ctx); err != nil {
		return err
	}
	if allState(r.states, StateDone) {
		recs, err := r.e.store.ThrottleRecords(ctx)
		if err != nil {
			return err
		}
		if !anyLeftover(recs) {
			r.res.AlreadyDone = true
			return nil
		}
	}
	if err := r.lock(ctx); err != nil {
		return err
	}
	note, err := r.adoptLegacyRecords(ctx)
	if err != nil {
		return err
	}
	if note != "" {
		r.notes = append(r.notes, note)
	}
	// Read again under the lock: another run may have moved things meanwhile.
	if err := r.prepare(ctx); err != nil {
		return err
	}
	if r.recs, err = r.e.store.ThrottleRecords(ctx); err != nil {
		return err
	}
	// The operator's rate, if one was set during the step: its value on
	// the brokers is kshift's, and it ends with the step.
	if r.override, err = r.e.store.Rate(ctx); err != nil {
		return err
	}
	if allState(r.states, StateDone) {
		r.res.AlreadyDone = true
		r.e.log.Info("step already done: nothing to do", "step", r.step.Number)
		return nil // finish clears what earlier runs left
	}
	r.submitted = slices.ContainsFunc(r.states, func(p PartitionStatus) bool { return p.State == StateInFlight })
	if err := r.throttle(ctx); err != nil {
		return err
	}
	var err2 error
	if r.before, err2 = r.e.offsets(ctx, r.step.Partitions); err2 != nil {
		return err2
	}
	if err := r.submit(ctx); err != nil {
		return err
	}
	if err := r.watch(ctx); err != nil {
		return err
	}
	if r.step.Phase == plans.PhaseMoveLeader {
		if err := r.elect(ctx); err != nil {
			return err
		}
	}
	return r.verify(ctx)
}

// prepare reads the step's partitions and runs the gates (gatedView).
func (r *stepRun) prepare(ctx context.Context) error {
	r.e.doing("reading the cluster and checking %s", r.step.Label())
	v, st, err := r.gatedView(ctx)
	r.view, r.states = v, st
	return err
}

// throttle picks the step's rate and sets the throttles of the partitions
// not yet done, recording them first.
func (r *stepRun) throttle(ctx context.Context) error {
	var todo []plans.Move
	for i, p := range r.states {
		if p.State != StateDone {
			todo = append(todo, r.step.Partitions[i])
		}
	}
	if len(throttlesFor(todo).brokers) == 0 {
		return nil // nothing of the step copies: no throttle
	}
	r.res.Rate, r.res.RateFrom = r.rate()
	if r.res.Rate <= 0 {
		return nil
	}
	// Resume the latest open record of this step, whichever host wrote it
	// (the plan's path differs between hosts; its hash does not): its prior
	// values are the reference for what this step changes.
	for _, rec := range r.recs {
		samePlan := (rec.PlanSHA256 != "" && rec.PlanSHA256 == r.ref.SHA256) || filepath.Base(rec.Plan) == filepath.Base(r.ref.Path)
		if samePlan && rec.Step == r.step.Number {
			r.rec = rec
		}
	}
	if r.rec == nil {
		id := fmt.Sprintf("%s-step%d-%d", r.start.UTC().Format("20060102T150405"), r.step.Number, r.start.UnixNano()%1e6)
		r.rec = state.NewThrottleRecord(id, r.res.Rate)
		r.rec.Plan, r.rec.PlanSHA256, r.rec.Step = r.ref.Path, r.ref.SHA256, r.step.Number
		r.recs = append(r.recs, r.rec)
	}
	warnings, err := r.setThrottles(ctx, r.rec, todo, r.res.Rate, kshiftRates(r.recs, r.override))
	r.res.Warnings = append(r.res.Warnings, warnings...)
	return err
}

// rate is the rate the step runs with and where it comes from: the rate
// an operator set last wins until the step ends (this run's --throttle,
// else a `kshift throttle set` made during the step), else the step's own,
// else the plan's.
func (r *stepRun) rate() (plans.Rate, string) {
	switch {
	case r.e.opts.Throttle > 0:
		return r.e.opts.Throttle, "--throttle"
	case r.override != nil:
		o := r.override
		return o.Rate, fmt.Sprintf("kshift throttle set by %s on %s at %s (the step says %s)", o.User, o.Host, o.Time.Format(time.RFC3339), r.step.ThrottleOr(r.ref.Plan.Throttle))
	case r.step.Throttle > 0 && r.step.Throttle != r.ref.Plan.Throttle:
		return r.step.Throttle, "the step's own rate"
	}
	return r.step.ThrottleOr(r.ref.Plan.Throttle), "the plan's rate"
}

// finish is the one cleanup of a step run, whatever happened: it reverts
// the step on an interrupt with CancelOnInterrupt, clears the throttles of
// what no longer moves (those of moves still in flight stay: a live copy is
// never unthrottled), ends the operator's rate override once the step is
// done, releases the lock, records the end, and says what is left.
func (r *stepRun) finish(ctx context.Context, err error) error {
	e := r.e
	defer func() {
		r.res.Duration, r.res.Calls = time.Since(r.start), e.Calls()-r.calls0
	}()
	if r.run == nil {
		return err
	}
	if r.lease != nil && r.step.Phase.IsReassignment() {
		err = r.cleanup(ctx, err)
	}
	if uerr := r.unlock(); uerr != nil {
		err = errors.Join(err, uerr)
	}
	r.res.Notes = append(r.res.Notes, r.notes...)
	r.res.Warnings = append(r.res.Warnings, r.warnings...)
	result := "ok"
	if r.res.AlreadyDone {
		result = "already done"
	}
	r.audit.end(result, err)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrInterrupted) {
		err = fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	return err
}

// cleanup restores the throttles and reverts on interrupt (see finish).
func (r *stepRun) cleanup(ctx context.Context, err error) error {
	e := r.e
	cctx, cancel := e.cleanupContext()
	defer cancel()
	if lost := r.lease.Check(cctx); errors.Is(lost, state.ErrLockLost) {
		// Fenced: this run makes no more mutating call. Its throttle
		// record stays in the store for whoever holds the lock now.
		return errors.Join(err, fmt.Errorf("%w; kshift's throttles of this run are left for the run that holds the lock now, or a later apply, cancel or throttle clear, from any host", lost))
	}
	if err != nil && ctx.Err() != nil && e.opts.CancelOnInterrupt && r.submitted {
		e.doing("cancelling %s", r.step.Label())
		if _, cerr := e.revert(cctx, r.step); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	e.doing("reading what still moves in Kafka, to restore kshift's throttles of the rest")
	keep, unelected, lerr := r.leftUndone(cctx)
	if lerr != nil {
		return errors.Join(err, r.leftBehind(fmt.Errorf("could not read what is left in flight, so kshift's throttles are left in place: %w", lerr)))
	}
	leftovers := r.leftovers()
	warnings, ferr := r.finishRecords(r.recs, keep, kshiftRates(r.recs, r.override, r.res.Rate))
	r.res.Warnings = append(r.res.Warnings, warnings...)
	if errors.Is(ferr, ErrPartial) && err == nil {
		// The step is done; only the rates on a broker that is down are
		// left, which a later apply, cancel or throttle clear restores.
		r.res.Warnings = append(r.res.Warnings, ferr.Error())
		ferr = nil
	}
	if ferr != nil {
		return errors.Join(err, r.leftBehind(ferr))
	}
	if len(leftovers) > 0 && (r.res.AlreadyDone || err == nil) {
		r.res.ClearedLeftovers = leftovers
	}
	if err == nil && r.override != nil {
		if cerr := r.lease.ClearRate(cctx); cerr != nil {
			r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the rate set by kshift throttle set still stands for the next step: %v", cerr))
		}
	}
	if err != nil && (len(keep) > 0 || len(unelected) > 0) {
		err = fmt.Errorf("%w\n%s", err, r.leftMessage(keep, unelected))
	}
	return err
}

// leftovers names the throttle records an earlier run left that this run
// clears, with the step each belongs to.
func (r *stepRun) leftovers() []string {
	var out []string
	for _, rec := range r.recs {
		if rec == r.rec || rec.Empty() {
			continue
		}
		what := "an earlier run"
		if rec.Step > 0 {
			what = plans.StepLabel(rec.Step, 0)
			if rec.Plan != "" && rec.Plan != r.ref.Path {
				what += " of " + rec.Plan
			}
		}
		out = append(out, fmt.Sprintf("%s (record %s)", what, rec.ID))
	}
	return out
}

// leftBehindRead bounds the read of what a stopped cleanup left: it runs
// after the cleanup was abandoned, so it has a bound of its own, short
// enough that a second Ctrl-C still ends kshift at once.
const leftBehindRead = 3 * time.Second

// leftBehind says that the cleanup stopped (abandoned by a second Ctrl-C,
// or failed) and exactly what it left: kshift's throttles, which stay in
// the cluster's state store, each with its brokers and topics, and the
// command that clears them.
func (r *run) leftBehind(err error) error {
	e := r.e
	ctx, cancel := context.WithTimeout(context.Background(), leftBehindRead)
	defer cancel()
	recs, rerr := e.store.ThrottleRecords(ctx)
	var b strings.Builder
	if e.opts.Cleanup != nil && e.opts.Cleanup.Err() != nil {
		// What the cleanup was doing ended with it: its error says no more.
		if !errors.Is(err, context.Canceled) {
			fmt.Fprintf(&b, "%v\n", err)
		}
		b.WriteString("the cleanup was abandoned (a second interrupt), so kshift left in place:")
	} else {
		fmt.Fprintf(&b, "%v\nthe cleanup stopped, so kshift left in place:", err)
	}
	switch {
	case rerr != nil:
		fmt.Fprintf(&b, " kshift's throttles, as recorded in the cluster's state store (which could not be read just now: %v)", rerr)
	case !anyLeftover(recs):
		b.WriteString(" no throttle of kshift's")
	default:
		for _, rec := range recs {
			if !rec.Empty() {
				b.WriteString("\n  " + describeRecord(rec))
			}
		}
	}
	plan := ""
	if r.ref.Path != "" {
		plan = " " + r.ref.Path
	}
	fmt.Fprintf(&b, "\nthe operator lock is released as kshift exits. Once nothing moves, clear the throttles with:\n  kshift throttle clear%s%s\nor run kshift %s again", plan, e.opts.CommandFlags, e.opts.Command)
	return errors.New(b.String())
}

// describeRecord says what a throttle record holds, for people: the step
// it belongs to, the brokers whose rates kshift set and the topics whose
// throttled-replica lists kshift added to.
func describeRecord(rec *state.ThrottleRecord) string {
	owner := "record " + rec.ID
	if rec.Step > 0 {
		owner = fmt.Sprintf("%s's throttles (record %s)", plans.StepLabel(rec.Step, 0), rec.ID)
	}
	var parts []string
	if len(rec.Brokers) > 0 {
		ids := slices.Sorted(maps.Keys(rec.Brokers))
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = strconv.Itoa(int(id))
		}
		parts = append(parts, fmt.Sprintf("rates of %s on broker(s) %s", rec.Rate, strings.Join(names, ", ")))
	}
	var topics []string
	for _, name := range slices.Sorted(maps.Keys(rec.Topics)) {
		t := rec.Topics[name]
		if n := len(t.Leader) + len(t.Follower); n > 0 {
			topics = append(topics, fmt.Sprintf("%s (%d entries)", name, n))
		}
	}
	if len(topics) > 0 {
		parts = append(parts, "throttled replicas of topic(s) "+strings.Join(topics, ", "))
	}
	return owner + ": " + strings.Join(parts, "; ")
}

func allState(st []PartitionStatus, want PartitionState) bool {
	for _, p := range st {
		if p.State != want {
			return false
		}
	}
	return true
}

// leftUndone returns the step's partitions with a reassignment in flight
// (moving), and for move-leader those reordered whose election has not run
// (unelected).
func (r *stepRun) leftUndone(ctx context.Context) (moving, unelected map[tp]bool, err error) {
	s := r.step
	v, err := r.e.readView(ctx, stepTopics(s.Partitions))
	if err != nil {
		return nil, nil, err
	}
	moving, unelected = map[tp]bool{}, map[tp]bool{}
	for key := range v.InFlight {
		moving[key] = true // a move in flight keeps its throttles, the step's or not
	}
	r.foreign = map[tp][]int32{}
	for i := range s.Partitions {
		m := &s.Partitions[i]
		key := tp{Topic: m.Topic, Partition: m.Partition}
		// A move of the step's partition towards neither end of the step:
		// another tool re-targeted it, and neither apply nor cancel can
		// take that move over.
		if lp := v.InFlight[key]; lp != nil {
			if target := inFlightTarget(lp); !plans.SameMembers(target, m.To) && !plans.SameMembers(target, m.From) {
				r.foreign[key] = target
			}
		}
		if v.InFlight[key] == nil && awaitingElection(s.Phase, m, v.Partitions[key]) {
			unelected[key] = true
		}
	}
	return moving, unelected, nil
}

// leftMessage says what an interrupted or failed step leaves undone:
// reassignments still moving in Kafka, and move-leader partitions reordered
// but not yet elected; then how to resume or revert it.
func (r *stepRun) leftMessage(moving, unelected map[tp]bool) string {
	s := r.step
	names := func(set map[tp]bool) []string {
		var out []string
		for _, m := range s.Partitions {
			if set[tp{Topic: m.Topic, Partition: m.Partition}] {
				out = append(out, m.Name())
			}
		}
		return out
	}
	// An undo run by kshift rollback (numbered as the step it undoes): the
	// operator resumes it through rollback, not apply.
	undo := r.e.opts.Command == "rollback" && s.Undoes > 0
	var b strings.Builder
	if n := names(moving); len(n) > 0 {
		if undo {
			fmt.Fprintf(&b, "left in flight: the undo of step %d keeps moving %d partition(s) back in Kafka under kshift's throttles (%s).\n", s.Undoes, len(n), nameList(n))
		} else {
			fmt.Fprintf(&b, "left in flight: %d partition(s) of step %d keep moving in Kafka under kshift's throttles (%s).\n", len(n), s.Number, nameList(n))
		}
	}
	resumeDoes := "it waits for them, verifies and clears the throttles"
	if n := names(unelected); len(n) > 0 {
		resumeDoes = "it runs the elections left, verifies and clears the throttles"
		if undo {
			fmt.Fprintf(&b, "left half done: the undo of step %d put %d partition(s) back in their old replica order but has not elected their old leaders yet: step %d's leaders still lead them (%s).\n", s.Undoes, len(n), s.Undoes, nameList(n))
		} else {
			fmt.Fprintf(&b, "left half done: %d partition(s) of step %d are in their new replica order but their preferred-leader election has not run: their old leaders still lead them (%s).\n", len(n), s.Number, nameList(n))
		}
	}
	path := r.ref.Path
	if len(r.foreign) > 0 {
		var f []string
		for _, m := range s.Partitions {
			if target, ok := r.foreign[tp{Topic: m.Topic, Partition: m.Partition}]; ok {
				f = append(f, fmt.Sprintf("%s moving to %v", m.Name(), target))
			}
		}
		fmt.Fprintf(&b, "re-targeted by another tool: %d partition(s) of %s are moving somewhere the plan does not say (%s); kshift did not start those moves, so neither apply nor cancel takes them over.\n"+
			"next: let them finish, or cancel them with the tool that started them (kafka-reassign-partitions --cancel); then kshift status %s shows where they stand: "+
			"a step whose partitions are back at its from or at its to resumes with kshift apply %s --step %d; partitions left elsewhere are drift: take a fresh snapshot and plan again (kshift snapshot, kshift plan) for them",
			len(f), s.Label(), nameList(f), path, path, s.Number)
		return b.String()
	}
	if undo {
		fmt.Fprintf(&b, "resume with: kshift rollback %s --step %d (%s)\n"+
			"or revert with: kshift cancel %s (it cancels the undo, restores step %d's to in its exact replica order, and clears the throttles)",
			path, s.Undoes, resumeDoes, path, s.Undoes)
	} else {
		fmt.Fprintf(&b, "resume with: kshift apply %s --step %d (%s)\n"+
			"or revert with: kshift cancel %s", path, s.Number, resumeDoes, path)
	}
	return b.String()
}
