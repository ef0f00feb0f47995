package executor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkPhasedMigration10k applies a whole phased plan (10,000
// partitions, about 2 TiB with skewed sizes, 60 source onto 60 target
// brokers, 50 MiB/s, the mapping's default limits) to the double, and
// reports the simulated migration time over the ideal: the busiest broker's
// bytes in or out divided by the rate, each copy sent by the partition's
// leader as in Kafka (plans.BusiestTotal). The double's clock is manual and
// moves only while a reassignment is in flight, 1 s at a time, so the
// executor's own polling (real time here, seconds in production) does not
// count as simulated hours; kshift's wall-clock time per step is reported
// beside it.
//
//	go test ./executor -run '^$' -bench PhasedMigration10k -benchtime 1x
//
// The sub-benchmark default-limits uses the mapping's default limits;
// bytes-per-step-8TiB lifts bytes_per_step so that the largest
// partitions are not forced into steps of their own.
func BenchmarkPhasedMigration10k(b *testing.B) {
	so := synth.Options{SourceBrokers: 60, TargetBrokers: 60, Topics: 200, Partitions: 10000, TotalBytes: 2 << 40, Seed: 7}
	b.Run("default-limits", func(b *testing.B) {
		for range b.N {
			benchMigration(b, so, nil)
		}
	})
	b.Run("bytes-per-step-8TiB", func(b *testing.B) {
		for range b.N {
			benchMigration(b, so, func(l *plans.Limits) { l.BytesPerStep = 8 << 40 })
		}
	})
}

func benchMigration(b *testing.B, so synth.Options, limits func(*plans.Limits)) {
	snap, mapping := synth.Generate(so)
	if limits != nil {
		limits(&mapping.Limits)
	}
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: mapping})
	if err != nil {
		b.Fatal(err)
	}
	p := res.Plan
	var brokers []kafkasim.BrokerConfig
	for _, br := range snap.Brokers {
		brokers = append(brokers, kafkasim.BrokerConfig{ID: br.ID, Rack: br.Rack})
	}
	clock := kafkasim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c, err := kafkasim.Start(ctx, kafkasim.Config{ClusterID: snap.ClusterID, Brokers: brokers, Clock: clock, NetworkRate: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.LoadSnapshot(snap); err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.RetryTimeout(10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	e := New(cl, Options{PollInterval: 5 * time.Millisecond, SettleTimeout: 10 * time.Second, ElectionBatch: 500, ElectionWait: time.Millisecond, CallTimeout: 30 * time.Second, Store: state.NewMemory()})

	// Advance the clock while anything is in flight.
	stop := make(chan struct{})
	advancer := make(chan struct{})
	go func() {
		defer close(advancer)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			req := kmsg.NewPtrListPartitionReassignmentsRequest()
			req.Topics = nil
			resp, err := req.RequestWith(ctx, cl)
			if err == nil && len(resp.Topics) > 0 {
				clock.Advance(time.Second)
			}
		}
	}()
	var all []plans.Move
	for _, s := range p.Steps {
		all = append(all, s.Partitions...)
	}
	toCopy := plans.EstimateMoves(all, p.Throttle).BytesToCopy
	busiest, busiestBytes := plans.BusiestTotal(p, snap)
	idealTime := p.Throttle.TimeFor(busiestBytes)
	simStart := clock.Now()
	wallStart := time.Now()
	cpuStart := cpuTime()
	ref := PlanRef{Plan: p, Path: "bench-plan.yaml"}
	steps := 0
	for _, s := range p.Steps {
		if !s.Phase.IsReassignment() {
			continue
		}
		if _, err := e.Apply(ctx, ref, s.Number); err != nil {
			b.Fatalf("step %d: %v", s.Number, err)
		}
		steps++
	}
	close(stop)
	<-advancer
	sim := clock.Now().Sub(simStart)
	wall := time.Since(wallStart)
	b.ReportMetric(sim.Hours(), "sim-hours")
	b.ReportMetric(idealTime.Hours(), "ideal-hours")
	b.ReportMetric(sim.Seconds()/idealTime.Seconds(), "sim/ideal")
	b.ReportMetric(sim.Seconds()/time.Duration(p.Totals.Duration).Seconds(), "sim/plan-estimate")
	b.ReportMetric(float64(steps), "steps")
	b.ReportMetric(float64(e.Calls())/float64(steps), "calls/step")
	b.ReportMetric(wall.Seconds()/float64(steps), "wall-s/step")
	b.ReportMetric((cpuTime()-cpuStart).Seconds()/float64(steps), "cpu-s/step")
	b.Logf("%d partitions, %s to copy, %d steps; simulated %s, ideal %s (busiest broker %d: %s at %s); wall %s",
		snap.PartitionCount(), toCopy, steps, sim.Round(time.Second), idealTime.Round(time.Second), busiest, busiestBytes, p.Throttle, wall.Round(time.Second))
}

// cpuTime is the process's user+system CPU time (the double's included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
