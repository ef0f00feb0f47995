package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// StepState is where a whole step stands.
type StepState string

const (
	// StepDone: every partition is at the step's to (ZooKeeper steps: the change is in place).
	StepDone StepState = "done"
	// StepPending: every partition is at the step's from.
	StepPending StepState = "pending"
	// StepInFlight: some partitions are moving (or await their election).
	StepInFlight StepState = "in-flight"
	// StepPartial: some partitions are done, the others pending (an
	// interrupted or failed run); apply resumes it.
	StepPartial StepState = "partial"
	// StepUndoInFlight: the undo of the step (kshift rollback) is in flight
	// for some partitions: an interrupted rollback, copying back or (a
	// move-leader undo) stopped between its elections; rollback resumes it,
	// cancel reverts it to the step's to, apply refuses the step meanwhile.
	StepUndoInFlight StepState = "undo-in-flight"
	// StepDrifted: some partitions are at neither end of the step.
	StepDrifted StepState = "drifted"
	// StepUnknown: a ZooKeeper step whose state cannot be read without ZooKeeper.
	StepUnknown StepState = "unknown"
)

// AllStepStates lists every step state.
var AllStepStates = []StepState{StepDone, StepPending, StepInFlight, StepPartial, StepUndoInFlight, StepDrifted, StepUnknown, StepWaiting}

// StepStatus is one step of a plan on the live cluster.
type StepStatus struct {
	Number     int         `json:"number" yaml:"number"`
	Phase      plans.Phase `json:"phase" yaml:"phase"`
	State      StepState   `json:"state" yaml:"state"`
	Partitions int         `json:"partitions" yaml:"partitions"`
	Done       int         `json:"done" yaml:"done"`
	InFlight   int         `json:"in_flight" yaml:"in_flight"`
	Pending    int         `json:"pending" yaml:"pending"`
	Drifted    int         `json:"drifted" yaml:"drifted"`
	// UndoInFlight counts the partitions whose undo (rollback) is in flight.
	UndoInFlight int `json:"undo_in_flight,omitempty" yaml:"undo_in_flight,omitempty"`
	// BytesTotal and BytesCopied measure the copy of a step in flight, or
	// of its undo when that is in flight.
	BytesTotal  int64 `json:"bytes_total,omitempty" yaml:"bytes_total,omitempty"`
	BytesCopied int64 `json:"bytes_copied,omitempty" yaml:"bytes_copied,omitempty"`
	// Detail explains the state of a ZooKeeper or retire-sources step; for
	// a reassignment step not done, it names what the step needs that is
	// down (brokers by role, partitions without a leader, the controller).
	Detail string `json:"detail,omitempty" yaml:"detail,omitempty"`
	// Stopped are, for a retire-sources step, the source brokers no longer
	// registered.
	Stopped []int32 `json:"stopped,omitempty" yaml:"stopped,omitempty,flow"`
	// Problems lists the drifted and in-flight partitions.
	Problems []PartitionStatus `json:"problems,omitempty" yaml:"problems,omitempty"`
}

// PlanStatus is a plan on the live cluster.
type PlanStatus struct {
	ClusterID string       `json:"cluster_id" yaml:"cluster_id"`
	Steps     []StepStatus `json:"steps" yaml:"steps"`
	// Lock is the operator lock's holder and lease, when held.
	Lock *state.LockInfo `json:"lock,omitempty" yaml:"lock,omitempty"`
	// Throttles are the throttle records kshift has open: what it set and
	// has not yet restored, with the step each belongs to.
	Throttles []*state.ThrottleRecord `json:"throttles,omitempty" yaml:"throttles,omitempty"`
	// RateOverride is the rate an operator set with kshift throttle set,
	// which stands until the step it was set in ends.
	RateOverride *state.RateOverride `json:"rate_override,omitempty" yaml:"rate_override,omitempty"`
	// Coverage compares every partition of the cluster with the plan's
	// (inspect.Coverage); nil for a rollback plan.
	Coverage *inspect.Coverage `json:"coverage,omitempty" yaml:"coverage,omitempty"`
	// Finished says the migration is over: every step done and no partition
	// left with a replica on a source broker.
	Finished bool `json:"finished" yaml:"finished"`
	// StateUnknown says why the lock and throttles could not be read (no
	// --zookeeper), empty when they were.
	StateUnknown string `json:"state_unknown,omitempty" yaml:"state_unknown,omitempty"`
}

type chainLink struct {
	step int
	move *plans.Move
}

// chain is one partition of a plan with its moves in step order, and where
// the live partition stands on them (place).
type chain struct {
	key   tp
	links []chainLink
	// lp is the live partition place read; at, state and detail are
	// placeOnChain's answer for it.
	lp     *livePartition
	at     int
	state  PartitionState
	detail string
}

// moveRef is a move of a plan's step: the chain of its partition and the
// move's index in it.
type moveRef struct {
	c *chain
	k int
}

// planChains is every partition of a plan with its moves in step order,
// and each step's moves by chain (steps[i][j]: move j of p.Steps[i]).
type planChains struct {
	all   []*chain
	steps [][]moveRef
	// byTopic finds a chain by topic and partition id: a 200,000-partition
	// plan's 600,000 moves name their topics in runs, so one map lookup per
	// run of a topic, not one hash of a topic name per move.
	byTopic map[string]*topicChains
}

// topicChains are the chains of one topic by partition id (ids beyond
// maxIndexedPartition in odd).
type topicChains struct {
	byID []*chain
	odd  map[int32]*chain
}

const maxIndexedPartition = 1 << 16

func (t *topicChains) get(id int32) *chain {
	if id >= 0 && id < maxIndexedPartition {
		if int(id) < len(t.byID) {
			return t.byID[id]
		}
		return nil
	}
	return t.odd[id]
}

func (t *topicChains) set(id int32, c *chain) {
	if id < 0 || id >= maxIndexedPartition {
		if t.odd == nil {
			t.odd = map[int32]*chain{}
		}
		t.odd[id] = c
		return
	}
	for int(id) >= len(t.byID) {
		t.byID = append(t.byID, nil)
	}
	t.byID[id] = c
}

// lookup returns the chain of partition key, nil when the plan has none.
func (pc *planChains) lookup(key tp) *chain {
	if t := pc.byTopic[key.Topic]; t != nil {
		return t.get(key.Partition)
	}
	return nil
}

func chainsOf(p *plans.Plan) *planChains {
	pc := &planChains{byTopic: map[string]*topicChains{}, steps: make([][]moveRef, len(p.Steps))}
	var last *topicChains
	lastTopic := ""
	var chainBlock []chain
	var linkBlock []chainLink
	for i := range p.Steps {
		s := &p.Steps[i]
		refs := make([]moveRef, len(s.Partitions))
		for j := range s.Partitions {
			m := &s.Partitions[j]
			if last == nil || m.Topic != lastTopic {
				if last = pc.byTopic[m.Topic]; last == nil {
					last = &topicChains{}
					pc.byTopic[m.Topic] = last
				}
				lastTopic = m.Topic
			}
			c := last.get(m.Partition)
			if c == nil {
				// Chains and their first links come out of blocks: one
				// allocation per 1,024 partitions, not three per partition.
				if len(chainBlock) == 0 {
					chainBlock, linkBlock = make([]chain, 1024), make([]chainLink, 4*1024)
				}
				c, chainBlock = &chainBlock[0], chainBlock[1:]
				c.key = tp{Topic: m.Topic, Partition: m.Partition}
				c.links, linkBlock = linkBlock[:0:4], linkBlock[4:]
				last.set(m.Partition, c)
				pc.all = append(pc.all, c)
			}
			refs[j] = moveRef{c, len(c.links)}
			c.links = append(c.links, chainLink{s.Number, m})
		}
		pc.steps[i] = refs
	}
	return pc
}

// place places every chain's partition as v shows it (placeOnChain).
func (pc *planChains) place(p *plans.Plan, v *view) {
	for _, c := range pc.all {
		c.placeOn(p, v)
	}
}

// placeOn places c's partition as v shows it.
func (c *chain) placeOn(p *plans.Plan, v *view) {
	c.lp = v.Partitions[c.key]
	c.at, c.state, c.detail = placeOnChain(p, c.links, c.lp)
}

// stateAt is the state of move k of placed chain c.
func (c *chain) stateAt(k int) PartitionState {
	switch {
	case c.at == -2:
		return StateDrifted
	case k < c.at:
		return StateDone
	case k == c.at:
		return c.state
	}
	return StatePending
}

// statusAt is the status of move k of placed chain c: the chain's
// partition as planStates shows it in move k's step.
func (pc *planChains) statusAt(plan *plans.Plan, c *chain, k int) PartitionStatus {
	ps := PartitionStatus{Topic: c.key.Topic, Partition: c.key.Partition, State: c.stateAt(k), Leader: -1}
	switch {
	case c.at == -2:
		l := c.links[k]
		_, ps.Detail = classify(plan.Steps[l.step-1].Phase, l.move, c.lp)
	case k == c.at:
		ps.Detail = c.detail
	}
	if c.lp != nil {
		ps.Replicas, ps.Leader, ps.ISR = c.lp.Replicas, c.lp.Leader, c.lp.ISR
	}
	return ps
}

// planStates places every partition of the plan on its chain of moves: a
// partition whose live replicas are the `to` of its k-th move has done moves
// 1..k and has the later ones pending. Steps later in a plan start from the
// `to` of earlier ones, so a step's own from/to cannot tell "done and moved
// on" from drift.
func planStates(p *plans.Plan, v *view) map[int]map[tp]PartitionStatus {
	pc := chainsOf(p)
	pc.place(p, v)
	return pc.states(p)
}

// states is planStates of every step of p, the chains placed.
func (pc *planChains) states(p *plans.Plan) map[int]map[tp]PartitionStatus {
	out := make(map[int]map[tp]PartitionStatus, len(p.Steps))
	for i := range p.Steps {
		if len(pc.steps[i]) > 0 {
			out[p.Steps[i].Number] = pc.stepStates(p, i)
		}
	}
	return out
}

// stepStates is planStates of step p.Steps[i], the chains placed.
func (pc *planChains) stepStates(p *plans.Plan, i int) map[tp]PartitionStatus {
	out := make(map[tp]PartitionStatus, len(pc.steps[i]))
	for _, r := range pc.steps[i] {
		out[r.c.key] = pc.statusAt(p, r.c, r.k)
	}
	return out
}

// placeOnChain returns the index in chain of the move whose state the live
// partition lp is in, with that state and its detail: the moves before it
// are done, the ones after pending. -1: before the first move (pending);
// -2: at neither end of any move (drifted in every step of the chain).
func placeOnChain(p *plans.Plan, chain []chainLink, lp *livePartition) (at int, atState PartitionState, atDetail string) {
	phase := func(n int) plans.Phase { return p.Steps[n-1].Phase }
	at = -2
	for i := len(chain) - 1; i >= 0; i-- {
		ph, m := phase(chain[i].step), chain[i].move
		st := classifyState(ph, m, lp)
		if st == StatePending {
			if ok, undoDetail := undoInFlight(ph, m, lp); ok {
				return i, StateUndoInFlight, undoDetail
			}
		}
		if st == StateDone || st == StateInFlight {
			return i, st, stateDetail(st, ph, m, lp)
		}
		if st == StatePending && i == 0 {
			at, atState = -1, StatePending
		}
	}
	// At neither end of any move: an interrupted rollback may have left
	// the undo of one of them in flight (`to` back towards `from`).
	for i := len(chain) - 1; at == -2 && i >= 0; i-- {
		if ok, detail := undoInFlight(phase(chain[i].step), chain[i].move, lp); ok {
			at, atState, atDetail = i, StateUndoInFlight, detail
		}
	}
	return at, atState, atDetail
}

// summarise is summarise of step p.Steps[i], the chains placed, with the
// step's partition states (planStates) when some are in flight, undoing or
// drifted; a step whose partitions are all done or pending, most of a
// long plan, is counted without them.
func (pc *planChains) summarise(p *plans.Plan, i int) (StepStatus, map[tp]PartitionStatus) {
	s := &p.Steps[i]
	done, pending := 0, 0
	for _, r := range pc.steps[i] {
		switch r.c.stateAt(r.k) {
		case StateDone:
			done++
		case StatePending:
			pending++
		default:
			parts := pc.stepStates(p, i)
			return summarise(s, parts), parts
		}
	}
	ss := StepStatus{Number: s.Number, Phase: s.Phase, Partitions: len(s.Partitions), Done: done, Pending: pending}
	switch {
	case done == len(s.Partitions):
		ss.State = StepDone
	case pending == len(s.Partitions):
		ss.State = StepPending
	default:
		ss.State = StepPartial
	}
	return ss, nil
}

// noBrokerFaults reports whether brokerFaults finds nothing for any step
// of p, the chains placed on v: the controller and every broker a move
// names are registered and no partition of the plan is without a leader.
func noBrokerFaults(p *plans.Plan, pc *planChains, v *view) bool {
	if v.Controller < 0 || !v.Brokers[v.Controller] {
		return false
	}
	for _, c := range pc.all {
		if c.lp != nil && !c.lp.Missing && c.lp.Leader < 0 {
			return false
		}
	}
	checked := map[int32]bool{}
	for i := range p.Steps {
		for j := range p.Steps[i].Partitions {
			m := &p.Steps[i].Partitions[j]
			for _, ids := range [][]int32{m.From, m.To} {
				for _, b := range ids {
					if !checked[b] {
						if !v.Brokers[b] {
							return false
						}
						checked[b] = true
					}
				}
			}
		}
	}
	return true
}

// summarise folds partition states into a step status.
func summarise(s *plans.Step, parts map[tp]PartitionStatus) StepStatus {
	ss := StepStatus{Number: s.Number, Phase: s.Phase, Partitions: len(s.Partitions)}
	keys := make([]tp, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Topic != keys[j].Topic {
			return keys[i].Topic < keys[j].Topic
		}
		return keys[i].Partition < keys[j].Partition
	})
	for _, k := range keys {
		p := parts[k]
		switch p.State {
		case StateDone:
			ss.Done++
		case StatePending:
			ss.Pending++
		case StateInFlight:
			ss.InFlight++
			ss.Problems = append(ss.Problems, p)
		case StateUndoInFlight:
			ss.UndoInFlight++
			ss.Problems = append(ss.Problems, p)
		case StateDrifted:
			ss.Drifted++
			ss.Problems = append(ss.Problems, p)
		}
	}
	switch {
	case ss.Drifted > 0:
		ss.State = StepDrifted
	case ss.UndoInFlight > 0:
		ss.State = StepUndoInFlight
	case ss.InFlight > 0:
		ss.State = StepInFlight
	case ss.Done == ss.Partitions:
		ss.State = StepDone
	case ss.Pending == ss.Partitions:
		ss.State = StepPending
	default:
		ss.State = StepPartial
	}
	return ss
}

// Status reads where every step of the plan stands on the live cluster.
func (e *Executor) Status(ctx context.Context, ref PlanRef) (*PlanStatus, error) {
	p := ref.Plan
	// Every topic when the coverage (a migration plan) or a retire-sources
	// step looks at them all: the plan's and theirs in one read.
	topics := kafkaapi.AllTopics
	if p.Kind != plans.KindMigration && !slices.ContainsFunc(p.Steps, func(s plans.Step) bool { return s.Phase == plans.PhaseRetireSources && s.Retire != nil }) {
		// Each topic once, in the order the plan first names it.
		topics = []string{}
		seen := map[string]bool{}
		for i := range p.Steps {
			for _, m := range p.Steps[i].Partitions {
				if !seen[m.Topic] {
					seen[m.Topic] = true
					topics = append(topics, m.Topic)
				}
			}
		}
	}
	v, err := e.readPlanView(ctx, p, topics)
	if err != nil {
		return nil, err
	}
	if v.ClusterID != p.ClusterID {
		return nil, refusal("the plan is for cluster %q but the cluster reached is %q", p.ClusterID, v.ClusterID)
	}
	pc := v.chains // placed on v by readPlanView
	faultFree := noBrokerFaults(p, pc, v.view)
	out := &PlanStatus{ClusterID: v.ClusterID}
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Phase == plans.PhaseRetireSources && s.Retire != nil {
			ss, err := e.retireStepStatus(ctx, s, v.md)
			if err != nil {
				return nil, err
			}
			out.Steps = append(out.Steps, ss)
			continue
		}
		if s.Phase.IsZooKeeper() {
			ss := StepStatus{Number: s.Number, Phase: s.Phase, State: StepUnknown}
			if e.opts.ZooKeeperSteps != nil {
				state, detail, err := e.zooKeeperStepState(ctx, s)
				if err != nil {
					state, detail = StepUnknown, err.Error()
				}
				ss.State, ss.Detail = state, detail
			}
			out.Steps = append(out.Steps, ss)
			continue
		}
		ss, parts := pc.summarise(p, i)
		if ss.State != StepDone && !faultFree {
			// Named at once: a broker the step needs that is down.
			ss.Detail = brokerFaults(s.Partitions, v.view, false)
		}
		switch {
		case ss.UndoInFlight > 0:
			ss.BytesTotal, ss.BytesCopied = e.undoProgress(ctx, p, s, parts, v.view)
		case ss.InFlight > 0:
			var inflight []tp
			pst := map[tp]PartitionState{}
			for k, ps := range parts {
				pst[k] = ps.State
				if ps.State == StateInFlight {
					inflight = append(inflight, k)
				}
			}
			sizes := e.kafka.LogDirSizes(ctx, inflight)
			ss.BytesTotal, ss.BytesCopied = copyProgress(s.Partitions, pst, v.view, sizes)
		}
		out.Steps = append(out.Steps, ss)
	}
	if p.Kind == plans.KindMigration {
		out.Coverage = inspect.MetadataCoverage(p, v.md)
	}
	out.Finished = out.Coverage != nil && out.Coverage.OnSources == 0 && !slices.ContainsFunc(out.Steps, func(s StepStatus) bool { return s.State != StepDone })
	if e.store == nil {
		out.StateUnknown = "kshift's lock and throttle records are kept in the cluster's ZooKeeper: give --zookeeper to see them"
		return out, nil
	}
	if out.Lock, err = e.store.Lock(ctx); err != nil {
		return nil, err
	}
	if out.Throttles, err = e.store.ThrottleRecords(ctx); err != nil {
		return nil, err
	}
	if out.RateOverride, err = e.store.Rate(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// Coverage compares every partition of the cluster with the plan's
// (inspect.ReadCoverage): what a migration plan leaves on its source
// brokers. A rollback plan, which moves data back onto the sources, has none.
func (e *Executor) Coverage(ctx context.Context, ref PlanRef) (*inspect.Coverage, error) {
	if ref.Plan.Kind != plans.KindMigration {
		return nil, nil
	}
	return inspect.ReadCoverage(ctx, e.kafka, ref.Plan)
}

// CoverageSummary is inspect.Coverage.Summary with this run's connection
// flags in the command it prints.
func (e *Executor) CoverageSummary(c *inspect.Coverage, ref PlanRef) string {
	if c == nil {
		return ""
	}
	return c.Summary(ref.Path, e.opts.CommandFlags)
}

// StepDone reports whether step n of ref's plan is done on the live
// cluster, so that applying it would change nothing. It reads once: a step
// just done can read as not done for a moment (docs/kafka-behaviour.md 24),
// which costs a question the apply then answers with "already done".
func (e *Executor) StepDone(ctx context.Context, ref PlanRef, n int) (bool, error) {
	err := e.stepDone(ctx, ref.Plan, n)
	if errors.Is(err, ErrRefused) {
		return false, nil // not done, or not readable: applying it says which
	}
	return err == nil, err
}

// undoStepOf returns the undo of reassignment step s of p (plans.UndoStep),
// numbered and labelled as the undo of s, or nil when s has none.
func undoStepOf(p *plans.Plan, s *plans.Step) *plans.Step {
	if !s.Phase.IsReassignment() {
		return nil
	}
	u, ok := plans.UndoStep(s, p.Throttle)
	if !ok {
		return nil
	}
	u.Number, u.Undoes = s.Number, s.Number
	return &u
}

// undoProgress measures the copy of step s's undo in flight: the undo's
// adding replicas (the ones the forward step removed) against their leaders.
// A partition back at the forward step's from has its undo done.
func (e *Executor) undoProgress(ctx context.Context, p *plans.Plan, s *plans.Step, parts map[tp]PartitionStatus, v *view) (total, copied int64) {
	undo := undoStepOf(p, s)
	if undo == nil {
		return 0, 0
	}
	undoStates := map[tp]PartitionState{}
	var inflight []tp
	for k, ps := range parts {
		switch ps.State {
		case StateUndoInFlight:
			undoStates[k] = StateInFlight
			inflight = append(inflight, k)
		case StatePending:
			undoStates[k] = StateDone
		default:
			undoStates[k] = StatePending
		}
	}
	return copyProgress(undo.Partitions, undoStates, v, e.kafka.LogDirSizes(ctx, inflight))
}

// stepDone reports whether step n of the plan is done on the live cluster,
// as an error saying what is not done.
func (e *Executor) stepDone(ctx context.Context, p *plans.Plan, n int) error {
	s := p.Step(n)
	if s == nil {
		return nil
	}
	if s.Phase == plans.PhaseRetireSources && s.Retire != nil {
		md, err := e.kafka.Metadata(ctx, kafkaapi.AllTopics)
		if err != nil {
			return fmt.Errorf("checking step %d: %w", n, err)
		}
		ss, err := e.retireStepStatus(ctx, s, md)
		if err != nil {
			return fmt.Errorf("checking step %d: %w", n, err)
		}
		if ss.State != StepDone {
			return refusal("step %d (%s) is %s (%s): finish it first (or --force-order)", n, s.Phase, ss.State, ss.Detail)
		}
		return nil
	}
	if s.Phase.IsZooKeeper() {
		if e.opts.ZooKeeperSteps == nil {
			return refusal("step %d (%s) before this one cannot be checked without ZooKeeper: give --zookeeper, or --force-order if you know it is done", n, s.Phase)
		}
		state, detail, err := e.zooKeeperStepState(ctx, s)
		if err != nil {
			return fmt.Errorf("checking step %d: %w", n, err)
		}
		if state != StepDone {
			return refusal("step %d (%s) is %s (%s): apply it first (or --force-order)", n, s.Phase, state, detail)
		}
		return nil
	}
	v, err := e.readFreshView(ctx, stepTopics(s.Partitions))
	if err != nil {
		return err
	}
	ss := summarise(s, planStates(p, v)[n])
	if ss.State != StepDone {
		return unsettledRefusal("step %d (%s) is %s (%d of %d partitions done): apply it first (or --force-order)", n, s.Phase, ss.State, ss.Done, ss.Partitions)
	}
	return nil
}
