package executor

import (
	"testing"
	"time"

	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/kafkasim"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestHiddenRatesReadFromZooKeeper pins item 13 with docs/design.md "Throttles":
// Kafka 2.4 hides an existing rate from DescribeConfigs, so with ZooKeeper
// configured kshift reads it from /config/brokers/N (the double keeps that
// layout in a real ZooKeeper), overwrites it for the step and restores the
// exact value afterwards.
func TestHiddenRatesReadFromZooKeeper(t *testing.T) {
	zktest.Require(t)
	ens := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	conn := zktest.Dial(t, ens.Connect(), false)
	c := startCluster(t, 200, kafkasim.Config{})
	ctx := testCtx(t, 60*time.Second)
	if err := c.RegisterZooKeeper(ctx, conn, "/kafka"); err != nil {
		t.Fatal(err)
	}
	c.topic(t, "orders", 8<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 10<<20, "orders")
	c.alterConfig(t, kmsg.ConfigResourceTypeBroker, "3", map[string]string{FollowerRateKey: "12345"})
	if err := c.SyncZooKeeper(ctx); err != nil {
		t.Fatal(err)
	}
	var during string
	e, _ := testExecutor(t, c, func(o *Options) {
		o.ZooKeeper, o.ZooKeeperChroot = conn, "/kafka"
		o.Progress = func(Progress) {
			if during == "" {
				during = c.BrokerRates(3)[FollowerRateKey]
			}
		}
	})
	res, err := e.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1)
	if err != nil {
		t.Fatalf("apply with the hidden rate readable in ZooKeeper: %v", err)
	}
	if during != "10485760" {
		t.Errorf("broker 3 follower rate during the step: %q, want kshift's 10485760", during)
	}
	if got := c.BrokerRates(3)[FollowerRateKey]; got != "12345" {
		t.Errorf("broker 3 follower rate after the step: %q, want the earlier 12345 restored", got)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("warnings %v; the rate was known", res.Warnings)
	}
}
