package synth

import (
	"bytes"
	"testing"

	"github.com/kshift/kshift/plans"
)

func TestGenerateShape(t *testing.T) {
	for _, opts := range []Options{
		{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 2000, Partitions: 20000, Seed: 1},
		{SourceBrokers: 6, TargetBrokers: 4, Racks: 3, TargetRacks: 2, Topics: 30, Partitions: 200, Seed: 2},
		{SourceBrokers: 2, TargetBrokers: 2, Racks: 1, Topics: 3, Partitions: 3, Seed: 3},
	} {
		snap, m := Generate(opts)
		if err := snap.Validate(); err != nil {
			t.Fatalf("%+v: snapshot invalid: %v", opts, err)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("%+v: mapping invalid: %v", opts, err)
		}
		if got := snap.PartitionCount(); got != opts.Partitions {
			t.Errorf("%+v: %d partitions, want %d", opts, got, opts.Partitions)
		}
		if len(snap.Topics) != opts.Topics {
			t.Errorf("%+v: %d topics, want %d", opts, len(snap.Topics), opts.Topics)
		}
		for _, topic := range snap.Topics {
			for _, p := range topic.Partitions {
				for _, r := range p.Replicas {
					if !m.IsSource(r) {
						t.Fatalf("%s-%d: replica on %d, not a source broker", topic.Name, p.ID, r)
					}
				}
			}
		}
	}
}

func TestGenerateRealisticCluster(t *testing.T) {
	snap, _ := Generate(Options{SourceBrokers: 9, TargetBrokers: 9, Racks: 3, Topics: 300, Partitions: 3000, Seed: 7})
	var internal, minISR2, notPreferred, rf2 int
	var largest, smallest plans.ByteSize = 0, 1 << 62
	for _, topic := range snap.Topics {
		if plans.IsInternalTopic(topic.Name) {
			internal++
			if len(topic.Partitions) != 50 {
				t.Errorf("%s has %d partitions, want 50", topic.Name, len(topic.Partitions))
			}
		}
		if topic.MinInsyncReplicas() == 2 {
			minISR2++
		}
		var size plans.ByteSize
		for _, p := range topic.Partitions {
			size += p.Size
			if p.Leader != p.Replicas[0] {
				notPreferred++
			}
			if len(p.Replicas) == 2 {
				rf2++
			}
			racks := map[string]bool{}
			for _, r := range p.Replicas {
				racks[snap.Broker(r).Rack] = true
			}
			if len(racks) != len(p.Replicas) {
				t.Errorf("%s-%d: replicas %v are not in distinct racks", topic.Name, p.ID, p.Replicas)
			}
		}
		largest, smallest = max(largest, size), min(smallest, size)
	}
	if internal != 2 || minISR2 == 0 || notPreferred == 0 || rf2 == 0 {
		t.Errorf("internal=%d minISR2=%d notPreferred=%d rf2=%d: want internal topics, some min.insync.replicas=2, some non-preferred leaders, some RF2", internal, minISR2, notPreferred, rf2)
	}
	if largest < 1000*smallest {
		t.Errorf("topic sizes %d..%d are not skewed", smallest, largest)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	opts := Options{SourceBrokers: 6, TargetBrokers: 6, Topics: 40, Partitions: 400, Seed: 42}
	a1, m1 := Generate(opts)
	a2, m2 := Generate(opts)
	for _, pair := range [][2]any{{a1, a2}, {m1, m2}} {
		x, err := plans.Marshal(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		y, err := plans.Marshal(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Fatal("two runs with the same seed differ")
		}
	}
	b, _ := Generate(Options{SourceBrokers: 6, TargetBrokers: 6, Topics: 40, Partitions: 400, Seed: 43})
	x, _ := plans.Marshal(a1)
	y, _ := plans.Marshal(b)
	if bytes.Equal(x, y) {
		t.Fatal("different seeds gave the same cluster")
	}
}

// BenchmarkGenerate200k is the synthetic cluster of the planner benchmark.
func BenchmarkGenerate200k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Generate(Options{SourceBrokers: 60, TargetBrokers: 60, Racks: 3, Topics: 20000, Partitions: 200000, Seed: 1})
	}
}
