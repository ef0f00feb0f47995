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
}

// copiesLocked lists every replica catching up (live, not in the ISR, with a
// live leader) and the rate it copies at: the broker network rate shared by
// the copies into its broker and out of its leader's broker, limited by the
// follower rate of its broker and the leader rate of its leader's broker when
// the topic's throttled-replica lists name it (item 16: rates without lists
// throttle nothing; ~0.9x the rate; one broker's rate shared by all its
// throttled copies).
func (c *Cluster) copiesLocked() []copyFlow {
	var flows []copyFlow
	for p := range c.busy {
		if c.topics[p.topic.name] != p.topic || (len(p.have) == 0 && p.inbound == 0) {
			delete(c.busy, p) // deleted topic, or nothing left to do
			continue
		}
		if p.leader == -1 || !c.alive(p.leader) {
			continue
		}
		for _, r := range p.replicas {
			if _, ok := p.have[r]; ok && c.alive(r) && r != p.leader {
				flows = append(flows, copyFlow{p: p, r: r})
			}
		}
	}
	// Parse each broker's rates once per call, not once per flow.
	type rates struct {
		leader, follower       float64
		hasLeader, hasFollower bool
	}
	brokerRates := make(map[int32]rates, len(c.brokers))
	for id := range c.brokers {
		var r rates
		r.leader, r.hasLeader = c.rate(id, LeaderRateKey)
		r.follower, r.hasFollower = c.rate(id, FollowerRateKey)
		brokerRates[id] = r
	}
	into := make(map[int32]int)
	outOf := make(map[int32]int)
	fThrottled := make(map[int32]int)
	lThrottled := make(map[int32]int)
	follower := make([]bool, len(flows))
	leader := make([]bool, len(flows))
	for i, f := range flows {
		into[f.r]++
		outOf[f.p.leader]++
		if brokerRates[f.r].hasFollower && f.p.topic.followerThrottle.has(f.p.id, f.r) {
			follower[i] = true
			fThrottled[f.r]++
		}
		if brokerRates[f.p.leader].hasLeader && f.p.topic.leaderThrottle.has(f.p.id, f.p.leader) {
			leader[i] = true
			lThrottled[f.p.leader]++
		}
	}
	network := float64(c.cfg.NetworkRate)
	for i := range flows {
		f := &flows[i]
		f.rate = min(network/float64(into[f.r]), network/float64(outOf[f.p.leader]))
		if follower[i] {
			f.rate = min(f.rate, throttleEfficiency*brokerRates[f.r].follower/float64(fThrottled[f.r]))
		}
		if leader[i] {
			f.rate = min(f.rate, throttleEfficiency*brokerRates[f.p.leader].leader/float64(lThrottled[f.p.leader]))
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
