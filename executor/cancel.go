package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
)

// revert cancels the step's reassignments in flight (KIP-455 null target),
// waits until Kafka reports them gone, then reorders each reverted partition
// to the exact `from` order: a cancel restores the set but keeps the order
// in flight (docs/kafka-behaviour.md 7). A move-leader step stopped between
// its reorder and its elections has nothing in flight: its partitions still
// led by from's first replica are reordered back to `from`, which moves no
// leader (item 3), so they are exactly where the step started. It returns
// how many partitions it reverted.
func (e *Executor) revert(ctx context.Context, s *plans.Step) (int, error) {
	topics := stepTopics(s.Partitions)
	v, err := e.readFreshView(ctx, topics)
	if err != nil {
		return 0, err
	}
	var cancel, unelected []plans.Move
	for _, m := range s.Partitions {
		key := tp{Topic: m.Topic, Partition: m.Partition}
		if lp := v.InFlight[key]; lp != nil {
			if slices.Equal(inFlightTarget(lp), m.To) {
				cancel = append(cancel, m)
			}
			continue
		}
		if awaitingElection(s.Phase, &m, v.Partitions[key]) {
			unelected = append(unelected, plans.Move{Topic: m.Topic, Partition: m.Partition, From: m.To, To: m.From})
		}
	}
	e.doing("reverting %d partition(s) of %s", len(cancel)+len(unelected), s.Label())
	if err := e.submit(ctx, unelected); err != nil {
		return 0, fmt.Errorf("reordering %s back to its from: %w", s.Label(), err)
	}
	if len(cancel) > 0 {
		if err := e.alterAssignments(ctx, cancel, true); err != nil {
			return 0, fmt.Errorf("cancelling %s: %w", s.Label(), err)
		}
	}
	// After the cancel, a broker's Metadata can still show the replicas of
	// the move for a moment (docs/kafka-behaviour.md 24): only a set that
	// stays wrong for the wait is a failed revert. Each cancelled partition
	// is reordered to the exact from once Kafka shows it back at the set
	// (a cancel keeps the order in flight, item 7); the revert is done when
	// every partition reads at its from, so that what runs next sees it.
	reverted := append(slices.Clone(cancel), unelected...)
	reordered := map[tp]bool{}
	var left, moving []string
	var wrong error
	err = poll.Until(ctx, poll.Options{Timeout: 4 * e.opts.SettleTimeout, First: settlePause, Interval: e.opts.PollInterval}, func(ctx context.Context) (bool, error) {
		v, err := e.readView(ctx, topics)
		if err != nil {
			return false, err
		}
		left, moving, wrong = nil, nil, nil
		var reorder []plans.Move
		for _, m := range reverted {
			key := tp{Topic: m.Topic, Partition: m.Partition}
			from := m.From
			if slices.ContainsFunc(unelected, func(u plans.Move) bool { return u.Topic == m.Topic && u.Partition == m.Partition }) {
				from = m.To // an unelected move-leader partition: reordered from to back to from
			}
			lp := v.Partitions[key]
			switch {
			case v.InFlight[key] != nil || lp == nil:
				left = append(left, m.Name())
				moving = append(moving, m.Name())
			case slices.Equal(lp.Replicas, from):
			case plans.SameMembers(lp.Replicas, from):
				left = append(left, m.Name())
				if !reordered[key] {
					reorder = append(reorder, plans.Move{Topic: m.Topic, Partition: m.Partition, From: lp.Replicas, To: from})
					reordered[key] = true
				}
			default:
				left = append(left, m.Name())
				wrong = fmt.Errorf("cancelling %s: %s has replicas %v after the cancel, expected the set of %v", s.Label(), m.Name(), lp.Replicas, from)
			}
		}
		if err := e.submit(ctx, reorder); err != nil {
			return false, err
		}
		return len(left) == 0, nil
	})
	switch {
	case errors.Is(err, poll.ErrTimeout) && wrong != nil:
		return 0, wrong
	case errors.Is(err, poll.ErrTimeout) && len(moving) > 0:
		return 0, fmt.Errorf("cancelling %s: still in flight after the cancel: %s", s.Label(), nameList(moving))
	case errors.Is(err, poll.ErrTimeout):
		return 0, fmt.Errorf("cancelling %s: not back at from %s after the cancel: %s", s.Label(), 4*e.opts.SettleTimeout, nameList(left))
	case err != nil:
		return 0, err
	}
	return len(reverted), nil
}

// CancelResult says what Cancel reverted.
type CancelResult struct {
	// Steps are the steps that were in flight (reassignments, or
	// move-leader elections not yet run) and the undos of steps (an
	// interrupted kshift rollback), with what the cancel did to each.
	Steps []CancelledStep `json:"steps" yaml:"steps"`
	// Unrecognised are reassignments still in flight that are neither a step
	// of the plan nor the undo of one: kshift kept its throttles for them.
	Unrecognised []string `json:"unrecognised,omitempty" yaml:"unrecognised,omitempty"`
	// ThrottlesKept is set when throttles stay for the Unrecognised moves.
	ThrottlesKept bool     `json:"throttles_kept,omitempty" yaml:"throttles_kept,omitempty"`
	Warnings      []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
	Notes         []string `json:"notes,omitempty" yaml:"notes,omitempty"`
}

// CancelledStep is one step (or undo of one) a cancel found in flight.
type CancelledStep struct {
	Step int `json:"step" yaml:"step"`
	// Undo is set when what was reverted is the step's undo (its partitions
	// went back to the step's to).
	Undo bool `json:"undo,omitempty" yaml:"undo,omitempty"`
	// Partitions is the step's size; Reverted how many the cancel put back;
	// Done how many had finished before it and stay done (roll them back
	// with kshift rollback).
	Partitions int `json:"partitions" yaml:"partitions"`
	Reverted   int `json:"reverted" yaml:"reverted"`
	Done       int `json:"done" yaml:"done"`
}

// Cancel reverts every step of the plan in flight, and every undo of a step
// (kshift rollback) in flight, to their exact starting order (a move-leader
// step or undo stopped before some elections: those partitions are
// reordered back, their leader has not moved), and clears kshift's
// throttles, except those of reassignments still in flight: clearing them
// would let those copy unthrottled.
func (e *Executor) Cancel(ctx context.Context, ref PlanRef) (res *CancelResult, err error) {
	res = &CancelResult{}
	// Each topic once (a list search per topic cost minutes on a
	// 20,000-topic plan).
	var topics []string
	seen := map[string]bool{}
	for i := range ref.Plan.Steps {
		for _, m := range ref.Plan.Steps[i].Partitions {
			if !seen[m.Topic] {
				seen[m.Topic] = true
				topics = append(topics, m.Topic)
			}
		}
	}
	v, err := e.readView(ctx, topics)
	if err != nil {
		return res, err
	}
	if v.ClusterID != ref.Plan.ClusterID {
		return res, refusal("the plan is for cluster %q but the cluster reached is %q", ref.Plan.ClusterID, v.ClusterID)
	}
	r, err := e.begin(ctx, ref, v.ClusterID, 0, 0)
	if err != nil {
		return res, err
	}
	defer func() {
		if uerr := r.unlock(); uerr != nil {
			err = errors.Join(err, uerr)
		}
		res.Notes = append(res.Notes, r.notes...)
		res.Warnings = append(res.Warnings, r.warnings...)
		r.audit.at(0, 0)
		r.audit.end("ok", err)
	}()
	if err := r.lock(ctx); err != nil {
		return res, err
	}
	// Read as Status reads (readPlanView): a step in flight, or its undo,
	// reads neither done nor pending, so it is always read afresh.
	pv, err := e.readPlanView(ctx, ref.Plan, topics)
	if err != nil {
		return res, err
	}
	states := pv.chains.states(ref.Plan)
	recognised := map[tp]bool{}
	for i := range ref.Plan.Steps {
		s := &ref.Plan.Steps[i]
		moving, undoing, done := 0, 0, 0
		// In flight includes a move-leader step, or its undo, stopped
		// between its reorder and its elections: nothing moves in Kafka.
		for key, ps := range states[s.Number] {
			switch ps.State {
			case StateInFlight:
				moving++
			case StateUndoInFlight:
				undoing++
			case StateDone:
				done++
				continue
			default:
				continue
			}
			recognised[key] = true
		}
		if moving > 0 {
			n, err := r.revertAudited(ctx, s)
			res.Steps = append(res.Steps, CancelledStep{Step: s.Number, Partitions: len(s.Partitions), Reverted: n, Done: done})
			if err != nil {
				return res, r.throttlesLeft(err)
			}
		}
		if undo := undoStepOf(ref.Plan, s); undoing > 0 && undo != nil {
			n, err := r.revertAudited(ctx, undo)
			res.Steps = append(res.Steps, CancelledStep{Step: s.Number, Undo: true, Partitions: len(s.Partitions), Reverted: n, Done: countState(states[s.Number], StatePending)})
			if err != nil {
				return res, r.throttlesLeft(err)
			}
		}
	}
	recs, err := e.store.ThrottleRecords(ctx)
	if err != nil {
		return res, err
	}
	override, err := e.store.Rate(ctx)
	if err != nil {
		return res, err
	}
	after, err := e.readView(ctx, nil)
	if err != nil {
		return res, r.throttlesLeft(err)
	}
	keep := map[tp]bool{}
	for key := range after.InFlight {
		if !recognised[key] {
			res.Unrecognised = append(res.Unrecognised, key.String())
		}
		keep[key] = true
	}
	if len(res.Unrecognised) > 0 {
		sort.Strings(res.Unrecognised)
		res.ThrottlesKept = anyLeftover(recs)
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d reassignment(s) in flight are neither a step of %s nor the undo of one, so cancel left them alone: %s. "+
			"kshift left the throttles it set in place while they move (their throttled-replica entries and the broker rates, where it set any), so that they do not copy unthrottled. "+
			"Let them finish (or cancel them with the tool that started them), then run `kshift throttle clear %s`",
			len(res.Unrecognised), ref.Path, nameList(res.Unrecognised), ref.Path))
	}
	warnings, err := r.finishRecords(recs, keep, kshiftRates(recs, override))
	res.Warnings = append(res.Warnings, warnings...)
	if errors.Is(err, ErrPartial) {
		// The moves are reverted; what is left is named in err.
		return res, err
	}
	if err != nil {
		return res, r.leftBehind(err)
	}
	if override != nil && len(keep) == 0 {
		cctx, cancel := e.cleanupContext()
		defer cancel()
		if err := r.lease.ClearRate(cctx); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the rate set by kshift throttle set still stands: %v", err))
		}
	}
	return res, nil
}

// throttlesLeft adds to a failed revert that Cancel stopped before clearing
// the throttles (what failed to revert may still copy) and what to run.
func (r *run) throttlesLeft(err error) error {
	return fmt.Errorf("%w; kshift's throttles left in place: run kshift cancel %s again, or kshift throttle clear %s once nothing moves", err, r.ref.Path, r.ref.Path)
}

// revertAudited reverts s (a step, or the undo of one numbered as the step)
// as a step of its own in the audit trail: step s.Number, undoes s.Undoes.
func (r *run) revertAudited(ctx context.Context, s *plans.Step) (int, error) {
	r.audit.startStep(s.Number, s.Undoes)
	n, err := r.e.revert(ctx, s)
	r.audit.end(fmt.Sprintf("reverted %d partition(s)", n), err)
	return n, err
}

// countState counts the partitions in state st.
func countState(parts map[tp]PartitionStatus, st PartitionState) int {
	n := 0
	for _, p := range parts {
		if p.State == st {
			n++
		}
	}
	return n
}
