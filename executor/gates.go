package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
)

// maxNamed is how many partitions a refusal names before summarising.
const maxNamed = 20

func nameList(items []string) string {
	if len(items) <= maxNamed {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:maxNamed], "; ") + fmt.Sprintf("; and %d more", len(items)-maxNamed)
}

// errUnsettled marks a refusal of the step's own state that one read of
// Metadata can cause without anything being wrong: a broker that has not
// caught up with its controller shows a partition at its old replicas for
// a moment (docs/kafka-behaviour.md 24), which reads as drift, as an undo
// in flight or as the previous step not done.
var errUnsettled = errors.New("not settled")

// unsettledError is a refusal that gatedView reads again before it stands,
// by the same settle policy as the registry's gates (inspect.SettlePolicy).
type unsettledError struct{ refusal error }

func (u *unsettledError) Error() string   { return u.refusal.Error() }
func (u *unsettledError) Unwrap() []error { return []error{u.refusal, errUnsettled} }

func unsettledRefusal(format string, args ...any) error {
	return &unsettledError{refusal(format, args...)}
}

// gatedView runs the gates before a step (docs/design.md "Safety
// invariants") and returns the step's partitions and each one's state:
//
//  1. the registry's gates that say which cluster this is (inspect.Gates,
//     GateDef.First), before anything looks at the step's partitions;
//  2. the step's own state, which needs the plan's chain (planStates): not
//     already done, no undo of it in flight, no drift, the previous step
//     done; a refusal here that a trailing read can cause (errUnsettled)
//     is read again for SettleTimeout before it stands;
//  3. unless the step has nothing left to do, every other safety gate of
//     the registry and, unless SkipHealthGates, its health gates.
//
// The registry reads the cluster through the executor's own Kafka client,
// so a dry run's overlay and the fencing hooks apply to it. Both settle by
// one policy, inspect.SettlePolicy, for SettleTimeout.
func (r *stepRun) gatedView(ctx context.Context) (*view, []PartitionStatus, error) {
	if err := r.registryGates(ctx, true); err != nil {
		return nil, nil, err
	}
	var v *view
	var st []PartitionStatus
	var stateErr error
	err := poll.Until(ctx, inspect.SettlePolicy(r.e.opts.SettleTimeout), func(ctx context.Context) (bool, error) {
		var rerr error
		if v, rerr = r.e.readFreshView(ctx, stepTopics(r.step.Partitions)); rerr != nil {
			return false, rerr
		}
		st, stateErr = r.stepState(ctx, v)
		if stateErr != nil && !errors.Is(stateErr, errUnsettled) {
			return false, stateErr
		}
		return stateErr == nil, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		err = stateErr
	}
	if err != nil || allState(st, StateDone) {
		return v, st, err
	}
	return v, st, r.registryGates(ctx, false)
}

// stepState checks the step's own state against v and returns each
// partition's state: the gates that need the plan's chain. prevDone checks
// the previous step unless the options force the order.
func (r *stepRun) stepState(ctx context.Context, v *view) ([]PartitionStatus, error) {
	e, s, p := r.e, r.step, r.ref.Plan
	// A step whose partitions later steps have moved on from is done too;
	// the undo of step n (not a step of the plan) is done where the plan's
	// chain has step n pending.
	st := classifyStep(s, v)
	undo := undoRun(p, s)
	n, finished := s.Number, StateDone
	if undo {
		n, finished = s.Undoes, StatePending
	}
	chain := planStates(p, v)[n]
	// The chain calls a move-leader partition whose undo awaits an election
	// pending while the old leader is out of the ISR (a failover looks the
	// same); the undo's own state still shows it in flight, so it is not done.
	undoWaiting := undo && slices.ContainsFunc(st, func(p PartitionStatus) bool { return p.State == StateInFlight })
	if len(chain) == len(st) && !undoWaiting {
		done := true
		for _, ps := range chain {
			done = done && ps.State == finished
		}
		if done {
			for i := range st {
				st[i].State = StateDone
			}
			return st, nil
		}
	}
	// An interrupted rollback of the step: applying it now would fight the
	// undo (a move-leader undo between its elections looks pending to the
	// step alone, so the plan's chain tells).
	if p.Kind == plans.KindMigration && !undo {
		var undoing []string
		for _, p := range st {
			if chain[tp{Topic: p.Topic, Partition: p.Partition}].State == StateUndoInFlight {
				undoing = append(undoing, p.Name())
			}
		}
		if len(undoing) > 0 {
			return st, unsettledRefusal("%s: its undo (an interrupted kshift rollback) is in flight for %d partition(s): %s; finish it with kshift rollback %s --step %d, or revert it with kshift cancel %s (back to the step's to), then run this again",
				s.Label(), len(undoing), nameList(undoing), r.ref.Path, s.Number, r.ref.Path)
		}
	}
	// Every partition at from, at to, or in flight towards to.
	var drifted []string
	for _, p := range st {
		if p.State == StateDrifted {
			drifted = append(drifted, p.Name()+": "+p.Detail)
		}
	}
	if len(drifted) > 0 {
		return st, unsettledRefusal("%s: %d partition(s) are neither at the step's from nor at its to (drift; re-plan from a fresh snapshot or fix them by hand): %s", s.Label(), len(drifted), nameList(drifted))
	}
	// The previous step done.
	if !allState(st, StateDone) && !e.opts.ForceOrder && r.prevDone != nil {
		if err := r.prevDone(ctx); err != nil {
			return st, err
		}
	}
	return st, nil
}

// registryGates runs the registry's gates before the step (first: those
// that say which cluster this is; else the others) and refuses the step
// naming every gate that failed.
func (r *stepRun) registryGates(ctx context.Context, first bool) error {
	gates := r.e.gates.BeforeStep(r.e.opts.SkipHealthGates, first)
	if len(gates) == 0 {
		return nil
	}
	p, s := r.gatePlan()
	rep, err := gates.Run(ctx, r.e.kafka, inspect.CheckScope{Plan: p, Step: s.Number, OwnMoves: s.Partitions, Settle: r.e.opts.SettleTimeout})
	if err != nil {
		return fmt.Errorf("%s: running the gates: %w", r.step.Label(), err)
	}
	// The lost-broker rule passes a step that drops the out-of-sync
	// replicas of a down broker with a warning: the operator reads what is
	// dropped and why it is safe.
	if g := rep.Gate(inspect.GateUnderReplicated); g != nil && g.Status == inspect.StatusWarn && r.res != nil {
		var found []string
		for _, f := range g.Findings {
			found = append(found, f.Subject+": "+f.Detail)
		}
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%s: %s: %s", r.step.Label(), g.Summary, nameList(found)))
	}
	refused := rep.Refusal()
	if refused == nil {
		return nil
	}
	hint := ""
	if slices.ContainsFunc(rep.Gates, func(g inspect.GateResult) bool { return g.Status == inspect.StatusFail && g.Kind == inspect.KindHealth }) {
		hint = "; --skip-health-check skips the health gates"
	}
	return fmt.Errorf("%w: %s: kshift check failed (it shows every gate%s): %w", ErrRefused, r.step.Label(), hint, refused)
}

// gatePlan is the plan and step the registry's gates read: the step's own
// plan, or for an undo (not a step of its plan) the derived rollback plan,
// where the undo is listed under its own number.
func (r *stepRun) gatePlan() (*plans.Plan, *plans.Step) {
	p, s := r.ref.Plan, r.step
	if !undoRun(p, s) {
		return p, s
	}
	rp := plans.Rollback(p)
	for i := range rp.Steps {
		if rp.Steps[i].Undoes == s.Undoes {
			return rp, &rp.Steps[i]
		}
	}
	return p, s
}

// undoRun reports whether s is the undo of a step of migration plan p
// (undoStepOf: kshift rollback, or a cancel of an undo), rather than one of
// its own steps.
func undoRun(p *plans.Plan, s *plans.Step) bool {
	return s.Undoes > 0 && p.Kind == plans.KindMigration
}
