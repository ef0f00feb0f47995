package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/kshift/kshift/plans"
)

// revert cancels the step's reassignments in flight (KIP-455 null target),
// waits until Kafka reports them gone, then reorders each reverted partition
// to the exact `from` order: a cancel restores the set but keeps the order
// in flight (docs/kafka-behaviour.md 7). A move-leader step stopped between its
// reorder and its elections has nothing in flight: its partitions still led
// by from's first replica are reordered back to `from`, which moves no
// leader (item 3), so they are exactly where the step started.
func (e *Executor) revert(ctx context.Context, s *plans.Step) error {
	topics := stepTopics(s.Partitions)
	v, err := e.readView(ctx, topics)
	if err != nil {
		return err
	}
	var cancel, unelected []plans.Move
	for _, m := range s.Partitions {
		key := tp{m.Topic, m.Partition}
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
	if err := e.submit(ctx, unelected); err != nil {
		return fmt.Errorf("reordering %s back to its from: %w", s.Label(), err)
	}
	if len(cancel) == 0 {
		return nil
	}
	for start := 0; start < len(cancel); start += e.opts.ChunkSize {
		if err := e.alterAssignments(ctx, cancel[start:min(start+e.opts.ChunkSize, len(cancel))], true); err != nil {
			return fmt.Errorf("cancelling %s: %w", s.Label(), err)
		}
	}
	if e.opts.DryRun {
		e.dryRun("AlterPartitionAssignments (reorder to from after the cancel)", movesNames(cancel))
		return nil
	}
	deadline := time.Now().Add(4 * e.opts.SettleTimeout)
	for {
		if v, err = e.readView(ctx, topics); err != nil {
			return err
		}
		var left []string
		var reorder []plans.Move
		for _, m := range cancel {
			key := tp{m.Topic, m.Partition}
			lp := v.Partitions[key]
			switch {
			case v.InFlight[key] != nil || lp == nil:
				left = append(left, m.Name())
			case slices.Equal(lp.Replicas, m.From):
			case sameSet(lp.Replicas, m.From):
				reorder = append(reorder, plans.Move{Topic: m.Topic, Partition: m.Partition, From: lp.Replicas, To: m.From})
			default:
				return fmt.Errorf("cancelling %s: %s has replicas %v after the cancel, expected the set of %v", s.Label(), m.Name(), lp.Replicas, m.From)
			}
		}
		if len(left) == 0 {
			return e.submit(ctx, reorder)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cancelling %s: still in flight after the cancel: %s", s.Label(), nameList(left))
		}
		if err := sleep(ctx, e.opts.PollInterval); err != nil {
			return err
		}
	}
}

// CancelResult says what Cancel reverted.
type CancelResult struct {
	// Steps are the steps that were in flight: reassignments, or move-leader
	// elections not yet run.
	Steps []int `json:"steps" yaml:"steps"`
	// Undos are the steps whose undo (an interrupted kshift rollback) was in
	// flight: it was reverted and those partitions are back at the step's to.
	Undos []int `json:"undos,omitempty" yaml:"undos,omitempty"`
	// Unrecognised are reassignments still in flight that are neither a step
	// of the plan nor the undo of one: kshift kept its throttles for them.
	Unrecognised []string `json:"unrecognised,omitempty" yaml:"unrecognised,omitempty"`
	Warnings     []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// Cancel reverts every step of the plan in flight, and every undo of a step
// (kshift rollback) in flight, to their exact starting order (a move-leader
// step or undo stopped before some elections: those partitions are
// reordered back, their leader has not moved), and clears kshift's
// throttles, except those of reassignments still in flight: clearing them
// would let those copy unthrottled.
func (e *Executor) Cancel(ctx context.Context, ref PlanRef) (res *CancelResult, err error) {
	e.begin(ref, 0)
	res = &CancelResult{}
	var topics []string
	for i := range ref.Plan.Steps {
		for _, t := range stepTopics(ref.Plan.Steps[i].Partitions) {
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
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
	lock, err := e.AcquireLock(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if lerr := lock.Release(); lerr != nil {
			err = errors.Join(err, lerr)
		}
	}()
	states := planStates(ref.Plan, v)
	recognised := map[tp]bool{}
	for i := range ref.Plan.Steps {
		s := &ref.Plan.Steps[i]
		moving, undoing := false, false
		// In flight includes a move-leader step, or its undo, stopped
		// between its reorder and its elections: nothing moves in Kafka.
		for key, ps := range states[s.Number] {
			switch ps.State {
			case StateInFlight:
				moving = true
			case StateUndoInFlight:
				undoing = true
			default:
				continue
			}
			recognised[key] = true
		}
		if moving {
			res.Steps = append(res.Steps, s.Number)
			if err := e.revertAudited(ctx, s); err != nil {
				return res, throttlesLeft(ref, err)
			}
		}
		if undo := undoStepOf(ref.Plan, s); undoing && undo != nil {
			res.Undos = append(res.Undos, s.Number)
			if err := e.revertAudited(ctx, undo); err != nil {
				return res, throttlesLeft(ref, err)
			}
		}
	}
	recs, err := e.openRecords()
	if err != nil {
		return res, err
	}
	after, err := e.readView(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("throttles left in place (clear them with `kshift throttle clear %s` once nothing moves): %w", ref.Path, err)
	}
	keep := map[tp]bool{}
	for key := range after.InFlight {
		if !recognised[key] {
			res.Unrecognised = append(res.Unrecognised, key.String())
		} else if e.opts.DryRun {
			continue // still listed: a dry run cancelled nothing, the real cancel would have
		}
		keep[key] = true
	}
	if len(res.Unrecognised) > 0 {
		sort.Strings(res.Unrecognised)
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d reassignment(s) in flight are neither a step of %s nor the undo of one, so cancel left them alone: %s. "+
			"kshift left the throttles it set in place while they move (their throttled-replica entries and the broker rates, where it set any), so that they do not copy unthrottled. "+
			"Let them finish (or cancel them with the tool that started them), then run `kshift throttle clear %s`",
			len(res.Unrecognised), ref.Path, nameList(res.Unrecognised), ref.Path))
	}
	sr := &StepResult{}
	err = e.finishRecords(recs, keep, sr)
	res.Warnings = append(res.Warnings, sr.Warnings...)
	return res, err
}

// throttlesLeft adds to a failed revert that Cancel stopped before clearing
// the throttles (what failed to revert may still copy) and what to run.
func throttlesLeft(ref PlanRef, err error) error {
	return fmt.Errorf("%w; kshift's throttles left in place: run kshift cancel %s again, or kshift throttle clear %s once nothing moves", err, ref.Path, ref.Path)
}

// revertAudited reverts s (a step, or the undo of one numbered as the step)
// as its own run in the audit log: step s.Number, undoes s.Undoes.
func (e *Executor) revertAudited(ctx context.Context, s *plans.Step) error {
	defer func(step, undoes int) { e.step, e.undoes = step, undoes }(e.step, e.undoes)
	e.step, e.undoes = s.Number, s.Undoes
	e.audit(e.auditRecord(AuditStart))
	err := e.revert(ctx, s)
	end := e.auditRecord(AuditEnd)
	end.Result = "ok"
	if err != nil {
		end.Result, end.Error = "error", err.Error()
	}
	e.audit(end)
	return err
}
