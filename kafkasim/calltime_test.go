package kafkasim

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Item 32: steps that copy nothing still take real time. On a running clock,
// an AlterPartitionReassignments call with a move that completes inside it
// (a reorder, an RF decrease, a cancel) takes Config.NoCopyCallTime of
// simulated time, the moves done when it returns (item 2: nothing listed in
// flight); an ElectLeaders call that moves a leader takes ElectionCallTime.
// Other calls, calls with the knobs negative, and calls on a manual clock
// are instant: the rows that must be instant set the knobs to a minute, so
// that a wrong wait would show however loaded the machine.
func TestNoCopyCallsTakeTime(t *testing.T) {
	const slow, instant = true, false
	long := Config{NoCopyCallTime: time.Minute, ElectionCallTime: time.Minute}
	elect := func(t *testing.T, cl *kgo.Client, p int32) {
		req := kmsg.NewPtrElectLeadersRequest()
		req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "orders", Partitions: []int32{p}}}
		if _, err := req.RequestWith(ctx(t), cl); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		cfg    Config
		factor float64 // of the scaled clock, 4 when 0
		manual bool
		// setup runs before the timed call; call is timed.
		setup, call func(t *testing.T, c *Cluster, cl *kgo.Client)
		took        time.Duration // the knob the call must have taken, 0: instant
		want        bool
		after       func(t *testing.T, c *Cluster, cl *kgo.Client)
	}{
		{name: "reorder", took: RealNoCopyCallTime, want: slow,
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0}})
			},
			after: doneAt([]int32{2, 1, 0})},
		{name: "rf decrease", took: RealNoCopyCallTime, want: slow,
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1}})
			},
			after: doneAt([]int32{0, 1})},
		{name: "cancel", took: RealNoCopyCallTime, want: slow,
			setup: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
			},
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: nil})
			},
			after: doneAt([]int32{0, 1, 2})},
		{name: "copying move: instant", cfg: long, took: time.Minute, want: instant,
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
			}},
		{name: "election", took: RealElectionCallTime, want: slow,
			setup: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {1, 0, 2}})
			},
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) { elect(t, cl, 0) },
			after: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				if s := state(t, c, "orders", 0); s.Leader != 1 {
					t.Errorf("leader %d right after the election, want 1", s.Leader)
				}
			}},
		{name: "election not needed: instant", cfg: long, took: time.Minute, want: instant,
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) { elect(t, cl, 0) }},
		{name: "knob negative: instant", cfg: Config{NoCopyCallTime: -1}, factor: 1, took: RealNoCopyCallTime, want: instant,
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0}})
			}},
		{name: "manual clock: instant", manual: true, took: time.Nanosecond, want: instant,
			call: func(t *testing.T, c *Cluster, cl *kgo.Client) {
				reassign(t, cl, -1, "orders", map[int32][]int32{0: {2, 1, 0}})
			},
			after: doneAt([]int32{2, 1, 0})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			factor := 4.0 // 0.9 s take 225 ms
			if tc.factor > 0 {
				factor = tc.factor
			}
			cfg.Clock = NewScaledClock(testStart, factor)
			if tc.manual {
				cfg.Clock = NewManualClock(testStart)
			}
			c, _, cl := start(t, cfg)
			mustCreate(t, c, "orders", []int32{0, 1, 2})
			if err := c.SetPartitionSize("orders", 0, 100<<30); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, c, cl)
			}
			before := c.Clock().Now()
			tc.call(t, c, cl)
			took := c.Clock().Now().Sub(before)
			if got := took >= tc.took; got != tc.want {
				t.Errorf("the call took %v of simulated time: slow %v, want %v (%v)", took, got, tc.want, tc.took)
			}
			if tc.after != nil {
				tc.after(t, c, cl)
			}
		})
	}
}

// doneAt checks that orders-0 is at replicas with nothing in flight.
func doneAt(replicas []int32) func(t *testing.T, c *Cluster, cl *kgo.Client) {
	return func(t *testing.T, c *Cluster, cl *kgo.Client) {
		t.Helper()
		if l := listAll(t, cl); len(l.Topics) != 0 {
			t.Errorf("in flight right after the call: %+v", l.Topics)
		}
		if s := state(t, c, "orders", 0); s.Reassigning || !equal(s.Replicas, replicas) {
			t.Errorf("right after the call: replicas %v reassigning %v, want %v done", s.Replicas, s.Reassigning, replicas)
		}
	}
}
