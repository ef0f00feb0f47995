package plans_test

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
)

// The 200,000-partition, 20,000-topic synthetic cluster of the README's
// performance section. Run with:
//
//	go test ./plans -run '^$' -bench 200k -benchtime 1x -benchmem
func bench200k(b *testing.B) (snapYAML []byte, plan *plans.Plan) {
	b.Helper()
	snap, m := synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 20000, Partitions: 200000, Seed: 1})
	data, err := plans.Marshal(snap)
	if err != nil {
		b.Fatal(err)
	}
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m})
	if err != nil {
		b.Fatal(err)
	}
	return data, res.Plan
}

// BenchmarkDecodeSnapshot200k decodes the 18 MB snapshot by the fast path,
// and by plain yaml.v3 (a comment after each `partitions:` key takes the
// file out of kshift's own form).
func BenchmarkDecodeSnapshot200k(b *testing.B) {
	data, _ := bench200k(b)
	slow := bytes.ReplaceAll(data, []byte("    partitions:\n"), []byte("    partitions: # yaml.v3 path\n"))
	for _, c := range []struct {
		name string
		data []byte
	}{{"fast", data}, {"yaml.v3", slow}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := plans.Decode[plans.Snapshot](c.data, "snapshot.yaml"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlan200k writes the 73 MB plan and reads it back.
func BenchmarkPlan200k(b *testing.B) {
	_, plan := bench200k(b)
	data, err := plans.Marshal(plan)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := plans.Marshal(plan); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := plans.Decode[plans.Plan](data, "plan.yaml"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLoadPlan200k is what `kshift apply`, `status` and `plan validate`
// do with the 73 MB plan before they touch a cluster: read the file, decode
// it strictly, validate it, hash it and check its invariants. Run with
// -benchtime 1x (or 3x); cpu-s/op is the CPU time of both cores per load,
// the figure to compare on a shared machine; -cpuprofile shows where each
// part goes.
func BenchmarkLoadPlan200k(b *testing.B) {
	_, plan := bench200k(b)
	data, err := plans.Marshal(plan)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	want := plans.SHA256Hex(data)
	b.ReportAllocs()
	b.ResetTimer()
	cpuStart := cpuTime()
	for range b.N {
		p, sum, err := plans.LoadFile[plans.Plan](path)
		if err != nil {
			b.Fatal(err)
		}
		if sum != want {
			b.Fatalf("hash %s, want the file's own %s", sum, want)
		}
		if err := plans.CheckStandalone(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpuStart).Seconds()/float64(b.N), "cpu-s/op")
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
