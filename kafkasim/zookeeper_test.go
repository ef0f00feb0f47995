package kafkasim

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/twmb/franz-go/pkg/kadm"
)

func zkJSON(t *testing.T, conn *zk.Conn, p string, v any) {
	t.Helper()
	data, _, err := conn.Get(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v: %s", p, err, data)
	}
}

// The cluster registered in a real ZooKeeper under a chroot, in Kafka's
// layout: cluster id, controller, live brokers, topics with
// adding_replicas/removing_replicas during an API move (item 23), partition
// state, and the per-broker rates 2.4 hides from DescribeConfigs (item 13).
// A stopped broker's registration disappears.
func TestZooKeeperRegistration(t *testing.T) {
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	conn := e.Client()
	c, adm, cl := start(t, Config{ClusterID: "zk-cluster", Controller: 1})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterZooKeeper(ctx(t), conn, "/kafka-a"); err != nil {
		t.Fatal(err)
	}
	var id struct{ ID string }
	zkJSON(t, conn, "/kafka-a/cluster/id", &id)
	var ctrl struct{ BrokerID int32 }
	zkJSON(t, conn, "/kafka-a/controller", &ctrl)
	if id.ID != "zk-cluster" || ctrl.BrokerID != 1 {
		t.Errorf("cluster id %q controller %d, want zk-cluster 1", id.ID, ctrl.BrokerID)
	}
	ids, _, err := conn.Children("/kafka-a/brokers/ids")
	if err != nil || len(ids) != 6 {
		t.Fatalf("brokers/ids: %v %v", ids, err)
	}
	var reg struct {
		Rack      string
		Endpoints []string
	}
	zkJSON(t, conn, "/kafka-a/brokers/ids/4", &reg)
	if addr, _ := c.Addr(4); reg.Rack != "r2" || len(reg.Endpoints) != 1 || reg.Endpoints[0] != "PLAINTEXT://"+addr {
		t.Errorf("broker 4 registration %+v", reg)
	}

	reassign(t, cl, -1, "orders", map[int32][]int32{0: {0, 1, 3}})
	mustOK(t, alterBroker(t, adm, 3, kadm.SetConfig, FollowerRateKey, "1000"))
	if err := c.SyncZooKeeper(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var topic struct {
		Version                          int
		Partitions                       map[string][]int32
		AddingReplicas, RemovingReplicas map[string][]int32 `json:"-"`
	}
	var raw map[string]json.RawMessage
	zkJSON(t, conn, "/kafka-a/brokers/topics/orders", &raw)
	zkJSON(t, conn, "/kafka-a/brokers/topics/orders", &topic)
	json.Unmarshal(raw["adding_replicas"], &topic.AddingReplicas)
	json.Unmarshal(raw["removing_replicas"], &topic.RemovingReplicas)
	if topic.Version != 2 || !equal(topic.Partitions["0"], []int32{0, 1, 3, 2}) ||
		!equal(topic.AddingReplicas["0"], []int32{3}) || !equal(topic.RemovingReplicas["0"], []int32{2}) {
		t.Errorf("topic znode during move: %+v", topic)
	}
	var st struct {
		Leader      int32
		LeaderEpoch int32 `json:"leader_epoch"`
		ISR         []int32
	}
	zkJSON(t, conn, "/kafka-a/brokers/topics/orders/partitions/0/state", &st)
	if st.Leader != 0 || st.LeaderEpoch != 1 || !equal(st.ISR, []int32{0, 1, 2}) {
		t.Errorf("partition state %+v, want leader 0 epoch 1 isr [0 1 2]", st)
	}
	var cfg struct {
		Version int
		Config  map[string]string
	}
	zkJSON(t, conn, "/kafka-a/config/brokers/3", &cfg)
	if cfg.Version != 1 || cfg.Config[FollowerRateKey] != "1000" {
		t.Errorf("/config/brokers/3: %+v", cfg)
	}

	if err := c.StopBroker(5); err != nil {
		t.Fatal(err)
	}
	if err := c.SyncZooKeeper(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := conn.Exists("/kafka-a/brokers/ids/5"); ok {
		t.Error("stopped broker 5 still registered")
	}
	c.Close()
	if ok, _, _ := conn.Exists("/kafka-a/brokers/ids/1"); ok {
		t.Error("closed cluster's broker 1 still registered")
	}
}

// Item 10: a move written to /admin/reassign_partitions shows up in
// ListPartitionReassignments like an API move, and the znode goes away when
// it completes.
func TestLegacyReassignmentZNode(t *testing.T) {
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	conn := e.Client()
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	if err := c.SetPartitionSize("orders", 0, 100*mib); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterZooKeeper(ctx(t), conn, "/kafka-b"); err != nil {
		t.Fatal(err)
	}
	move := `{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[0,1,4]}]}`
	if _, err := conn.Create("/kafka-b/admin/reassign_partitions", []byte(move), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if err := c.SyncZooKeeper(ctx(t)); err != nil {
		t.Fatal(err)
	}
	l := listAll(t, cl)
	if len(l.Topics) != 1 || !equal(l.Topics[0].Partitions[0].AddingReplicas, []int32{4}) {
		t.Fatalf("legacy move not listed: %+v", l.Topics)
	}
	c.Clock().Advance(2 * time.Second)
	if err := c.SyncZooKeeper(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := conn.Exists("/kafka-b/admin/reassign_partitions"); ok {
		t.Error("/admin/reassign_partitions still there after the move completed")
	}
	if s := state(t, c, "orders", 0); !equal(s.Replicas, []int32{0, 1, 4}) {
		t.Errorf("replicas %v, want [0 1 4]", s.Replicas)
	}
}

// Item 10: an API call on a partition moved through /admin/reassign_partitions
// removes it from that znode; API-started moves do not create it.
func TestAPICallTakesPartitionOutOfLegacyZNode(t *testing.T) {
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	conn := e.Client()
	c, _, cl := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2}, []int32{1, 2, 0})
	for p := int32(0); p < 2; p++ {
		if err := c.SetPartitionSize("orders", p, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RegisterZooKeeper(ctx(t), conn, "/kafka-c"); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{1: {1, 2, 0, 5}})
	if err := c.SyncZooKeeper(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := conn.Exists("/kafka-c/admin/reassign_partitions"); ok {
		t.Fatal("an API move created /admin/reassign_partitions")
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{1: nil})
	move := `{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[0,1,2,4]},{"topic":"orders","partition":1,"replicas":[1,2,0,3]}]}`
	if _, err := conn.Create("/kafka-c/admin/reassign_partitions", []byte(move), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if err := c.SyncZooKeeper(ctx(t)); err != nil {
		t.Fatal(err)
	}
	reassign(t, cl, -1, "orders", map[int32][]int32{0: nil})
	if err := c.SyncZooKeeper(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var left struct{ Partitions []legacyMove }
	zkJSON(t, conn, "/kafka-c/admin/reassign_partitions", &left)
	if len(left.Partitions) != 1 || left.Partitions[0].Partition != 1 {
		t.Errorf("znode after cancelling partition 0 by API: %+v, want only partition 1", left.Partitions)
	}
	if s := state(t, c, "orders", 1); !equal(s.Adding, []int32{3}) {
		t.Errorf("orders-1 adding %v, want [3] from the znode", s.Adding)
	}
}

// Item 10: a move written to /admin/reassign_partitions while a sync runs is
// picked up by a later sync, never deleted unread. A sync that found no
// znode used to delete one created between its read and its write, so under
// load a tool's move vanished without starting.
func TestLegacyZNodeWrittenDuringSyncIsKept(t *testing.T) {
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	conn := e.Client()
	c, _, cl := start(t, Config{})
	const rounds = 40
	for i := 0; i < rounds; i++ {
		mustCreate(t, c, fmt.Sprintf("orders-%d", i), []int32{0, 1, 2})
		if err := c.SetPartitionSize(fmt.Sprintf("orders-%d", i), 0, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RegisterZooKeeper(ctx(t), conn, "/kafka-d"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // syncs back to back, as the background one and answers do
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				_ = c.SyncZooKeeper(context.Background())
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for i := 0; i < rounds; i++ {
		topic := fmt.Sprintf("orders-%d", i)
		move := fmt.Sprintf(`{"version":1,"partitions":[{"topic":%q,"partition":0,"replicas":[0,1,2,4]}]}`, topic)
		if _, err := conn.Create("/kafka-d/admin/reassign_partitions", []byte(move), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := c.SyncZooKeeper(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if s := state(t, c, topic, 0); !equal(s.Adding, []int32{4}) {
			t.Fatalf("round %d: %s-0 adding %v, want [4]: the move written to ZooKeeper was lost", i, topic, s.Adding)
		}
		reassign(t, cl, -1, topic, map[int32][]int32{0: nil}) // cancelling by API empties the znode
		if err := c.SyncZooKeeper(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if ok, _, _ := conn.Exists("/kafka-d/admin/reassign_partitions"); ok {
			t.Fatalf("round %d: znode left after its only move was cancelled", i)
		}
	}
}
