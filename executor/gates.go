package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kshift/kshift/internal/kafkaapi"
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

// errUnsettled marks a refusal that one read of Metadata can cause without
// anything being wrong: a broker that has not caught up with its
// controller shows a partition at its old replicas for a moment
// (docs/kafka-behaviour.md 24), which reads as drift, as an undo in flight
// or as the previous step not done.
var errUnsettled = errors.New("not settled")

// unsettledError is a refusal that gatedView reads again before it stands.
type unsettledError struct{ refusal error }

func (u *unsettledError) Error() string   { return u.refusal.Error() }
func (u *unsettledError) Unwrap() []error { return []error{u.refusal, errUnsettled} }

func unsettledRefusal(format string, args ...any) error {
	return &unsettledError{refusal(format, args...)}
}

// gatedView reads the step's partitions and runs the gates on them. A
// refusal that a trailing read can cause is read again every settlePause
// for SettleTimeout before it stands.
func (r *stepRun) gatedView(ctx context.Context) (v *view, st []PartitionStatus, err error) {
	var gateErr error
	err = poll.Until(ctx, poll.Options{Timeout: r.e.opts.SettleTimeout, Interval: settlePause}, func(ctx context.Context) (bool, error) {
		var rerr error
		if v, rerr = r.e.readFreshView(ctx, stepTopics(r.step.Partitions)); rerr != nil {
			return false, rerr
		}
		st, gateErr = r.gateStep(ctx, v)
		if gateErr != nil && !errors.Is(gateErr, errUnsettled) {
			return false, gateErr
		}
		return gateErr == nil, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		err = gateErr
	}
	return v, st, err
}

// gateStep runs the safety gates for step s (docs/design.md "Safety invariants")
// against v and returns each partition's state. prevDone checks the
// previous step unless the options force the order.
func (r *stepRun) gateStep(ctx context.Context, v *view) ([]PartitionStatus, error) {
	e, s, p := r.e, r.step, r.ref.Plan
	// 1. The plan's cluster.
	if v.ClusterID != p.ClusterID {
		return nil, refusal("the plan is for cluster %q but the cluster reached is %q: a plan applies only to the cluster it was made for", p.ClusterID, v.ClusterID)
	}
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
	// 2. Every partition at from, at to, or in flight towards to.
	var drifted []string
	ours := map[tp]bool{}
	allDone := true
	for _, p := range st {
		switch p.State {
		case StateDrifted:
			drifted = append(drifted, p.Name()+": "+p.Detail)
		case StateInFlight:
			ours[tp{Topic: p.Topic, Partition: p.Partition}] = true
		}
		if p.State != StateDone {
			allDone = false
		}
	}
	if len(drifted) > 0 {
		return st, unsettledRefusal("%s: %d partition(s) are neither at the step's from nor at its to (drift; re-plan from a fresh snapshot or fix them by hand): %s", s.Label(), len(drifted), nameList(drifted))
	}
	// 3. No reassignment the step did not start.
	var foreign []string
	for key, lp := range v.InFlight {
		if !ours[key] {
			foreign = append(foreign, fmt.Sprintf("%s: replicas %v adding %v removing %v", key, lp.Replicas, lp.Adding, lp.Removing))
		}
	}
	sort.Strings(foreign)
	if len(foreign) > 0 {
		return st, refusal("%d reassignment(s) not started by step %d are in flight; wait for them or cancel them first: %s", len(foreign), s.Number, nameList(foreign))
	}
	if allDone {
		return st, nil
	}
	// 4. Previous step done.
	if !e.opts.ForceOrder && r.prevDone != nil {
		if err := r.prevDone(ctx); err != nil {
			return st, err
		}
	}
	// 5. Replication factor at least min.insync.replicas.
	minISR, err := e.minInsync(ctx, stepTopics(s.Partitions))
	if err != nil {
		return st, err
	}
	var low []string
	for _, m := range s.Partitions {
		if n := minISR[m.Topic]; len(m.To) < n {
			low = append(low, fmt.Sprintf("%s: to %v has %d replicas, min.insync.replicas is %d", m.Name(), m.To, len(m.To), n))
		}
	}
	if len(low) > 0 {
		return st, refusal("%s would leave partitions with fewer replicas than min.insync.replicas (producers with acks=all would fail): %s", s.Label(), nameList(low))
	}
	// 6. Target brokers alive; partitions fully in sync (polled: the ISR in
	// Metadata trails the truth, docs/kafka-behaviour.md 21).
	var dead []string
	for _, m := range s.Partitions {
		for _, b := range m.To {
			if !v.Brokers[b] {
				dead = append(dead, fmt.Sprintf("%s: broker %d", m.Name(), b))
			}
		}
	}
	if len(dead) > 0 {
		return st, refusal("%s needs brokers that are not alive and registered: %s", s.Label(), nameList(dead))
	}
	if err := e.waitInSync(ctx, s, st); err != nil {
		return st, err
	}
	// 7. The `kshift check` health gates for what the step touches.
	if e.opts.Gates != nil {
		gp, gs := p, s
		if undo {
			// The gates read a step by its number in its plan: give them
			// the derived rollback plan, where the undo is listed.
			gp = plans.Rollback(p)
			for i := range gp.Steps {
				if gp.Steps[i].Undoes == s.Undoes {
					gs = &gp.Steps[i]
				}
			}
		}
		if err := e.opts.Gates(ctx, gp, gs); err != nil {
			return st, fmt.Errorf("%w: %w", ErrRefused, err)
		}
	}
	return st, nil
}

// undoRun reports whether s is the undo of a step of migration plan p
// (undoStepOf: kshift rollback, or a cancel of an undo), rather than one of
// its own steps.
func undoRun(p *plans.Plan, s *plans.Step) bool {
	return s.Undoes > 0 && p.Kind == plans.KindMigration
}

// waitInSync polls until every pending partition of the step has its full
// replica set in the ISR, or refuses naming those that do not.
func (e *Executor) waitInSync(ctx context.Context, s *plans.Step, st []PartitionStatus) error {
	pending := map[tp]bool{}
	for _, p := range st {
		if p.State == StatePending {
			pending[tp{Topic: p.Topic, Partition: p.Partition}] = true
		}
	}
	var out []string
	err := poll.Until(ctx, poll.Options{Timeout: e.opts.SettleTimeout, First: settlePause, Interval: e.opts.PollInterval}, func(ctx context.Context) (bool, error) {
		v, err := e.readView(ctx, stepTopics(s.Partitions))
		if err != nil {
			return false, err
		}
		out = nil
		for _, m := range s.Partitions {
			key := tp{Topic: m.Topic, Partition: m.Partition}
			if !pending[key] {
				continue
			}
			lp := v.Partitions[key]
			if lp == nil || !sameSet(lp.ISR, lp.Replicas) {
				isr := []int32(nil)
				if lp != nil {
					isr = lp.ISR
				}
				out = append(out, fmt.Sprintf("%s: replicas %v, isr %v", key, m.From, isr))
			}
		}
		return len(out) == 0, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return refusal("%s: %d partition(s) are under-replicated (a replica is out of the ISR); wait until they catch up: %s", s.Label(), len(out), nameList(out))
	}
	return err
}

// minInsync reads min.insync.replicas of topics (the value in effect,
// topic or broker default).
func (e *Executor) minInsync(ctx context.Context, topics []string) (map[string]int, error) {
	res := make([]kafkaapi.ConfigResource, len(topics))
	for i, t := range topics {
		res[i] = kafkaapi.TopicResource(t)
	}
	cfg, err := e.kafka.DescribeConfigs(ctx, res, []string{plans.MinInsyncReplicasKey})
	if err != nil {
		return nil, fmt.Errorf("reading min.insync.replicas: %w", err)
	}
	out := map[string]int{}
	for _, t := range topics {
		out[t] = 1
		if c, ok := cfg[kafkaapi.TopicResource(t)][plans.MinInsyncReplicasKey]; ok && c.Value != nil {
			if n, err := strconv.Atoi(*c.Value); err == nil {
				out[t] = n
			}
		}
	}
	return out, nil
}
