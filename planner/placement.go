package planner

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/kshift/kshift/plans"
)

// part is one partition as the planner works on it.
type part struct {
	topic   string
	id      int32
	size    plans.ByteSize
	current []int32
	leader  int32 // the snapshot's leader
	sender  int32 // the broker the raise-rf copies come from
	rf      int   // target RF
	final   []int32
	class   int // ordering class: canaries, internal first, others, internal last
	canary  int // position in the mapping's canary list
	chain   moves
	adds    []int32 // replicas the raise-rf move adds
	racks   []int32 // the rack index of each replica placement adds
}

// Ordering classes of the steps (see orderParts).
const (
	classCanary = iota
	classInternalFirst
	classOther
	classInternalLast
)

// sortParts returns the partitions ordered by key, ties in topic name and
// partition id order (the order of pl.parts). It sorts compact keys rather
// than pointers: 200,000 pointer-chasing comparisons cost more than the rest
// of the placement.
func (pl *placer) sortParts(key func(p *part) (int64, int64)) []*part {
	type sortKey struct {
		a, b int64
		i    int
	}
	keys := make([]sortKey, len(pl.parts))
	for i, p := range pl.parts {
		a, b := key(p)
		keys[i] = sortKey{a, b, i}
	}
	slices.SortFunc(keys, func(x, y sortKey) int {
		if x.a != y.a {
			return cmp.Compare(x.a, y.a)
		}
		if x.b != y.b {
			return cmp.Compare(x.b, y.b)
		}
		return cmp.Compare(x.i, y.i)
	})
	out := make([]*part, len(keys))
	for j, k := range keys {
		out[j] = pl.parts[k.i]
	}
	return out
}

func (p *part) name() string { return fmt.Sprintf("%s-%d", p.topic, p.id) }

// placer holds the normalized inputs and the running load of every target broker.
type placer struct {
	snap *plans.Snapshot
	m    *plans.Mapping

	rackOf  map[int32]string
	sources idIndex // position in the sorted source list
	// Target brokers by index (sorted by id) and their loads.
	targets   []int32
	tIndex    idIndex
	tRack     []int // rack index of each target
	racks     []string
	allowed   []int  // targets that may receive replicas
	isAllowed []bool // by target index
	// mappedRack is, per source broker, the target rack index rack_map sends its replicas to.
	mappedRack idIndex
	// nAllowedRacks caches allowedRacks.
	nAllowedRacks int
	rackPool      [][]int
	replicas      []int
	bytes         []plans.ByteSize
	leaders       []int
	leadBytes     []plans.ByteSize
	// placed and placedLeaders count what the plan puts on each target.
	placed, placedLeaders []int
	largest               plans.ByteSize
	// heldReplicas and heldBytes are what each target holds before the
	// plan places anything: partitions already there, excluded topics, kept
	// replicas of partitions caught mid-move.
	heldReplicas []int
	heldBytes    []plans.ByteSize
	// capacity is each target's disk (0: unknown) and fillCap the bytes
	// it may hold under the fill limit (0: no limit known).
	capacity, fillCap []plans.ByteSize
	maxFill           float64

	parts      []*part // partitions to move
	slab       idSlab
	moved      int // partitions with at least one move
	warnings   []Warning
	collisions []string // partitions broker_map sends twice to one target
	// Topics whose target RF equals min.insync.replicas, or exceeds the racks.
	atMinISR, fewRacks []string
	// Topics whose target RF is 1.
	rf1 []string
}

func newPlacer(snap *plans.Snapshot, m *plans.Mapping, targetCapacity plans.ByteSize, maxFill float64) (*placer, error) {
	pl := &placer{snap: snap, m: m, rackOf: map[int32]string{}, maxFill: maxFill}
	var r refusals
	for _, b := range snap.Brokers {
		pl.rackOf[b.ID] = b.Rack
	}
	for i, id := range m.SourceBrokers {
		pl.sources.set(id, i)
		if _, ok := pl.rackOf[id]; !ok {
			r.add("mapping", "source_brokers", "broker %d is not in the snapshot: check the id, or take a fresh snapshot", id)
		}
	}
	rackIndex := map[string]int{}
	for _, id := range m.TargetBrokers {
		rack, ok := pl.rackOf[id]
		if !ok {
			r.add("mapping", "target_brokers", "broker %d is not in the snapshot: start it so it registers, then take a fresh snapshot", id)
			continue
		}
		if _, ok := rackIndex[rack]; !ok {
			rackIndex[rack] = len(pl.racks)
			pl.racks = append(pl.racks, rack)
		}
		pl.tIndex.set(id, len(pl.targets))
		pl.targets = append(pl.targets, id)
		pl.tRack = append(pl.tRack, rackIndex[rack])
	}
	pl.rackPool = make([][]int, len(pl.racks))
	for i := range pl.targets {
		pl.rackPool[pl.tRack[i]] = append(pl.rackPool[pl.tRack[i]], i)
	}
	n := len(pl.targets)
	pl.replicas, pl.bytes = make([]int, n), make([]plans.ByteSize, n)
	pl.leaders, pl.leadBytes = make([]int, n), make([]plans.ByteSize, n)
	pl.placed, pl.placedLeaders = make([]int, n), make([]int, n)
	pl.capacity, pl.fillCap = make([]plans.ByteSize, n), make([]plans.ByteSize, n)
	for i, id := range pl.targets {
		pl.capacity[i] = targetCapacity
		if b := snap.Broker(id); b != nil && b.DiskCapacity > 0 {
			pl.capacity[i] = b.DiskCapacity
		}
		pl.fillCap[i] = plans.ByteSize(float64(pl.capacity[i]) * maxFill)
	}

	pl.checkRackMap(&r, rackIndex)
	pl.isAllowed = make([]bool, n)
	for _, i := range pl.allowed {
		pl.isAllowed[i] = true
	}
	pl.collect(&r)
	if err := r.err(); err != nil {
		return nil, err
	}
	return pl, nil
}

// checkRackMap refuses a rack_map that cannot place every source rack and
// decides which targets may receive replicas.
func (pl *placer) checkRackMap(r *refusals, rackIndex map[string]int) {
	if len(pl.m.RackMap) == 0 {
		pl.allowed = make([]int, len(pl.targets))
		for i := range pl.allowed {
			pl.allowed[i] = i
		}
		return
	}
	sourceRacks := map[string][]int32{}
	for _, id := range pl.m.SourceBrokers {
		if rack, ok := pl.rackOf[id]; ok {
			sourceRacks[rack] = append(sourceRacks[rack], id)
		}
	}
	image := map[int]bool{}
	for _, src := range sortedStrings(setOfKeys(pl.m.RackMap)) {
		dst := pl.m.RackMap[src]
		loc := fmt.Sprintf("rack_map[%s]", src)
		if _, ok := sourceRacks[src]; !ok {
			r.add("mapping", loc, "no source broker is in rack %q (source racks: %v)", src, sortedStrings(setOfKeys(sourceRacks)))
		}
		if i, ok := rackIndex[dst]; ok {
			image[i] = true
		} else {
			r.add("mapping", loc, "no target broker is in rack %q (target racks: %v)", dst, pl.racks)
		}
	}
	for _, src := range sortedStrings(setOfKeys(sourceRacks)) {
		if src == "" {
			r.add("mapping", "rack_map", "source brokers %v have no rack, so rack_map cannot place their replicas: use broker_map, or leave both maps out", sourceRacks[src])
			continue
		}
		if _, ok := pl.m.RackMap[src]; !ok {
			r.add("mapping", "rack_map", "source rack %q (brokers %v) has no entry: say which target rack its replicas go to", src, sourceRacks[src])
		}
	}
	for _, id := range pl.m.SourceBrokers {
		if i, ok := rackIndex[pl.m.RackMap[pl.rackOf[id]]]; ok {
			pl.mappedRack.set(id, i)
		}
	}
	for i := range pl.targets {
		if image[pl.tRack[i]] {
			pl.allowed = append(pl.allowed, i)
		} else {
			pl.warn(WarnUnusedTarget, fmt.Sprintf("broker %d", pl.targets[i]), "its rack %q is not a rack_map target, so it receives no replicas", pl.racks[pl.tRack[i]])
		}
	}
}

func setOfKeys[V any](m map[string]V) map[string]bool {
	s := make(map[string]bool, len(m))
	for k := range m {
		s[k] = true
	}
	return s
}

func (pl *placer) warn(kind WarningKind, subject, format string, args ...any) {
	pl.warnings = append(pl.warnings, Warning{Kind: kind, Subject: subject, Message: fmt.Sprintf(format, args...)})
}

// collect finds the partitions to move, refuses what cannot be planned, and
// counts what already sits on the targets.
func (pl *placer) collect(r *refusals) {
	m := pl.m
	topics := make(map[string]bool, len(pl.snap.Topics))
	for i := range pl.snap.Topics {
		topics[pl.snap.Topics[i].Name] = true
	}
	excluded := map[string]bool{}
	for _, t := range m.Exclude {
		excluded[t] = true
		if !topics[t] {
			pl.warn(WarnUnknownTopic, t, "excluded topic is not in the snapshot; ignored")
		}
	}
	canary := map[string]int{}
	for i, t := range m.Canaries {
		if _, dup := canary[t]; !dup {
			canary[t] = i
		}
		if !topics[t] {
			pl.warn(WarnUnknownTopic, t, "canary topic is not in the snapshot; ignored")
		}
	}
	stray := map[int32][]string{}
	// One allocation for every part; the capacity is exact, so pointers
	// into it stay valid.
	slab := make([]part, 0, pl.snap.PartitionCount())
	var underReplicated, notPreferred, doneTopics []string
	done := 0
	for ti := range pl.snap.Topics {
		t := &pl.snap.Topics[ti]
		onTargets := 0
		maxRF, minRF := 0, 0
		for pi := range t.Partitions {
			sp := &t.Partitions[pi]
			if excluded[t.Name] {
				pl.count(sp.Replicas, sp.Size)
				continue
			}
			sources, foreign := 0, false
			for _, id := range sp.Replicas {
				switch {
				case pl.sources.has(id):
					sources++
				case pl.isTarget(id):
				default:
					stray[id] = append(stray[id], fmt.Sprintf("%s-%d", t.Name, sp.ID))
					foreign = true
				}
			}
			if foreign {
				continue
			}
			if sources == 0 {
				onTargets++
				pl.count(sp.Replicas, sp.Size)
				continue
			}
			current := len(sp.Replicas)
			if sources < current {
				current = plans.CurrentRF(t, sp, pl.isTarget)
			}
			rf := m.ReplicationFactor.For(t.Name, current)
			maxRF, minRF = max(maxRF, rf), minNonZero(minRF, rf)
			if sources < len(sp.Replicas) {
				pl.checkKept(r, t.Name, sp, rf)
			}
			if len(sp.ISR) < len(sp.Replicas) || sp.Leader == -1 {
				underReplicated = append(underReplicated, fmt.Sprintf("%s-%d", t.Name, sp.ID))
			} else if sp.Leader != sp.Replicas[0] {
				notPreferred = append(notPreferred, fmt.Sprintf("%s-%d", t.Name, sp.ID))
			}
			slab = append(slab, part{topic: t.Name, id: sp.ID, size: sp.Size, current: sp.Replicas, leader: sp.Leader, rf: rf, class: classOther})
			p := &slab[len(slab)-1]
			if i, ok := canary[t.Name]; ok {
				p.class, p.canary = classCanary, i
			} else if plans.IsInternalTopic(t.Name) {
				switch m.InternalTopics {
				case plans.InternalTopicsFirst:
					p.class = classInternalFirst
				case plans.InternalTopicsLast:
					p.class = classInternalLast
				}
			}
			pl.parts = append(pl.parts, p)
		}
		if onTargets > 0 {
			doneTopics = append(doneTopics, fmt.Sprintf("%s (%d)", t.Name, onTargets))
			done += onTargets
		}
		if maxRF > 0 {
			pl.checkRF(r, t, minRF, maxRF)
		}
	}
	if done > 0 {
		pl.warn(WarnAlreadyOnTargets, fmt.Sprintf("%d partitions", done), "partitions of %s are already on target brokers only and are left as they are", examples(doneTopics, 10))
	}
	if len(pl.atMinISR) > 0 {
		pl.warn(WarnRFAtMinISR, fmt.Sprintf("%d topics", len(pl.atMinISR)), "%s: target replication factor equals min.insync.replicas, so one replica down stops producers with acks=all", examples(pl.atMinISR, 10))
	}
	if len(pl.rf1) > 0 {
		pl.warn(WarnRFAtMinISR, fmt.Sprintf("%d topics", len(pl.rf1)), "%s: target replication factor 1, so one broker down takes each of their partitions offline (no replica left to lead them: no producer or consumer gets through) until it is back, and a lost disk loses their data", examples(pl.rf1, 10))
	}
	if len(pl.fewRacks) > 0 {
		pl.warn(WarnFewerRacksThanRF, fmt.Sprintf("%d topics", len(pl.fewRacks)), "%s: replication factor above the %d target racks, so some replicas share a rack", examples(pl.fewRacks, 10), pl.allowedRacks())
	}
	if len(underReplicated) > 0 {
		pl.warn(WarnUnderReplicated, fmt.Sprintf("%d partitions", len(underReplicated)), "%s are under-replicated or offline in the snapshot: apply refuses their steps until they are in sync", examples(underReplicated, 10))
	}
	if len(notPreferred) > 0 {
		pl.warn(WarnLeaderNotPreferred, fmt.Sprintf("%d partitions", len(notPreferred)), "%s are not led by their preferred replica; estimates count the actual leader as the sender of their copies", examples(notPreferred, 10))
	}
	for _, id := range sortedIDs(stray) {
		r.add("snapshot", fmt.Sprintf("broker %d", id), "holds replicas of %s but is neither a source nor a target in the mapping: add it to source_brokers, or exclude those topics", examples(stray[id], 10))
	}
}

// checkKept refuses a partition caught mid-move whose target replicas the
// plan could not keep: more of them than the target RF, on a target rack_map
// does not use, or two in one rack (the plan would have to drop a target
// replica, which no phase does).
func (pl *placer) checkKept(r *refusals, topic string, sp *plans.Partition, rf int) {
	var kept []int32
	for _, id := range sp.Replicas {
		if pl.isTarget(id) {
			kept = append(kept, id)
		}
	}
	why := ""
	switch {
	case len(kept) > rf:
		why = fmt.Sprintf("more than the target replication factor %d", rf)
	case len(pl.m.BrokerMap) > 0:
	case slices.ContainsFunc(kept, func(id int32) bool { return !pl.eligible(pl.tIndex.at(id)) }):
		why = "some in a rack rack_map does not map onto"
	case distinctRacks(pl, kept) < min(len(kept), pl.allowedRacks()):
		why = "two in one rack while another rack is free"
	}
	if why != "" {
		r.add("snapshot", fmt.Sprintf("partition %s-%d", topic, sp.ID), "replicas %v are partly on target brokers %v, %s: finish or undo that reassignment, then take a fresh snapshot", sp.Replicas, kept, why)
	}
}

func minNonZero(a, b int) int {
	if a == 0 {
		return b
	}
	return min(a, b)
}

func (pl *placer) isTarget(id int32) bool {
	return pl.tIndex.has(id)
}

// checkRF refuses target RFs that cannot be placed or that break
// min.insync.replicas, and warns where they leave no margin.
func (pl *placer) checkRF(r *refusals, t *plans.Topic, minRF, maxRF int) {
	loc := "topic " + t.Name
	minISR := t.MinInsyncReplicas()
	if minRF < minISR {
		r.add("mapping", loc, "target replication factor %d is below min.insync.replicas %d: producers with acks=all would fail; raise the RF or lower min.insync.replicas first", minRF, minISR)
	} else if minRF == 1 {
		pl.rf1 = append(pl.rf1, t.Name)
	} else if minRF == minISR {
		pl.atMinISR = append(pl.atMinISR, fmt.Sprintf("%s (RF %d)", t.Name, minRF))
	}
	if maxRF > len(pl.allowed) {
		where := "target brokers"
		if len(pl.m.RackMap) > 0 {
			where = "target brokers in the racks rack_map maps onto"
		}
		r.add("mapping", loc, "target replication factor %d is more than the %d %s", maxRF, len(pl.allowed), where)
		return
	}
	if racks := pl.allowedRacks(); racks < maxRF {
		pl.fewRacks = append(pl.fewRacks, fmt.Sprintf("%s (RF %d)", t.Name, maxRF))
	}
}

// allowedRacks counts the racks of the targets that may receive replicas.
func (pl *placer) allowedRacks() int {
	if pl.nAllowedRacks == 0 {
		seen := map[int]bool{}
		for _, i := range pl.allowed {
			seen[pl.tRack[i]] = true
		}
		pl.nAllowedRacks = len(seen)
	}
	return pl.nAllowedRacks
}

func sortedIDs[V any](m map[int32]V) []int32 {
	ids := make([]int32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// count adds replicas that stay where they are to the target loads.
func (pl *placer) count(replicas []int32, size plans.ByteSize) {
	for j, id := range replicas {
		if i := pl.tIndex.at(id); i >= 0 {
			pl.replicas[i]++
			pl.bytes[i] += size
			if j == 0 {
				pl.leaders[i]++
				pl.leadBytes[i] += size
			}
		}
	}
}

// place chooses every moved partition's final replica list. A broker_map
// keeps its 1:1 layout (placeMapped); otherwise placeBalanced spreads
// replicas, bytes and disk fill together.
func (pl *placer) place() {
	order := pl.sortParts(func(p *part) (int64, int64) { return -int64(p.size), 0 })
	for _, p := range order {
		pl.largest = max(pl.largest, p.size)
	}
	if len(pl.m.BrokerMap) > 0 {
		pl.placeMapped(order)
	} else {
		pl.placeBalanced(order)
	}
	if len(pl.collisions) > 0 {
		pl.warn(WarnBrokerMapCollision, fmt.Sprintf("%d partitions", len(pl.collisions)), "broker_map sends two replicas of %s to one target; the second goes to the least loaded other target", examples(pl.collisions, 10))
	}
}

// placeMapped places the partitions of a broker_map plan: each replica goes
// where the map sends it, largest partitions first, and a collision to the
// least loaded other target by (replicas, bytes, id).
func (pl *placer) placeMapped(order []*part) {
	chosen := make([]int, 0, 8)
	usedRack := make([]bool, len(pl.racks))
	taken := make([]bool, len(pl.targets))
	for _, p := range order {
		chosen = pl.choose(p, chosen[:0], usedRack, taken)
		final := pl.slab.make(len(chosen))
		for k, i := range chosen {
			final[k] = pl.targets[i]
		}
		p.final = final
		pl.count(final, p.size)
		for _, i := range chosen {
			if !slices.Contains(p.current, pl.targets[i]) {
				pl.placed[i]++
			}
		}
		pl.placedLeaders[pl.tIndex.at(final[0])]++
		for _, i := range chosen {
			usedRack[pl.tRack[i]] = false
			taken[i] = false
		}
	}
}

// spreadLeaders evens out leadership after placement: while a partition is
// led by a broker that leads at least two more partitions than another of its
// replicas, that replica leads instead. Each change lowers the sum of squared
// leader counts, so this ends; it only reorders final lists (bytes and
// replica counts stay). A broker_map keeps its 1:1 leaders.
func (pl *placer) spreadLeaders() {
	if len(pl.m.BrokerMap) > 0 {
		return
	}
	for changed := true; changed; {
		changed = false
		for _, p := range pl.parts {
			a := pl.tIndex.at(p.final[0])
			best, bi := 0, a
			for k := 1; k < len(p.final); k++ {
				if b := pl.tIndex.at(p.final[k]); pl.leaders[b] < pl.leaders[bi] {
					best, bi = k, b
				}
			}
			if pl.leaders[a]-pl.leaders[bi] < 2 {
				continue
			}
			pl.handLead(p, best)
			changed = true
		}
	}
	pl.shiftLeaderChains()
}

// handLead makes p.final[k] lead p instead of p.final[0].
func (pl *placer) handLead(p *part, k int) {
	a, b := pl.tIndex.at(p.final[0]), pl.tIndex.at(p.final[k])
	p.final[0], p.final[k] = p.final[k], p.final[0]
	pl.leaders[a]--
	pl.placedLeaders[a]--
	pl.leadBytes[a] -= p.size
	pl.leaders[b]++
	pl.placedLeaders[b]++
	pl.leadBytes[b] += p.size
}

// shiftLeaderChains finishes what direct hand-overs cannot: while the most
// loaded broker leads two more partitions than the least loaded one, it finds
// a chain of partitions (breadth first) along which leadership can shift one
// place each (hi -> x -> ... -> lo), leaving the brokers in between unchanged.
// It stops when no chain exists (the replica sets do not allow better).
func (pl *placer) shiftLeaderChains() {
	n := len(pl.targets)
	led := make([][]*part, n)
	for _, p := range pl.parts {
		i := pl.tIndex.at(p.final[0])
		led[i] = append(led[i], p)
	}
	via := make([]*part, n)
	from := make([]int, n)
	visited := make([]bool, n)
	queue := make([]int, 0, n)
	for {
		lo, hi := -1, -1
		for _, i := range pl.allowed {
			if lo < 0 || pl.leaders[i] < lo {
				lo = pl.leaders[i]
			}
			hi = max(hi, pl.leaders[i])
		}
		if hi-lo < 2 {
			return
		}
		clear(visited)
		queue = queue[:0]
		for _, i := range pl.allowed {
			if pl.leaders[i] == hi {
				visited[i], from[i] = true, -1
				queue = append(queue, i)
			}
		}
		found := -1
	search:
		for q := 0; q < len(queue); q++ {
			a := queue[q]
			for _, p := range led[a] {
				for _, id := range p.final[1:] {
					b := pl.tIndex.at(id)
					if visited[b] {
						continue
					}
					visited[b], via[b], from[b] = true, p, a
					if pl.leaders[b] <= hi-2 {
						found = b
						break search
					}
					queue = append(queue, b)
				}
			}
		}
		if found < 0 {
			return
		}
		for b := found; from[b] >= 0; b = from[b] {
			p, a := via[b], from[b]
			pl.handLead(p, slices.Index(p.final, pl.targets[b]))
			led[a] = slices.Delete(led[a], slices.Index(led[a], p), slices.Index(led[a], p)+1)
			led[b] = append(led[b], p)
		}
	}
}

// choose picks the target indices of p's replicas under a broker_map, in
// order of preference.
func (pl *placer) choose(p *part, chosen []int, usedRack, taken []bool) []int {
	add := func(i int) {
		chosen = append(chosen, i)
		usedRack[pl.tRack[i]] = true
		taken[i] = true
	}
	// Replicas already on a target keep their data (checkKept made sure
	// they can all stay).
	for _, id := range p.current {
		if i := pl.tIndex.at(id); i >= 0 {
			add(i)
		}
	}
	for _, id := range p.current {
		dst, ok := pl.m.BrokerMap[id]
		if !ok || len(chosen) >= p.rf {
			continue
		}
		if i := pl.tIndex.at(dst); !taken[i] {
			add(i)
		} else {
			pl.collisions = append(pl.collisions, p.name())
		}
	}
	// Fill up: a rack not yet used if there is one, else any free target.
	for len(chosen) < p.rf {
		i := pl.leastLoaded(pl.allowed, taken, usedRack, true)
		if i < 0 {
			i = pl.leastLoaded(pl.allowed, taken, usedRack, false)
		}
		if i < 0 {
			break // refused earlier: RF above the eligible targets
		}
		add(i)
	}
	return chosen
}

func (pl *placer) eligible(i int) bool { return pl.isAllowed[i] }

// leastLoaded returns the candidate with the fewest replicas, then fewest
// bytes, then lowest id (candidates are in id order), skipping taken
// brokers and, with newRack, brokers in racks already used; -1 if none.
func (pl *placer) leastLoaded(candidates []int, taken, usedRack []bool, newRack bool) int {
	best := -1
	for _, i := range candidates {
		if taken[i] || (newRack && usedRack[pl.tRack[i]]) {
			continue
		}
		if best < 0 || pl.replicas[i] < pl.replicas[best] || (pl.replicas[i] == pl.replicas[best] && pl.bytes[i] < pl.bytes[best]) {
			best = i
		}
	}
	return best
}

// balance reports the final load of every target broker.
func (pl *placer) balance() Balance {
	loads := make([]plans.BrokerLoad, len(pl.targets))
	for i, id := range pl.targets {
		loads[i] = plans.BrokerLoad{Broker: id, Rack: pl.racks[pl.tRack[i]], Replicas: pl.replicas[i], Leaders: pl.leaders[i], Bytes: pl.bytes[i], Placed: pl.placed[i], PlacedLeaders: pl.placedLeaders[i], Capacity: pl.capacity[i]}
	}
	return plans.MeasureBalance(pl.balanceScope(), loads, pl.largest)
}

func (pl *placer) balanceScope() plans.BalanceScope {
	return plans.CheckOptionsFor(pl.m).Balance
}

// finalWarnings adds the warnings that need the final placement.
func (pl *placer) finalWarnings(b Balance) {
	racks := pl.allowedRacks()
	var shared []string
	for _, p := range pl.parts {
		if distinctRacks(pl, p.final) < min(len(p.final), racks) {
			shared = append(shared, p.name())
		}
	}
	if len(shared) > 0 {
		pl.warn(WarnRackSpread, fmt.Sprintf("%d partitions", len(shared)), "%s end with replicas sharing a rack although the target racks allow a spread", examples(shared, 10))
	}
	for _, l := range b.Brokers {
		if l.Replicas == 0 && pl.eligible(pl.tIndex.at(l.Broker)) {
			pl.warn(WarnUnusedTarget, fmt.Sprintf("broker %d", l.Broker), "receives no replicas")
		}
	}
	pl.diskWarnings()
	pl.rackWarnings()
	problems := b.Problems()
	for i, msg := range problems {
		if i == 10 {
			pl.warn(WarnBalance, "target brokers", "and %d more brokers outside the balance bounds", len(problems)-10)
			break
		}
		pl.warn(WarnBalance, "target brokers", "%s", msg)
	}
	if len(problems) > 0 {
		pl.balanceReasons()
	}
}

// rackMeans returns the mean bytes per broker of each rack's brokers that
// may receive replicas, and of all of them.
func (pl *placer) rackMeans() ([]float64, float64) {
	sum, size := make([]float64, len(pl.racks)), make([]int, len(pl.racks))
	var all float64
	for _, i := range pl.allowed {
		sum[pl.tRack[i]] += float64(pl.bytes[i])
		size[pl.tRack[i]]++
		all += float64(pl.bytes[i])
	}
	for r := range sum {
		if size[r] > 0 {
			sum[r] /= float64(size[r])
		}
	}
	return sum, all / float64(max(len(pl.allowed), 1))
}

// diskWarnings warns about targets over their disk or their fill limit,
// with what put them there.
func (pl *placer) diskWarnings() {
	means, _ := pl.rackMeans()
	for i, id := range pl.targets {
		c, limit := pl.capacity[i], pl.fillCap[i]
		if c == 0 || pl.bytes[i] <= limit {
			continue
		}
		kind, over := WarnOverFill, fmt.Sprintf("the fill limit %.0f%%", 100*pl.maxFill)
		if pl.bytes[i] > c {
			kind, over = WarnOverCapacity, "its disk"
		}
		why := ""
		switch rack := pl.tRack[i]; {
		case pl.heldBytes != nil && pl.heldBytes[i] > limit:
			why = fmt.Sprintf("it held %s before the plan (partitions already on targets, excluded topics, replicas kept from a reassignment caught mid-move)", pl.heldBytes[i])
		case means[rack] > float64(limit):
			why = fmt.Sprintf("its rack %q must hold %s per broker on average, as rack spread and the mapping send it its share of every partition: add brokers or disk to rack %q, or lower the replication factor", pl.racks[rack], plans.ByteSize(means[rack]), pl.racks[rack])
		default:
			why = fmt.Sprintf("the partition sizes left no broker of its rack with room (largest partition %s)", pl.largest)
		}
		pl.warn(kind, fmt.Sprintf("broker %d", id), "ends with %s, %.1f%% of its %s disk, above %s (%s): %s", pl.bytes[i], 100*float64(pl.bytes[i])/float64(c), c, over, plans.ByteSize(float64(c)*pl.maxFill), why)
	}
}

// rackConcentration is how far above the mean of all targets a rack's
// brokers may end, in bytes per broker, before the plan warns.
const rackConcentration = 1.2

// rackWarnings warns when uneven racks concentrate data: rack spread sends
// a rack its share of every partition however few brokers it has.
func (pl *placer) rackWarnings() {
	if len(pl.m.BrokerMap) > 0 {
		return
	}
	means, all := pl.rackMeans()
	for r, mean := range means {
		if all > 0 && mean > rackConcentration*all {
			pl.warn(WarnRackConcentration, fmt.Sprintf("rack %s", pl.racks[r]), "its %d brokers end with %s each on average, %.2f× the mean of all targets (%s): rack spread gives a rack its share of every partition however few brokers it has; add brokers to it, or check its disks", len(pl.rackPool[r]), plans.ByteSize(mean), mean/all, plans.ByteSize(all))
		}
	}
}

// balanceReasons says what kept the plan from its balance bounds, where the
// planner can tell.
func (pl *placer) balanceReasons() {
	if pl.heldReplicas != nil {
		var replicas int
		var bytes plans.ByteSize
		for i := range pl.targets {
			replicas += pl.heldReplicas[i]
			bytes += pl.heldBytes[i]
		}
		if replicas > 0 {
			pl.warn(WarnBalance, "target brokers", "before the plan the targets already held %d replicas (%s) that it cannot move (partitions already on targets, excluded topics, replicas kept from a reassignment caught mid-move); it balances around them as far as their counts and sizes allow", replicas, bytes)
		}
	}
	var limited []string
	for i, id := range pl.targets {
		if pl.fillCap[i] > 0 && pl.bytes[i]+pl.largest/2 > pl.fillCap[i] {
			limited = append(limited, fmt.Sprint(id))
		}
	}
	if len(limited) > 0 {
		pl.warn(WarnBalance, "target brokers", "brokers %s are at their fill limit %.0f%%, so they take fewer or smaller partitions than their peers", examples(limited, 10), 100*pl.maxFill)
	}
}

// distinctRacks counts the racks of target replicas ids (a handful: a
// quadratic scan beats a map).
func distinctRacks(pl *placer, ids []int32) int {
	n := 0
	for k, id := range ids {
		rack, seen := pl.tRack[pl.tIndex.at(id)], false
		for _, prev := range ids[:k] {
			if pl.tRack[pl.tIndex.at(prev)] == rack {
				seen = true
				break
			}
		}
		if !seen {
			n++
		}
	}
	return n
}
