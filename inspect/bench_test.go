package inspect

import (
	"io"
	"runtime"
	"testing"

	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/kafkasim"
)

// BenchmarkSnapshot200k reads a 200,000-partition cluster (120 brokers,
// 20,000 topics) from the simulator and writes the snapshot: the work of
// `kshift snapshot`. Run with -benchtime=1x. heap-growth-MiB is the heap in
// use after the read beyond what the simulator itself holds. The simulator
// runs in the same process, so the time includes its answers; the binary's
// RSS is measured with /usr/bin/time against `kshift sandbox`
// (docs/performance.md).
func BenchmarkSnapshot200k(b *testing.B) {
	want, _ := synth.Generate(synth.Options{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 20000, Partitions: 200000, Seed: 1})
	d, cl := startDouble(b, kafkasim.Config{ClusterID: want.ClusterID, Brokers: doubleBrokers(want)})
	if err := d.LoadSnapshot(want); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	var growth uint64
	for b.Loop() {
		st, err := Read(ctxT(b), api(cl), ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteSnapshot(io.Discard, st.Snapshot); err != nil {
			b.Fatal(err)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		growth = max(growth, m.HeapInuse-min(m.HeapInuse, before.HeapInuse))
		if st.Snapshot.PartitionCount() != 200000 {
			b.Fatalf("read %d partitions", st.Snapshot.PartitionCount())
		}
	}
	b.ReportMetric(float64(growth)/(1<<20), "heap-growth-MiB")
}
