package executor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// StepResult is what applying one step did.
type StepResult struct {
	Step int `json:"step" yaml:"step"`
	// Undoes is the forward step a rollback step undoes, 0 otherwise.
	Undoes int         `json:"undoes,omitempty" yaml:"undoes,omitempty"`
	Phase  plans.Phase `json:"phase" yaml:"phase"`
	// AlreadyDone is set when the step was done before the run: nothing changed.
	AlreadyDone bool `json:"already_done" yaml:"already_done"`
	// ClearedLeftovers is set when such a run found throttles an earlier,
	// interrupted or killed run had left and cleared them (keeping those of
	// moves still in flight).
	ClearedLeftovers bool          `json:"cleared_leftovers,omitempty" yaml:"cleared_leftovers,omitempty"`
	Partitions       int           `json:"partitions" yaml:"partitions"`
	Submitted        int           `json:"submitted" yaml:"submitted"`
	Elected          int           `json:"elected" yaml:"elected"`
	Duration         time.Duration `json:"duration" yaml:"duration"`
	Calls            int64         `json:"calls" yaml:"calls"`
	// DryRun is set when the step was only dry-run: nothing was sent, and
	// WouldSubmit partitions would have been submitted.
	DryRun      bool `json:"dry_run,omitempty" yaml:"dry_run,omitempty"`
	WouldSubmit int  `json:"would_submit,omitempty" yaml:"would_submit,omitempty"`
	// Warnings are things the operator must know (a rate kshift could not
	// restore, ...).
	Warnings []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// Apply applies step number of the plan: gates, lock, throttles, submit,
// watch, elect, verify, restore. It is idempotent: a step already done is a
// no-op, a step in flight (an earlier run interrupted) is resumed.
func (e *Executor) Apply(ctx context.Context, ref PlanRef, number int) (res *StepResult, err error) {
	s := ref.Plan.Step(number)
	if s == nil {
		return nil, fmt.Errorf("%w: the plan has no step %d (it has %d)", plans.ErrBadInput, number, len(ref.Plan.Steps))
	}
	prev := func(ctx context.Context) error { return e.stepDone(ctx, number-1) }
	if ref.Plan.Kind == plans.KindRollback {
		prev = nil // a rollback step's order is checked against the forward plan by Rollback
	}
	res, err = e.applyStep(ctx, ref, s, prev, false)
	if err == nil && e.opts.DryRun {
		e.dryRunLeaves(number, StepDone)
	}
	return res, err
}

// applyStep runs step s of ref's plan. undoZK runs the undo of a forward
// ZooKeeper step s instead of s itself.
func (e *Executor) applyStep(ctx context.Context, ref PlanRef, s *plans.Step, prevDone func(context.Context) error, undoZK bool) (res *StepResult, err error) {
	e.begin(ref, s.Number)
	e.undoes = s.Undoes
	if undoZK {
		e.undoes = s.Number
	}
	start := time.Now()
	callsAtStart := e.Calls()
	res = &StepResult{Step: s.Number, Undoes: s.Undoes, Phase: s.Phase, Partitions: len(s.Partitions), DryRun: e.opts.DryRun}
	if undoZK {
		res.Undoes = s.Number
	}
	e.dryRunNote(plans.StepLabel(res.Step, res.Undoes))
	startRec := e.auditRecord(AuditStart)
	e.audit(startRec)
	defer func() {
		res.Duration, res.Calls = time.Since(start), e.Calls()-callsAtStart
		r := e.auditRecord(AuditEnd)
		r.Result = "ok"
		if res.AlreadyDone {
			r.Result = "already done"
		}
		if err != nil {
			r.Result, r.Error = "error", err.Error()
		}
		e.audit(r)
	}()
	if s.Phase.IsZooKeeper() {
		return res, e.applyZooKeeper(ctx, s, res, prevDone, undoZK)
	}

	v, st, err := e.gatedView(ctx, s, prevDone)
	if err != nil {
		return res, err
	}
	// A step already done with no throttles left by an earlier run changes
	// nothing: say so without taking the lock another run may hold.
	if allState(st, StateDone) {
		recs, err := e.openRecords()
		if err != nil {
			return res, err
		}
		if !anyLeftover(recs) {
			res.AlreadyDone = true
			return res, nil
		}
	}
	lock, err := e.AcquireLock(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if lerr := lock.Release(); lerr != nil {
			err = errors.Join(err, lerr)
		}
	}()
	// Read again under the lock: another run may have moved things meanwhile.
	if v, st, err = e.gatedView(ctx, s, prevDone); err != nil {
		return res, err
	}
	recs, err := e.openRecords()
	if err != nil {
		return res, err
	}
	if allState(st, StateDone) {
		res.AlreadyDone = true
		e.log.Info("step already done: nothing to do", "step", s.Number)
		// Throttles a killed or interrupted run left behind are cleared,
		// except those of moves still in flight (a later step resumed next).
		keep := map[tp]bool{}
		for key := range v.InFlight {
			keep[key] = true
		}
		res.ClearedLeftovers = anyLeftover(recs)
		return res, e.finishRecords(recs, keep, res)
	}

	rate := s.ThrottleOr(ref.Plan.Throttle)
	if e.opts.Throttle > 0 {
		rate = e.opts.Throttle
	}
	var rec *ThrottleRecord
	if len(recs) > 0 {
		rec = recs[len(recs)-1]
		rec.Rate = rate
	} else {
		rec = newThrottleRecord(fmt.Sprintf("%s-step%d-%d", start.UTC().Format("20060102T150405"), s.Number, start.UnixNano()%1e6), rate)
		recs = append(recs, rec)
	}
	// From here on the cluster may change: whatever happens, the throttles
	// are put back by a cleanup with its own context.
	// submitted: something of the step may be moving (a resumed step
	// already is), so an interrupt with CancelOnInterrupt must revert it.
	submitted := slices.ContainsFunc(st, func(p PartitionStatus) bool { return p.State == StateInFlight })
	defer func() {
		if e.opts.DryRun {
			// A dry run shows a step that succeeds: its partitions end at
			// `to` for the steps after it, and its throttles are cleared.
			if err == nil {
				e.dryRunDone(s, v)
				err = e.finishRecords(recs, nil, res)
			}
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), 4*e.opts.CallTimeout)
		defer cancel()
		if err != nil && ctx.Err() != nil && e.opts.CancelOnInterrupt && submitted {
			if cerr := e.revert(cctx, s); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		keep, unelected, kerr := e.leftUndone(cctx, s)
		if kerr != nil {
			err = errors.Join(err, fmt.Errorf("throttles left in place, clear them with `kshift throttle clear`: %w", kerr))
			return
		}
		if ferr := e.finishRecords(recs, keep, res); ferr != nil {
			err = errors.Join(err, ferr)
		}
		if err != nil && (len(keep) > 0 || len(unelected) > 0) {
			err = fmt.Errorf("%w\n%s", err, e.leftMessage(s, keep, unelected))
		}
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
	}()

	before, err := e.offsets(ctx, s.Partitions)
	if err != nil {
		return res, err
	}
	var todo []plans.Move
	for i, p := range st {
		if p.State != StateDone {
			todo = append(todo, s.Partitions[i])
		}
	}
	if rate > 0 {
		if err := e.setThrottles(ctx, rec, todo); err != nil {
			return res, err
		}
	}
	var pending []plans.Move
	for i, p := range st {
		if p.State == StatePending {
			pending = append(pending, s.Partitions[i])
		}
	}
	submitted = true
	if err := e.submit(ctx, pending); err != nil {
		return res, err
	}
	if e.opts.DryRun {
		res.WouldSubmit = len(pending)
		if s.Phase == plans.PhaseMoveLeader {
			e.dryRun("ElectLeaders (preferred, in batches)", fmt.Sprintf("%d partitions, %d per batch, %s apart", len(s.Partitions), e.opts.ElectionBatch, e.opts.ElectionWait))
		}
		return res, nil
	}
	res.Submitted = len(pending)
	if err := e.watch(ctx, s, start); err != nil {
		return res, err
	}
	if s.Phase == plans.PhaseMoveLeader {
		n, err := e.elect(ctx, s)
		res.Elected = n
		if err != nil {
			return res, err
		}
	}
	if err := e.verify(ctx, s, before); err != nil {
		return res, err
	}
	return res, nil
}

func allState(st []PartitionStatus, want PartitionState) bool {
	for _, p := range st {
		if p.State != want {
			return false
		}
	}
	return true
}

// finishRecords clears what the throttle records added, keeping the
// entries of partitions still moving. A dry run prints the calls and keeps
// the records as they would be left, for the next dry-run step.
func (e *Executor) finishRecords(recs []*ThrottleRecord, keep map[tp]bool, res *StepResult) error {
	if e.opts.DryRun {
		defer func() {
			e.dry.records = slices.DeleteFunc(slices.Clone(recs), (*ThrottleRecord).empty)
			e.dry.haveRecords = true
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*e.opts.CallTimeout)
	defer cancel()
	var errs []error
	for _, rec := range recs {
		if rec.empty() {
			continue
		}
		warnings, err := e.clearThrottles(ctx, rec, keep)
		res.Warnings = append(res.Warnings, warnings...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restoring throttles (run `kshift throttle clear` to finish): %w", err)
	}
	return nil
}

// anyLeftover reports whether recs hold throttles an earlier run set and
// did not clear.
func anyLeftover(recs []*ThrottleRecord) bool {
	return slices.ContainsFunc(recs, func(r *ThrottleRecord) bool { return !r.empty() })
}

// leftUndone returns the step's partitions with a reassignment in flight
// (moving), and for move-leader those reordered whose election has not run
// (unelected).
func (e *Executor) leftUndone(ctx context.Context, s *plans.Step) (moving, unelected map[tp]bool, err error) {
	v, err := e.readView(ctx, stepTopics(s.Partitions))
	if err != nil {
		return nil, nil, err
	}
	moving, unelected = map[tp]bool{}, map[tp]bool{}
	for i := range s.Partitions {
		m := &s.Partitions[i]
		key := tp{m.Topic, m.Partition}
		switch {
		case v.InFlight[key] != nil:
			moving[key] = true
		case awaitingElection(s.Phase, m, v.Partitions[key]):
			unelected[key] = true
		}
	}
	return moving, unelected, nil
}

// leftMessage says what an interrupted or failed step leaves undone:
// reassignments still moving in Kafka, and move-leader partitions reordered
// but not yet elected; then how to resume or revert it.
func (e *Executor) leftMessage(s *plans.Step, moving, unelected map[tp]bool) string {
	names := func(set map[tp]bool) []string {
		var out []string
		for _, m := range s.Partitions {
			if set[tp{m.Topic, m.Partition}] {
				out = append(out, m.Name())
			}
		}
		return out
	}
	// An undo run by kshift rollback (numbered as the step it undoes): the
	// operator resumes it through rollback, not apply.
	undo := e.opts.Command == "rollback" && s.Undoes > 0
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
	if undo {
		fmt.Fprintf(&b, "resume with: kshift rollback %s --step %d (%s)\n"+
			"or revert with: kshift cancel %s (it cancels the undo, restores step %d's to in its exact replica order, and clears the throttles)",
			e.planPath, s.Undoes, resumeDoes, e.planPath, s.Undoes)
	} else {
		fmt.Fprintf(&b, "resume with: kshift apply %s --step %d (%s)\n"+
			"or revert with: kshift cancel %s", e.planPath, s.Number, resumeDoes, e.planPath)
	}
	return b.String()
}

// submit sends the moves in chunks. Moves with nothing to copy complete
// inside the call (docs/kafka-behaviour.md 2).
func (e *Executor) submit(ctx context.Context, moves []plans.Move) error {
	for start := 0; start < len(moves); start += e.opts.ChunkSize {
		chunk := moves[start:min(start+e.opts.ChunkSize, len(moves))]
		if err := e.alterAssignments(ctx, chunk, false); err != nil {
			return err
		}
	}
	return nil
}

// alterAssignments sends one AlterPartitionAssignments request: each move's
// `to`, or with cancel a null target (KIP-455 cancel).
func (e *Executor) alterAssignments(ctx context.Context, moves []plans.Move, cancel bool) error {
	if len(moves) == 0 {
		return nil
	}
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = int32(e.opts.CallTimeout.Milliseconds())
	var desc []string
	topics, byTopic := groupByTopic(moves, func(m plans.Move) string { return m.Topic })
	for _, name := range topics {
		t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		t.Topic = name
		for _, m := range byTopic[name] {
			p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
			p.Partition = m.Partition
			if cancel {
				p.Replicas = nil
				desc = append(desc, m.Name()+"=cancel")
			} else {
				p.Replicas = slices.Clone(m.To)
				desc = append(desc, fmt.Sprintf("%s=%v", m.Name(), m.To))
			}
			t.Partitions = append(t.Partitions, p)
		}
		req.Topics = append(req.Topics, t)
	}
	call := "AlterPartitionAssignments"
	if e.dryRun(call, desc) {
		return nil
	}
	resp, err := request[*kmsg.AlterPartitionAssignmentsResponse](ctx, e, req)
	var errs []error
	if err == nil {
		if err = codeErr(resp.ErrorCode, resp.ErrorMessage); err == nil {
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					perr := codeErr(p.ErrorCode, p.ErrorMessage)
					if cancel && errors.Is(perr, kerr.NoReassignmentInProgress) {
						continue // finished meanwhile
					}
					if perr != nil {
						errs = append(errs, fmt.Errorf("%s-%d: %w", t.Topic, p.Partition, perr))
					}
				}
			}
			err = errors.Join(errs...)
		}
	}
	e.auditCall(call, desc, err)
	if err != nil {
		return fmt.Errorf("submitting reassignment: %w", err)
	}
	return nil
}

// watch polls until every partition of the step is at `to`, reporting
// progress and stalls.
func (e *Executor) watch(ctx context.Context, s *plans.Step, start time.Time) error {
	topics := stepTopics(s.Partitions)
	var (
		bestLag      int64 = -1
		lastProgress       = time.Now()
		copiedAtBest int64
		firstCopied  int64 = -1
	)
	// unsettled is when each partition was first read at neither end of
	// its move nor moving towards `to`. Right after a submission that is
	// normal for a moment: a move that completes inside the call (a
	// reorder, an RF decrease) still reads as `from` on a broker whose
	// Metadata has not caught up (docs/kafka-behaviour.md 24). Only a state
	// that lasts SettleTimeout is drift.
	unsettled := map[tp]time.Time{}
	pause := settlePause / 2
	for {
		v, err := e.readView(ctx, topics)
		if err != nil {
			return err
		}
		st := classifyStep(s, v)
		states := map[tp]PartitionState{}
		var inflight []tp
		var drifted []string
		pr := Progress{Step: s.Number, Undoes: s.Undoes, Phase: s.Phase, Partitions: len(st), Elapsed: time.Since(start)}
		moving, settling := false, false
		for _, p := range st {
			key := tp{p.Topic, p.Partition}
			states[key] = p.State
			if p.State != StatePending && p.State != StateDrifted {
				delete(unsettled, key)
			}
			switch p.State {
			case StateDone:
				pr.Done++
			case StateInFlight:
				pr.InFlight++
				if v.InFlight[key] != nil {
					moving = true
					inflight = append(inflight, key)
				}
			case StateDrifted, StatePending:
				first, seen := unsettled[key]
				if !seen {
					first = time.Now()
					unsettled[key] = first
				}
				if time.Since(first) < e.opts.SettleTimeout {
					pr.InFlight++
					settling = true
					continue
				}
				if p.State == StatePending {
					drifted = append(drifted, fmt.Sprintf("%s: back at from for %s while the step runs (cancelled by someone?)", p.Name(), e.opts.SettleTimeout))
				} else {
					drifted = append(drifted, fmt.Sprintf("%s: %s (for %s)", p.Name(), p.Detail, e.opts.SettleTimeout))
				}
			}
		}
		if len(drifted) > 0 {
			return fmt.Errorf("%s: partitions changed while the step ran: %s", s.Label(), nameList(drifted))
		}
		sizes := e.replicaSizes(ctx, inflight)
		pr.BytesTotal, pr.BytesCopied = copyProgress(s.Partitions, states, v, sizes)
		pr.Replicas = addingReplicas(s.Partitions, states, v, sizes)
		if firstCopied < 0 {
			firstCopied = pr.BytesCopied
		}
		if el := time.Since(start).Seconds(); el > 0 && pr.BytesCopied > firstCopied {
			pr.Rate = float64(pr.BytesCopied-firstCopied) / el
			pr.ETA = time.Duration(float64(pr.BytesTotal-pr.BytesCopied) / pr.Rate * float64(time.Second))
		}
		lag := pr.BytesTotal - pr.BytesCopied + int64(pr.InFlight)
		if bestLag < 0 || lag < bestLag {
			bestLag, lastProgress, copiedAtBest = lag, time.Now(), pr.BytesCopied
		}
		var dead []string
		for _, key := range inflight {
			for _, b := range v.InFlight[key].Adding {
				if !v.Brokers[b] && !slices.Contains(dead, fmt.Sprint(b)) {
					dead = append(dead, fmt.Sprint(b))
				}
			}
		}
		switch {
		case len(dead) > 0:
			pr.Stalled = true
			pr.StallReason = fmt.Sprintf("target broker(s) %s not alive: the copy waits and resumes when they return (or run kshift cancel)", strings.Join(dead, ", "))
		case time.Since(lastProgress) > e.opts.StallAfter && pr.BytesCopied > copiedAtBest:
			pr.Stalled = true
			pr.StallReason = fmt.Sprintf("replicas copy but fall no closer to their leaders for %s: inbound traffic is at or above the throttle; raise it with kshift throttle set", time.Since(lastProgress).Round(time.Second))
		case time.Since(lastProgress) > e.opts.StallAfter:
			pr.Stalled = true
			pr.StallReason = fmt.Sprintf("no progress for %s: check the target brokers' logs, the throttle (kshift throttle set) or cancel (kshift cancel)", time.Since(lastProgress).Round(time.Second))
		}
		if s.Phase == plans.PhaseMoveLeader && !moving && pr.InFlight > 0 {
			pr.Note = "replicas reordered; electing leaders"
		}
		if e.opts.Progress != nil {
			e.opts.Progress(pr)
		}
		if pr.Done == pr.Partitions || (s.Phase == plans.PhaseMoveLeader && !moving && !settling) {
			return nil
		}
		// Look again soon at first (most moves of a small step finish
		// within a second), then every PollInterval.
		pause = min(2*pause, e.opts.PollInterval)
		if settling {
			pause = min(pause, settlePause)
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}
}

// elect runs preferred-leader elections for the step's partitions whose
// leader is not yet their first replica, in paced batches, and only for
// partitions whose first replica is in the ISR (docs/design.md invariant 5). It
// polls: the ISR and leaders in Metadata trail the truth (item 21).
func (e *Executor) elect(ctx context.Context, s *plans.Step) (int, error) {
	topics := stepTopics(s.Partitions)
	deadline := time.Now().Add(4 * e.opts.SettleTimeout)
	elected := 0
	for {
		v, err := e.readView(ctx, topics)
		if err != nil {
			return elected, err
		}
		var eligible []plans.Move
		var waiting []string
		for _, m := range s.Partitions {
			lp := v.Partitions[tp{m.Topic, m.Partition}]
			if lp == nil || lp.Leader == m.To[0] {
				continue
			}
			if !slices.Contains(lp.ISR, m.To[0]) {
				waiting = append(waiting, fmt.Sprintf("%s: broker %d not in isr %v", m.Name(), m.To[0], lp.ISR))
				continue
			}
			eligible = append(eligible, m)
		}
		if len(eligible) == 0 && len(waiting) == 0 {
			return elected, nil
		}
		if time.Now().After(deadline) {
			return elected, fmt.Errorf("%s: leaders did not move to the first replica: %s; run apply again once the replicas are in sync", s.Label(), nameList(append(waiting, movesNames(eligible)...)))
		}
		for i := 0; i < len(eligible); i += e.opts.ElectionBatch {
			batch := eligible[i:min(i+e.opts.ElectionBatch, len(eligible))]
			n, err := e.electBatch(ctx, batch)
			elected += n
			if err != nil {
				return elected, err
			}
			if i+e.opts.ElectionBatch < len(eligible) {
				if err := sleep(ctx, e.opts.ElectionWait); err != nil {
					return elected, err
				}
			}
		}
		if e.opts.Progress != nil {
			e.opts.Progress(Progress{Step: s.Number, Undoes: s.Undoes, Phase: s.Phase, Partitions: len(s.Partitions), Done: len(s.Partitions) - len(eligible) - len(waiting), InFlight: len(eligible) + len(waiting), Note: fmt.Sprintf("electing leaders: %d elected", elected)})
		}
		if err := sleep(ctx, e.opts.PollInterval); err != nil {
			return elected, err
		}
	}
}

func movesNames(moves []plans.Move) []string {
	out := make([]string, len(moves))
	for i := range moves {
		out[i] = moves[i].Name()
	}
	return out
}

// electBatch sends one preferred election for exactly these partitions
// (never a null set: that elects every partition, docs/kafka-behaviour.md 18).
// ELECTION_NOT_NEEDED is success; PREFERRED_LEADER_NOT_AVAILABLE is retried
// by the caller's next round.
func (e *Executor) electBatch(ctx context.Context, batch []plans.Move) (int, error) {
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = 0 // preferred
	req.TimeoutMillis = int32(e.opts.CallTimeout.Milliseconds())
	topics, byTopic := groupByTopic(batch, func(m plans.Move) string { return m.Topic })
	for _, name := range topics {
		t := kmsg.NewElectLeadersRequestTopic()
		t.Topic = name
		for _, m := range byTopic[name] {
			t.Partitions = append(t.Partitions, m.Partition)
		}
		req.Topics = append(req.Topics, t)
	}
	if len(req.Topics) == 0 {
		return 0, nil
	}
	desc := movesNames(batch)
	resp, err := request[*kmsg.ElectLeadersResponse](ctx, e, req)
	n := 0
	if err == nil {
		var errs []error
		if err = codeErr(resp.ErrorCode, nil); err == nil {
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					perr := codeErr(p.ErrorCode, p.ErrorMessage)
					switch {
					case perr == nil, errors.Is(perr, kerr.ElectionNotNeeded):
						n++
					case errors.Is(perr, kerr.PreferredLeaderNotAvailable):
					default:
						errs = append(errs, fmt.Errorf("%s-%d: %w", t.Topic, p.Partition, perr))
					}
				}
			}
			err = errors.Join(errs...)
		}
	}
	e.auditCall("ElectLeaders", desc, err)
	if err != nil {
		return n, fmt.Errorf("preferred-leader election: %w", err)
	}
	return n, nil
}

// offsetPair is a partition's log start and end offsets.
type offsetPair struct{ start, end int64 }

// offsetsUnreadableError names the partitions whose log offsets could not be
// read, with why.
type offsetsUnreadableError struct {
	failed map[tp]string
	after  time.Duration
}

// keys returns the unread partitions in name order.
func (e *offsetsUnreadableError) keys() []tp {
	out := slices.Collect(maps.Keys(e.failed))
	slices.SortFunc(out, func(a, b tp) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

func (e *offsetsUnreadableError) names() []string {
	var out []string
	for _, key := range e.keys() {
		out = append(out, fmt.Sprintf("%s: %s", key, e.failed[key]))
	}
	return out
}

func (e *offsetsUnreadableError) Error() string {
	return fmt.Sprintf("could not read the log start and end offsets of %d partition(s), retried for %s: %s; "+
		"kshift compares them before and after a step and does not pass a partition it could not read: "+
		"find why their leaders do not answer ListOffsets (kshift check, the brokers' logs) and run the command again",
		len(e.failed), e.after, nameList(e.names()))
}

// offsets reads the log start and end offsets of every move's partition.
// Partitions whose leader answers with an error (a leader elected a moment
// ago answers OFFSET_NOT_AVAILABLE until its high watermark is known) or
// whose request fails are read again every poll until SettleTimeout; any
// still unread then make an *offsetsUnreadableError: no partition is left
// out.
func (e *Executor) offsets(ctx context.Context, moves []plans.Move) (map[tp]offsetPair, error) {
	out := map[tp]offsetPair{}
	todo := moves
	deadline := time.Now().Add(e.opts.SettleTimeout)
	for {
		failed := e.readOffsets(ctx, todo, out)
		if len(failed) == 0 {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, &offsetsUnreadableError{failed: failed, after: e.opts.SettleTimeout}
		}
		todo = slices.DeleteFunc(slices.Clone(todo), func(m plans.Move) bool { return failed[tp{m.Topic, m.Partition}] == "" })
		if err := sleep(ctx, e.opts.PollInterval); err != nil {
			return nil, err
		}
	}
}

// readOffsets sends one earliest and one latest ListOffsets for moves, split
// by leader, stores the partitions read in both into out and returns the
// others with why.
func (e *Executor) readOffsets(ctx context.Context, moves []plans.Move, out map[tp]offsetPair) map[tp]string {
	failed := map[tp]string{}
	got := map[tp]offsetPair{}
	for _, ts := range []int64{-2, -1} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		unanswered := map[tp]bool{}
		topics, byTopic := groupByTopic(moves, func(m plans.Move) string { return m.Topic })
		for _, name := range topics {
			t := kmsg.NewListOffsetsRequestTopic()
			t.Topic = name
			for _, m := range byTopic[name] {
				p := kmsg.NewListOffsetsRequestTopicPartition()
				p.Partition, p.Timestamp, p.CurrentLeaderEpoch = m.Partition, ts, -1
				t.Partitions = append(t.Partitions, p)
				unanswered[tp{m.Topic, m.Partition}] = true
			}
			req.Topics = append(req.Topics, t)
		}
		cctx, cancel := context.WithTimeout(ctx, e.opts.CallTimeout)
		e.calls.Add(1)
		shards := e.k.RequestSharded(cctx, req)
		cancel()
		for _, sh := range shards {
			if sh.Err != nil {
				// The shard's partitions (one leader's, or those without
				// a known leader) got no answer.
				if r, ok := sh.Req.(*kmsg.ListOffsetsRequest); ok {
					for _, t := range r.Topics {
						for _, p := range t.Partitions {
							key := tp{t.Topic, p.Partition}
							failed[key], unanswered[key] = sh.Err.Error(), false
						}
					}
				}
				continue
			}
			resp, ok := sh.Resp.(*kmsg.ListOffsetsResponse)
			if !ok {
				continue
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					key := tp{t.Topic, p.Partition}
					if !unanswered[key] {
						continue // not asked, or answered twice
					}
					unanswered[key] = false
					if err := codeErr(p.ErrorCode, nil); err != nil {
						failed[key] = err.Error()
						continue
					}
					op := got[key]
					if ts == -2 {
						op.start = p.Offset
					} else {
						op.end = p.Offset
					}
					got[key] = op
				}
			}
		}
		for key, missing := range unanswered {
			if missing {
				failed[key] = "not in the ListOffsets answer"
			}
		}
	}
	for key, op := range got {
		if failed[key] == "" {
			out[key] = op
		}
	}
	return failed
}

// verify checks the step's end state: every partition at `to` with its full
// replica set in the ISR (and, for move-leader, led by its first replica),
// polled until consistent; and no log start or end offset went backwards.
func (e *Executor) verify(ctx context.Context, s *plans.Step, before map[tp]offsetPair) error {
	topics := stepTopics(s.Partitions)
	deadline := time.Now().Add(e.opts.SettleTimeout)
	for {
		v, err := e.readView(ctx, topics)
		if err != nil {
			return err
		}
		var bad []string
		for _, m := range s.Partitions {
			lp := v.Partitions[tp{m.Topic, m.Partition}]
			switch {
			case lp == nil:
				bad = append(bad, m.Name()+": missing")
			case lp.Reassigning || !slices.Equal(lp.Replicas, m.To):
				bad = append(bad, fmt.Sprintf("%s: replicas %v, want %v", m.Name(), lp.Replicas, m.To))
			case !sameSet(lp.ISR, m.To):
				bad = append(bad, fmt.Sprintf("%s: isr %v, want all of %v", m.Name(), lp.ISR, m.To))
			case s.Phase == plans.PhaseMoveLeader && lp.Leader != m.To[0]:
				bad = append(bad, fmt.Sprintf("%s: leader %d, want %d", m.Name(), lp.Leader, m.To[0]))
			}
		}
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: verification failed after %s: %s", s.Label(), e.opts.SettleTimeout, nameList(bad))
		}
		if err := sleep(ctx, e.opts.PollInterval); err != nil {
			return err
		}
	}
	after, err := e.offsets(ctx, s.Partitions)
	var unreadable *offsetsUnreadableError
	if errors.As(err, &unreadable) {
		var was []string
		for _, key := range unreadable.keys() {
			b := before[key]
			was = append(was, fmt.Sprintf("%s: start %d, end %d", key, b.start, b.end))
		}
		return fmt.Errorf("%s: verification failed: the partitions are at `to` but the log offsets of %d partition(s) could not be read after the step, so kshift cannot show that no data was lost: %s. "+
			"Read them by hand (kafka-run-class.sh kafka.tools.GetOffsetShell --topic T --partitions N --time -2, then -1) and compare with those before the step (%s): a start or end lower than before means lost data",
			s.Label(), len(unreadable.failed), nameList(unreadable.names()), nameList(was))
	}
	if err != nil {
		return err
	}
	var back []string
	for _, m := range s.Partitions {
		key := tp{m.Topic, m.Partition}
		b, okBefore := before[key]
		a, okAfter := after[key]
		switch {
		case !okBefore || !okAfter:
			// offsets never returns a partial map; a gap here is a bug
			// and must not pass as continuity.
			back = append(back, fmt.Sprintf("%s: offsets not read (before %v, after %v)", key, okBefore, okAfter))
		case a.start < b.start || a.end < b.end:
			back = append(back, fmt.Sprintf("%s: start %d->%d, end %d->%d", key, b.start, a.start, b.end, a.end))
		}
	}
	if len(back) > 0 {
		return fmt.Errorf("%s: verification failed: log offsets went backwards (data lost, e.g. by an unclean leader election; check the brokers' logs): %s", s.Label(), nameList(back))
	}
	return nil
}
