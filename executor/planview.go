package executor

import (
	"context"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
)

// readPlanView reads topics (kafkaapi.AllTopics: every topic), which hold
// every partition of plan p, with each partition of p as readFreshView
// would read it, for the price of one broker's read of them all and every
// broker's read of the few whose state is in doubt: brokers + partitions
// instead of brokers × partitions (24 million partition records on a
// 200,000-partition plan of 120 brokers).
//
// Why a fresh read at all: after the controller changes a partition, each
// broker's Metadata shows the change only once that broker hears of it, up
// to about half a second later (docs/kafka-behaviour.md 24), so one broker
// can show a step just applied as pending, or a step just rolled back as
// still done. The leader epoch tells the newer of two views (item 5).
//
// The doubt rule. The first read is the controller's (usually the first to
// hold its own changes). The partitions whose view can be stale are those
// changed in the last half second, and a plan's partitions change a step at
// a time, in plan order: apply does step n once step n-1 is done, rollback
// undoes step n once every later step is pending. So a stale view moves the
// boundary between the done steps and the pending ones, or shows a step half
// way, and never hides a change behind steps that read the same on both
// sides of it. A step is in doubt when, of the reassignment steps with
// partitions in plan order (ZooKeeper and retire-sources steps are read
// elsewhere), it reads neither done nor pending (partial, in flight, undo in
// flight, drifted: a partition at neither end of its moves, or missing),
// or it reads done and the next reads otherwise, or pending and the one
// before reads otherwise; the plan is taken to start after a done step and
// to end before a pending one, so a plan whose first step was just applied,
// or whose last was just rolled back, is read afresh too. The topics of the
// steps in doubt, and of every partition of the plan the controller lists
// as moving, are read again from every broker, newest view kept, and the
// rule runs again on the result until no new step is in doubt: rolling
// back steps 3 and then 2 within half a second can leave both reading done
// on the controller, with only step 3 at the boundary; once step 3 reads
// pending, step 2 is at the boundary and is read again in the next round.
// Each round asks only about topics not asked before, so it ends; it ends
// one step past the true boundary on each side, whose state it confirms.
//
// Rollback takes its decisions from Status right after its own changes:
// RollbackTo undoes step k and reads the status to go on with k-1, and
// Rollback refuses unless every later step is pending. A lagging
// controller that still shows step k done puts step k at the boundary
// (done, with step k+1 pending), so its topics are read from every broker
// and it reads pending as soon as any broker has heard of the undo, as
// with a read of every broker. What the rule does not re-read is a change
// made out of plan order in the last half second (--force-order, a hand
// change) inside a run of steps reading the same: status then shows the
// plan as it stood a moment before that change, and every command that
// acts on a step reads that step's partitions afresh itself before it
// does (stepDone, the gates, the undo's own checks).
func (e *Executor) readPlanView(ctx context.Context, p *plans.Plan, topics []string) (*planView, error) {
	md, err := e.kafka.ControllerMetadata(ctx, topics)
	if err != nil {
		return nil, err
	}
	v, err := e.viewFrom(ctx, md)
	if err != nil {
		return nil, err
	}
	pc := chainsOf(p)
	pc.place(p, v)
	asked := map[string]bool{}
	for {
		var again []string
		for _, t := range doubtTopics(p, pc, v) {
			if !asked[t] {
				asked[t] = true
				again = append(again, t)
			}
		}
		if len(again) == 0 {
			return &planView{view: v, md: md, chains: pc}, nil
		}
		changed, err := e.kafka.Refresh(ctx, md, again)
		if err != nil {
			return nil, err
		}
		// Every reassignment in flight read again after the refresh, as
		// viewOf reads it after Metadata; only the partitions whose view
		// changed or that moved in or out of flight are placed again.
		inflight, err := e.kafka.Reassignments(ctx)
		if err != nil {
			return nil, err
		}
		for key := range v.InFlight {
			changed = append(changed, key)
		}
		for _, key := range changed {
			if mp, ok := md.Partitions[key]; ok {
				v.Partitions[key] = &livePartition{Replicas: mp.Replicas, ISR: mp.ISR, Leader: mp.Leader}
			}
		}
		v.setInFlight(inflight)
		for key := range v.InFlight {
			changed = append(changed, key)
		}
		for _, key := range changed {
			if c := pc.lookup(key); c != nil {
				c.placeOn(p, v)
			}
		}
	}
}

// planView is readPlanView's read: the view, the Metadata it was made of
// (the controller's, with the partitions in doubt refreshed) and the
// plan's chains, placed on the view.
type planView struct {
	*view
	md     *kafkaapi.Metadata
	chains *planChains
}

// stepKind is how the doubt rule sees a step: done, pending, or neither.
type stepKind uint8

const (
	kindDone stepKind = iota
	kindPending
	kindOther
)

// doubtTopics returns the topics of the partitions of p whose state in v
// is in doubt (readPlanView's rule), each once; the chains are placed on v.
func doubtTopics(p *plans.Plan, pc *planChains, v *view) []string {
	// Count each step's partitions done and pending, as planStates would
	// place them.
	done := make([]int, len(p.Steps)+1)
	pending := make([]int, len(p.Steps)+1)
	for i, refs := range pc.steps {
		n := p.Steps[i].Number
		for _, r := range refs {
			switch r.c.stateAt(r.k) {
			case StateDone:
				done[n]++
			case StatePending:
				pending[n]++
			}
		}
	}
	var steps []*plans.Step
	var kinds []stepKind
	for i := range p.Steps {
		s := &p.Steps[i]
		if len(s.Partitions) == 0 || s.Phase.IsZooKeeper() || (s.Phase == plans.PhaseRetireSources && s.Retire != nil) {
			continue
		}
		k := kindOther
		switch n := len(s.Partitions); {
		case done[s.Number] == n:
			k = kindDone
		case pending[s.Number] == n:
			k = kindPending
		}
		steps, kinds = append(steps, s), append(kinds, k)
	}
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for i, s := range steps {
		before, after := kindDone, kindPending // the plan's edges
		if i > 0 {
			before = kinds[i-1]
		}
		if i+1 < len(kinds) {
			after = kinds[i+1]
		}
		k := kinds[i]
		if k == kindOther || (k == kindDone && after != kindDone) || (k == kindPending && before != kindPending) {
			for j := range s.Partitions {
				add(s.Partitions[j].Topic)
			}
		}
	}
	for key := range v.InFlight {
		if pc.lookup(key) != nil {
			add(key.Topic)
		}
	}
	return out
}

// viewFrom is the view of Metadata md with every reassignment in flight,
// read now (viewOf's second half).
func (e *Executor) viewFrom(ctx context.Context, md *kafkaapi.Metadata) (*view, error) {
	v := &view{ClusterID: md.ClusterID, Controller: md.Controller, Brokers: map[int32]bool{}, Partitions: make(map[tp]*livePartition, len(md.Partitions))}
	for id := range md.Brokers {
		v.Brokers[id] = true
	}
	slab := make([]livePartition, len(md.Partitions)) // one allocation, not one per partition
	i := 0
	for key, p := range md.Partitions {
		slab[i] = livePartition{Replicas: p.Replicas, ISR: p.ISR, Leader: p.Leader}
		v.Partitions[key] = &slab[i]
		i++
	}
	inflight, err := e.kafka.Reassignments(ctx)
	if err != nil {
		return nil, err
	}
	v.setInFlight(inflight)
	return v, nil
}

// setInFlight sets v's reassignments in flight: each is listed in
// InFlight, and its partition takes the controller's replica list, never a
// mix with a broker's Metadata, which can still hold the list from before
// the submission (docs/kafka-behaviour.md 24). The partitions of v must be
// as Metadata shows them.
func (v *view) setInFlight(inflight map[tp]kafkaapi.Reassignment) {
	v.InFlight = make(map[tp]*livePartition, len(inflight))
	for key, r := range inflight {
		v.InFlight[key] = &livePartition{Replicas: r.Replicas, Adding: r.Adding, Removing: r.Removing, Reassigning: true}
		if mp := v.Partitions[key]; mp != nil {
			mp.Reassigning = true
			mp.Replicas = r.Replicas
			mp.Adding, mp.Removing = r.Adding, r.Removing
		}
	}
}
