package kafkasim

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

const dataDir = "/var/lib/kafka/data"

func logDir(t *testing.T, adm *kadm.Client, broker int32) kadm.DescribedLogDir {
	t.Helper()
	ds, err := adm.DescribeBrokerLogDirs(ctx(t), broker, nil)
	if err != nil {
		t.Fatalf("describe log dirs of broker %d: %v", broker, err)
	}
	d, ok := ds[dataDir]
	if !ok || d.Err != nil {
		t.Fatalf("broker %d: log dir %s missing or failed: %+v", broker, dataDir, ds)
	}
	return d
}

// Item 20: an adding replica appears with size 0 right after the call, grows
// in fetch-sized steps with offsetLag 0, and a removed replica disappears.
func TestLogDirsShowCopyProgress(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 100*mib); err != nil {
		t.Fatal(err)
	}
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "1000000"))
	mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, "*"))
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {1, 2, 3}})
	p, ok := logDir(t, adm, 3).Topics.Lookup("orders", 0)
	if !ok || p.Size != 0 || p.OffsetLag != 0 {
		t.Fatalf("right after the call: %+v %v, want size 0 offsetLag 0", p, ok)
	}
	c.Clock().Advance(3 * time.Second) // 0.9 x 1 MB/s x 3 s = 2.7 MB
	p, _ = logDir(t, adm, 3).Topics.Lookup("orders", 0)
	if p.Size != 2*983266 || p.OffsetLag != 0 {
		t.Errorf("after 3 s: size %d offsetLag %d, want two whole fetches of 983,266 B (item 31) and 0", p.Size, p.OffsetLag)
	}
	mustOK(t, alterBroker(t, adm, 3, kadm.DeleteConfig, FollowerRateKey, ""))
	c.Clock().Advance(2 * time.Second)
	if _, ok := logDir(t, adm, 0).Topics.Lookup("orders", 0); ok {
		t.Error("removed replica on broker 0 still listed after completion")
	}
	if p, _ := logDir(t, adm, 3).Topics.Lookup("orders", 0); p.Size != 100*mib {
		t.Errorf("new replica size %d after completion, want 100 MiB", p.Size)
	}
}

// Item 11: removing a dead replica completes, but its log stays on that
// broker's disk: after restart DescribeLogDirs lists it with the size it had
// and offsetLag -1.
func TestRemovedDeadReplicaLeavesLogOnDisk(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 5*mib); err != nil {
		t.Fatal(err)
	}
	if err := c.StopBroker(2); err != nil {
		t.Fatal(err)
	}
	if code := partitionCode(t, reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1}})); code != 0 {
		t.Fatalf("reassign: code %d", code)
	}
	if s := state(t, c, "orders", 0); s.Reassigning || !equal(s.Replicas, []int32{0, 1}) {
		t.Fatalf("removing dead replica: %+v, want done at [0 1]", s)
	}
	if err := c.StartBroker(2); err != nil {
		t.Fatal(err)
	}
	p, ok := logDir(t, adm, 2).Topics.Lookup("orders", 0)
	if !ok || p.Size != 5*mib || p.OffsetLag != -1 {
		t.Errorf("stray log on broker 2: %+v %v, want its 5 MiB and offsetLag -1", p, ok)
	}
}

// DescribeLogDirs v4 (3.x) reports total and usable bytes; 2.4 does not.
func TestLogDirsDiskTotalsOnlyOn3x(t *testing.T) {
	for _, tc := range []struct {
		v             Version
		total, usable int64
	}{{V2_4, -1, -1}, {V3_x, 1 << 30, 1<<30 - 100*mib}} {
		t.Run(tc.v.String(), func(t *testing.T) {
			brokers := sixBrokers()
			for i := range brokers {
				brokers[i].DiskCapacity = 1 << 30
			}
			c, adm, _ := start(t, Config{Version: tc.v, Brokers: brokers})
			mustCreate(t, c, "orders", []int32{0, 1, 2})
			if err := c.SetPartitionSize("orders", 0, 100*mib); err != nil {
				t.Fatal(err)
			}
			d := logDir(t, adm, 1)
			if d.TotalBytes != tc.total || d.UsableBytes != tc.usable {
				t.Errorf("total %d usable %d, want %d %d", d.TotalBytes, d.UsableBytes, tc.total, tc.usable)
			}
		})
	}
}

// Item 20: with LogDeleteDelay a removed replica's log stays listed (with its
// size) until it is deleted.
func TestRemovedReplicaLogLingersWithDeleteDelay(t *testing.T) {
	c, adm, cl := start(t, Config{LogDeleteDelay: 1500 * time.Millisecond})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 5*mib); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1}})
	if p, ok := logDir(t, adm, 2).Topics.Lookup("orders", 0); !ok || p.Size != 5*mib {
		t.Errorf("right after removal: %+v %v, want still listed with 5 MiB", p, ok)
	}
	c.Clock().Advance(1500 * time.Millisecond)
	if _, ok := logDir(t, adm, 2).Topics.Lookup("orders", 0); ok {
		t.Error("removed replica still listed after the delete delay")
	}
}

// Item 31: a copying replica's size in DescribeLogDirs grows in whole
// fetches of 983,266 bytes (what the real cluster showed), not whole MiB;
// once in sync it is the leader's exact size.
func TestLogDirsGrowInFetchSteps(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	const size = 10*983266 + 12345
	if err := c.SetPartitionSize("orders", 0, size); err != nil {
		t.Fatal(err)
	}
	// 0.9 x 1,000,000 B/s on broker 3.
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "1000000"))
	mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, FollowerThrottledKey, "*"))
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 2, 3}})
	tests := []struct {
		after time.Duration // since the submission
		want  int64
	}{
		{0, 0},
		{time.Second, 0},               // 900,000 B: not one fetch yet
		{2 * time.Second, 983266},      // 1,800,000 B
		{5 * time.Second, 4 * 983266},  // 4,500,000 B
		{10 * time.Second, 9 * 983266}, // 9,000,000 B
		{20 * time.Second, size},       // in sync
	}
	submitted := c.Clock().Now()
	for _, tc := range tests {
		c.Clock().Advance(submitted.Add(tc.after).Sub(c.Clock().Now()))
		p, ok := logDir(t, adm, 3).Topics.Lookup("orders", 0)
		if !ok || p.Size != tc.want {
			t.Errorf("+%v: size %d (%v), want %d", tc.after, p.Size, ok, tc.want)
		}
	}
}

// DescribeLogDirs answers from an index of the replicas on each broker: every
// change of a replica list, and every topic created or deleted, shows in the
// next answer of a broker asked before the change.
func TestLogDirsFollowReplicaChanges(t *testing.T) {
	c, adm, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2}, []int32{1, 2, 0})
	has := func(broker int32, topic string, p int32) bool {
		t.Helper()
		_, ok := logDir(t, adm, broker).Topics.Lookup(topic, p)
		return ok
	}
	if has(3, "orders", 0) || !has(0, "orders", 1) {
		t.Fatal("before any change: broker 3 lists orders-0 or broker 0 misses orders-1")
	}
	// Nothing to copy: the move completes inside the call.
	reassign(t, cl, -1, "orders", map[int32][]int32{0: {1, 2, 3}})
	if !has(3, "orders", 0) || has(0, "orders", 0) {
		t.Error("after orders-0 moved from broker 0 to 3: broker 3 misses it or broker 0 still lists it")
	}
	// A copy in flight lists the adding replica; a cancel removes it again.
	if err := c.SetPartitionSize("orders", 1, 100*mib); err != nil {
		t.Fatal(err)
	}
	if has(4, "orders", 1) {
		t.Fatal("broker 4 lists orders-1 before the move")
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{1: {1, 2, 0, 4}})
	if !has(4, "orders", 1) {
		t.Error("adding replica of orders-1 on broker 4 not listed while it copies")
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{1: nil})
	if has(4, "orders", 1) {
		t.Error("broker 4 still lists orders-1 after the move was cancelled")
	}
	mustCreate(t, c, "events", []int32{5, 4, 3})
	if !has(5, "events", 0) {
		t.Error("broker 5 misses events-0, created after it was last asked")
	}
	resp, err := adm.DeleteTopics(ctx(t), "events")
	if err != nil || resp["events"].Err != nil {
		t.Fatalf("delete events: %v %+v", err, resp)
	}
	if has(5, "events", 0) {
		t.Error("broker 5 still lists events-0 after the topic was deleted")
	}
}
