package plans

import (
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
	kind := KindRollback
	if p.Kind == KindRollback {
		kind = KindMigration
	}
	r := &Plan{
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
		Steps:          []Step{},
	}
	for i := len(p.Steps) - 1; i >= 0; i-- {
		fwd := &p.Steps[i]
		undo, ok := UndoStep(fwd, p.Throttle)
		if !ok {
			continue
		}
		undo.Number = len(r.Steps) + 1
		if kind == KindRollback {
			undo.Undoes = fwd.Number
		}
		r.Steps = append(r.Steps, undo)
	}
	r.Totals = ComputeTotals(r.Steps)
	return r
}

// UndoStep returns the step that undoes s (numbered 0, Undoes unset), or
// false when s cannot be undone. The executor also uses it to recognise and
// revert an undo left in flight by an interrupted rollback.
func UndoStep(s *Step, planThrottle Rate) (Step, bool) {
	u := Step{Phase: s.Phase, Throttle: s.Throttle}
	if s.Phase.IsReassignment() {
		u.Partitions = make([]Move, len(s.Partitions))
		for i, m := range s.Partitions {
			u.Partitions[i] = Move{
				Topic:     m.Topic,
				Partition: m.Partition,
				From:      slices.Clone(m.To),
				To:        slices.Clone(m.From),
				Size:      m.Size,
			}
		}
		u.Estimate = EstimateStep(u.Phase, u.Partitions, s.ThrottleOr(planThrottle))
		return u, true
	}
	if s.Phase == PhaseRetireSources && s.Retire != nil {
		// Nothing to undo in Kafka: the undo is the operator starting the
		// sources again, which the step waits for.
		u.Retire = cloneRetireChange(s.Retire)
		u.Retire.Restart = !s.Retire.Restart
		return u, true
	}
	if s.ZooKeeper == nil || (s.Phase != PhaseZKJoin && s.Phase != PhaseZKHandover) {
		return Step{}, false
	}
	u.ZooKeeper = cloneZooKeeperChange(s.ZooKeeper)
	return u, true
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
	seen := map[string]map[int32]bool{}
	for i := range steps {
		s := &steps[i]
		t.Add(s.Estimate)
		for _, m := range s.Partitions {
			ps := seen[m.Topic]
			if ps == nil {
				ps = map[int32]bool{}
				seen[m.Topic] = ps
			}
			if !ps[m.Partition] {
				ps[m.Partition] = true
				t.Partitions++
			}
		}
	}
	return t
}
