package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
)

// TestApplyRefusedByHealthCheck pins the `kshift check` gates of apply
// (healthGates): a target broker whose inter.broker.protocol.version differs
// from the others fails the broker-configs gate, which kshift's own gates do
// not look at, so `kshift apply` exits 3 naming the gate and the config and
// changes nothing; with --skip-health-check the same step applies.
func TestApplyRefusedByHealthCheck(t *testing.T) {
	var brokers []kafkasim.BrokerConfig
	for i := int32(0); i < 6; i++ {
		brokers = append(brokers, kafkasim.BrokerConfig{ID: i, Rack: []string{"r0", "r1", "r2"}[i%3]})
	}
	brokers[4].Configs = map[string]string{"inter.broker.protocol.version": "2.3-IV1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kafkasim.Start(ctx, kafkasim.Config{ClusterID: "gate-test", Brokers: brokers,
		Clock: kafkasim.NewScaledClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 200)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	zk := registerZooKeeper(t, c)
	if err := c.CreateTopic("orders", [][]int32{{0, 1, 2}}, nil); err != nil {
		t.Fatal(err)
	}
	moves := []plans.Move{{Topic: "orders", Partition: 0, From: []int32{0, 1, 2}, To: []int32{0, 1, 2, 3, 4, 5}}}
	// Steps 2 and 3 make it a whole plan (apply refuses one that breaks the
	// plan invariants); only step 1 is applied.
	lead := []plans.Move{{Topic: "orders", Partition: 0, From: moves[0].To, To: []int32{3, 4, 5, 0, 1, 2}}}
	lower := []plans.Move{{Topic: "orders", Partition: 0, From: lead[0].To, To: []int32{3, 4, 5}}}
	p := &plans.Plan{Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: "gate-test", Strategy: plans.StrategyPhased,
		Throttle: 10 << 20, SourceBrokers: []int32{0, 1, 2}, TargetBrokers: []int32{3, 4, 5},
		Steps: []plans.Step{
			{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: moves, Estimate: plans.EstimateMoves(moves, 10<<20)},
			{Number: 2, Phase: plans.PhaseMoveLeader, Partitions: lead},
			{Number: 3, Phase: plans.PhaseLowerRF, Partitions: lower},
		}}
	p.Totals = plans.ComputeTotals(p.Steps)
	data, err := plans.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	planPath := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(planPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	apply := func(extra ...string) (string, int) {
		args := append([]string{"apply", planPath, "--step", "1", "--poll-interval", "20ms", "--bootstrap", strings.Join(c.Bootstrap(), ","), "--zookeeper", zk.Connect}, extra...)
		out, err := kshiftCmd(t, args...).CombinedOutput()
		return string(out), exitCodeOf(err)
	}
	out, code := apply()
	if code != exitRefused || !strings.Contains(out, "kshift check failed") || !strings.Contains(out, "broker-configs") || !strings.Contains(out, "inter.broker.protocol.version") {
		t.Fatalf("apply with broker 4 on another IBP: exit %d, want %d naming the broker-configs gate and the config\n%s", code, exitRefused, out)
	}
	st, _ := c.Partition("orders", 0)
	if !slices.Equal(st.Replicas, moves[0].From) || st.Reassigning {
		t.Errorf("refused step changed orders-0: %+v", st)
	}
	for b := int32(0); b < 6; b++ {
		if r := c.BrokerRates(b); len(r) > 0 {
			t.Errorf("refused step left rates on broker %d: %v", b, r)
		}
	}
	if cfg, _ := c.TopicConfigs("orders"); cfg[executor.FollowerReplicasKey] != "" || cfg[executor.LeaderReplicasKey] != "" {
		t.Errorf("refused step left throttled replicas on orders: %v", cfg)
	}
	if out, code := apply("--skip-health-check"); code != 0 {
		t.Fatalf("apply --skip-health-check: exit %d\n%s", code, out)
	}
	if st, _ := c.Partition("orders", 0); !slices.Equal(st.Replicas, moves[0].To) {
		t.Errorf("after apply --skip-health-check: orders-0 replicas %v, want %v", st.Replicas, moves[0].To)
	}
}
