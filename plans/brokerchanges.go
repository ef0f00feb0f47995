package plans

import (
	"slices"
	"sort"
)

// BrokerChange is what a plan does to one broker's load between its first
// step and its last: the replicas, leaders and bytes the broker gains and
// loses. A migration's target brokers gain (In), its source brokers lose
// (Out); partitions the plan does not move are not counted.
type BrokerChange struct {
	Broker      int32
	ReplicasIn  int
	ReplicasOut int
	LeadersIn   int
	LeadersOut  int
	BytesIn     ByteSize
	BytesOut    ByteSize
}

// NetReplicas is the replicas the plan leaves on the broker minus those it takes away.
func (c BrokerChange) NetReplicas() int { return c.ReplicasIn - c.ReplicasOut }

// NetLeaders is the leaders the plan leaves on the broker minus those it takes away.
func (c BrokerChange) NetLeaders() int { return c.LeadersIn - c.LeadersOut }

// NetBytes is the bytes the plan leaves on the broker minus those it takes away.
func (c BrokerChange) NetBytes() ByteSize { return c.BytesIn - c.BytesOut }

// BrokerChanges compares, for every partition the plan moves, the replica
// list its first step finds (from) with the one its last step leaves (to),
// and sums the differences per broker. The result lists every broker either
// list names, sorted by id. It reads only the plan: no snapshot is needed.
func BrokerChanges(p *Plan) []BrokerChange {
	type span struct {
		first, last []int32
		size        ByteSize
	}
	var nums partitionNumbers
	moves := 0
	for i := range p.Steps {
		moves += len(p.Steps[i].Partitions)
	}
	// The header's count, when it can be right, saves growing the spans.
	spans := make([]span, 0, min(max(p.Totals.Partitions, 0), moves))
	for i := range p.Steps {
		for j := range p.Steps[i].Partitions {
			m := &p.Steps[i].Partitions[j]
			n, isNew := nums.number(m.Topic, m.Partition)
			if isNew {
				spans = append(spans, span{first: m.From})
			}
			s := &spans[n]
			s.last = m.To
			s.size = max(s.size, m.Size)
		}
	}
	changes := map[int32]*BrokerChange{}
	at := func(id int32) *BrokerChange {
		c := changes[id]
		if c == nil {
			c = &BrokerChange{Broker: id}
			changes[id] = c
		}
		return c
	}
	for i := range spans {
		s := &spans[i]
		for _, id := range s.last {
			c := at(id)
			if !slices.Contains(s.first, id) {
				c.ReplicasIn++
				c.BytesIn += s.size
			}
		}
		for _, id := range s.first {
			c := at(id)
			if !slices.Contains(s.last, id) {
				c.ReplicasOut++
				c.BytesOut += s.size
			}
		}
		if len(s.first) > 0 && len(s.last) > 0 && s.first[0] != s.last[0] {
			at(s.last[0]).LeadersIn++
			at(s.first[0]).LeadersOut++
		}
	}
	out := make([]BrokerChange, 0, len(changes))
	for _, c := range changes {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Broker < out[j].Broker })
	return out
}
