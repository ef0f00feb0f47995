package plans

import (
	"io"
	"math"
	"slices"
)

// Rollback derives the plan that undoes p one step at a time: the steps in
// reverse order, each partition's from and to swapped, each step pointing at
// the forward step it undoes (Undoes). Undoing a move-leader step restores the
// previous replica order (the executor then runs the preferred-leader election
// again); undoing a lower-rf step re-adds the source replicas and so copies
// their data back; undoing a raise-rf step drops the added replicas and copies
// nothing. Each undo step carries its own estimate at the forward step's
// throttle.
//
// The undo of a zk-join or zk-handover step carries the forward step's
// ZooKeeper change unchanged: undoing it means restoring the membership the
// forward step recorded it found (zookeeper.before; zkops.UndoStep), which is
// what a rollback step (one with Undoes set) asks of the executor. zk-fork and
// zk-prune cannot be undone (docs/design.md) and have no undo step. The
// undo of a retire-sources step restarts the sources (retire.restart): there
// is nothing to undo in Kafka, only the source brokers to start again.
//
// Deriving the rollback of a rollback plan gives a migration plan with the
// original moves again (Undoes is then left empty).
func Rollback(p *Plan) *Plan {
	r := rollbackHead(p)
	r.Steps = []Step{}
	for i := len(p.Steps) - 1; i >= 0; i-- {
		undo, ok := UndoStep(&p.Steps[i], p.Throttle)
		if !ok {
			continue
		}
		r.Steps = append(r.Steps, numberUndo(r, undo, &p.Steps[i], len(r.Steps)))
	}
	r.Totals = ComputeTotals(r.Steps)
	return r
}

// rollbackHead is the header of p's rollback, without steps or totals.
func rollbackHead(p *Plan) *Plan {
	kind := KindRollback
	if p.Kind == KindRollback {
		kind = KindMigration
	}
	return &Plan{
		Version:        p.Version,
		Kind:           kind,
		ClusterID:      p.ClusterID,
		SnapshotSHA256: p.SnapshotSHA256,
		MappingSHA256:  p.MappingSHA256,
		KshiftVersion:  p.KshiftVersion,
		Strategy:       p.Strategy,
		Throttle:       p.Throttle,
		SourceBrokers:  slices.Clone(p.SourceBrokers),
		TargetBrokers:  slices.Clone(p.TargetBrokers),
	}
}

// numberUndo numbers undo as the rollback r's step after its first before
// ones, pointing it at fwd, the step it undoes, when r is a rollback.
func numberUndo(r *Plan, undo Step, fwd *Step, before int) Step {
	undo.Number = before + 1
	if r.Kind == KindRollback {
		undo.Undoes = fwd.Number
	}
	return undo
}

// WriteRollback writes Rollback(p) exactly as WritePlan would, without ever
// holding it whole: each undo step is made as it is written, its moves
// sharing the replica lists of p's (nothing here writes them), in one
// buffer reused from step to step. The rollback of a 200,000-partition plan
// is 600,000 moves and 73 MB of YAML. p must not change while it runs.
func WriteRollback(w io.Writer, p *Plan) error {
	r := rollbackHead(p)
	// The header's totals come first in the file: every undo step's
	// estimate is needed before the first step is written.
	var undone []int // the forward steps that have an undo, in rollback order
	var estimates []Estimate
	var moves []Move
	var seen partitionNumbers
	for i := len(p.Steps) - 1; i >= 0; i-- {
		var undo Step
		var ok bool
		undo, moves, ok = undoStep(&p.Steps[i], p.Throttle, moves)
		if !ok {
			continue
		}
		undone = append(undone, i)
		estimates = append(estimates, undo.Estimate)
		r.Totals.Add(undo.Estimate)
		for j := range undo.Partitions {
			if _, isNew := seen.number(undo.Partitions[j].Topic, undo.Partitions[j].Partition); isNew {
				r.Totals.Partitions++
			}
		}
	}
	r.Totals.Steps = len(undone)
	var cur Step
	step := func(k int) *Step {
		fwd := &p.Steps[undone[k]]
		cur, moves = undoHead(fwd, moves)
		cur.Estimate = estimates[k]
		cur = numberUndo(r, cur, fwd, k)
		return &cur
	}
	return writePlan(w, r, len(undone), step, func() *Plan { return Rollback(p) }, nil)
}

// UndoStep returns the step that undoes s (numbered 0, Undoes unset), or
// false when s cannot be undone. The executor also uses it to recognise and
// revert an undo left in flight by an interrupted rollback. The step owns
// its replica lists.
func UndoStep(s *Step, planThrottle Rate) (Step, bool) {
	u, _, ok := undoStep(s, planThrottle, make([]Move, 0, len(s.Partitions)))
	for i := range u.Partitions {
		m := &u.Partitions[i]
		m.From, m.To = slices.Clone(m.From), slices.Clone(m.To)
	}
	return u, ok
}

// undoStep is UndoStep with the moves made in moves (its old contents
// overwritten, grown as needed and returned for reuse), their replica lists
// those of s's moves, shared.
func undoStep(s *Step, planThrottle Rate, moves []Move) (Step, []Move, bool) {
	u, moves := undoHead(s, moves)
	if s.Phase.IsReassignment() {
		u.Estimate = EstimateStep(u.Phase, u.Partitions, s.ThrottleOr(planThrottle))
		return u, moves, true
	}
	if s.Phase == PhaseRetireSources && s.Retire != nil {
		return u, moves, true
	}
	if s.ZooKeeper == nil || (s.Phase != PhaseZKJoin && s.Phase != PhaseZKHandover) {
		return Step{}, moves, false
	}
	return u, moves, true
}

// undoHead is the undo of s without its estimate (undoStep says whether s
// has one): for a reassignment, each move's from and to swapped, made in
// moves as undoStep says.
func undoHead(s *Step, moves []Move) (Step, []Move) {
	u := Step{Phase: s.Phase, Throttle: s.Throttle}
	if s.Phase.IsReassignment() {
		moves = slices.Grow(moves[:0], len(s.Partitions))[:len(s.Partitions)]
		for i, m := range s.Partitions {
			moves[i] = Move{Topic: m.Topic, Partition: m.Partition, From: m.To, To: m.From, Size: m.Size}
		}
		u.Partitions = moves
		return u, moves
	}
	if s.Phase == PhaseRetireSources && s.Retire != nil {
		// Nothing to undo in Kafka: the undo is the operator starting the
		// sources again, which the step waits for.
		u.Retire = cloneRetireChange(s.Retire)
		u.Retire.Restart = !s.Retire.Restart
		return u, moves
	}
	if s.ZooKeeper != nil && (s.Phase == PhaseZKJoin || s.Phase == PhaseZKHandover) {
		u.ZooKeeper = cloneZooKeeperChange(s.ZooKeeper)
	}
	return u, moves
}

func cloneZooKeeperChange(z *ZooKeeperChange) *ZooKeeperChange {
	c := *z
	c.Join = slices.Clone(z.Join)
	c.Promote = slices.Clone(z.Promote)
	c.Retire = slices.Clone(z.Retire)
	c.Prune = slices.Clone(z.Prune)
	c.Sources = slices.Clone(z.Sources)
	c.Before = slices.Clone(z.Before)
	c.Targets = slices.Clone(z.Targets)
	return &c
}

// BusiestTotal returns the broker with the most bytes in or out over every
// step of p, and those bytes: the least time any run of p can take is them
// at the throttle. Each copy is sent by the partition's leader in snap, as
// Kafka sends it (the first replica of from when snap names no leader among
// them), not by the first replica as EstimateMoves assumes.
func BusiestTotal(p *Plan, snap *Snapshot) (broker int32, bytes ByteSize) {
	type key struct {
		topic string
		id    int32
	}
	leader := make(map[key]int32, snap.PartitionCount())
	for _, t := range snap.Topics {
		for _, pt := range t.Partitions {
			leader[key{t.Name, pt.ID}] = pt.Leader
		}
	}
	in, out := map[int32]ByteSize{}, map[int32]ByteSize{}
	broker = -1
	consider := func(id int32, load ByteSize) {
		if load > bytes || (load == bytes && id < broker) {
			broker, bytes = id, load
		}
	}
	for _, s := range p.Steps {
		for i := range s.Partitions {
			m := &s.Partitions[i]
			added := m.Adding()
			if len(added) == 0 || m.Size <= 0 || len(m.From) == 0 {
				continue
			}
			for _, id := range added {
				in[id] += m.Size
				consider(id, max(in[id], out[id]))
			}
			sender := m.From[0]
			if l, ok := leader[key{m.Topic, m.Partition}]; ok && slices.Contains(m.From, l) {
				sender = l
			}
			out[sender] += m.Size * ByteSize(len(added))
			consider(sender, max(in[sender], out[sender]))
		}
	}
	return broker, bytes
}

// EstimateMoves estimates the copy time of one reassignment step (EstimateStep
// adds the step's fixed cost): every replica a move adds copies the
// partition's size from the current leader (the first replica of from). A
// broker's load is the larger of what it receives and what it sends;
// the busiest broker sets the step's duration at the rate a throttle actually
// reaches (ThrottleEfficiency of throttle). A throttle of 0 gives no duration.
func EstimateMoves(moves []Move, throttle Rate) Estimate {
	in := map[int32]ByteSize{}
	out := map[int32]ByteSize{}
	var total ByteSize
	for i := range moves {
		m := &moves[i]
		added := m.Adding()
		if len(added) == 0 || m.Size <= 0 {
			continue
		}
		for _, b := range added {
			in[b] += m.Size
			total += m.Size
		}
		if len(m.From) > 0 {
			out[m.From[0]] += m.Size * ByteSize(len(added))
		}
	}
	est := Estimate{BytesToCopy: total}
	if total == 0 {
		return est
	}
	var busiest int32 = -1
	var busiestBytes ByteSize
	consider := func(b int32) {
		load := max(in[b], out[b])
		if load > busiestBytes || (load == busiestBytes && b < busiest) {
			busiest, busiestBytes = b, load
		}
	}
	for b := range in {
		consider(b)
	}
	for b := range out {
		consider(b)
	}
	est.BusiestBroker = busiest
	est.BusiestBrokerBytes = busiestBytes
	est.Duration = CopyTime(throttle, busiestBytes)
	return est
}

// ComputeTotals sums steps into a plan header: the number of steps, the
// number of distinct partitions touched, the bytes copied and the estimated
// durations (copy time, fixed cost, and both).
func ComputeTotals(steps []Step) Totals {
	t := Totals{Steps: len(steps)}
	var seen partitionNumbers
	for i := range steps {
		s := &steps[i]
		t.Add(s.Estimate)
		for j := range s.Partitions {
			if _, isNew := seen.number(s.Partitions[j].Topic, s.Partitions[j].Partition); isNew {
				t.Partitions++
			}
		}
	}
	return t
}

// partitionNumbers numbers partitions 0, 1, 2, ... in the order they are
// first seen, by topic then id: ids are dense from 0, so each topic has a
// slice of numbers (grown up to the id seen); ids far beyond it, and
// negative ones, go to a map. Its zero value has seen nothing.
type partitionNumbers struct {
	topics map[string][]int32 // per id, its number plus one (0: not seen)
	other  map[partKey]int
	n      int
}

// number returns the partition's number and whether it is new.
func (x *partitionNumbers) number(topic string, id int32) (int, bool) {
	nums, i := x.topics[topic], int(id)
	if i >= 0 && i < len(nums) && nums[i] > 0 {
		return int(nums[i]) - 1, false
	}
	if len(x.other) > 0 {
		if n, ok := x.other[partKey{topic, id}]; ok {
			return n, false
		}
	}
	n := x.n
	x.n++
	switch {
	case i < 0 || i >= len(nums)+maxIndexGap || n >= math.MaxInt32:
		if x.other == nil {
			x.other = map[partKey]int{}
		}
		x.other[partKey{topic, id}] = n
	case i < len(nums):
		nums[i] = int32(n + 1)
	default:
		if x.topics == nil {
			x.topics = map[string][]int32{}
		}
		nums = append(nums, make([]int32, i+1-len(nums))...)
		nums[i] = int32(n + 1)
		x.topics[topic] = nums
	}
	return n, true
}
