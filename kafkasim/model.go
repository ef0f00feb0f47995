package kafkasim

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"
)

// avgRecordBytes turns bytes written by SetPartitionSize and inbound rates
// into offsets: one record per KiB.
const avgRecordBytes = 1024

// fetchStep is the size steps a copying replica's log grows in, as seen by
// DescribeLogDirs: one replica fetch's worth of record batches, a little
// under replica.fetch.max.bytes (items 20 and 31 saw 983,266 bytes).
const fetchStep = 983266

type topic struct {
	name       string
	id         [16]byte
	configs    map[string]string
	partitions []*partition
	// leaderThrottle and followerThrottle are the throttled-replica lists the
	// brokers enforce: the last value that parsed (item 15: an unparsable
	// value leaves the earlier one in force).
	leaderThrottle, followerThrottle throttleList
	// deleted is set when the topic is deleted, for the partitions still
	// indexed as busy or in flight.
	deleted bool
}

type partition struct {
	topic *topic
	id    int32

	replicas []int32
	leader   int32
	epoch    int32
	isr      []int32 // the truth, in join order

	// shownISR is what Metadata reports; pending holds changes not yet
	// visible (item 21).
	shownISR []int32
	pending  []isrChange

	size   float64 // leader's log size in bytes
	offset float64 // log end offset
	// start is the log start offset (0 unless SetLogOffsets moved it);
	// listOffsetsErr is the error code SetListOffsetsError makes the
	// leader answer ListOffsets with (0: none).
	start          int64
	listOffsetsErr int16
	// have holds the log size of every replica not in the ISR (copying,
	// catching up or down); in-sync replicas have size.
	have    map[int32]float64
	inbound float64 // bytes/s producers write

	// origin and target are set while a reassignment is in flight (KIP-455).
	origin, target []int32

	// view is what every broker's Metadata shows; versions are the
	// controller's changes since, not yet learnt by every broker
	// (Config.MetadataLag, item 24).
	view     metaView
	versions []metaVersion
}

type isrChange struct {
	at  time.Time
	isr []int32
}

func (p *partition) moving() bool { return p.target != nil }

// adding is target − origin (item 1).
func (p *partition) adding() []int32 { return minus(p.target, p.origin) }

// removing is origin − target (item 1).
func (p *partition) removing() []int32 { return minus(p.origin, p.target) }

func (p *partition) inISR(r int32) bool { return slices.Contains(p.isr, r) }

func (p *partition) replicaSize(r int32) float64 {
	if p.inISR(r) {
		return p.size
	}
	return p.have[r]
}

func (c *Cluster) createTopicLocked(name string, assignment [][]int32, configs map[string]string) error {
	if name == "" {
		return errors.New("topic name is empty")
	}
	if _, ok := c.topics[name]; ok {
		return errors.New("topic already exists")
	}
	if len(assignment) == 0 {
		return errors.New("no partitions given")
	}
	for i, rs := range assignment {
		if err := c.validReplicaList(rs); err != nil {
			return fmt.Errorf("partition %d: replicas %v: %w", i, rs, err)
		}
	}
	t := &topic{name: name, configs: make(map[string]string)}
	h := sha256.Sum256([]byte(c.cfg.ClusterID + "/" + name))
	copy(t.id[:], h[:16])
	for k, v := range configs {
		t.configs[k] = v
	}
	t.leaderThrottle, _ = parseThrottleList(t.configs[LeaderThrottledKey])
	t.followerThrottle, _ = parseThrottleList(t.configs[FollowerThrottledKey])
	for i, rs := range assignment {
		p := &partition{topic: t, id: int32(i), replicas: clone(rs), have: make(map[int32]float64), leader: -1}
		for _, r := range rs {
			if c.brokers[r].alive {
				p.isr = append(p.isr, r)
			}
		}
		if len(p.isr) == 0 {
			p.isr = []int32{rs[0]}
		} else {
			p.leader = p.isr[0]
		}
		for _, r := range rs {
			if !p.inISR(r) {
				c.lag(p, r, 0)
			}
		}
		p.shownISR = clone(p.isr)
		c.resetView(p)
		t.partitions = append(t.partitions, p)
	}
	c.topics[name] = t
	c.topicNames, c.onBroker = nil, nil
	return nil
}

// loadISRLocked applies a snapshot's ISR and leader to a fresh partition.
func (c *Cluster) loadISRLocked(p *partition, isr []int32, leader int32) {
	p.isr = nil
	for _, r := range isr {
		if slices.Contains(p.replicas, r) && !p.inISR(r) {
			p.isr = append(p.isr, r)
		}
	}
	if len(p.isr) == 0 {
		p.isr = []int32{p.replicas[0]}
	}
	p.have = make(map[int32]float64)
	for _, r := range p.replicas {
		if !p.inISR(r) {
			c.lag(p, r, 0)
		}
	}
	p.leader = -1
	if slices.Contains(p.isr, leader) && c.alive(leader) {
		p.leader = leader
	} else if l := c.firstAliveInISR(p, p.replicas); l != -1 {
		p.leader = l
	}
	p.shownISR = clone(p.isr)
	c.resetView(p)
}

// validReplicaList checks a replica list the way the controller does for
// reassignments and creation: non-empty, no duplicates, no negative or unknown
// broker ids (item 8).
func (c *Cluster) validReplicaList(rs []int32) error {
	if len(rs) == 0 {
		return errors.New("replica list is empty")
	}
	seen := make(map[int32]bool, len(rs))
	for _, r := range rs {
		if r < 0 {
			return fmt.Errorf("broker id %d is negative", r)
		}
		if seen[r] {
			return fmt.Errorf("broker %d is listed twice", r)
		}
		seen[r] = true
		if _, ok := c.brokers[r]; !ok {
			return fmt.Errorf("broker %d does not exist", r)
		}
	}
	return nil
}

// lag records that replica r of p is out of sync holding size bytes, and
// marks p busy so that advancing time looks at it.
func (c *Cluster) lag(p *partition, r int32, size float64) {
	p.have[r] = size
	c.busy[p] = struct{}{}
}

func (c *Cluster) alive(id int32) bool {
	b, ok := c.brokers[id]
	return ok && b.alive
}

// firstAliveInISR returns the first replica of order that is alive and in the
// ISR, -1 when none is.
func (c *Cluster) firstAliveInISR(p *partition, order []int32) int32 {
	for _, r := range order {
		if c.alive(r) && p.inISR(r) {
			return r
		}
	}
	return -1
}

// setISR changes the true ISR and schedules when Metadata shows it: changes
// by the controller ~1 s later, by leaders 0.5-7.5 s later (item 21).
func (c *Cluster) setISR(p *partition, isr []int32, byController bool) {
	p.isr = isr
	if !c.cfg.ISRLag {
		p.shownISR = clone(isr)
		p.pending = nil
		c.touch(p)
		return
	}
	delay := time.Second
	if !byController {
		delay = 500*time.Millisecond + time.Duration(c.lagHash(p)%uint64(7*time.Second))
	}
	at := c.now.Add(delay)
	if n := len(p.pending); n > 0 && p.pending[n-1].at.After(at) {
		at = p.pending[n-1].at
	}
	p.pending = append(p.pending, isrChange{at: at, isr: clone(isr)})
	c.delayed[p] = struct{}{}
}

// lagHash picks a leader's ISR change delay from the seed, the partition,
// its ISR and the time, so that it does not depend on the order in which
// partitions are visited.
func (c *Cluster) lagHash(p *partition) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d/%v/%d", c.cfg.Seed, p.topic.name, p.id, p.isr, c.now.UnixNano())
	return h.Sum64()
}

// joinISR adds a caught-up replica to the ISR (a leader's change: no epoch
// bump, item 5) and completes the reassignment when every target replica is
// in sync.
func (c *Cluster) joinISR(p *partition, r int32) {
	delete(p.have, r)
	c.setISR(p, append(clone(p.isr), r), false)
	if p.moving() && subset(p.target, p.isr) {
		c.completeLocked(p)
	}
}

// settleLocked puts into the ISR every live replica whose log already matches
// the leader's (after a size change or a restart with nothing to copy).
func (c *Cluster) settleLocked(p *partition) {
	if p.leader == -1 || !c.alive(p.leader) {
		return
	}
	for _, r := range clone(p.replicas) {
		if !p.inISR(r) && c.alive(r) && p.have[r] >= p.size {
			c.joinISR(p, r)
		}
	}
}

// completeLocked finishes a reassignment: the replica list becomes the target,
// removing replicas leave the ISR and lose their logs, and if the leader was
// removed the first target replica alive and in sync leads (item 4). Epoch: +1
// plus 1 per removed replica (item 5).
func (c *Cluster) completeLocked(p *partition) {
	removed := p.removing()
	p.replicas = clone(p.target)
	c.onBroker = nil
	p.origin, p.target = nil, nil
	isr := intersect(p.isr, p.replicas)
	if len(isr) == 0 {
		isr = []int32{p.replicas[0]}
	}
	for _, r := range removed {
		c.deleteLog(p, r)
	}
	p.epoch += 1 + int32(len(removed))
	c.setISR(p, isr, true)
	if !slices.Contains(p.replicas, p.leader) {
		p.leader = c.firstAliveInISR(p, p.replicas)
	}
	c.touch(p)
}

// deleteLog deletes replica r's log of p: at once, after LogDeleteDelay, or,
// when its broker is down, never (it stays on disk, item 11).
func (c *Cluster) deleteLog(p *partition, r int32) {
	size := int64(p.replicaSize(r))
	delete(p.have, r)
	b := c.brokers[r]
	name := p.topic.name
	switch {
	case !b.alive:
		if b.stray[name] == nil {
			b.stray[name] = make(map[int32]int64)
		}
		b.stray[name][p.id] = size
	case c.cfg.LogDeleteDelay > 0:
		if b.deleting[name] == nil {
			b.deleting[name] = make(map[int32]deletingLog)
		}
		b.deleting[name][p.id] = deletingLog{size: size, until: c.now.Add(c.cfg.LogDeleteDelay)}
	}
}

// deletingLog is a removed replica's log waiting for deletion.
type deletingLog struct {
	size  int64
	until time.Time
}

// reassignLocked submits a reassignment to target (validated by the caller).
// A reassignment in flight is replaced, computed from its origin (item 6)
// taken in the current replica order, as the controller takes it (the
// replicas less those being added, item 28); one with nothing to copy
// completes inside the call (item 2).
func (c *Cluster) reassignLocked(p *partition, target []int32) {
	origin := p.replicas
	replacing := p.moving()
	if replacing {
		adding := p.adding()
		origin = minus(p.replicas, adding)
		// Adding replicas the new target drops lose their data.
		for _, r := range minus(adding, target) {
			c.dropReplica(p, r)
		}
	}
	p.origin, p.target = clone(origin), clone(target)
	p.replicas = append(clone(target), minus(origin, target)...)
	c.onBroker = nil
	c.inFlight[p] = struct{}{}
	c.touch(p)
	for _, r := range p.adding() {
		if _, ok := p.have[r]; !ok && !p.inISR(r) {
			c.lag(p, r, 0)
		}
	}
	if subset(p.target, p.isr) {
		if replacing {
			p.epoch++
		}
		c.completeLocked(p)
		return
	}
	p.epoch++
	c.settleLocked(p)
}

// cancelLocked reverts a reassignment: the origin set in the current order
// (item 7); adding replicas lose their data; epoch +1 (item 5).
func (c *Cluster) cancelLocked(p *partition) {
	for _, r := range p.adding() {
		c.dropReplica(p, r)
	}
	p.replicas = intersect(p.replicas, p.origin)
	c.onBroker = nil
	p.origin, p.target = nil, nil
	p.epoch++
	if !slices.Contains(p.replicas, p.leader) {
		p.leader = c.firstAliveInISR(p, p.replicas)
	}
	c.touch(p)
}

// dropReplica deletes a replica being added (its log and ISR membership).
func (c *Cluster) dropReplica(p *partition, r int32) {
	c.deleteLog(p, r)
	if p.inISR(r) {
		isr := minus(p.isr, []int32{r})
		if len(isr) == 0 {
			isr = []int32{r}
		}
		c.setISR(p, isr, true)
	}
	if p.leader == r {
		p.leader = c.firstAliveInISR(p, p.replicas)
		c.touch(p)
	}
}

// brokerDownLocked applies a clean shutdown of broker id to every partition:
// it leaves the ISR (unless it is the last member) and its leadership fails
// over to the first live ISR member in replica order, or the partition goes
// offline. Each controller change bumps the epoch.
func (c *Cluster) brokerDownLocked(id int32) {
	for _, t := range c.topics {
		for _, p := range t.partitions {
			if !slices.Contains(p.replicas, id) {
				continue
			}
			if !p.inISR(id) {
				continue
			}
			changed := false
			if len(p.isr) > 1 {
				c.lag(p, id, p.size)
				c.setISR(p, minus(p.isr, []int32{id}), true)
				changed = true
			}
			if p.leader == id {
				p.leader = c.firstAliveInISR(p, p.replicas)
				changed = true
			}
			if changed {
				p.epoch++
				c.touch(p)
			}
		}
	}
}

// brokerUpLocked applies a restart of broker id: offline partitions whose
// last ISR member it is get it as leader; its other replicas catch up from
// the data they kept.
func (c *Cluster) brokerUpLocked(id int32) {
	for _, t := range c.topics {
		for _, p := range t.partitions {
			if !slices.Contains(p.replicas, id) {
				continue
			}
			if p.leader == -1 && p.inISR(id) {
				p.leader = id
				p.epoch++
				c.touch(p)
			}
			c.settleLocked(p)
		}
	}
}

// advanceLocked brings the model to the clock's time: copies progress,
// replicas that caught up join the ISR, reassignments complete, the automatic
// leader rebalance runs, and ISR changes become visible. It steps from event
// to event (a copy catching up, a rebalance check), so a long jump is cheap.
func (c *Cluster) advanceLocked() {
	// What changed since the last call changed at c.now: send it before
	// time moves on.
	c.sendMetadataLocked()
	target := c.clock.Now()
	for c.now.Before(target) {
		copies := c.copiesLocked()
		step := target.Sub(c.now)
		if c.rebalanceOn() && c.nextRebalance.Sub(c.now) < step {
			step = max(c.nextRebalance.Sub(c.now), 0)
		}
		for _, b := range c.brokers {
			if !b.expireAt.IsZero() && b.expireAt.Sub(c.now) < step {
				step = max(b.expireAt.Sub(c.now), 0)
			}
		}
		for _, cp := range copies {
			gap := cp.p.size - cp.p.have[cp.r]
			if net := cp.rate - cp.p.inbound; net > 0 {
				if d := time.Duration(math.Ceil(gap / net * float64(time.Second))); d < step {
					step = d
				}
			}
		}
		c.integrate(copies, step.Seconds())
		c.now = c.now.Add(step)
		for _, cp := range copies {
			if cp.p.size-cp.p.have[cp.r] < 1 && !cp.p.inISR(cp.r) && slices.Contains(cp.p.replicas, cp.r) {
				c.joinISR(cp.p, cp.r)
			}
		}
		for _, id := range c.brokerIDsLocked() {
			if b := c.brokers[id]; !b.expireAt.IsZero() && !b.expireAt.After(c.now) {
				c.expireLocked(id)
			}
		}
		if !c.nextRebalance.After(c.now) {
			if c.rebalanceOn() {
				c.rebalanceLocked()
			}
			for !c.nextRebalance.After(c.now) {
				c.nextRebalance = c.nextRebalance.Add(c.cfg.RebalanceInterval)
			}
		}
		c.sendMetadataLocked()
	}
	c.publishLocked()
	c.sendMetadataLocked()
}

// integrate moves every log forward by dt seconds: leaders grow at their
// inbound rate (in-sync followers with them), copies at their rate, never
// past their leader.
func (c *Cluster) integrate(copies []copyFlow, dt float64) {
	if dt <= 0 {
		return
	}
	for p := range c.busy {
		if p.inbound > 0 && p.leader != -1 {
			p.size += p.inbound * dt
			p.offset += p.inbound * dt / avgRecordBytes
		}
	}
	for _, cp := range copies {
		v := cp.p.have[cp.r] + cp.rate*dt
		if v > cp.p.size {
			v = cp.p.size
		}
		cp.p.have[cp.r] = v
	}
}

// publishLocked makes ISR changes whose lag has passed visible in Metadata.
func (c *Cluster) publishLocked() {
	if !c.cfg.ISRLag {
		return
	}
	for p := range c.delayed {
		for len(p.pending) > 0 && !p.pending[0].at.After(c.now) {
			p.shownISR = p.pending[0].isr
			p.pending = p.pending[1:]
			c.touch(p)
		}
		if len(p.pending) == 0 {
			delete(c.delayed, p)
		}
	}
}

func (c *Cluster) rebalanceOn() bool {
	b, ok := c.brokers[c.controller]
	return ok && b.static[AutoLeaderRebalanceKey] == "true"
}

// rebalanceLocked is the controller's periodic preferred-leader check (item
// 19): for each broker whose share of preferred partitions it does not lead
// exceeds leader.imbalance.per.broker.percentage, elect it where it is alive
// and in sync. It does nothing while any reassignment is in flight.
func (c *Cluster) rebalanceLocked() {
	for p := range c.inFlight {
		if !p.topic.deleted && p.moving() {
			return
		}
		delete(c.inFlight, p)
	}
	pct := 10.0
	if b, ok := c.brokers[c.controller]; ok {
		if v, err := strconv.ParseFloat(b.static[ImbalancePercentageKey], 64); err == nil {
			pct = v
		}
	}
	// Counted in slices indexed by broker id: this runs over every partition
	// at every check.
	maxID := int32(0)
	for id := range c.brokers {
		maxID = max(maxID, id)
	}
	preferred := make([]int, maxID+1)
	notLed := make([]int, maxID+1)
	for _, t := range c.topics {
		for _, p := range t.partitions {
			preferred[p.replicas[0]]++
			if p.leader != p.replicas[0] {
				notLed[p.replicas[0]]++
			}
		}
	}
	over := make([]bool, maxID+1)
	for id, n := range notLed {
		over[id] = n > 0 && c.alive(int32(id)) && float64(n)/float64(preferred[id]) > pct/100
	}
	for _, t := range c.topics {
		for _, p := range t.partitions {
			if id := p.replicas[0]; over[id] && p.leader != id && p.inISR(id) {
				p.leader = id
				p.epoch++
				c.touch(p)
			}
		}
	}
}

// replicasOnLocked returns the partitions with a replica on broker id, in
// topic and partition order. DescribeLogDirs asks it of every broker, and
// scanning a 200,000-partition cluster 120 times was most of what
// `kshift snapshot` waited for; the index is built in one pass and dropped
// whenever a replica list changes or a topic comes or goes. Callers must not
// change the slice.
func (c *Cluster) replicasOnLocked(id int32) []*partition {
	if c.onBroker == nil {
		c.onBroker = make(map[int32][]*partition, len(c.brokers))
		for _, name := range c.sortedTopicsLocked() {
			for _, p := range c.topics[name].partitions {
				for _, r := range p.replicas {
					c.onBroker[r] = append(c.onBroker[r], p)
				}
			}
		}
	}
	return c.onBroker[id]
}
