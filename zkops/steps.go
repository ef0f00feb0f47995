package zkops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
// StepConnect(step)): zk-join adds its servers as observers (and, in a
// rollback plan, removes the ids it retires); zk-handover promotes and
// retires; zk-fork checks each stage of the fork a person does by the
// runbook (ErrManualStep with the runbook until it is whole) and then
// removes the targets from the source ensemble; zk-prune deletes the other
// chroots. Each step first checks that conn reached the ensemble it acts
// on, and that every server it needs answers, before it changes anything.
// Applying a done step again changes nothing. Progress lines go to opts.Out.
func ApplyStep(ctx context.Context, conn ZKConn, step *plans.Step, opts Options) error {
	if err := checkStep(step); err != nil {
		return err
	}
	ch := step.ZooKeeper
	switch step.Phase {
	case plans.PhaseZKJoin:
		cfg, err := ReadConfig(ctx, conn)
		if err != nil {
			return err
		}
		if err := checkSourceEnsemble(step, cfg, StepConnect(step)); err != nil {
			return err
		}
		if err := precheckAdd(ctx, cfg, ch.Join, "adding"); err != nil {
			return err
		}
		return tracked(ctx, conn, step, cfg, false, func() error {
			if err := Join(ctx, conn, ch.Join, opts); err != nil {
				return err
			}
			return Handover(ctx, conn, nil, ch.Retire, opts)
		})
	case plans.PhaseZKHandover:
		cfg, err := ReadConfig(ctx, conn)
		if err != nil {
			return err
		}
		if err := checkSourceEnsemble(step, cfg, StepConnect(step)); err != nil {
			return err
		}
		if err := checkPromotable(ctx, cfg, ch); err != nil {
			return err
		}
		return tracked(ctx, conn, step, cfg, false, func() error { return Handover(ctx, conn, ch.Promote, ch.Retire, opts) })
	case plans.PhaseZKFork:
		if err := VerifyFork(ctx, conn, ch, opts); err != nil {
			return err
		}
		opts.logf("the ensemble at %s is forked: exactly the targets, serves %s with every write of the source ensemble's copy", ch.Connect, ch.Chroot)
		return nil
	case plans.PhaseZKPrune:
		_, err := Prune(ctx, conn, ch, false, opts)
		return err
	}
	return fmt.Errorf("%w: phase %s is not a zk phase", plans.ErrBadInput, step.Phase)
}

// precheckAdd refuses, before anything changes, when a server the step
// would add (one not yet a member) does not answer or serves another
// ensemble.
func precheckAdd(ctx context.Context, cfg *Config, servers []plans.ZKServer, what string) error {
	for _, s := range servers {
		if m := cfg.Member(s.ID); m != nil && sameServer(*m, s) {
			continue
		}
		if err := Answers(ctx, ClientAddr(s)); err != nil {
			return refusef("%s server %d: it does not answer at %s (%v): start it first with the config `kshift zk config --mapping MAPPING --zookeeper SOURCE --kind observer` prints for it (its zoo.cfg, zoo.cfg.dynamic and myid), then apply again; nothing was changed", what, s.ID, ClientAddr(s), err)
		}
		if err := checkServerHome(ctx, cfg, s, what); err != nil {
			return err
		}
	}
	return nil
}

// checkPromotable refuses a handover, before anything changes, whose
// promoted servers are not members or do not answer as observers: a
// rollback plan's handover undo lists servers that were removed, whose
// addresses only the forward step records, and a paused target would stop
// the step half way.
func checkPromotable(ctx context.Context, cfg *Config, ch *plans.ZooKeeperChange) error {
	for _, id := range ch.Promote {
		m := cfg.Member(id)
		if m == nil {
			return refusef("server %d is not a member, so it cannot be promoted: to undo a zk-handover, undo the forward step (kshift rollback PLAN --step N restores its recorded membership)", id)
		}
		if m.Role == plans.RoleParticipant {
			continue
		}
		info, err := Srvr(ctx, ClientAddr(*m))
		if err != nil {
			return refusef("server %d, to be promoted, does not answer (%v): bring it back (a stopped or paused server) before the hand-over; nothing was changed", id, err)
		}
		if info.Mode != "observer" {
			return refusef("server %d, to be promoted, answers in mode %s, not observer; nothing was changed", id, info.Mode)
		}
	}
	return nil
}

// UndoStep restores the membership a zk-join or zk-handover step found
// (step.ZooKeeper.Before), one guarded reconfig at a time, after checking
// that conn reached the step's ensemble and that every server to add back
// runs and belongs to it. zk-fork and zk-prune cannot be undone.
func UndoStep(ctx context.Context, conn ZKConn, step *plans.Step, opts Options) error {
	if err := checkStep(step); err != nil {
		return err
	}
	switch step.Phase {
	case plans.PhaseZKJoin, plans.PhaseZKHandover:
		before := step.ZooKeeper.Before
		if len(before) == 0 {
			return fmt.Errorf("%w: step %d records no membership before it (zookeeper.before), so there is nothing to restore", plans.ErrBadInput, step.Number)
		}
		cfg, err := ReadConfig(ctx, conn)
		if err != nil {
			return err
		}
		if err := checkSourceEnsemble(step, cfg, StepConnect(step)); err != nil {
			return err
		}
		if err := precheckRestore(ctx, cfg, before); err != nil {
			return err
		}
		// A join's servers that serve another ensemble (forked) are
		// refused too: removing them is the fork runbook's business.
		for _, s := range step.ZooKeeper.Join {
			if Answers(ctx, ClientAddr(s)) == nil {
				if err := checkServerHome(ctx, cfg, s, "undoing the join of"); err != nil {
					return err
				}
			}
		}
		return tracked(ctx, conn, step, cfg, true, func() error { return Restore(ctx, conn, before, opts) })
	}
	return refusef("a %s step cannot be undone: it changes which ensemble the cluster uses or deletes data", step.Phase)
}

// precheckRestore refuses an undo, before anything changes, when a server
// it must add back does not run (a retired server that was stopped) or
// serves another ensemble. For a stopped server it says how to start it
// again: its dynamic config was rewritten without it when it was removed,
// so it cannot start with it ("My id N not in the peer list").
func precheckRestore(ctx context.Context, cfg *Config, before []plans.ZKServer) error {
	var down []string
	for _, s := range before {
		m := cfg.Member(s.ID)
		if m != nil && (m.Role == s.Role || s.Role == plans.RoleObserver) {
			continue
		}
		if err := Answers(ctx, ClientAddr(s)); err != nil {
			obs := s
			obs.Role = plans.RoleObserver
			down = append(down, fmt.Sprintf("server %d at %s (%v): write its zoo.cfg.dynamic as\n%s%s\n   (no version line), keep its data directory and myid, and start it", s.ID, ClientAddr(s), err, indent(cfg.DynamicConfig()), "   "+ServerSpec(obs)))
			continue
		}
		if err := checkServerHome(ctx, cfg, s, "adding back"); err != nil {
			return err
		}
	}
	if len(down) > 0 {
		return refusef("the undo adds back servers that do not run; nothing was changed. Start each again as a non-member of the current ensemble, then apply the undo again:\n - %s\nOr restore by hand: in zkCli.sh on a member, \"addauth digest super:PASSWORD\", then \"reconfig -add SERVER-LINE\" for each server of zookeeper.before, one at a time", strings.Join(down, "\n - "))
	}
	return nil
}

func indent(lines string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(lines, "\n"), "\n") {
		b.WriteString("   " + l + "\n")
	}
	return b.String()
}

// tracked runs fn, a step's (or its undo's) reconfigs. When fn fails after
// changing the membership, the error says which servers changed and how
// to finish or undo.
func tracked(ctx context.Context, conn ZKConn, step *plans.Step, start *Config, undo bool, fn func() error) error {
	err := fn()
	if err == nil {
		return nil
	}
	now, rerr := ReadConfig(ctx, conn)
	if rerr != nil {
		return fmt.Errorf("%w (the membership could not be read afterwards: %v; check `kshift zk status` to see which servers changed)", err, rerr)
	}
	changed := changedServers(start.Members, now.Members)
	if len(changed) == 0 {
		return err
	}
	how := fmt.Sprintf("to finish it, apply the step again (kshift apply PLAN --step %d); to go back, kshift rollback PLAN --step %d", step.Number, step.Number)
	if undo {
		how = fmt.Sprintf("to finish the undo, run kshift rollback PLAN --step %d again; to go forward, kshift apply PLAN --step %d", step.Number, step.Number)
	}
	return fmt.Errorf("%w; the step stopped half way: servers %s changed (membership was %s, is now %s); %s",
		err, strings.Join(changed, ", "), render(start.Members), render(now.Members), how)
}

func changedServers(a, b []plans.ZKServer) []string {
	ca, cb := &Config{Members: a}, &Config{Members: b}
	var out []string
	seen := map[int]bool{}
	for _, m := range append(slices.Clone(a), b...) {
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		x, y := ca.Member(m.ID), cb.Member(m.ID)
		switch {
		case x == nil:
			out = append(out, fmt.Sprintf("%d (added as %s)", m.ID, y.Role))
		case y == nil:
			out = append(out, fmt.Sprintf("%d (removed, was %s)", m.ID, x.Role))
		case x.Role != y.Role:
			out = append(out, fmt.Sprintf("%d (%s, was %s)", m.ID, y.Role, x.Role))
		}
	}
	return out
}

// StepStatus says whether a zk step is done, pending, partially applied or
// drifted, read from the live ensemble (the source of truth), with a
// one-line explanation.
func StepStatus(ctx context.Context, conn ZKConn, step *plans.Step, opts Options) (State, string, error) {
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
		if err := checkSourceEnsemble(step, cfg, StepConnect(step)); err != nil {
			return StateDrifted, err.Error(), nil
		}
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
				return StatePending, fmt.Sprintf("source server %d is still a member at %s: the targets are not forked", id, ch.Connect), nil
			}
		}
		return forkStatus(ctx, conn, ch, opts)
	case plans.PhaseZKPrune:
		if err := checkForkedEnsemble(ctx, conn, cfg, ch); err != nil {
			return StateDrifted, err.Error(), nil
		}
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

// forkStatus reads a fork whose ensemble has no source server: done when
// verified and the targets are no longer listed by the source ensemble.
func forkStatus(ctx context.Context, conn ZKConn, ch *plans.ZooKeeperChange, opts Options) (State, string, error) {
	st, err := readStatus(ctx, conn)
	if err != nil {
		return "", "", err
	}
	if err := forkTargetsMatch(ch, st.config); err != nil {
		return StateDrifted, fmt.Sprintf("the ensemble at %s is not the plan's forked ensemble (%s): %v", ch.Connect, describe(st.config), err), nil
	}
	if err := checkMajority(st, st.config.Voters(), 0, "the forked ensemble"); err != nil {
		return StatePartial, err.Error(), nil
	}
	if _, err := verifyForkedData(ctx, conn, st.config, ch, opts); errors.Is(err, ErrManualStep) || errors.Is(err, ErrRefused) {
		return StatePartial, err.Error(), nil
	} else if err != nil {
		return "", "", err
	}
	src, closeSrc, err := opts.Dial(ctx, ch.SourceConnect)
	if err != nil {
		return "", "", fmt.Errorf("reaching the source ensemble at %s: %w", ch.SourceConnect, err)
	}
	defer closeSrc()
	srcCfg, err := ReadConfig(ctx, src)
	if err != nil {
		return "", "", err
	}
	if left := forkTargetServers(ch, srcCfg); len(left) > 0 {
		return StatePartial, fmt.Sprintf("forked and verified; the source ensemble still lists the targets %s: applying the step removes them", render(left)), nil
	}
	return StateDone, fmt.Sprintf("forked and verified: %s", describe(st.config)), nil
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
