package executor

import (
	"context"
	"fmt"

	"github.com/kshift/kshift/plans"
)

// Rollback applies the undo of forward step n (undoStepOf, the step
// plans.Rollback lists): step n must be done (or its undo in flight: an
// interrupted rollback is resumed) and every later step pending, unless
// force. The undo step goes through the same gates, lock, throttles and
// verification as apply, numbered as step n in the audit log with undoes n.
func (e *Executor) Rollback(ctx context.Context, ref PlanRef, n int, force bool) (*StepResult, error) {
	fwd := ref.Plan
	s := fwd.Step(n)
	if s == nil {
		return nil, fmt.Errorf("%w: the plan has no step %d (it has %d)", plans.ErrBadInput, n, len(fwd.Steps))
	}
	if fwd.Kind != plans.KindMigration {
		return nil, fmt.Errorf("%w: rollback takes the migration plan, this is a %s plan", plans.ErrBadInput, fwd.Kind)
	}
	undo := undoStepOf(fwd, s)
	retire := s.Phase == plans.PhaseRetireSources && s.Retire != nil
	if undo == nil && !s.Phase.ZooKeeperUndoable() && !retire {
		return nil, refusal("step %d (%s) cannot be undone", n, s.Phase)
	}
	st, err := e.Status(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !force {
		// A pending step goes on too: its undo is then already done (the
		// step was never applied, or an interrupted rollback's undo finished
		// inside Kafka), and running it clears the throttles such a run left.
		if got := st.Steps[n-1].State; got != StepDone && got != StepPartial && got != StepUndoInFlight && got != StepPending && !retire {
			return nil, refusal("step %d is %s: rollback undoes a done step (run kshift cancel for a step in flight, or --force)", n, got)
		}
		for _, later := range st.Steps[n:] {
			if later.Phase == plans.PhaseRetireSources {
				// Nothing to undo there but restarting the sources, which
				// the steps before need back.
				if len(later.Stopped) > 0 {
					return nil, refusal("step %d retired the sources and brokers %v have left: start them again first (kshift rollback --step %d waits for them), or --force", later.Number, later.Stopped, later.Number)
				}
				continue
			}
			if later.State != StepPending && later.State != StepUnknown {
				return nil, refusal("step %d is %s: roll back later steps first (--to-step %d unwinds them in order), or --force", later.Number, later.State, n)
			}
		}
	}
	defer func(saved string) { e.opts.Command = saved }(e.opts.Command)
	e.opts.Command = "rollback"
	var res *StepResult
	if s.Phase.IsZooKeeper() || retire {
		// zkops undoes a ZooKeeper step from the forward step, which records
		// the membership it found.
		res, err = e.applyStep(ctx, ref, s, nil, true)
	} else {
		// The undo of a partially done step: its done partitions are at the
		// undo's from, its pending ones already at the undo's to.
		res, err = e.applyStep(ctx, ref, undo, nil, false)
	}
	if err == nil && e.opts.DryRun && s.Phase.IsZooKeeper() {
		e.zkLeft[n] = StepPending
	}
	return res, err
}

// RollbackTo unwinds every step from the last one not pending down to step
// n, in reverse order. It returns a result for each step it tried; on an
// error the last one is the failing step's (bare when it was refused before
// it started), so that a caller prints the error against the right step.
func (e *Executor) RollbackTo(ctx context.Context, ref PlanRef, n int, force bool) ([]*StepResult, error) {
	if ref.Plan.Step(n) == nil {
		return nil, fmt.Errorf("%w: the plan has no step %d (it has %d)", plans.ErrBadInput, n, len(ref.Plan.Steps))
	}
	var out []*StepResult
	for k := len(ref.Plan.Steps); k >= n; k-- {
		st, err := e.Status(ctx, ref)
		if err != nil {
			return out, err
		}
		if st.Steps[k-1].State == StepPending {
			continue
		}
		res, err := e.Rollback(ctx, ref, k, force)
		if res == nil { // refused before it started
			res = &StepResult{Step: k, Undoes: k, Phase: ref.Plan.Step(k).Phase, DryRun: e.opts.DryRun}
		}
		out = append(out, res)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
