package zkops

import (
	"context"
	"fmt"
	"io"

	"github.com/kshift/kshift/plans"
)

// State is where a zk step stands on the live ensemble.
type State string

const (
	// StateDone: the ensemble shows what the step sets.
	StateDone State = "done"
	// StatePending: the ensemble shows what the step expects to find.
	StatePending State = "pending"
	// StatePartial: some of the step's changes are applied (an interrupted
	// apply); applying again finishes it, undoing restores the start.
	StatePartial State = "partial"
	// StateDrifted: the ensemble is in neither state; someone else changed it.
	StateDrifted State = "drifted"
)

// AllStates lists every State.
var AllStates = []State{StateDone, StatePending, StatePartial, StateDrifted}

func checkStep(step *plans.Step) error {
	if step == nil || !step.Phase.IsZooKeeper() || step.ZooKeeper == nil {
		return fmt.Errorf("%w: not a zk step with a zookeeper section", plans.ErrBadInput)
	}
	return nil
}

// ApplyStep applies a zk-* step on the ensemble conn reaches (dial
// step.ZooKeeper.Connect): zk-join adds its servers as observers (and, in a
// rollback plan, removes the ids it retires); zk-handover promotes and
// retires; zk-fork verifies the fork a person made by the runbook
// (ErrManualStep with the runbook until then); zk-prune deletes the other
// chroots. Applying a done step again changes nothing. Progress lines go to out.
func ApplyStep(ctx context.Context, conn ZKConn, step *plans.Step, out io.Writer) error {
	if err := checkStep(step); err != nil {
		return err
	}
	ch, opts := step.ZooKeeper, Options{Out: out}
	switch step.Phase {
	case plans.PhaseZKJoin:
		if err := Join(ctx, conn, ch.Join, opts); err != nil {
			return err
		}
		return Handover(ctx, conn, nil, ch.Retire, opts)
	case plans.PhaseZKHandover:
		if err := checkPromotable(ctx, conn, ch); err != nil {
			return err
		}
		return Handover(ctx, conn, ch.Promote, ch.Retire, opts)
	case plans.PhaseZKFork:
		if err := VerifyFork(ctx, conn, ch); err != nil {
			return err
		}
		opts.logf("the ensemble at %s is forked: no source server, serves %s", ch.Connect, ch.Chroot)
		return nil
	case plans.PhaseZKPrune:
		_, err := Prune(ctx, conn, ch, false, opts)
		return err
	}
	return fmt.Errorf("%w: phase %s is not a zk phase", plans.ErrBadInput, step.Phase)
}

// checkPromotable refuses a handover whose promoted servers are not
// members: a rollback plan's handover undo lists servers that were removed,
// whose addresses only the forward step records.
func checkPromotable(ctx context.Context, conn ZKConn, ch *plans.ZooKeeperChange) error {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return err
	}
	for _, id := range ch.Promote {
		if cfg.Member(id) == nil {
			return refusef("server %d is not a member, so it cannot be promoted: to undo a zk-handover, undo the forward step (zkops.UndoStep restores its recorded membership)", id)
		}
	}
	return nil
}

// UndoStep restores the membership a zk-join or zk-handover step found
// (step.ZooKeeper.Before), one guarded reconfig at a time. zk-fork and
// zk-prune cannot be undone.
func UndoStep(ctx context.Context, conn ZKConn, step *plans.Step, out io.Writer) error {
	if err := checkStep(step); err != nil {
		return err
	}
	switch step.Phase {
	case plans.PhaseZKJoin, plans.PhaseZKHandover:
		if len(step.ZooKeeper.Before) == 0 {
			return fmt.Errorf("%w: step %d records no membership before it (zookeeper.before), so there is nothing to restore", plans.ErrBadInput, step.Number)
		}
		return Restore(ctx, conn, step.ZooKeeper.Before, Options{Out: out})
	}
	return refusef("a %s step cannot be undone: it changes which ensemble the cluster uses or deletes data", step.Phase)
}

// StepStatus says whether a zk step is done, pending, partially applied or
// drifted, read from the live ensemble (the source of truth), with a
// one-line explanation.
func StepStatus(ctx context.Context, conn ZKConn, step *plans.Step) (State, string, error) {
	if err := checkStep(step); err != nil {
		return "", "", err
	}
	ch := step.ZooKeeper
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return "", "", err
	}
	switch step.Phase {
	case plans.PhaseZKJoin, plans.PhaseZKHandover:
		done, total := 0, 0
		count := func(ok bool) {
			total++
			if ok {
				done++
			}
		}
		for _, s := range ch.Join {
			count(cfg.Member(s.ID) != nil)
		}
		for _, id := range ch.Promote {
			m := cfg.Member(id)
			count(m != nil && m.Role == plans.RoleParticipant)
		}
		for _, id := range ch.Retire {
			count(cfg.Member(id) == nil)
		}
		switch {
		case done == total:
			return StateDone, fmt.Sprintf("membership: %s", render(cfg.Members)), nil
		case len(ch.Before) > 0 && sameMembership(cfg.Members, ch.Before):
			return StatePending, fmt.Sprintf("membership as before the step: %s", render(cfg.Members)), nil
		case done > 0:
			return StatePartial, fmt.Sprintf("%d of %d changes applied; membership: %s", done, total, render(cfg.Members)), nil
		case len(ch.Before) == 0:
			return StatePending, fmt.Sprintf("none of the changes applied; membership: %s", render(cfg.Members)), nil
		}
		return StateDrifted, fmt.Sprintf("membership %s is neither the step's start (%s) nor its end", render(cfg.Members), render(ch.Before)), nil
	case plans.PhaseZKFork:
		for _, id := range ch.Sources {
			if cfg.Member(id) != nil {
				return StatePending, fmt.Sprintf("source server %d is still a member at %s", id, ch.Connect), nil
			}
		}
		return StateDone, fmt.Sprintf("forked: membership %s", render(cfg.Members)), nil
	case plans.PhaseZKPrune:
		left := 0
		for _, p := range ch.Prune {
			ok, err := call(ctx, func() (bool, error) {
				ok, _, err := conn.Exists(p)
				return ok, err
			})
			if err != nil {
				return "", "", fmt.Errorf("checking %s: %w", p, err)
			}
			if ok {
				left++
			}
		}
		switch left {
		case 0:
			return StateDone, "every chroot to prune is gone", nil
		case len(ch.Prune):
			return StatePending, fmt.Sprintf("%d chroots to prune", left), nil
		}
		return StatePartial, fmt.Sprintf("%d of %d chroots still to prune", left, len(ch.Prune)), nil
	}
	return "", "", fmt.Errorf("%w: phase %s is not a zk phase", plans.ErrBadInput, step.Phase)
}

func render(ms []plans.ZKServer) string {
	out := ""
	for _, m := range sortedServers(ms) {
		if out != "" {
			out += " "
		}
		out += fmt.Sprintf("%d:%s", m.ID, m.Role)
	}
	return out
}
