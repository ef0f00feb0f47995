package kafkatest

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestWorkloadKeepsEveryAckThroughBrokerStopsAndKills runs a producer and a
// consumer group while brokers stop, die and come back, and checks that
// Verify finds every acknowledged record; a topic with min.insync.replicas=2
// on two brokers refuses writes while one is down, which the producer must
// retry (NOT_ENOUGH_REPLICAS), not lose.
func TestWorkloadKeepsEveryAckThroughBrokerStopsAndKills(t *testing.T) {
	c := Shared(t, sharedOptions)
	wide, narrow := TopicName(t, "rf3"), TopicName(t, "rf2")
	c.CreateTopic(t, wide, Topic{Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"min.insync.replicas": "2"}})
	c.CreateTopic(t, narrow, Topic{Assignment: [][]int32{{1, 2}, {2, 1}}, Configs: map[string]string{"min.insync.replicas": "2"}})
	w := c.StartWorkload(t, WorkloadOptions{Topics: []string{wide, narrow}, Rate: 100, Group: GroupName(t, "readers")})
	waitAcked := func(more int64) {
		t.Helper()
		target := w.Counts().Acked + more
		WaitFor(t, DefaultWait, fmt.Sprintf("%d acknowledged records", target), func(context.Context) error {
			if n := w.Counts().Acked; n < target {
				return fmt.Errorf("%d acknowledged", n)
			}
			return nil
		})
	}
	waitAcked(200)

	c.Broker(t, 2).Stop(t)
	WaitFor(t, DefaultWait, "a NOT_ENOUGH_REPLICAS retried", func(context.Context) error {
		if n := w.Counts().Retried["NOT_ENOUGH_REPLICAS"]; n == 0 {
			return fmt.Errorf("none yet (retried %v)", w.Counts().Retried)
		}
		return nil
	})
	c.Broker(t, 2).Start(t)
	c.WaitInSync(t, wide, narrow)
	waitAcked(200)

	c.Broker(t, 3).Kill(t)
	waitAcked(200)
	c.Broker(t, 3).Start(t)
	c.WaitInSync(t, wide, narrow)
	waitAcked(200)

	rep := w.Verify(t)
	t.Logf("workload: %s", rep)
	for _, id := range c.Running() {
		if rss, err := c.Broker(t, id).RSS(); err == nil {
			t.Logf("broker %d RSS %d MiB", id, rss>>20)
		}
	}
	if rep.Acked < 800 || rep.ReadBack < rep.Acked || rep.ConsumedDistinct < rep.Acked {
		t.Errorf("acked %d, read back %d, consumed %d distinct: want at least 800 acked, all read back and consumed", rep.Acked, rep.ReadBack, rep.ConsumedDistinct)
	}
}

// TestCheckFindsLostMisplacedDuplicatedReorderedAndForeignRecords feeds
// Check fabricated expectations and hand-written records on real topics,
// so that each kind of broken promise is seen to be found.
func TestCheckFindsLostMisplacedDuplicatedReorderedAndForeignRecords(t *testing.T) {
	c := Shared(t, sharedOptions)
	topic := TopicName(t, "work")
	c.CreateTopic(t, topic, Topic{Partitions: 2, ReplicationFactor: 3})
	w := c.StartWorkload(t, WorkloadOptions{Topics: []string{topic}, Rate: 400})
	WaitFor(t, DefaultWait, "100 acknowledged records", func(context.Context) error {
		if n := w.Counts().Acked; n < 100 {
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	})
	w.Stop(t)
	real := w.Expectation()
	samePartition := func() (int, int) {
		for i := range real.Acked {
			for j := i + 1; j < len(real.Acked); j++ {
				if real.Acked[i].Partition == real.Acked[j].Partition {
					return i, j
				}
			}
		}
		t.Fatal("no two acks in one partition")
		return 0, 0
	}

	cases := []struct {
		name string
		edit func(e *Expectation)
		want map[Problem]int
	}{
		{"the real acks", func(*Expectation) {}, map[Problem]int{}},
		{"an ack dropped: its record is there unacknowledged, which is allowed", func(e *Expectation) {
			e.Acked = e.Acked[1:]
		}, map[Problem]int{}},
		{"an ack past the end", func(e *Expectation) {
			e.Acked = append(e.Acked, Ack{Topic: topic, Partition: 0, Offset: 1 << 40, Seq: e.Attempted})
			e.Attempted++
		}, map[Problem]int{ProblemLost: 1}},
		{"two acks with their offsets swapped", func(e *Expectation) {
			i, j := samePartition()
			e.Acked[i].Offset, e.Acked[j].Offset = e.Acked[j].Offset, e.Acked[i].Offset
		}, map[Problem]int{ProblemMisplaced: 2}},
		{"records of another run", func(e *Expectation) { e.Run = "other" }, map[Problem]int{
			ProblemForeign: int(readBack(t, c, real)), ProblemLost: len(real.Acked),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := real
			e.Acked = append([]Ack(nil), real.Acked...)
			tc.edit(&e)
			checkProblems(t, c, e, tc.want)
		})
	}

	// Records written by hand: duplicates across partitions, a partition
	// out of produce order, and a record that is not a workload's.
	raw := TopicName(t, "raw")
	c.CreateTopic(t, raw, Topic{Partitions: 2, ReplicationFactor: 2})
	hand := []struct {
		name    string
		records []handRecord
		want    map[Problem]int
	}{
		{"in order", []handRecord{{0, "0"}, {0, "2"}, {1, "1"}}, map[Problem]int{}},
		{"one record twice", []handRecord{{0, "3"}, {1, "3"}}, map[Problem]int{ProblemDuplicated: 1}},
		{"a partition out of order", []handRecord{{0, "5"}, {0, "4"}}, map[Problem]int{ProblemOutOfOrder: 1}},
		{"a stranger", []handRecord{{1, ""}}, map[Problem]int{ProblemForeign: 1}},
	}
	var acks []Ack
	seen := map[Problem]int{}
	for _, h := range hand {
		acks = append(acks, writeByHand(t, c, raw, h.records)...)
		for k, v := range h.want {
			seen[k] += v
		}
		t.Run("by hand/"+h.name, func(t *testing.T) {
			// Every problem so far stays in the log: the counts add up.
			checkProblems(t, c, Expectation{Run: "hand", Topics: []string{raw}, Acked: acksWithoutDuplicates(acks), Attempted: 6}, seen)
		})
	}
}

// readBack is how many records Check reads for e.
func readBack(t *testing.T, c *Cluster, e Expectation) int64 {
	t.Helper()
	rep, err := c.Check(t.Context(), e)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return rep.ReadBack
}

func checkProblems(t *testing.T, c *Cluster, e Expectation, want map[Problem]int) {
	t.Helper()
	rep, err := c.Check(t.Context(), e)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if fmt.Sprint(rep.ProblemCounts) != fmt.Sprint(want) {
		t.Fatalf("problems %v, want %v\n%s", rep.ProblemCounts, want, rep)
	}
	if (rep.Err() == nil) != (len(want) == 0) {
		t.Fatalf("Err() = %v with problems %v", rep.Err(), rep.ProblemCounts)
	}
}

type handRecord struct {
	partition int32
	seq       string // "" writes a record that is not a workload's
}

// writeByHand writes records of run "hand" to the given partitions and
// returns their acks.
func writeByHand(t *testing.T, c *Cluster, topic string, recs []handRecord) []Ack {
	t.Helper()
	cl := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var acks []Ack
	for _, r := range recs {
		value := []byte("not a workload record")
		if r.seq != "" {
			value = []byte("kafkatest hand " + r.seq + " ")
		}
		res, err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: topic, Partition: r.partition, Value: value}).First()
		if err != nil {
			t.Fatalf("writing by hand: %v", err)
		}
		if _, seq, ok := parseRecordValue(res.Value); ok {
			acks = append(acks, Ack{Topic: topic, Partition: res.Partition, Offset: res.Offset, Seq: seq})
		}
	}
	return acks
}

// acksWithoutDuplicates keeps the first ack of each sequence number, as a
// producer would have had only one of them acknowledged.
func acksWithoutDuplicates(acks []Ack) []Ack {
	seen := map[int64]bool{}
	var out []Ack
	for _, a := range acks {
		if !seen[a.Seq] {
			seen[a.Seq] = true
			out = append(out, a)
		}
	}
	return out
}
