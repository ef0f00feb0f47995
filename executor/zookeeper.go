package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kshift/kshift/plans"
)

// applyZooKeeper runs a zk-* step through ZooKeeperSteps with the same
// cluster, order and lock rules as a reassignment step. With undo, s is the
// forward step and its undo is run.
func (e *Executor) applyZooKeeper(ctx context.Context, s *plans.Step, res *StepResult, prevDone func(context.Context) error, undo bool) (err error) {
	if e.opts.ZooKeeperSteps == nil {
		return refusal("%s is a %s step: give --zookeeper so kshift can reach the ensemble", s.Label(), s.Phase)
	}
	v, err := e.readView(ctx, nil)
	if err != nil {
		return err
	}
	if v.ClusterID != e.plan.ClusterID {
		return refusal("the plan is for cluster %q but the cluster reached is %q", e.plan.ClusterID, v.ClusterID)
	}
	state, detail, err := e.zooKeeperStepState(ctx, s)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Label(), err)
	}
	finished := StepDone
	if undo {
		finished = StepPending
	}
	if state == finished {
		res.AlreadyDone = true
		return nil
	}
	switch {
	case state == StepDrifted && e.dryRunChangedEnsemble():
		fmt.Fprintf(e.opts.DryRunOut, "dry run: %s (%s): the live ensemble (%s) does not show the ZooKeeper steps dry-run before it, so its start is not checked\n", s.Label(), s.Phase, detail)
	case state == StepDrifted:
		return refusal("%s (%s): the ensemble is at neither end of the step: %s", s.Label(), s.Phase, detail)
	}
	if !e.opts.ForceOrder && prevDone != nil {
		if err := prevDone(ctx); err != nil {
			return err
		}
	}
	lock, err := e.AcquireLock(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if lerr := lock.Release(); lerr != nil {
			err = errors.Join(err, lerr)
		}
	}()
	call := "zookeeper " + string(s.Phase)
	if undo {
		call = "zookeeper undo " + string(s.Phase)
	}
	if e.dryRun(call, s.ZooKeeper) {
		e.dryRunDone(s, v)
		return nil
	}
	if undo {
		err = e.opts.ZooKeeperSteps.Undo(ctx, s)
	} else {
		err = e.opts.ZooKeeperSteps.Apply(ctx, s)
	}
	e.auditCall(call, s.ZooKeeper, err)
	return err
}

// zooKeeperStepState reads where ZooKeeper step s stands: as this dry run
// left it when it dry-ran s, else on the live ensemble.
func (e *Executor) zooKeeperStepState(ctx context.Context, s *plans.Step) (StepState, string, error) {
	if state, ok := e.dryRunLeft(s.Number); ok {
		return state, "as the steps dry-run so far would leave it; the live ensemble is unchanged", nil
	}
	return e.opts.ZooKeeperSteps.State(ctx, s)
}

// dryRunChangedEnsemble reports whether this dry run has dry-run a
// ZooKeeper step: the live ensemble then is not where the next one starts.
func (e *Executor) dryRunChangedEnsemble() bool {
	return e.opts.DryRun && slices.ContainsFunc(e.dry.steps, func(s *plans.Step) bool { return s.Phase.IsZooKeeper() })
}
