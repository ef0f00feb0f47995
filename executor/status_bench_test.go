package executor

import (
	"context"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/planner"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkStatus200k reads where every step of the 200,000-partition plan
// (120 brokers, 20,000 topics, 2,877 steps) stands on a simulated cluster
// holding its snapshot: the work of `kshift status` once the plan is loaded.
// The simulator runs in the same process, so the time includes its answers;
// calls/op counts the requests on the wire (kafkaapi.Client.Calls, one per
// broker asked). Run with -benchtime 1x.
func BenchmarkStatus200k(b *testing.B) {
	snap, mapping := synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 20000, Partitions: 200000, Seed: 1})
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: mapping})
	if err != nil {
		b.Fatal(err)
	}
	var brokers []kafkasim.BrokerConfig
	for _, br := range snap.Brokers {
		brokers = append(brokers, kafkasim.BrokerConfig{ID: br.ID, Rack: br.Rack})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := kafkasim.Start(ctx, kafkasim.Config{ClusterID: snap.ClusterID, Brokers: brokers})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.LoadSnapshot(snap); err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	e := New(cl, Options{CallTimeout: time.Minute})
	ref := PlanRef{Plan: res.Plan, Path: "plan.yaml"}
	b.ResetTimer()
	calls := e.kafka.Calls()
	for b.Loop() {
		st, err := e.Status(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Steps) != len(res.Plan.Steps) || st.Steps[0].State != StepPending {
			b.Fatalf("status of %d steps, the first %s; want %d, pending", len(st.Steps), st.Steps[0].State, len(res.Plan.Steps))
		}
	}
	b.ReportMetric(float64(e.kafka.Calls()-calls)/float64(b.N), "calls/op")
}
