package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/plans"
)

// BenchmarkPlanEndToEnd is `kshift plan`: decode the snapshot and mapping
// files, plan, check every invariant, derive the rollback, stream both plans
// and the summary into the plan directory, on the synthetic
// 200,000-partition, 20,000-topic cluster (60 source -> 60 target brokers on
// 3 racks). Run with:
//
//	go test ./cmd/kshift -run '^$' -bench PlanEndToEnd -benchtime 3x -benchmem
func BenchmarkPlanEndToEnd(b *testing.B) {
	dir := b.TempDir()
	snapPath, mappingPath := filepath.Join(dir, "snapshot.yaml"), filepath.Join(dir, "mapping.yaml")
	snap, m := synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 20000, Partitions: 200000, Seed: 1})
	for path, v := range map[string]any{snapPath: snap, mappingPath: m} {
		data, err := plans.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }()
	for range b.N {
		res, checked, err := planFromFiles(snapPath, mappingPath, 0, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := writePlanDir(filepath.Join(dir, "plan"), res, checked); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time the process has used (every thread, the garbage
// collector's included): steadier than wall time on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
