package executor

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// mutatingKeys are the requests that change a cluster.
var mutatingKeys = []kmsg.Key{kmsg.AlterPartitionAssignments, kmsg.IncrementalAlterConfigs, kmsg.ElectLeaders, kmsg.CreateTopics, kmsg.DeleteTopics}

// TestGatesRefuseStep pins invariant 7 and the gate registry
// (inspect.Gates) run before a step: a step refused by a gate says why,
// naming the gate and the broker or partition, and sends no request that
// changes the cluster. A health gate is skipped with SkipHealthGates; a
// safety gate is not.
func TestGatesRefuseStep(t *testing.T) {
	otherIBP := func() kafkasim.Config {
		var cfg kafkasim.Config
		for i := int32(0); i < 6; i++ {
			cfg.Brokers = append(cfg.Brokers, kafkasim.BrokerConfig{ID: i, Rack: []string{"r0", "r1", "r2"}[i%3]})
		}
		cfg.Brokers[4].Configs = map[string]string{"inter.broker.protocol.version": "2.3-IV1"}
		return cfg
	}
	for _, tc := range []struct {
		name       string
		cfg        kafkasim.Config
		configs    map[string]string // of topic orders
		plan       func(p *plans.Plan)
		setup      func(t *testing.T, c *testCluster)
		skipHealth bool
		want       []string
		// applies: with skipHealth the step runs (a health gate refused it).
		applies bool
	}{
		{
			name:       "plan of another cluster",
			plan:       func(p *plans.Plan) { p.ClusterID = "another-cluster" },
			skipHealth: true,
			want:       []string{"gate cluster-id (safety)", `the plan is for cluster "another-cluster", the brokers belong to "test-cluster"`},
		},
		{
			name:       "a move below min.insync.replicas",
			configs:    map[string]string{"min.insync.replicas": "3"},
			plan:       func(p *plans.Plan) { p.Steps[0].Partitions[1].To = []int32{1, 2} },
			skipHealth: true,
			want:       []string{"gate target-rf (safety)", "orders-1: to [1 2] has 2 replicas, min.insync.replicas is 3"},
		},
		{
			name: "target broker down",
			setup: func(t *testing.T, c *testCluster) {
				if err := c.StopBroker(4); err != nil {
					t.Fatal(err)
				}
			},
			skipHealth: true,
			want:       []string{"gate target-brokers (safety)", "broker 4: not registered", "the step moves orders-0"},
		},
		{
			// Producers outrun broker 1's network, so once restarted it
			// stays out of orders-0's ISR while alive.
			name: "under-replicated partition of the step",
			cfg:  kafkasim.Config{NetworkRate: 2 << 20},
			setup: func(t *testing.T, c *testCluster) {
				for _, err := range []error{c.SetInboundRate("orders", 0, 3<<20), c.StopBroker(1), c.StartBroker(1)} {
					if err != nil {
						t.Fatal(err)
					}
				}
			},
			skipHealth: true,
			want:       []string{"gate under-replicated (safety)", "orders-0: replicas [0 1 2], isr [0 2]"},
		},
		{
			name: "health gate fails",
			cfg:  otherIBP(),
			want: []string{"gate broker-configs (health)", "inter.broker.protocol.version", "2.3-IV1 on [4]", "--skip-health-check"},
		},
		{
			name:       "health gate skipped",
			cfg:        otherIBP(),
			skipHealth: true,
			applies:    true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, 200, tc.cfg)
			c.topic(t, "orders", 1<<20, tc.configs, []int32{0, 1, 2}, []int32{1, 2, 0})
			p := phasedPlan(t, c, 10<<20, "orders")
			if tc.plan != nil {
				tc.plan(p)
			}
			if tc.setup != nil {
				tc.setup(t, c)
			}
			e, _ := testExecutor(t, c, func(o *Options) {
				o.SettleTimeout = 300 * time.Millisecond
				o.SkipHealthGates = tc.skipHealth
			})
			k := recorded(e)
			_, err := e.Apply(testCtx(t, 30*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1)
			if tc.applies {
				if err != nil {
					t.Fatalf("apply with the health gates skipped: %v", err)
				}
				c.atEnds(t, &p.Steps[0], func(m plans.Move) []int32 { return m.To }, "after the step")
				return
			}
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("apply: %v; want refused", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q lacks %q", err, w)
				}
			}
			for _, key := range mutatingKeys {
				if sent, _ := k.requests(key.Int16()); len(sent) > 0 {
					t.Errorf("refused step sent %d %s request(s)", len(sent), kmsg.NameForKey(key.Int16()))
				}
			}
			c.atEnds(t, &p.Steps[0], func(m plans.Move) []int32 { return m.From }, "after the refusal")
			c.noThrottles(t)
		})
	}
}
