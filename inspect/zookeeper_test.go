package inspect

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/kafkasim"
)

// TestZooKeeperChroots runs against a real ZooKeeper holding two Kafka
// chroots (this cluster's and another's) and an empty one.
func TestZooKeeperChroots(t *testing.T) {
	zktest.Require(t)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	admin := e.Client()
	acl := zk.WorldACL(zk.PermAll)
	for path, data := range map[string]string{
		"/kafka": "", "/kafka/prod": "", "/kafka/prod/brokers": "", "/kafka/prod/brokers/ids": "",
		"/kafka/prod/cluster": "", "/kafka/prod/cluster/id": `{"version":"1","id":"c-zk"}`,
		"/kafka/prod/config": "", "/kafka/prod/config/brokers": "",
		"/kafka/prod/config/brokers/2": `{"version":1,"config":{"leader.replication.throttled.rate":"5000"}}`,
		"/kafka/dev":                   "", "/kafka/dev/brokers": "", "/kafka/dev/brokers/ids": "",
		"/kafka/dev/cluster": "", "/kafka/dev/cluster/id": `{"version":"1","id":"c-other"}`,
		"/kafka/empty": "",
	} {
		mustCreate(t, admin, path, data, acl)
	}
	_, cl := startDouble(t, kafkasim.Config{ClusterID: "c-zk", Brokers: brokers(1, 2, 3)})
	setBrokerConfig(t, cl, 2, KeyLeaderRate, "5000")

	source := func(chroot string) *ZooKeeperSource {
		z, err := kafkaconn.ConnectZooKeeper(ctxT(t), kafkaconn.ZooKeeperOptions{Connect: e.Connect() + chroot}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(z.Close)
		return &ZooKeeperSource{Conn: z.Conn, Connect: e.Connect() + chroot, Chroot: z.Chroot}
	}

	t.Run("this cluster's chroot gives the hidden rates", func(t *testing.T) {
		st, err := Read(ctxT(t), api(cl), ReadOptions{ZooKeeper: source("/kafka/prod")})
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Snapshot.Broker(2).Configs[KeyLeaderRate]; got != "5000" {
			t.Errorf("broker 2 rate from ZooKeeper = %q, want 5000", got)
		}
		ens := st.Snapshot.ZooKeeper
		if ens == nil || ens.Chroot != "/kafka/prod" || len(ens.Members) != 1 || strings.Join(ens.OtherChroots, ",") != "/kafka/dev" {
			t.Errorf("ensemble recorded as %+v", ens)
		}
		rep := runCheck(t, cl, CheckScope{ZooKeeper: source("/kafka/prod")})
		wantGate(t, rep, GateThrottles, StatusFail, "broker 2 "+KeyLeaderRate, "set to 5000")
		wantGate(t, rep, GateClusterID, StatusPass)
	})
	t.Run("a chroot with no Kafka cluster is named as such", func(t *testing.T) {
		_, err := Read(ctxT(t), api(cl), ReadOptions{ZooKeeper: source("/kafka/empty")})
		if !errors.Is(err, ErrNoKafkaInChroot) || !strings.Contains(err.Error(), `chroot "/kafka/empty" holds no Kafka cluster`) {
			t.Errorf("empty chroot: %v", err)
		}
		rep := runCheck(t, cl, CheckScope{ZooKeeper: source("/kafka/empty")})
		wantGate(t, rep, GateClusterID, StatusFail, "holds no Kafka cluster")
	})
	t.Run("another cluster's chroot is refused", func(t *testing.T) {
		_, err := Read(ctxT(t), api(cl), ReadOptions{ZooKeeper: source("/kafka/dev")})
		if err == nil || !strings.Contains(err.Error(), `holds Kafka cluster "c-other", but the brokers belong to cluster "c-zk"`) {
			t.Errorf("other cluster's chroot: %v", err)
		}
	})
}

func mustCreate(t *testing.T, c *zk.Conn, path, data string, acl []zk.ACL) {
	t.Helper()
	// Parents first: map order is random, so create them on demand.
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		if ok, _, _ := c.Exists(path[:i]); !ok {
			mustCreate(t, c, path[:i], "", acl)
		}
	}
	if ok, _, _ := c.Exists(path); ok {
		if _, err := c.Set(path, []byte(data), -1); err != nil {
			t.Fatalf("set %s: %v", path, err)
		}
		return
	}
	if _, err := c.Create(path, []byte(data), 0, acl); err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
}
