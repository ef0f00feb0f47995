package executor

import (
	"context"
	"fmt"

	"github.com/kshift/kshift/plans"
)

// applyZooKeeper runs a zk-* step through ZooKeeperSteps with the same
// cluster, order and lock rules as a reassignment step. With undoZK, the
// step is the forward one and its undo is run.
func (r *stepRun) applyZooKeeper(ctx context.Context) error {
	e, s := r.e, r.step
	if e.opts.ZooKeeperSteps == nil {
		return refusal("%s is a %s step: give --zookeeper so kshift can reach the ensemble", s.Label(), s.Phase)
	}
	if err := r.registryGates(ctx, true); err != nil {
		return err
	}
	state, detail, err := e.zooKeeperStepState(ctx, s)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Label(), err)
	}
	finished := StepDone
	if r.undoZK {
		finished = StepPending
	}
	if state == finished {
		r.res.AlreadyDone = true
		return nil
	}
	switch {
	case state == StepDrifted && e.opts.DryRun && e.dryRunChangedEnsemble():
		fmt.Fprintf(e.opts.DryRunOut, "dry run: %s (%s): the live ensemble (%s) does not show the ZooKeeper steps dry-run before it, so its start is not checked\n", s.Label(), s.Phase, detail)
	case state == StepDrifted:
		return refusal("%s (%s): the ensemble is at neither end of the step: %s", s.Label(), s.Phase, detail)
	}
	if !e.opts.ForceOrder && r.prevDone != nil {
		if err := r.prevDone(ctx); err != nil {
			return err
		}
	}
	if err := r.lock(ctx); err != nil {
		return err
	}
	call := "zookeeper " + string(s.Phase)
	if r.undoZK {
		call = "zookeeper undo " + string(s.Phase)
	}
	if e.opts.DryRun {
		fmt.Fprintf(e.opts.DryRunOut, "would call %s: %s\n", call, s.ZooKeeper)
		return nil
	}
	// The ensemble change is not a Kafka call: fence it here.
	if err := r.lease.Check(ctx); err != nil {
		return err
	}
	e.doing("%s", call)
	if r.undoZK {
		err = e.opts.ZooKeeperSteps.Undo(ctx, s)
	} else {
		err = e.opts.ZooKeeperSteps.Apply(ctx, s)
	}
	r.audit.call(call, s.ZooKeeper, err)
	return err
}

// zooKeeperStepState reads where ZooKeeper step s stands: as this dry run
// left it when it dry-ran s, else on the live ensemble.
func (e *Executor) zooKeeperStepState(ctx context.Context, s *plans.Step) (StepState, string, error) {
	if state, ok := e.zkLeft[s.Number]; ok {
		return state, "as the steps dry-run so far would leave it; the live ensemble is unchanged", nil
	}
	return e.opts.ZooKeeperSteps.State(ctx, s)
}

// dryRunChangedEnsemble reports whether this dry run has dry-run a
// ZooKeeper step: the live ensemble then is not where the next one starts.
func (e *Executor) dryRunChangedEnsemble() bool {
	return len(e.zkLeft) > 0
}
