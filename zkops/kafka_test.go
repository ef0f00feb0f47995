package zkops_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/zkops"
)

func TestReadKafkaCluster(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	admin := e.Client()
	kafkaLayout(t, admin, admin, "/prod/kafka", "prod-id", []int{3, 1, 2})
	moves := `{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[4,5,6]},{"topic":"orders","partition":2,"replicas":[6,4,5]}]}`
	if _, err := admin.Create("/prod/kafka/admin", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create("/prod/kafka/admin/reassign_partitions", []byte(moves), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	kc, err := zkops.ReadKafkaCluster(ctx, admin, "/prod/kafka")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%s %s %v %d %v", kc.Chroot, kc.ClusterID, kc.Brokers, kc.Controller, kc.Reassignment),
		"/prod/kafka prod-id [1 2 3] 3 [{orders 0 [4 5 6]} {orders 2 [6 4 5]}]"; got != want {
		t.Errorf("cluster:\n%s\nwant\n%s", got, want)
	}
	if cfg, err := zkops.BrokerConfigs(ctx, admin, "/prod/kafka", 2); err != nil || cfg["leader.replication.throttled.rate"] != "1000" {
		t.Errorf("broker 2 configs: %v, %v", cfg, err)
	}
	if cfg, err := zkops.BrokerConfigs(ctx, admin, "/prod/kafka", 9); err != nil || cfg != nil {
		t.Errorf("configs of a broker without any: %v, %v", cfg, err)
	}
	if _, err := zkops.ReadKafkaCluster(ctx, admin, "/prod"); err == nil {
		t.Error("reading a chroot without a Kafka cluster succeeded")
	}
}
