package kafkasim

import (
	"container/heap"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Config keys the double gives meaning to.
const (
	LeaderRateKey          = "leader.replication.throttled.rate"
	FollowerRateKey        = "follower.replication.throttled.rate"
	LeaderThrottledKey     = "leader.replication.throttled.replicas"
	FollowerThrottledKey   = "follower.replication.throttled.replicas"
	AutoLeaderRebalanceKey = "auto.leader.rebalance.enable"
	ImbalancePercentageKey = "leader.imbalance.per.broker.percentage"
	MinInsyncReplicasKey   = "min.insync.replicas"
)

// throttleEfficiency is the share of the configured rate a throttled copy
// reaches (item 16: ~0.9x).
const throttleEfficiency = 0.9

// throttleList is a parsed throttled-replicas topic config.
type throttleList struct {
	all      bool
	replicas map[int32]map[int32]bool // partition → broker
}

func (l throttleList) has(p, broker int32) bool {
	return l.all || l.replicas[p][broker]
}

// parseThrottleList parses a throttled-replicas value the way brokers do when
// they apply it: "*", "" or "p:b,p:b". An empty element (",0:4", which
// APPEND onto "" produces on 2.4) fails, so the caller keeps the earlier list
// in force (item 15).
func parseThrottleList(v string) (throttleList, bool) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return throttleList{all: true}, true
	}
	l := throttleList{replicas: make(map[int32]map[int32]bool)}
	if v == "" {
		return l, true
	}
	for _, e := range strings.Split(v, ",") {
		pb := strings.Split(strings.TrimSpace(e), ":")
		if len(pb) != 2 {
			return throttleList{}, false
		}
		p, err1 := strconv.ParseInt(strings.TrimSpace(pb[0]), 10, 32)
		b, err2 := strconv.ParseInt(strings.TrimSpace(pb[1]), 10, 32)
		if err1 != nil || err2 != nil {
			return throttleList{}, false
		}
		if l.replicas[int32(p)] == nil {
			l.replicas[int32(p)] = make(map[int32]bool)
		}
		l.replicas[int32(p)][int32(b)] = true
	}
	return l, true
}

// applyTopicThrottles re-reads a topic's throttled-replica lists after a
// config change; a list that does not parse leaves the earlier one in force.
func (t *topic) applyTopicThrottles() {
	if l, ok := parseThrottleList(t.configs[LeaderThrottledKey]); ok {
		t.leaderThrottle = l
	}
	if l, ok := parseThrottleList(t.configs[FollowerThrottledKey]); ok {
		t.followerThrottle = l
	}
}

// rate returns the throttle rate broker id enforces for key, false when none.
// Per-broker values are enforced; the cluster default only on 3.x (item 12).
func (c *Cluster) rate(id int32, key string) (float64, bool) {
	b := c.brokers[id]
	v, ok := b.dynamic[key]
	if !ok && c.cfg.Version != V2_4 {
		v, ok = c.defaults[key]
	}
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return float64(n), true
}

// copyFlow is one replica copying from its leader at rate bytes/s.
type copyFlow struct {
	p    *partition
	rate float64
	r    int32
	// cons are the indexes of the capacity constraints the copy crosses
	// (network in and out always, throttled in and out when throttled).
	cons  [4]int32
	ncons uint8
}

// Constraint slots of one broker, in copyAllocator.cons at 4*broker slot + k.
const (
	netIn = iota
	netOut
	followerIn // throttled bytes in: follower.replication.throttled.rate
	leaderOut  // throttled bytes out: leader.replication.throttled.rate
	slotsPerBroker
)

// brokerLoad holds one live broker's first constraint index and its rates,
// parsed once per computation.
type brokerLoad struct {
	base                     int32
	leaderRate, followerRate float64
	hasLeader, hasFollower   bool
}

// constraint is one capacity shared by the copies crossing it: rem is what
// the frozen copies left of it, active how many copies still rise through it.
type constraint struct {
	rem    float64
	active int32
}

// copiesLocked lists every replica catching up (live, not in the ISR, with a
// live leader) and the rate it copies at. Each broker's network rate caps the
// bytes of all copies into it and, separately, out of it; its follower rate
// caps the bytes into it of copies its topic's follower list names, its
// leader rate the bytes out of copies the leader list names, at 0.9 × the
// rate (item 16: rates without lists throttle nothing; one broker's rate is a
// total shared by all its throttled copies). The rates are the max-min fair
// share of those capacities (see fillRates): capacity one copy cannot use,
// because another constraint holds it back, goes to the others. It runs at
// every event while time advances, so it looks each broker up once per flow
// side and allocates a few flat slices.
func (c *Cluster) copiesLocked() []copyFlow {
	loads := make(map[int32]*brokerLoad, len(c.brokers))
	var caps []float64
	network := float64(c.cfg.NetworkRate)
	for _, id := range c.brokerIDsLocked() { // in id order: equal shares round alike every run
		if !c.brokers[id].alive {
			continue
		}
		l := &brokerLoad{base: int32(len(caps))}
		l.leaderRate, l.hasLeader = c.rate(id, LeaderRateKey)
		l.followerRate, l.hasFollower = c.rate(id, FollowerRateKey)
		loads[id] = l
		caps = append(caps, network, network,
			throttleEfficiency*l.followerRate, throttleEfficiency*l.leaderRate)
	}
	flows := make([]copyFlow, 0, len(c.busy)) // most busy partitions copy to one replica
	for p := range c.busy {
		if p.topic.deleted || (len(p.have) == 0 && p.inbound == 0) {
			delete(c.busy, p) // nothing left to do
			continue
		}
		out := loads[p.leader] // nil when the leader is down or -1
		if out == nil {
			continue
		}
		for _, r := range p.replicas { // in replica order: ISR joins are repeatable
			if _, lagging := p.have[r]; !lagging || r == p.leader {
				continue
			}
			in := loads[r]
			if in == nil {
				continue
			}
			f := copyFlow{p: p, r: r, ncons: 2}
			f.cons[0], f.cons[1] = in.base+netIn, out.base+netOut
			if in.hasFollower && p.topic.followerThrottle.has(p.id, r) {
				f.cons[f.ncons] = in.base + followerIn
				f.ncons++
			}
			if out.hasLeader && p.topic.leaderThrottle.has(p.id, p.leader) {
				f.cons[f.ncons] = out.base + leaderOut
				f.ncons++
			}
			flows = append(flows, f)
		}
	}
	fillRates(flows, caps)
	return flows
}

// fillRates sets every flow's rate to its max-min fair share of caps
// (progressive filling): all rates rise together; when a constraint is used
// up, the flows crossing it stop there and the rest keep rising with what
// the others leave. The constraints are taken in the order they saturate
// from a heap, so the cost is O((flows + constraints) log constraints).
func fillRates(flows []copyFlow, caps []float64) {
	cons := make([]constraint, len(caps))
	for i, v := range caps {
		cons[i].rem = v
	}
	// members[start[k]:start[k+1]] are the flows crossing constraint k.
	start := make([]int32, len(caps)+1)
	for i := range flows {
		for _, k := range flows[i].cons[:flows[i].ncons] {
			cons[k].active++
			start[k+1]++
		}
	}
	for k := range caps {
		start[k+1] += start[k]
	}
	members := make([]int32, start[len(caps)])
	next := append([]int32(nil), start[:len(caps)]...)
	for i := range flows {
		for _, k := range flows[i].cons[:flows[i].ncons] {
			members[next[k]] = int32(i)
			next[k]++
		}
	}
	h := saturations{pos: make([]int, len(caps))}
	for k, con := range cons {
		if con.active > 0 {
			h.pos[k] = len(h.s)
			h.s = append(h.s, saturation{level: con.rem / float64(con.active), k: int32(k)})
		}
	}
	heap.Init(&h)
	frozen := make([]bool, len(flows))
	touched := make([]bool, len(caps))
	var changed []int32
	level := 0.0
	// The top constraint is used up next; a used-up one sinks to +Inf, so the
	// heap is updated in place and never grows.
	for len(h.s) > 0 && !math.IsInf(h.s[0].level, 1) {
		top := h.s[0].k
		level = max(level, h.s[0].level) // rounding must not lower a later level
		for _, i := range members[start[top]:start[top+1]] {
			if frozen[i] {
				continue
			}
			frozen[i] = true
			f := &flows[i]
			f.rate = level
			for _, k := range f.cons[:f.ncons] {
				cons[k].rem -= level
				cons[k].active--
				if !touched[k] {
					touched[k] = true
					changed = append(changed, k)
				}
			}
		}
		for _, k := range changed {
			touched[k] = false
			e := &h.s[h.pos[k]]
			e.level = math.Inf(1)
			if cons[k].active > 0 {
				e.level = max(cons[k].rem, 0) / float64(cons[k].active)
			}
			heap.Fix(&h, h.pos[k])
		}
		changed = changed[:0]
	}
}

// saturation is the common rate at which constraint k is used up by the
// flows still rising through it.
type saturation struct {
	level float64
	k     int32
}

// saturations is a min-heap on level with each constraint's position in pos,
// for heap.Fix; nothing is pushed or popped once built.
type saturations struct {
	s   []saturation
	pos []int
}

func (h *saturations) Len() int { return len(h.s) }
func (h *saturations) Less(i, j int) bool {
	if h.s[i].level != h.s[j].level {
		return h.s[i].level < h.s[j].level
	}
	return h.s[i].k < h.s[j].k // a total order: the same filling every run
}
func (h *saturations) Swap(i, j int) {
	h.s[i], h.s[j] = h.s[j], h.s[i]
	h.pos[h.s[i].k], h.pos[h.s[j].k] = i, j
}

// Push and Pop complete heap.Interface; Init and Fix, all fillRates uses,
// never call them.
func (h *saturations) Push(x any) { h.s = append(h.s, x.(saturation)) }
func (h *saturations) Pop() any {
	x := h.s[len(h.s)-1]
	h.s = h.s[:len(h.s)-1]
	return x
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func clone(s []int32) []int32 {
	if s == nil {
		return nil
	}
	return append([]int32(nil), s...)
}

// minus returns a − b, in a's order.
func minus(a, b []int32) []int32 {
	var out []int32
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// intersect returns the members of a also in b, in a's order.
func intersect(a, b []int32) []int32 {
	var out []int32
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func subset(a, b []int32) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
