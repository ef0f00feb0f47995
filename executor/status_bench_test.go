package executor

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkStatus200k reads where every step of the 200,000-partition plan
// (120 brokers, 20,000 topics, 2,785 steps) stands on a simulated cluster
// holding its snapshot: the work of `kshift status` once the plan is loaded,
// at the start of the migration and half way through it (the first half of
// its reassignment steps done). The simulator runs in the same process, so
// the time includes its answers; calls/op counts the requests on the wire
// (kafkaapi.Client.Calls, one per broker asked). Run with -benchtime 1x.
func BenchmarkStatus200k(b *testing.B) {
	snap, mapping := synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 20000, Partitions: 200000, Seed: 1})
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: mapping})
	if err != nil {
		b.Fatal(err)
	}
	var reassignSteps []int
	for _, s := range res.Plan.Steps {
		if s.Phase.IsReassignment() {
			reassignSteps = append(reassignSteps, s.Number)
		}
	}
	half := reassignSteps[len(reassignSteps)/2-1]
	for _, tc := range []struct {
		name string
		done int // steps 1..done are done
	}{{"start", 0}, {"half-way", half}} {
		b.Run(tc.name, func(b *testing.B) {
			at := doneThrough(snap, res.Plan, tc.done)
			benchmarkStatus(b, at, res.Plan, tc.done)
		})
	}
}

// doneThrough returns snap with every partition at the `to` of its last
// move in steps 1..n, led by its first replica, in sync.
func doneThrough(snap *plans.Snapshot, p *plans.Plan, n int) *plans.Snapshot {
	at := map[kafkaapi.TP][]int32{}
	for _, s := range p.Steps[:n] {
		for _, m := range s.Partitions {
			at[kafkaapi.TP{Topic: m.Topic, Partition: m.Partition}] = m.To
		}
	}
	out := *snap
	out.Topics = slices.Clone(snap.Topics)
	for i := range out.Topics {
		t := &out.Topics[i]
		t.Partitions = slices.Clone(t.Partitions)
		for j := range t.Partitions {
			pt := &t.Partitions[j]
			if to, ok := at[kafkaapi.TP{Topic: t.Name, Partition: pt.ID}]; ok {
				pt.Replicas, pt.ISR, pt.Leader = to, to, to[0]
			}
		}
	}
	return &out
}

func benchmarkStatus(b *testing.B, snap *plans.Snapshot, p *plans.Plan, done int) {
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
	ref := PlanRef{Plan: p, Path: "plan.yaml"}
	b.ResetTimer()
	calls := e.kafka.Calls()
	for b.Loop() {
		st, err := e.Status(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Steps) != len(p.Steps) {
			b.Fatalf("status of %d steps, want %d", len(st.Steps), len(p.Steps))
		}
		for i, s := range st.Steps {
			want := StepPending
			if i < done {
				want = StepDone
			}
			if p.Steps[i].Phase.IsReassignment() && s.State != want {
				b.Fatalf("step %d is %s, want %s", s.Number, s.State, want)
			}
		}
	}
	b.ReportMetric(float64(e.kafka.Calls()-calls)/float64(b.N), "calls/op")
}
