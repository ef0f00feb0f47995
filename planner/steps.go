package planner

import (
	"slices"
	"sort"

	"github.com/kshift/kshift/plans"
)

// moves is the chain of changes that takes one partition from its snapshot
// replicas to its final ones; each link's From is the previous link's To.
type moves struct {
	raise, lead, lower *plans.Move
}

// chainOf builds p's moves:
//   - raise-rf: current ++ the final replicas it lacks (current order first,
//     so the preferred leader does not move);
//   - move-leader, only when the first replica changes: final order ++ the
//     replicas about to be dropped (same set, no data);
//   - lower-rf, only when something is left to drop: the final list.
func chainOf(p *part) moves {
	var c moves
	cur := p.current
	if adds := missing(p.final, cur); len(adds) > 0 {
		to := append(slices.Clip(slices.Clone(cur)), adds...)
		c.raise = &plans.Move{Topic: p.topic, Partition: p.id, From: cur, To: to, Size: p.size}
		cur = to
	}
	if cur[0] != p.final[0] {
		to := append(slices.Clone(p.final), missing(cur, p.final)...)
		c.lead = &plans.Move{Topic: p.topic, Partition: p.id, From: cur, To: to, Size: p.size}
		cur = to
	}
	if len(cur) > len(p.final) {
		c.lower = &plans.Move{Topic: p.topic, Partition: p.id, From: cur, To: p.final, Size: p.size}
	}
	return c
}

func (c moves) of(ph plans.Phase) *plans.Move {
	switch ph {
	case plans.PhaseRaiseRF:
		return c.raise
	case plans.PhaseMoveLeader:
		return c.lead
	case plans.PhaseLowerRF:
		return c.lower
	}
	return nil
}

func (c moves) any() bool { return c.raise != nil || c.lead != nil || c.lower != nil }

// missing returns the ids of list that are not in other, in list's order.
func missing(list, other []int32) []int32 {
	var out []int32
	for _, id := range list {
		if !slices.Contains(other, id) {
			out = append(out, id)
		}
	}
	return out
}

// reassignmentPhases are the phases of the partition moves, in the order a
// partition goes through them.
var reassignmentPhases = []plans.Phase{plans.PhaseRaiseRF, plans.PhaseMoveLeader, plans.PhaseLowerRF}

// builder turns the placed partitions into steps.
type builder struct {
	pl     *placer
	chains map[*part]moves
	steps  []plans.Step
	// Per-broker scratch counters, indexed through idx.
	idx          map[int32]int
	in, out      []plans.ByteSize
	into         []int
	touched      []int
	oversizeSeen map[*part]bool
}

// steps builds the reassignment steps of the mapping's strategy.
func (pl *placer) steps() []plans.Step {
	b := &builder{pl: pl, chains: make(map[*part]moves, len(pl.parts)), idx: map[int32]int{}, oversizeSeen: map[*part]bool{}}
	for _, br := range pl.snap.Brokers {
		b.idx[br.ID] = len(b.idx)
	}
	b.in, b.out, b.into = make([]plans.ByteSize, len(b.idx)), make([]plans.ByteSize, len(b.idx)), make([]int, len(b.idx))

	ordered := make([]*part, 0, len(pl.parts))
	for _, p := range pl.orderParts() {
		c := chainOf(p)
		if !c.any() {
			continue
		}
		b.chains[p] = c
		ordered = append(ordered, p)
	}
	switch pl.m.Strategy {
	case plans.StrategyRolling:
		for _, batch := range b.pack(ordered, nil) {
			for _, ph := range reassignmentPhases {
				b.phase(batch, ph)
			}
		}
	case plans.StrategyDrain:
		for _, group := range pl.drainGroups(ordered) {
			for _, ph := range reassignmentPhases {
				b.phase(group, ph)
			}
		}
	default:
		for _, ph := range reassignmentPhases {
			b.phase(ordered, ph)
		}
	}
	for _, p := range ordered {
		if b.oversizeSeen[p] {
			pl.warn(WarnPartitionOverStepLimit, p.name(), "copies %s, more than bytes_per_step %s: it gets a step of its own", p.size*plans.ByteSize(len(b.chains[p].raise.Adding())), pl.m.Limits.BytesPerStep)
		}
	}
	return b.steps
}

// orderParts returns the partitions in step order: canaries (in the
// mapping's order), internal topics when they go first, the other topics,
// internal topics when they go last; within each, smaller partitions first.
func (pl *placer) orderParts() []*part {
	order := slices.Clone(pl.parts)
	sort.Slice(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if x.class != y.class {
			return x.class < y.class
		}
		if x.canary != y.canary {
			return x.canary < y.canary
		}
		if x.size != y.size {
			return x.size < y.size
		}
		if x.topic != y.topic {
			return x.topic < y.topic
		}
		return x.id < y.id
	})
	return order
}

// drainGroups splits the ordered partitions for the drain strategy: the
// canaries first, then, for each source broker in id order, every partition
// not yet moved that has a replica on it. Each group runs all its phases
// before the next starts, so a group's source broker holds nothing at its end.
func (pl *placer) drainGroups(ordered []*part) [][]*part {
	var groups [][]*part
	done := make(map[*part]bool, len(ordered))
	var canaries []*part
	for _, p := range ordered {
		if p.class == classCanary {
			canaries = append(canaries, p)
			done[p] = true
		}
	}
	if len(canaries) > 0 {
		groups = append(groups, canaries)
	}
	for _, src := range pl.m.SourceBrokers {
		var group []*part
		for _, p := range ordered {
			if !done[p] && slices.Contains(p.current, src) {
				group = append(group, p)
				done[p] = true
			}
		}
		if len(group) > 0 {
			groups = append(groups, group)
		}
	}
	return groups
}

// phase appends the steps of one phase for the partitions of ps that have a
// move in it, packed by the limits.
func (b *builder) phase(ps []*part, ph plans.Phase) {
	var with []*part
	for _, p := range ps {
		if b.chains[p].of(ph) != nil {
			with = append(with, p)
		}
	}
	only := ph
	for _, batch := range b.pack(with, &only) {
		b.emit(batch, ph)
	}
}

// pack splits ps, in order, into batches within the mapping's limits:
// partitions per step, bytes copied per step, replicas added into one
// broker per step. Only raise-rf moves copy or add; phase nil packs whole
// chains (the rolling strategy) by their raise-rf cost. A partition that
// alone copies more than bytes_per_step gets a batch of its own.
func (b *builder) pack(ps []*part, phase *plans.Phase) [][]*part {
	lim := b.pl.m.Limits
	var batches [][]*part
	var cur []*part
	var bytes plans.ByteSize
	flush := func() {
		if len(cur) > 0 {
			batches = append(batches, cur)
		}
		cur, bytes = nil, 0
		for _, i := range b.touched {
			b.into[i] = 0
		}
		b.touched = b.touched[:0]
	}
	for _, p := range ps {
		var adds []int32
		if phase == nil || *phase == plans.PhaseRaiseRF {
			if r := b.chains[p].raise; r != nil {
				adds = r.Adding()
			}
		}
		cost := p.size * plans.ByteSize(len(adds))
		fits := len(cur) < lim.PartitionsPerStep && bytes+cost <= lim.BytesPerStep
		for _, id := range adds {
			if b.into[b.idx[id]]+1 > lim.MovesIntoBroker {
				fits = false
			}
		}
		if !fits {
			flush()
		}
		cur = append(cur, p)
		bytes += cost
		for _, id := range adds {
			i := b.idx[id]
			if b.into[i] == 0 {
				b.touched = append(b.touched, i)
			}
			b.into[i]++
		}
		if cost > lim.BytesPerStep {
			if phase != nil {
				b.oversizeSeen[p] = true
			}
			flush()
		}
	}
	flush()
	return batches
}

// emit appends one step of phase ph moving batch, with its estimate.
func (b *builder) emit(batch []*part, ph plans.Phase) {
	if len(batch) == 0 {
		return
	}
	s := plans.Step{Phase: ph, Throttle: b.pl.m.Throttle, Partitions: make([]plans.Move, len(batch))}
	var total plans.ByteSize
	for k, p := range batch {
		mv := b.chains[p].of(ph)
		s.Partitions[k] = *mv
		if ph != plans.PhaseRaiseRF {
			continue
		}
		adds := mv.Adding()
		// The raise-rf move is a partition's first: its actual leader sends.
		sender := mv.From[0]
		if slices.Contains(mv.From, p.leader) {
			sender = p.leader
		}
		b.load(b.out, sender, p.size*plans.ByteSize(len(adds)))
		for _, id := range adds {
			b.load(b.in, id, p.size)
			total += p.size
		}
	}
	s.Estimate.BytesToCopy = total
	if total > 0 {
		busiest, most := int32(-1), plans.ByteSize(-1)
		slices.Sort(b.touched)
		for _, i := range b.touched {
			if load := max(b.in[i], b.out[i]); load > most {
				busiest, most = b.pl.snap.Brokers[i].ID, load
			}
			b.in[i], b.out[i] = 0, 0
		}
		s.Estimate.BusiestBroker = busiest
		s.Estimate.BusiestBrokerBytes = most
		s.Estimate.Duration = plans.Duration(plans.Rate(float64(b.pl.m.Throttle) * plans.ThrottleEfficiency).TimeFor(most))
	}
	b.touched = b.touched[:0]
	b.steps = append(b.steps, s)
}

// load adds n bytes to broker id's counter c, remembering the broker to reset.
func (b *builder) load(c []plans.ByteSize, id int32, n plans.ByteSize) {
	i := b.idx[id]
	if b.in[i] == 0 && b.out[i] == 0 {
		b.touched = append(b.touched, i)
	}
	c[i] += n
}
