package kafkasim

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataVia sends a Metadata request for one topic to broker via and
// returns its partition p.
func metadataVia(t *testing.T, cl *kgo.Client, via int32, topic string, p int32) kmsg.MetadataResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := cl.Broker(int(via)).Request(ctx(t), req)
	if err != nil {
		t.Fatalf("metadata via broker %d: %v", via, err)
	}
	for _, mt := range resp.(*kmsg.MetadataResponse).Topics {
		for _, mp := range mt.Partitions {
			if mp.Partition == p {
				return mp
			}
		}
	}
	t.Fatalf("metadata via broker %d: no partition %s-%d", via, topic, p)
	return kmsg.MetadataResponseTopicPartition{}
}

// Item 24: with Config.MetadataLag, Metadata answered by each broker lags
// the controller after a controller change: nobody has it right after the
// call, the brokers not holding the partition learn it within the first half
// of the window, those holding it (the targets) in the second half, every
// broker by the end. ListPartitionReassignments is current at once. Without
// the knob, every broker is current at once.
func TestMetadataLagsController(t *testing.T) {
	const lag = 500 * time.Millisecond
	type seen struct {
		at      time.Duration // after the change
		current []int32       // brokers whose Metadata shows the change
		stale   []int32       // brokers whose Metadata still shows the state before
	}
	tests := []struct {
		name   string
		lag    time.Duration
		origin []int32
		size   int64
		change func(t *testing.T, c *Cluster, cl *kgo.Client)
		// before and after are (replicas, leader) of partition 0 as
		// Metadata shows it before and after the change.
		beforeReplicas, afterReplicas []int32
		beforeLeader, afterLeader     int32
		inFlight                      bool // ListPartitionReassignments right after
		seen                          []seen
	}{
		{
			name: "reorder completed inside the call", lag: lag, origin: []int32{0, 1, 2},
			change: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0}})
			},
			beforeReplicas: []int32{0, 1, 2}, afterReplicas: []int32{2, 1, 0}, beforeLeader: 0, afterLeader: 0,
			seen: []seen{
				{0, nil, []int32{0, 1, 2, 3, 4, 5}},
				{lag / 2, []int32{3, 4, 5}, []int32{0, 1, 2}},
				{lag, []int32{0, 1, 2, 3, 4, 5}, nil},
			},
		},
		{
			name: "rf decrease", lag: lag, origin: []int32{0, 1, 2},
			change: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1}})
			},
			beforeReplicas: []int32{0, 1, 2}, afterReplicas: []int32{0, 1}, beforeLeader: 0, afterLeader: 0,
			seen: []seen{
				{0, nil, []int32{0, 1, 2, 3, 4, 5}},
				{lag / 2, []int32{2, 3, 4, 5}, []int32{0, 1}},
				{lag, []int32{0, 1, 2, 3, 4, 5}, nil},
			},
		},
		{
			name: "copying move submitted", lag: lag, origin: []int32{0, 1, 2}, size: 1 << 30,
			change: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
			},
			beforeReplicas: []int32{0, 1, 2}, afterReplicas: []int32{0, 1, 3, 2}, beforeLeader: 0, afterLeader: 0,
			inFlight: true,
			seen: []seen{
				{0, nil, []int32{0, 1, 2, 3, 4, 5}},
				{lag / 2, []int32{4, 5}, []int32{0, 1, 2, 3}},
				{lag, []int32{0, 1, 2, 3, 4, 5}, nil},
			},
		},
		{
			name: "preferred election", lag: lag, origin: []int32{1, 0, 2},
			change: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				// A reorder makes 0 preferred; the election moves the
				// leader once every broker has the reorder.
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 2}})
				c.Clock().Advance(lag)
				req := kmsg.NewPtrElectLeadersRequest()
				req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "orders", Partitions: []int32{0}}}
				if _, err := req.RequestWith(ctx(t), cl); err != nil {
					t.Fatal(err)
				}
			},
			beforeReplicas: []int32{0, 1, 2}, afterReplicas: []int32{0, 1, 2}, beforeLeader: 1, afterLeader: 0,
			seen: []seen{
				{0, nil, []int32{0, 1, 2, 3, 4, 5}},
				{lag / 2, []int32{3, 4, 5}, []int32{0, 1, 2}},
				{lag, []int32{0, 1, 2, 3, 4, 5}, nil},
			},
		},
		{
			name: "knob off: current at once", lag: 0, origin: []int32{0, 1, 2},
			change: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0}})
			},
			beforeReplicas: []int32{0, 1, 2}, afterReplicas: []int32{2, 1, 0}, beforeLeader: 0, afterLeader: 0,
			seen: []seen{{0, []int32{0, 1, 2, 3, 4, 5}, nil}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, cl := start(t, Config{MetadataLag: tc.lag, Seed: 1})
			mustCreate(t, c, "orders", tc.origin)
			if err := c.SetPartitionSize("orders", 0, tc.size); err != nil {
				t.Fatal(err)
			}
			tc.change(t, c, cl)
			if got := len(listAll(t, cl).Topics) > 0; got != tc.inFlight {
				t.Errorf("ListPartitionReassignments right after: in flight %v, want %v (current at once)", got, tc.inFlight)
			}
			changedAt := c.Clock().Now()
			for _, s := range tc.seen {
				c.Clock().Advance(changedAt.Add(s.at).Sub(c.Clock().Now()))
				for _, b := range s.current {
					if mp := metadataVia(t, cl, b, "orders", 0); !equal(mp.Replicas, tc.afterReplicas) || mp.Leader != tc.afterLeader {
						t.Errorf("+%v broker %d: replicas %v leader %d, want the new %v leader %d", s.at, b, mp.Replicas, mp.Leader, tc.afterReplicas, tc.afterLeader)
					}
				}
				for _, b := range s.stale {
					if mp := metadataVia(t, cl, b, "orders", 0); !equal(mp.Replicas, tc.beforeReplicas) || mp.Leader != tc.beforeLeader {
						t.Errorf("+%v broker %d: replicas %v leader %d, want the old %v leader %d", s.at, b, mp.Replicas, mp.Leader, tc.beforeReplicas, tc.beforeLeader)
					}
				}
			}
		})
	}
}

// learnTimes returns, per broker, how long after a reorder of orders-0 its
// Metadata first shows it, sampled every 10 ms.
func learnTimesAfterReorder(t *testing.T, seed int64) map[int32]time.Duration {
	t.Helper()
	c, _, cl := start(t, Config{MetadataLag: 500 * time.Millisecond, Seed: seed})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0}})
	out := make(map[int32]time.Duration)
	for at := time.Duration(0); at <= 500*time.Millisecond; at += 10 * time.Millisecond {
		for b := int32(0); b < 6; b++ {
			if _, ok := out[b]; !ok && equal(metadataVia(t, cl, b, "orders", 0).Replicas, []int32{2, 1, 0}) {
				out[b] = at
			}
		}
		c.Clock().Advance(10 * time.Millisecond)
	}
	return out
}

// Item 24: the delays are random per broker but fixed by the seed.
func TestMetadataLagDeterministicBySeed(t *testing.T) {
	a, b, other := learnTimesAfterReorder(t, 1), learnTimesAfterReorder(t, 1), learnTimesAfterReorder(t, 2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("seed 1 twice: learn times %v and %v, want the same", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(other) {
		t.Errorf("seeds 1 and 2 gave the same learn times %v", a)
	}
	distinct := make(map[time.Duration]bool)
	for _, d := range a {
		distinct[d] = true
	}
	if len(distinct) < 3 {
		t.Errorf("learn times %v: want brokers to differ", a)
	}
}

// Item 24: each broker learns the controller's changes in the order they
// were made: a broker showing a later change shows every earlier one.
func TestMetadataLagKeepsOrderPerBroker(t *testing.T) {
	c, _, cl := start(t, Config{MetadataLag: 500 * time.Millisecond, Seed: 3})
	mustCreate(t, c, "first", []int32{0, 1, 2})
	mustCreate(t, c, "second", []int32{3, 4, 5})
	reassign(t, cl, -1, "first", map[int32][]int32{0: {2, 1, 0}})
	c.Clock().Advance(50 * time.Millisecond)
	reassign(t, cl, -1, "second", map[int32][]int32{0: {5, 4, 3}})
	for step := 0; step <= 60; step++ {
		for b := int32(0); b < 6; b++ {
			firstNew := equal(metadataVia(t, cl, b, "first", 0).Replicas, []int32{2, 1, 0})
			secondNew := equal(metadataVia(t, cl, b, "second", 0).Replicas, []int32{5, 4, 3})
			if secondNew && !firstNew {
				t.Fatalf("broker %d at +%d ms shows the second change before the first", b, 50+10*step)
			}
		}
		c.Clock().Advance(10 * time.Millisecond)
	}
}
