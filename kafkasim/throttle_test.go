package kafkasim

import (
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

const mib = 1 << 20

// throttledMove starts orders-0 [0,1,2] → [0,1,2,3] with 1 GiB to copy.
func throttledMove(t *testing.T, cfg Config) (*Cluster, *kadm.Client) {
	t.Helper()
	c, adm, cl := start(t, cfg)
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 1<<30); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 2, 3}})
	return c, adm
}

// copied returns how many bytes replica r of orders-0 holds after advancing d.
func copied(t *testing.T, c *Cluster, r int32, d time.Duration) int64 {
	t.Helper()
	before := state(t, c, "orders", 0).ReplicaSizes[r]
	c.Clock().Advance(d)
	return state(t, c, "orders", 0).ReplicaSizes[r] - before
}

func near(got, want int64) bool { return got > want*99/100 && got < want*101/100 }

// Item 16: a throttled copy runs at ~0.9x the per-broker rate, limited by the
// follower rate on its broker and the leader rate on the leader's broker.
func TestThrottledCopyRunsAtNineTenthsOfRate(t *testing.T) {
	tests := []struct {
		name         string
		follower     string // follower rate on broker 3
		leader       string // leader rate on broker 0
		want10s      int64
		followerList string
		leaderList   string
	}{
		{"follower rate", "10485760", "", 90 * mib, "0:3", ""},
		{"leader rate", "", "20971520", 180 * mib, "", "0:0,0:1,0:2"},
		{"both, smaller wins", "10485760", "20971520", 90 * mib, "0:3", "0:0"},
		{"wildcard lists", "10485760", "", 90 * mib, "*", "*"},
		{"list names another broker", "10485760", "", 1000 * mib, "0:4", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, adm := throttledMove(t, Config{})
			if tc.follower != "" {
				mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, tc.follower))
			}
			if tc.leader != "" {
				mustOK(t, alterBroker(t, adm, 0, kadm.SetConfig, LeaderRateKey, tc.leader))
			}
			mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, tc.followerList, LeaderThrottledKey, tc.leaderList))
			if got := copied(t, c, 3, 10*time.Second); !near(got, tc.want10s) {
				t.Errorf("copied %d MiB in 10 s, want %d MiB", got/mib, tc.want10s/mib)
			}
		})
	}
}

// Item 16: rates set but no throttled-replica lists: not throttled at all.
func TestRatesWithoutListsDoNotThrottle(t *testing.T) {
	c, adm := throttledMove(t, Config{})
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "1048576"))
	mustOK(t, alterBroker(t, adm, 0, kadm.SetConfig, LeaderRateKey, "1048576"))
	if got := copied(t, c, 3, time.Second); !near(got, 100*mib) {
		t.Errorf("copied %d MiB in 1 s, want the unthrottled 100", got/mib)
	}
}

// Item 16: one leader's rate is a total shared by all throttled followers
// fetching from it, max-min fair: a follower held back by its own broker's
// follower rate leaves the rest of the leader's rate to the others.
func TestLeaderRateSharedByFollowers(t *testing.T) {
	tests := []struct {
		name          string
		followerRate3 string // follower rate on broker 3, "" for none
		followerList  string
		want3, want4  int64 // MiB copied in 10 s
	}{
		{"symmetric: even split", "", "", 90, 90},
		{"one follower limited: the other takes the rest", "4194304", "0:3", 36, 144},
		{"follower rate above its share: even split", "41943040", "0:3", 90, 90},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, adm, cl := start(t, Config{})
			mustCreate(t, c, "orders", []int32{0, 1, 2})
			if err := c.SetPartitionSize("orders", 0, 1<<30); err != nil {
				t.Fatal(err)
			}
			reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 2, 3, 4}})
			mustOK(t, alterBroker(t, adm, 0, kadm.SetConfig, LeaderRateKey, "20971520"))
			if tc.followerRate3 != "" {
				mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, tc.followerRate3))
			}
			mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, LeaderThrottledKey, "0:0", FollowerThrottledKey, tc.followerList))
			c.Clock().Advance(10 * time.Second)
			s := state(t, c, "orders", 0)
			if got3, got4 := s.ReplicaSizes[3], s.ReplicaSizes[4]; !near(got3, tc.want3*mib) || !near(got4, tc.want4*mib) {
				t.Errorf("followers 3 and 4 copied %d and %d MiB in 10 s, want %d and %d (0.9 x 20 MiB/s shared)",
					got3/mib, got4/mib, tc.want3, tc.want4)
			}
		})
	}
}

// Item 16 and the network rate: rates are the max-min fair share of every
// capacity a copy crosses (network in and out of each broker, throttled in
// and out), so no capacity is left idle while a copy through it could use it.
func TestFillRatesMaxMinFair(t *testing.T) {
	// Constraints 0..2 with the capacities below; each flow lists the
	// constraints it crosses.
	tests := []struct {
		name  string
		caps  []float64
		flows [][]int32
		want  []float64
	}{
		{"one constraint splits evenly", []float64{90}, [][]int32{{0}, {0}, {0}}, []float64{30, 30, 30}},
		{"a flow held back elsewhere leaves its share", []float64{90, 10}, [][]int32{{0, 1}, {0}, {0}}, []float64{10, 40, 40}},
		{"chain: the middle flow gets the smaller leftover", []float64{100, 30, 100},
			[][]int32{{0}, {0, 1}, {1, 2}, {2}}, []float64{85, 15, 15, 85}},
		{"zero capacity stops its flows only", []float64{100, 0}, [][]int32{{0, 1}, {0}}, []float64{0, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flows := make([]copyFlow, len(tc.flows))
			for i, cs := range tc.flows {
				flows[i].ncons = uint8(copy(flows[i].cons[:], cs))
			}
			fillRates(flows, tc.caps)
			for i, f := range flows {
				if math.Abs(f.rate-tc.want[i]) > 1e-9 {
					t.Errorf("flow %d (constraints %v): rate %g, want %g", i, tc.flows[i], f.rate, tc.want[i])
				}
			}
		})
	}
}

// Item 12: the cluster-default ("") rate is stored but not enforced on 2.4;
// 3.x enforces it.
func TestDefaultRateEnforcedOnlyOn3x(t *testing.T) {
	for _, tc := range []struct {
		v    Version
		want int64
	}{{V2_4, 1000 * mib}, {V3_x, 90 * mib}} {
		t.Run(tc.v.String(), func(t *testing.T) {
			c, adm := throttledMove(t, Config{Version: tc.v})
			mustOK(t, alterBroker(t, adm, -1, kadm.SetConfig, FollowerRateKey, "10485760"))
			mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, "*"))
			if got := copied(t, c, 3, 10*time.Second); !near(got, tc.want) {
				t.Errorf("copied %d MiB in 10 s, want %d", got/mib, tc.want/mib)
			}
			if got := c.BrokerDynamicConfigs(-1)[FollowerRateKey]; got != "10485760" {
				t.Errorf("default rate stored as %q", got)
			}
		})
	}
}

// Item 16: a rate changed mid-move takes effect at once.
func TestRateChangeTakesEffectMidMove(t *testing.T) {
	c, adm := throttledMove(t, Config{})
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "10485760"))
	mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, "0:3"))
	if got := copied(t, c, 3, 10*time.Second); !near(got, 90*mib) {
		t.Fatalf("copied %d MiB at 10 MiB/s", got/mib)
	}
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "41943040"))
	if got := copied(t, c, 3, 10*time.Second); !near(got, 360*mib) {
		t.Errorf("copied %d MiB in 10 s after raising to 40 MiB/s, want 360", got/mib)
	}
}

// Item 15: APPEND onto "" produces ",0:4" on 2.4, which brokers fail to parse:
// the throttle silently does not apply. 3.x appends cleanly.
func TestAppendOntoEmptyListBreaksThrottleOn24(t *testing.T) {
	for _, tc := range []struct {
		v     Version
		value string
		want  int64
	}{{V2_4, ",0:3", 1000 * mib}, {V3_x, "0:3", 90 * mib}} {
		t.Run(tc.v.String(), func(t *testing.T) {
			c, adm := throttledMove(t, Config{Version: tc.v})
			mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "10485760"))
			mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, ""))
			mustOK(t, alterTopic(t, adm, "orders", kadm.AppendConfig, FollowerThrottledKey, "0:3"))
			if got, _ := c.TopicConfigs("orders"); got[FollowerThrottledKey] != tc.value {
				t.Errorf("list after APPEND: %q, want %q", got[FollowerThrottledKey], tc.value)
			}
			if got := copied(t, c, 3, 10*time.Second); !near(got, tc.want) {
				t.Errorf("copied %d MiB in 10 s, want %d", got/mib, tc.want/mib)
			}
		})
	}
}

// Item 15: an unparsable list leaves the earlier one in force.
func TestUnparsableListKeepsEarlierThrottle(t *testing.T) {
	c, adm := throttledMove(t, Config{})
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "10485760"))
	mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, "0:3"))
	mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, ",0:5"))
	if got := copied(t, c, 3, 10*time.Second); !near(got, 90*mib) {
		t.Errorf("copied %d MiB in 10 s, want 90 (the earlier 0:3 still in force)", got/mib)
	}
}

// Producers writing faster than a throttled copy: the copy never finishes
// (the executor must detect the stall).
func TestInboundFasterThanThrottleNeverCatchesUp(t *testing.T) {
	c, adm := throttledMove(t, Config{})
	if err := c.SetInboundRate("orders", 0, 20*mib); err != nil {
		t.Fatal(err)
	}
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "10485760"))
	mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, "0:3"))
	c.Clock().Advance(10 * time.Hour)
	s := state(t, c, "orders", 0)
	if !s.Reassigning || s.Size-s.ReplicaSizes[3] < 1<<30 {
		t.Errorf("after 10 h: reassigning %v, leader %d MiB, replica 3 %d MiB: want still in flight and falling behind",
			s.Reassigning, s.Size/mib, s.ReplicaSizes[3]/mib)
	}
	mustOK(t, alterBroker(t, adm, 3, kadm.DeleteConfig, FollowerRateKey, ""))
	c.Clock().Advance(10 * time.Hour)
	if s := state(t, c, "orders", 0); s.Reassigning {
		t.Errorf("unthrottled at 100 MiB/s against 20 MiB/s inbound, still in flight after 10 h: %+v", s)
	}
}
