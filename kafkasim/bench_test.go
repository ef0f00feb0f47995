package kafkasim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// bigCluster starts six brokers with topics × partitions partitions of RF 3.
func bigCluster(b *testing.B, topics, partitions int) *Cluster {
	b.Helper()
	c, err := Start(context.Background(), Config{Brokers: sixBrokers(), Clock: NewManualClock(testStart)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	for i := 0; i < topics; i++ {
		assign := make([][]int32, partitions)
		for p := range assign {
			assign[p] = []int32{int32(p % 3), int32((p + 1) % 3), int32((p + 2) % 3)}
		}
		if err := c.CreateTopic(fmt.Sprintf("t%04d", i), assign, nil); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// BenchmarkMetadata200k: one full Metadata request of a 200,000-partition
// cluster, through the wire.
func BenchmarkMetadata200k(b *testing.B) {
	c := bigCluster(b, 2000, 100)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), cl)
		if err != nil || len(resp.Topics) != 2000 {
			b.Fatalf("metadata: %v", err)
		}
	}
}

// BenchmarkCopy2kOf200k: 2,000 partitions of a 200,000-partition cluster
// copy to a new replica with staggered sizes (2,000 separate catch-up
// events), simulated to completion in one one-hour Advance (12 rebalance checks
// over all 200,000 partitions included).
func BenchmarkCopy2kOf200k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := bigCluster(b, 2000, 100)
		c.mu.Lock()
		n := 0
		for _, name := range sortedKeys(c.topics) {
			for _, p := range c.topics[name].partitions {
				if n < 2000 {
					p.size = float64((n + 1) * 1000)
					c.reassignLocked(p, append(clone(p.replicas), 3+int32(n%3)))
					n++
				}
			}
		}
		c.mu.Unlock()
		b.StartTimer()
		c.Clock().Advance(time.Hour)
		c.mu.Lock()
		c.advanceLocked()
		for _, t := range c.topics {
			for _, p := range t.partitions {
				if p.moving() {
					b.Fatalf("%s-%d still moving", p.topic.name, p.id)
				}
			}
		}
		c.mu.Unlock()
	}
}
