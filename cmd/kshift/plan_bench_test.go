package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/plans"
)

// BenchmarkPlanEndToEnd is `kshift plan` without the final directory write:
// decode the snapshot and mapping files, plan, check every invariant, derive
// the rollback, marshal both plans and write the summary, on the synthetic
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
	for range b.N {
		res, err := planFromFiles(snapPath, mappingPath, nil)
		if err != nil {
			b.Fatal(err)
		}
		files, err := planDirFiles(res)
		if err != nil {
			b.Fatal(err)
		}
		if len(files[0].Data) == 0 {
			b.Fatal("empty plan")
		}
	}
}
