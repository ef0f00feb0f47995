package executor

import (
	"context"
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

// TestGatesRefuseStep pins invariant 7 and the `kshift check` gates: a
// step refused by a gate says why, naming the broker or partition, and
// sends no request that changes the cluster.
func TestGatesRefuseStep(t *testing.T) {
	errCheck := errors.New("kshift check failed: broker-configs: brokers disagree on configs that must match in one cluster")
	for _, tc := range []struct {
		name  string
		cfg   kafkasim.Config
		setup func(t *testing.T, c *testCluster)
		gates func(ctx context.Context, p *plans.Plan, s *plans.Step) error
		want  []string
	}{
		{
			name: "target broker down",
			setup: func(t *testing.T, c *testCluster) {
				if err := c.StopBroker(4); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"not alive and registered", "orders-0: broker 4"},
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
			want: []string{"under-replicated", "orders-0: replicas [0 1 2], isr [0 2]"},
		},
		{
			name: "kshift check gate fails",
			gates: func(_ context.Context, p *plans.Plan, s *plans.Step) error {
				if p.ClusterID != "test-cluster" || s.Number != 1 {
					return errors.New("gate called for the wrong plan or step")
				}
				return errCheck
			},
			want: []string{errCheck.Error()},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, 200, tc.cfg)
			c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
			p := phasedPlan(t, c, 10<<20, "orders")
			if tc.setup != nil {
				tc.setup(t, c)
			}
			e, _ := testExecutor(t, c, func(o *Options) {
				o.SettleTimeout = 300 * time.Millisecond
				o.Gates = tc.gates
			})
			k := recorded(e)
			_, err := e.Apply(testCtx(t, 30*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("apply: %v; want refused", err)
			}
			if tc.gates != nil && !errors.Is(err, errCheck) {
				t.Errorf("refusal %v does not carry the gate's error", err)
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
