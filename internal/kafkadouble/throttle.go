package kafkadouble

import (
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
	r    int32
	rate float64
	// in and out are the loads of the replica's and the leader's brokers;
	// follower and leader whether the copy is throttled on either side.
	in, out          *brokerLoad
	follower, leader bool
}

// brokerLoad counts the copies into and out of one broker, and holds its
// rates parsed once per computation.
type brokerLoad struct {
	into, outOf, fThrottled, lThrottled int
	leaderRate, followerRate            float64
	hasLeader, hasFollower              bool
}

// copiesLocked lists every replica catching up (live, not in the ISR, with a
// live leader) and the rate it copies at: the broker network rate shared by
// the copies into its broker and out of its leader's broker, limited by the
// follower rate of its broker and the leader rate of its leader's broker when
// the topic's throttled-replica lists name it (item 16: rates without lists
// throttle nothing; ~0.9x the rate; one broker's rate shared by all its
// throttled copies). It runs at every event while time advances, so it
// looks each broker up once per flow side and nothing else.
func (c *Cluster) copiesLocked() []copyFlow {
	loads := make(map[int32]*brokerLoad, len(c.brokers))
	for id, b := range c.brokers {
		if !b.alive {
			continue
		}
		l := &brokerLoad{}
		l.leaderRate, l.hasLeader = c.rate(id, LeaderRateKey)
		l.followerRate, l.hasFollower = c.rate(id, FollowerRateKey)
		loads[id] = l
	}
	var flows []copyFlow
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
			f := copyFlow{p: p, r: r, in: in, out: out}
			in.into++
			out.outOf++
			if in.hasFollower && p.topic.followerThrottle.has(p.id, r) {
				f.follower = true
				in.fThrottled++
			}
			if out.hasLeader && p.topic.leaderThrottle.has(p.id, p.leader) {
				f.leader = true
				out.lThrottled++
			}
			flows = append(flows, f)
		}
	}
	network := float64(c.cfg.NetworkRate)
	for i := range flows {
		f := &flows[i]
		f.rate = min(network/float64(f.in.into), network/float64(f.out.outOf))
		if f.follower {
			f.rate = min(f.rate, throttleEfficiency*f.in.followerRate/float64(f.in.fThrottled))
		}
		if f.leader {
			f.rate = min(f.rate, throttleEfficiency*f.out.leaderRate/float64(f.out.lThrottled))
		}
	}
	return flows
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

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// minus returns a − b, in a's order.
func minus(a, b []int32) []int32 {
	var out []int32
	for _, x := range a {
		if !contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// intersect returns the members of a also in b, in a's order.
func intersect(a, b []int32) []int32 {
	var out []int32
	for _, x := range a {
		if contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func subset(a, b []int32) bool {
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}
