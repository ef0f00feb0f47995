package kafkatest

import (
	"testing"
	"time"
)

// BenchmarkClusterStart measures what a test pays for a cluster of its own:
// ZooKeeper and three brokers, three more brokers joining later, the
// brokers' resident memory, and the teardown. Run it alone, e.g.
//
//	KSHIFT_KAFKA_HOME=../shared/kafka-2.4 go test ./internal/kafkatest -run '^$' -bench ClusterStart -benchtime 3x
//
// (KAFKA_HEAP_OPTS=-Xmx256m in the environment tries a smaller heap).
func BenchmarkClusterStart(b *testing.B) {
	var first, later, closing time.Duration
	var rss int64
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c := Start(b, Options{Brokers: 3, Later: 3})
		first += time.Since(start)
		start = time.Now()
		c.StartBrokers(b, 4, 5, 6)
		later += time.Since(start)
		for _, id := range c.IDs() {
			n, err := c.Broker(b, id).RSS()
			if err != nil {
				b.Fatalf("broker %d: %v", id, err)
			}
			rss += n
		}
		start = time.Now()
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		closing += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(first.Seconds()/n, "s/zk+3brokers")
	b.ReportMetric(later.Seconds()/n, "s/3later")
	b.ReportMetric(closing.Seconds()/n, "s/close")
	b.ReportMetric(float64(rss)/n/6/(1<<20), "MiB-rss/broker")
	b.ReportMetric(0, "ns/op")
}
