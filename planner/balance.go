package planner

import (
	"math"
	"slices"

	"github.com/kshift/kshift/plans"
)

// DefaultMaxFill is the share of a target's disk the planner fills at most
// when a placement within it exists.
const DefaultMaxFill = 0.85

// placeBalanced places the partitions of a rack_map plan or of one with no
// map, in three passes over the partitions, largest first:
//
//  1. racks: each new replica gets a rack. A rack_map says which; otherwise,
//     and for replicas it leaves open (a raised RF), a rack the partition
//     does not use yet, the one with the fewest bytes per broker.
//  2. shares: each rack's new replicas are shared out so that every broker
//     ends within one replica of the others (water-filling above what it
//     already holds: kept replicas of partitions caught mid-move, partitions
//     already on targets, excluded topics), and each broker gets a byte
//     target: the rack's bytes shared the same way, each broker kept under
//     its disk's fill limit where the rack's bytes allow.
//  3. brokers: each replica goes to the broker of its rack that fits it
//     under its fill limit, has replicas left in its share and needs the
//     most bytes per replica left in its share. Largest first, the large
//     partitions land where the most bytes are missing; the small ones, last,
//     close the gaps. Canaries and internal topics, stepped on their own,
//     first go to the brokers holding the fewest of their class
//     (fewestOfClass).
//
// Counts and bytes are balanced together, so existing load of any shape
// lowers a broker's share instead of leaving it short of bytes.
func (pl *placer) placeBalanced(order []*part) {
	n := len(pl.targets)
	// Kept replicas stay where they are: they count as load before any choice.
	for _, p := range order {
		for _, id := range p.current {
			if i := pl.tIndex.at(id); i >= 0 {
				pl.replicas[i]++
				pl.bytes[i] += p.size
			}
		}
	}
	pl.heldReplicas, pl.heldBytes = slices.Clone(pl.replicas), slices.Clone(pl.bytes)

	// Pass 1: racks.
	nr := len(pl.racks)
	rackSize := make([]int, nr)
	rackBytes := make([]float64, nr)
	for _, i := range pl.allowed {
		r := pl.tRack[i]
		rackSize[r]++
		rackBytes[r] += float64(pl.bytes[i])
	}
	var allowedRacks []int
	for r := range nr {
		if rackSize[r] > 0 {
			allowedRacks = append(allowedRacks, r)
		}
	}
	slots := make([]int, nr)
	inRack := make([]int, nr)
	// partsLeft counts, per rack, the partitions not yet placed that have a
	// replica to place there: a broker can take one replica of each, so one
	// whose share is as large must take one of every partition left.
	partsLeft := make([]int, nr)
	for _, p := range order {
		pl.chooseRacks(p, inRack, rackSize, rackBytes, allowedRacks)
		for k, r := range p.racks {
			if slices.Contains(p.racks[:k], r) {
				continue
			}
			if pl.forced(p, r, rackSize) {
				// Every broker of the rack gets a replica: no choice, so
				// the load counts as held before the shares are made.
				for _, i := range pl.rackPool[r] {
					if !slices.Contains(p.current, pl.targets[i]) {
						pl.replicas[i]++
						pl.bytes[i] += p.size
						pl.placed[i]++
					}
				}
				continue
			}
			partsLeft[r]++
			for _, x := range p.racks[k:] {
				if x == r {
					slots[r]++
				}
			}
		}
	}

	// Pass 2: shares and byte targets, rack by rack.
	quota := make([]int, n)
	target := make([]float64, n)
	for _, r := range allowedRacks {
		pool := pl.rackPool[r]
		shareReplicas(pool, pl.replicas, slots[r], quota)
		pl.byteTargets(pool, rackBytes[r], target)
	}

	// Pass 3: brokers.
	taken := make([]bool, n)
	chosen := make([]int, 0, 8)
	inClass := make([]int, n)
	narrowed := make([]int, 0, n) // never grows: at most a rack's brokers
	for _, p := range order {
		chosen = chosen[:0]
		for _, id := range p.current {
			if i := pl.tIndex.at(id); i >= 0 {
				chosen = append(chosen, i)
				taken[i] = true
			}
		}
		for k, r := range p.racks {
			if pl.forced(p, r, rackSize) {
				if !slices.Contains(p.racks[:k], r) {
					for _, i := range pl.rackPool[r] {
						if !taken[i] {
							chosen = append(chosen, i)
							taken[i] = true
						}
					}
				}
				continue
			}
			pool := pl.rackPool[r]
			if p.class != classOther {
				pool = pl.fewestOfClass(pool, p.size, taken, quota, inClass, partsLeft[r], narrowed[:0])
			}
			i := pl.bestBroker(pool, p.size, taken, quota, target, partsLeft[r])
			if p.class != classOther && i >= 0 {
				inClass[i]++
			}
			if i < 0 {
				break // refused earlier: RF above the eligible targets
			}
			if quota[i] > 0 {
				quota[i]--
			}
			chosen = append(chosen, i)
			taken[i] = true
			pl.replicas[i]++
			pl.bytes[i] += p.size
			pl.placed[i]++
		}
		// Lead with the member that leads the fewest partitions so far.
		lead := 0
		for k, i := range chosen {
			if l := chosen[lead]; pl.leaders[i] < pl.leaders[l] || (pl.leaders[i] == pl.leaders[l] && pl.leadBytes[i] < pl.leadBytes[l]) {
				lead = k
			}
		}
		final := pl.slab.make(len(chosen))
		final[0] = pl.targets[chosen[lead]]
		k := 1
		for j, i := range chosen {
			if j != lead {
				final[k] = pl.targets[i]
				k++
			}
			taken[i] = false
		}
		for k, r := range p.racks {
			if !slices.Contains(p.racks[:k], r) && !pl.forced(p, r, rackSize) {
				partsLeft[r]--
			}
		}
		p.final = final
		li := chosen[lead]
		pl.leaders[li]++
		pl.leadBytes[li] += p.size
		pl.placedLeaders[li]++
	}
}

// forced reports whether p's replicas fill rack r: every broker of it gets
// one, so placement has no choice there.
func (pl *placer) forced(p *part, r int32, rackSize []int) bool {
	n := 0
	for _, x := range p.racks {
		if x == r {
			n++
		}
	}
	for _, id := range p.current {
		if i := pl.tIndex.at(id); i >= 0 && int32(pl.tRack[i]) == r {
			n++
		}
	}
	return n >= rackSize[r]
}

// chooseRacks gives each replica p adds a rack (p.racks): first the racks
// the rack_map sends its source replicas to, then racks p does not use yet,
// then any rack with a broker left, each time the one with the fewest bytes
// per broker (ties: the lower index). inRack is
// scratch, all zero on entry and on return.
func (pl *placer) chooseRacks(p *part, inRack, rackSize []int, rackBytes []float64, allowedRacks []int) {
	n := 0
	for _, id := range p.current {
		if i := pl.tIndex.at(id); i >= 0 {
			inRack[pl.tRack[i]]++
			n++
		}
	}
	racks := pl.slab.make(max(p.rf-n, 0))[:0]
	add := func(r int) {
		racks = append(racks, int32(r))
		inRack[r]++
		n++
		rackBytes[r] += float64(p.size)
	}
	if len(pl.m.RackMap) > 0 {
		for _, id := range p.current {
			if n >= p.rf {
				break
			}
			if !pl.sources.has(id) {
				continue
			}
			if r := pl.mappedRack.at(id); r >= 0 && inRack[r] == 0 {
				add(r)
			}
		}
	}
	for n < p.rf {
		best := -1
		for _, r := range allowedRacks {
			if inRack[r] >= rackSize[r] {
				continue
			}
			if best < 0 {
				best = r
				continue
			}
			if fresh, bestFresh := inRack[r] == 0, inRack[best] == 0; fresh != bestFresh {
				if fresh {
					best = r
				}
				continue
			}
			if rackBytes[r]*float64(rackSize[best]) < rackBytes[best]*float64(rackSize[r]) {
				best = r
			}
		}
		if best < 0 {
			break // refused earlier: RF above the eligible targets
		}
		add(best)
	}
	for _, id := range p.current {
		if i := pl.tIndex.at(id); i >= 0 {
			inRack[pl.tRack[i]]--
		}
	}
	for _, r := range racks {
		inRack[r]--
	}
	p.racks = racks
}

// shareReplicas shares add new replicas among the brokers of pool (indexes
// into held, what each already holds) so that the brokers that receive any
// end at level or level+1 and those above level receive none: it sets
// quota[i] to what each receives. The replicas left over after the level go
// one each to the least loaded (then lowest index) of the brokers filled.
func shareReplicas(pool []int, held []int, add int, quota []int) {
	sorted := slices.Clone(pool)
	slices.SortFunc(sorted, func(a, b int) int {
		if held[a] != held[b] {
			return held[a] - held[b]
		}
		return a - b
	})
	sum := 0
	k := 0
	// Find the most brokers k such that filling the k least loaded to one
	// level leaves none of them above it.
	for k < len(sorted) {
		if held[sorted[k]]*(k+1) > add+sum+held[sorted[k]] {
			break
		}
		sum += held[sorted[k]]
		k++
	}
	if k == 0 {
		return
	}
	level := (add + sum) / k
	left := add + sum - level*k
	for j, i := range sorted[:k] {
		quota[i] = level - held[i]
		if j < left {
			quota[i]++
		}
	}
}

// byteTargets sets target[i] for the brokers of pool: the rack's bytes
// (total, what they hold now plus what the rack receives) shared by
// water-filling above what each holds, each kept under its fill limit where
// the limits allow; when they do not, in proportion to the limits.
func (pl *placer) byteTargets(pool []int, total float64, target []float64) {
	at := func(level float64, i int) float64 {
		held := float64(pl.bytes[i])
		t := max(level, held)
		if c := pl.fillCap[i]; c > 0 {
			t = min(t, max(float64(c), held))
		}
		return t
	}
	sum := func(level float64) float64 {
		s := 0.0
		for _, i := range pool {
			s += at(level, i)
		}
		return s
	}
	if sum(math.Inf(1)) < total {
		// Over every fill limit: fill each in proportion to its limit.
		var limits float64
		for _, i := range pool {
			limits += float64(pl.fillCap[i])
		}
		for _, i := range pool {
			target[i] = max(float64(pl.bytes[i]), total*float64(pl.fillCap[i])/limits)
		}
		return
	}
	lo, hi := 0.0, total
	for range 100 {
		mid := (lo + hi) / 2
		if sum(mid) < total {
			lo = mid
		} else {
			hi = mid
		}
	}
	for _, i := range pool {
		target[i] = at(hi, i)
	}
}

// bestBroker returns the broker of pool that takes a replica of the given
// size, -1 when every one is taken: one that stays under its fill limit
// rather than one that does not; then one whose share is as large as the
// partitions left for its rack (partsLeft: it must take one of each); then
// one with replicas left in its share; then the one that needs the most
// bytes per replica left in its share; without share, the fewest replicas,
// then the fewest bytes. Ties go to the lower index.
func (pl *placer) bestBroker(pool []int, size plans.ByteSize, taken []bool, quota []int, target []float64, partsLeft int) int {
	best := -1
	var bestFits, bestUrgent, bestShare bool
	var bestScore float64
	for _, i := range pool {
		if taken[i] {
			continue
		}
		fits := pl.fillCap[i] == 0 || pl.bytes[i]+size <= pl.fillCap[i]
		left := quota[i]
		share := left > 0
		urgent := quota[i] >= partsLeft
		score := 0.0
		if share {
			score = (target[i] - float64(pl.bytes[i])) / float64(left)
		}
		switch {
		case best < 0:
		case fits != bestFits:
			if !fits {
				continue
			}
		case urgent != bestUrgent:
			if !urgent {
				continue
			}
		case share != bestShare:
			if !share {
				continue
			}
		case share:
			if score <= bestScore {
				continue
			}
		default:
			if pl.replicas[i] > pl.replicas[best] || (pl.replicas[i] == pl.replicas[best] && pl.bytes[i] >= pl.bytes[best]) {
				continue
			}
		}
		best, bestFits, bestUrgent, bestShare, bestScore = i, fits, urgent, share, score
	}
	return best
}

// fewestOfClass narrows pool, for a partition of a class stepped on its own
// (canaries, internal topics: their copies run in steps of their own, as
// long as their busiest broker), to the brokers bestBroker may choose that
// hold the fewest of the class so far (inClass), so that those steps
// spread; it leaves pool whole when a broker must take a replica of every
// partition left (partsLeft) or none both fits under its fill limit and has
// replicas left in its share. out is scratch.
func (pl *placer) fewestOfClass(pool []int, size plans.ByteSize, taken []bool, quota, inClass []int, partsLeft int, out []int) []int {
	least := -1
	for _, j := range pool {
		if taken[j] {
			continue
		}
		if quota[j] >= partsLeft {
			return pool
		}
		if quota[j] > 0 && (pl.fillCap[j] == 0 || pl.bytes[j]+size <= pl.fillCap[j]) && (least < 0 || inClass[j] < least) {
			least = inClass[j]
		}
	}
	if least < 0 {
		return pool
	}
	for _, j := range pool {
		if !taken[j] && quota[j] > 0 && (pl.fillCap[j] == 0 || pl.bytes[j]+size <= pl.fillCap[j]) && inClass[j] == least {
			out = append(out, j)
		}
	}
	return out
}
