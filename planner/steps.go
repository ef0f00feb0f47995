package planner

import (
	"fmt"
	"slices"

	"github.com/kshift/kshift/plans"
)

// moves is the chain of changes that takes one partition from its snapshot
// replicas to its final ones. Only the `to` lists are kept (a link's `from`
// is the previous link's `to`): full Move values for 200,000 partitions
// would triple the memory the garbage collector scans.
type moves struct {
	raiseTo, leadTo []int32 // nil: no such move
	lower           bool
}

// chainOf builds p's moves:
//   - raise-rf: current ++ the final replicas it lacks (current order first,
//     so the preferred leader does not move);
//   - move-leader, only when the first replica changes: final order ++ the
//     replicas about to be dropped (same set, no data);
//   - lower-rf, only when something is left to drop: the final list.
//
// Replica lists come from slab: 200,000 partitions would otherwise mean a
// million small allocations.
func chainOf(p *part, slab *idSlab) {
	c := &p.chain
	// The plan gets its own copy: callers may change their snapshot later.
	p.current = append(slab.make(len(p.current))[:0], p.current...)
	cur := p.current
	// The raise-rf move is a partition's first: its actual leader sends.
	p.sender = cur[0]
	if slices.Contains(cur, p.leader) {
		p.sender = p.leader
	}
	p.adds = missing(p.final, cur, slab)
	if len(p.adds) > 0 {
		c.raiseTo = slab.make(len(cur) + len(p.adds))
		copy(c.raiseTo, cur)
		copy(c.raiseTo[len(cur):], p.adds)
		cur = c.raiseTo
	}
	if cur[0] != p.final[0] {
		drop := missing(cur, p.final, slab)
		c.leadTo = slab.make(len(p.final) + len(drop))
		copy(c.leadTo, p.final)
		copy(c.leadTo[len(p.final):], drop)
		cur = c.leadTo
	}
	c.lower = len(cur) > len(p.final)
}

// has reports whether p moves in phase ph.
func (p *part) has(ph plans.Phase) bool {
	switch ph {
	case plans.PhaseRaiseRF:
		return p.chain.raiseTo != nil
	case plans.PhaseMoveLeader:
		return p.chain.leadTo != nil
	case plans.PhaseLowerRF:
		return p.chain.lower
	}
	return false
}

// move returns p's move in phase ph (which p.has).
func (p *part) move(ph plans.Phase) plans.Move {
	c := &p.chain
	m := plans.Move{Topic: p.topic, Partition: p.id, Size: p.size, From: p.current}
	switch ph {
	case plans.PhaseRaiseRF:
		m.To = c.raiseTo
	case plans.PhaseMoveLeader:
		m.To = c.leadTo
		if c.raiseTo != nil {
			m.From = c.raiseTo
		}
	case plans.PhaseLowerRF:
		m.To = p.final
		switch {
		case c.leadTo != nil:
			m.From = c.leadTo
		case c.raiseTo != nil:
			m.From = c.raiseTo
		}
	}
	return m
}

// idSlab hands out small broker-id slices carved from large blocks.
type idSlab struct{ buf []int32 }

func (s *idSlab) make(n int) []int32 {
	if len(s.buf) < n {
		s.buf = make([]int32, max(n, 1<<16))
	}
	out := s.buf[:n:n]
	s.buf = s.buf[n:]
	return out
}

// missing returns the ids of list that are not in other, in list's order.
func missing(list, other []int32, slab *idSlab) []int32 {
	n := 0
	for _, id := range list {
		if !slices.Contains(other, id) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := slab.make(n)[:0]
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
	pl    *placer
	steps []plans.Step
	// Per-broker scratch counters, indexed through idx.
	idx          idIndex
	nBrokers     int
	in, out      []plans.ByteSize
	into         []int
	touched      []int
	oversizeSeen map[*part]bool
	brokerCap    plans.ByteSize // most bytes in or out of one broker per step
}

// steps builds the reassignment steps of the mapping's strategy.
func (pl *placer) steps() []plans.Step {
	b := &builder{pl: pl, oversizeSeen: map[*part]bool{}}
	// A step copying bytes_per_step evenly puts bytes_per_step / N through
	// each of N targets; no broker may carry more than twice that (unless a
	// single partition does).
	b.brokerCap = max(1, 2*pl.m.Limits.BytesPerStep/plans.ByteSize(max(1, len(pl.allowed))))
	for _, br := range pl.snap.Brokers {
		b.idx.set(br.ID, b.nBrokers)
		b.nBrokers++
	}
	b.in, b.out, b.into = make([]plans.ByteSize, b.nBrokers), make([]plans.ByteSize, b.nBrokers), make([]int, b.nBrokers)

	ordered := make([]*part, 0, len(pl.parts))
	for _, p := range pl.orderParts() {
		chainOf(p, &pl.slab)
		if !p.has(plans.PhaseRaiseRF) && !p.has(plans.PhaseMoveLeader) && !p.has(plans.PhaseLowerRF) {
			continue
		}
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
	pl.moved = len(ordered)
	var oversize []string
	for _, p := range ordered {
		if b.oversizeSeen[p] {
			oversize = append(oversize, fmt.Sprintf("%s (%s)", p.name(), p.size*plans.ByteSize(len(p.adds))))
		}
	}
	if len(oversize) > 0 {
		pl.warn(WarnPartitionOverStepLimit, fmt.Sprintf("%d partitions", len(oversize)), "%s each copy more than bytes_per_step %s: each gets a step of its own", examples(oversize, 10), pl.m.Limits.BytesPerStep)
	}
	return b.steps
}

// orderParts returns the partitions in step order: canaries (in the
// mapping's order), internal topics when they go first, the other topics,
// internal topics when they go last; within each, smaller partitions first.
func (pl *placer) orderParts() []*part {
	return pl.sortParts(func(p *part) (int64, int64) {
		return int64(p.class)<<32 | int64(p.canary), int64(p.size)
	})
}

// drainGroups splits the ordered partitions for the drain strategy: the
// canaries first, then, for each source broker in id order, every partition
// not yet moved that has a replica on it. Each group runs all its phases
// before the next starts, so a group's source broker holds nothing at its end.
func (pl *placer) drainGroups(ordered []*part) [][]*part {
	// A partition belongs to the group of its lowest source broker: the first
	// group that would take it. sources maps a source id to its position in
	// the sorted source list.
	buckets := make([][]*part, len(pl.m.SourceBrokers)+1)
	for _, p := range ordered {
		g := 0
		if p.class != classCanary {
			g = len(buckets) - 1 // every moved partition has a source replica
			for _, id := range p.current {
				if i := pl.sources.at(id); i >= 0 {
					g = min(g, i+1)
				}
			}
		}
		buckets[g] = append(buckets[g], p)
	}
	var groups [][]*part
	for _, b := range buckets {
		if len(b) > 0 {
			groups = append(groups, b)
		}
	}
	return groups
}

// phase appends the steps of one phase for the partitions of ps that have a
// move in it, packed by the limits.
func (b *builder) phase(ps []*part, ph plans.Phase) {
	n := 0
	for _, p := range ps {
		if p.has(ph) {
			n++
		}
	}
	with := make([]*part, 0, n)
	for _, p := range ps {
		if p.has(ph) {
			with = append(with, p)
		}
	}
	only := ph
	for _, batch := range b.pack(with, &only) {
		b.emit(batch, ph)
	}
}

// pack splits ps into batches within the mapping's limits: partitions per
// step, bytes copied per step, replicas added into one broker per step, and
// bytes through one broker per step (brokerCap), so that no broker holds
// up a step while the others idle. Only raise-rf moves copy or add; phase
// nil packs whole chains (the rolling strategy) by their raise-rf cost.
//
// Batches follow the order of ps, never mixing ordering classes (canaries,
// internal topics, the rest). A partition that does not fit waits for the
// next batch while later ones fill this one, up to partitions_per_step
// waiting, so the order holds from batch to batch. A partition always fits
// an empty batch; one that alone copies more than bytes_per_step gets a batch
// of its own.
func (b *builder) pack(ps []*part, phase *plans.Phase) [][]*part {
	var batches [][]*part
	for start := 0; start < len(ps); {
		end := start
		for end < len(ps) && ps[end].class == ps[start].class {
			end++
		}
		batches = b.packRun(ps[start:end], phase, batches)
		start = end
	}
	return batches
}

func (b *builder) packRun(ps []*part, phase *plans.Phase, batches [][]*part) [][]*part {
	lim := b.pl.m.Limits
	copies := phase == nil || *phase == plans.PhaseRaiseRF
	var carry []*part
	pos := 0
	for len(carry) > 0 || pos < len(ps) {
		var batch, waiting []*part
		var bytes plans.ByteSize
		closed := false
		consider := func(p *part) {
			if closed {
				waiting = append(waiting, p)
				return
			}
			var adds []int32
			if copies {
				adds = p.adds
			}
			cost := p.size * plans.ByteSize(len(adds))
			if len(batch) > 0 && !b.fits(p, adds, bytes, cost) {
				waiting = append(waiting, p)
				closed = len(waiting) >= lim.PartitionsPerStep
				return
			}
			batch = append(batch, p)
			bytes += cost
			b.addLoad(p, adds)
			if cost > lim.BytesPerStep {
				if phase != nil {
					b.oversizeSeen[p] = true
				}
				closed = true
			}
			closed = closed || len(batch) >= lim.PartitionsPerStep
		}
		for _, p := range carry {
			consider(p)
		}
		for ; !closed && pos < len(ps); pos++ {
			consider(ps[pos])
		}
		carry = waiting
		batches = append(batches, batch)
		b.resetLoad()
	}
	return batches
}

// fits reports whether p, adding replicas adds and copying cost bytes, fits
// the batch being packed.
func (b *builder) fits(p *part, adds []int32, bytes, cost plans.ByteSize) bool {
	lim := b.pl.m.Limits
	if bytes+cost > lim.BytesPerStep {
		return false
	}
	for _, id := range adds {
		i := b.idx.at(id)
		if b.into[i]+1 > lim.MovesIntoBroker || (b.in[i] > 0 && b.in[i]+p.size > b.brokerCap) {
			return false
		}
	}
	if len(adds) > 0 {
		if i := b.idx.at(p.sender); b.out[i] > 0 && b.out[i]+cost > b.brokerCap {
			return false
		}
	}
	return true
}

// addLoad counts p's copies into the batch's per-broker loads.
func (b *builder) addLoad(p *part, adds []int32) {
	if len(adds) == 0 {
		return
	}
	b.load(b.out, p.sender, p.size*plans.ByteSize(len(adds)))
	for _, id := range adds {
		b.load(b.in, id, p.size)
		b.into[b.idx.at(id)]++
	}
}

// resetLoad clears the per-broker loads of the batch just packed or emitted.
func (b *builder) resetLoad() {
	for _, i := range b.touched {
		b.in[i], b.out[i], b.into[i] = 0, 0, 0
	}
	b.touched = b.touched[:0]
}

// emit appends one step of phase ph moving batch, with its estimate.
func (b *builder) emit(batch []*part, ph plans.Phase) {
	if len(batch) == 0 {
		return
	}
	s := plans.Step{Phase: ph, Throttle: b.pl.m.Throttle, Partitions: make([]plans.Move, len(batch))}
	var total plans.ByteSize
	for k, p := range batch {
		s.Partitions[k] = p.move(ph)
		if ph == plans.PhaseRaiseRF {
			b.addLoad(p, p.adds)
			total += p.size * plans.ByteSize(len(p.adds))
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
		}
		s.Estimate.BusiestBroker = busiest
		s.Estimate.BusiestBrokerBytes = most
		s.Estimate.Duration = plans.Duration(plans.Rate(float64(b.pl.m.Throttle) * plans.ThrottleEfficiency).TimeFor(most))
	}
	b.resetLoad()
	b.steps = append(b.steps, s)
}

// load adds n bytes to broker id's counter c, remembering the broker to reset.
func (b *builder) load(c []plans.ByteSize, id int32, n plans.ByteSize) {
	i := b.idx.at(id)
	if b.in[i] == 0 && b.out[i] == 0 && b.into[i] == 0 {
		b.touched = append(b.touched, i)
	}
	c[i] += n
}
