package kafkasim

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// API versions in 2.4.0 (docs/kafka-behaviour.md): Metadata v9, DescribeConfigs v2,
// IncrementalAlterConfigs v1, AlterPartitionReassignments v0,
// ListPartitionReassignments v0, ElectLeaders v2, DescribeLogDirs v1,
// CreateTopics v5, no DescribeCluster. 3.x adds DescribeCluster and
// DescribeLogDirs v4. The whole list is the release's, so version guesses
// name it.
func TestApiVersionsMatchEmulatedKafka(t *testing.T) {
	tests := []struct {
		v     Version
		want  map[int16]int16 // key → max; -1: absent
		guess string
	}{
		{V2_4, map[int16]int16{3: 9, 32: 2, 44: 1, 45: 0, 46: 0, 43: 2, 35: 1, 19: 5, 60: -1}, "v2.4"},
		{V3_x, map[int16]int16{3: 12, 35: 4, 60: 0}, "v3.6"},
	}
	for _, tc := range tests {
		t.Run(tc.v.String(), func(t *testing.T) {
			_, adm, cl := start(t, Config{Version: tc.v})
			vs, err := adm.ApiVersions(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, bv := range vs {
				if bv.Err != nil {
					t.Fatalf("broker %d: %v", bv.NodeID, bv.Err)
				}
				if g := bv.VersionGuess(); g != tc.guess {
					t.Errorf("broker %d: version guess %q, want %q", bv.NodeID, g, tc.guess)
				}
				for key, want := range tc.want {
					got, ok := bv.KeyMaxVersion(key)
					if want == -1 && ok {
						t.Errorf("broker %d advertises key %d up to v%d, want absent", bv.NodeID, key, got)
					}
					if want >= 0 && (!ok || got != want) {
						t.Errorf("broker %d key %d: max v%d (%v), want v%d", bv.NodeID, key, got, ok, want)
					}
				}
			}
			_, err = kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx(t), cl)
			if (err == nil) != (tc.v == V3_x) {
				t.Errorf("DescribeCluster: err %v on %v", err, tc.v)
			}
		})
	}
}

// Metadata carries the cluster id, controller, brokers with racks, and per
// partition leader, epoch, replicas, ISR and offline replicas.
func TestMetadataReportsClusterShape(t *testing.T) {
	c, adm, _ := start(t, Config{ClusterID: "prod-eu", Controller: 4})
	mustCreate(t, c, "orders", []int32{0, 1, 2}, []int32{3, 4, 5})
	if err := c.StopBroker(5); err != nil {
		t.Fatal(err)
	}
	md, err := adm.Metadata(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if md.Cluster != "prod-eu" || md.Controller != 4 || len(md.Brokers) != 5 {
		t.Fatalf("cluster %q controller %d brokers %d, want prod-eu 4 5", md.Cluster, md.Controller, len(md.Brokers))
	}
	for _, b := range md.Brokers {
		if want := []string{"r1", "r2", "r3"}[b.NodeID%3]; b.Rack == nil || *b.Rack != want {
			t.Errorf("broker %d rack %v, want %s", b.NodeID, b.Rack, want)
		}
	}
	p := md.Topics["orders"].Partitions[1]
	if p.Leader != 3 || p.LeaderEpoch != 1 || !equal(p.Replicas, []int32{3, 4, 5}) || !equal(p.ISR, []int32{3, 4}) || !equal(p.OfflineReplicas, []int32{5}) {
		t.Errorf("orders-1: %+v, want leader 3 epoch 1 isr [3 4] offline [5]", p)
	}
}

// Brokers that stop: ISR shrink, leader failover to the first live ISR member,
// offline partition (leader -1, the last ISR member kept) when no ISR member
// is alive, the listener closed; on restart the same port, the partition back
// online and the replica back in the ISR.
func TestBrokerStopAndStart(t *testing.T) {
	c, adm, cl := start(t, Config{Controller: 0})
	mustCreate(t, c, "orders", []int32{1, 2, 3}, []int32{4})
	addr, _ := c.Addr(1)
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Error("stopped broker 1 still accepts connections")
	}
	if c.BrokerAlive(1) || !c.BrokerAlive(2) {
		t.Errorf("alive: 1 %v, 2 %v, want false and true", c.BrokerAlive(1), c.BrokerAlive(2))
	}
	if s := state(t, c, "orders", 0); s.Leader != 2 || !equal(s.ISR, []int32{2, 3}) || s.LeaderEpoch != 1 {
		t.Errorf("after stopping leader 1: %+v, want leader 2 isr [2 3] epoch 1", s)
	}
	if err := c.StopBroker(4); err != nil {
		t.Fatal(err)
	}
	md, err := adm.Metadata(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if p := md.Topics["orders"].Partitions[1]; p.Leader != -1 || !equal(p.ISR, []int32{4}) {
		t.Errorf("orders-1 with its only replica down: %+v, want leader -1 isr [4]", p)
	}
	if err := c.StartBroker(1); err != nil {
		t.Fatal(err)
	}
	if err := c.StartBroker(4); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Addr(1); got != addr {
		t.Errorf("broker 1 restarted on %s, want %s", got, addr)
	}
	if s := state(t, c, "orders", 0); !equal(s.ISR, []int32{2, 3, 1}) || s.Leader != 2 {
		t.Errorf("after restart of 1: %+v, want isr [2 3 1] leader 2", s)
	}
	if s := state(t, c, "orders", 1); s.Leader != 4 {
		t.Errorf("orders-1 after restart of 4: leader %d, want 4", s.Leader)
	}
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(ctx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 6 {
		t.Errorf("metadata lists %d brokers after restarts, want 6", len(resp.Brokers))
	}
}

// Stopping the controller moves the controller to another live broker.
func TestControllerMovesWhenStopped(t *testing.T) {
	c, _, _ := start(t, Config{Controller: 2})
	if err := c.StopBroker(2); err != nil {
		t.Fatal(err)
	}
	if got := c.Controller(); got == 2 || got == -1 {
		t.Errorf("controller %d after stopping 2", got)
	}
}

// Item 21: with ISRLag, Metadata shows ISR changes made by leaders 0.5-7.5 s
// late and changes made by the controller about 1 s late.
func TestMetadataISRLag(t *testing.T) {
	c, _, cl := start(t, Config{ISRLag: true, Seed: 1})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 100*mib); err != nil {
		t.Fatal(err)
	}
	isr := func() []int32 { return rawMetadata(t, cl, "orders").Partitions[0].ISR }
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 2, 3}})
	c.Clock().Advance(1100 * time.Millisecond) // 3 caught up after ~1 s
	if s := state(t, c, "orders", 0); !equal(s.ISR, []int32{0, 1, 2, 3}) {
		t.Fatalf("true isr %v, want 3 in", s.ISR)
	}
	if got := isr(); !equal(got, []int32{0, 1, 2}) {
		t.Errorf("metadata isr right after catch-up %v, want the old [0 1 2]", got)
	}
	c.Clock().Advance(8 * time.Second)
	if got := isr(); !equal(got, []int32{0, 1, 2, 3}) {
		t.Errorf("metadata isr 8 s later %v, want [0 1 2 3]", got)
	}
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	if got := isr(); !equal(got, []int32{0, 1, 2, 3}) {
		t.Errorf("metadata isr right after stopping 1: %v, want unchanged", got)
	}
	c.Clock().Advance(time.Second)
	if got := isr(); !equal(got, []int32{0, 2, 3}) {
		t.Errorf("metadata isr 1 s after stopping 1: %v, want [0 2 3]", got)
	}
}

// Produce and ListOffsets give partitions data and offsets; acks=all needs
// min.insync.replicas in the ISR.
func TestProduceAndListOffsets(t *testing.T) {
	c, adm, _ := start(t, Config{})
	if err := c.CreateTopic("orders", [][]int32{{0, 1, 2}}, map[string]string{MinInsyncReplicasKey: "2"}); err != nil {
		t.Fatal(err)
	}
	pcl := client(t, c, kgo.DefaultProduceTopic("orders"))
	for i := 0; i < 5; i++ {
		if err := pcl.ProduceSync(ctx(t), &kgo.Record{Value: make([]byte, 1000)}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	s := state(t, c, "orders", 0)
	if s.EndOffset != 5 || s.Size == 0 || s.ReplicaSizes[2] != s.Size {
		t.Errorf("after 5 records: %+v", s)
	}
	offs, err := adm.ListEndOffsets(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("orders", 0); o.Offset != 5 || o.Err != nil {
		t.Errorf("end offset %+v, want 5", o)
	}
	for _, id := range []int32{1, 2} {
		if err := c.StopBroker(id); err != nil {
			t.Fatal(err)
		}
	}
	short := client(t, c, kgo.DefaultProduceTopic("orders"), kgo.RecordDeliveryTimeout(time.Second))
	if err := short.ProduceSync(ctx(t), &kgo.Record{Value: []byte("x")}).FirstErr(); err == nil {
		t.Error("produce with acks=all succeeded with 1 of min.insync.replicas=2 in sync")
	}
}

// The offset controls: SetLogOffsets moves the start and end offsets
// ListOffsets reports (a truncated log, deleted records), and
// SetListOffsetsError makes the leader answer with an error until cleared.
func TestLogOffsetControls(t *testing.T) {
	c, adm, _ := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2}, []int32{1, 2, 0})
	if err := c.SetLogOffsets("orders", 0, 100, 5000); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLogOffsets("orders", 1, 10, 5); err == nil {
		t.Error("SetLogOffsets accepted an end below the start")
	}
	starts, err := adm.ListStartOffsets(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := starts.Lookup("orders", 0)
	e, _ := ends.Lookup("orders", 0)
	if s.Offset != 100 || e.Offset != 5000 || s.Err != nil || e.Err != nil {
		t.Errorf("orders-0 offsets start %+v end %+v, want 100 and 5000", s, e)
	}
	if st := state(t, c, "orders", 0); st.StartOffset != 100 || st.EndOffset != 5000 {
		t.Errorf("state offsets %d..%d, want 100..5000", st.StartOffset, st.EndOffset)
	}
	if err := c.SetListOffsetsError("orders", 1, 78); err != nil {
		t.Fatal(err)
	}
	ends, err = adm.ListEndOffsets(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("orders", 1); !errors.Is(o.Err, kerr.OffsetNotAvailable) {
		t.Errorf("orders-1 with an injected error: %+v, want OFFSET_NOT_AVAILABLE", o)
	}
	if o, _ := ends.Lookup("orders", 0); o.Err != nil || o.Offset != 5000 {
		t.Errorf("orders-0 beside the injected error: %+v", o)
	}
	if err := c.SetListOffsetsError("orders", 1, 0); err != nil {
		t.Fatal(err)
	}
	ends, err = adm.ListEndOffsets(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("orders", 1); o.Err != nil {
		t.Errorf("orders-1 after clearing the error: %+v", o)
	}
}

// A scaled clock runs simulated time faster than real time: a copy of
// 6 GiB at 100 MiB/s (one minute) finishes in about 60 ms at 1000x.
func TestScaledClockRunsCopiesFast(t *testing.T) {
	clock := NewScaledClock(testStart, 1000)
	c, _, cl := start(t, Config{Clock: clock})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 6<<30); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
	deadline := time.Now().Add(5 * time.Second)
	for state(t, c, "orders", 0).Reassigning {
		if time.Now().After(deadline) {
			t.Fatalf("copy not done after 5 s real time (%v simulated)", clock.Now().Sub(testStart))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := clock.RealDuration(time.Minute); got != 60*time.Millisecond {
		t.Errorf("one simulated minute takes %v real, want 60ms", got)
	}
}

// Item 22: after a clean stop the broker is offline in Metadata at once; after
// kill -9 only when its ZooKeeper session times out (6 s on 2.4, 18 s on 3.x).
func TestKilledBrokerSeenOfflineAfterSessionTimeout(t *testing.T) {
	for _, tc := range []struct {
		v       Version
		timeout time.Duration
	}{{V2_4, 6 * time.Second}, {V3_x, 18 * time.Second}} {
		t.Run(tc.v.String(), func(t *testing.T) {
			c, _, cl := start(t, Config{Version: tc.v, Controller: 0})
			mustCreate(t, c, "orders", []int32{1, 2, 3})
			if err := c.KillBroker(1); err != nil {
				t.Fatal(err)
			}
			c.Clock().Advance(tc.timeout - time.Millisecond)
			p := rawMetadata(t, cl, "orders").Partitions[0]
			if p.Leader != 1 || len(p.OfflineReplicas) != 0 {
				t.Errorf("before the session timeout: leader %d offline %v, want 1 and none", p.Leader, p.OfflineReplicas)
			}
			c.Clock().Advance(time.Millisecond)
			p = rawMetadata(t, cl, "orders").Partitions[0]
			if p.Leader != 2 || !equal(p.OfflineReplicas, []int32{1}) || !equal(p.ISR, []int32{2, 3}) {
				t.Errorf("at the session timeout: %+v, want leader 2 isr [2 3] offline [1]", p)
			}
		})
	}
}

// Metadata v10+ (3.x) reports topic ids and answers requests by id; an
// unknown id is UNKNOWN_TOPIC_ID.
func TestMetadataByTopicIDOn3x(t *testing.T) {
	c, _, cl := start(t, Config{Version: V3_x})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	id := rawMetadata(t, cl, "orders").TopicID
	if id == [16]byte{} {
		t.Fatal("no topic id reported")
	}
	req := kmsg.NewPtrMetadataRequest()
	for _, tid := range [][16]byte{id, {1}} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.TopicID = tid
		req.Topics = append(req.Topics, rt)
	}
	resp, err := cl.Broker(0).Request(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[[16]byte]kmsg.MetadataResponseTopic)
	for _, mt := range resp.(*kmsg.MetadataResponse).Topics {
		got[mt.TopicID] = mt
	}
	if mt := got[id]; mt.Topic == nil || *mt.Topic != "orders" || mt.ErrorCode != 0 {
		t.Errorf("known id: %+v, want orders", mt)
	}
	if mt, ok := got[[16]byte{1}]; !ok || mt.ErrorCode != 100 {
		t.Errorf("unknown id: %+v, want code 100", mt)
	}
}

// A stopped clock holds a copy in flight however long the test looks, moves
// only by Advance, and runs again once restarted: tests that need a move
// still copying rely on it, not on the machine being fast.
func TestStoppedClockHoldsCopy(t *testing.T) {
	clock := NewScaledClock(testStart, 1000)
	c, _, cl := start(t, Config{Clock: clock})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 6<<30); err != nil {
		t.Fatal(err)
	}
	clock.SetFactor(0)
	stopped := clock.Now()
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
	time.Sleep(100 * time.Millisecond) // a minute and a half of copying at 1000x, were the clock running
	if st := state(t, c, "orders", 0); !st.Reassigning || !clock.Now().Equal(stopped) {
		t.Fatalf("stopped clock: reassigning %v, clock moved by %v; want the copy held and the clock still", st.Reassigning, clock.Now().Sub(stopped))
	}
	clock.Advance(time.Second)
	if got := clock.Now().Sub(stopped); got != time.Second {
		t.Errorf("stopped clock advanced by %v, want 1s", got)
	}
	clock.SetFactor(1000)
	deadline := time.Now().Add(5 * time.Second)
	for state(t, c, "orders", 0).Reassigning {
		if time.Now().After(deadline) {
			t.Fatalf("copy not done 5 s after the clock restarted (%v simulated)", clock.Now().Sub(testStart))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
