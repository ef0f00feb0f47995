package zkops_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
)

// kafkaLayout writes what a Kafka cluster keeps under chroot; the broker
// registrations and the controller are ephemeral znodes of brokerSession.
func kafkaLayout(t *testing.T, admin, brokerSession *zk.Conn, chroot, clusterID string, brokers []int) {
	t.Helper()
	acl := zk.WorldACL(zk.PermAll)
	mk := func(c *zk.Conn, p, data string, flags int32) {
		t.Helper()
		parts := strings.Split(strings.Trim(p, "/"), "/")
		for i := 1; i < len(parts); i++ {
			parent := "/" + strings.Join(parts[:i], "/")
			if _, err := admin.Create(parent, nil, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				t.Fatalf("creating %s: %v", parent, err)
			}
		}
		if _, err := c.Create(p, []byte(data), flags, acl); err != nil {
			t.Fatalf("creating %s: %v", p, err)
		}
	}
	mk(admin, chroot+"/cluster/id", fmt.Sprintf(`{"version":"1","id":"%s"}`, clusterID), 0)
	for _, id := range brokers {
		mk(brokerSession, fmt.Sprintf("%s/brokers/ids/%d", chroot, id), fmt.Sprintf(`{"host":"b%d","port":9092}`, id), zk.FlagEphemeral)
		mk(admin, fmt.Sprintf("%s/config/brokers/%d", chroot, id), `{"version":1,"config":{"leader.replication.throttled.rate":"1000"}}`, 0)
	}
	mk(brokerSession, chroot+"/controller", fmt.Sprintf(`{"version":1,"brokerid":%d,"timestamp":"1"}`, brokers[0]), zk.FlagEphemeral)
	for p := 0; p < 3; p++ {
		mk(admin, fmt.Sprintf("%s/brokers/topics/orders/partitions/%d/state", chroot, p), `{"leader":1}`, 0)
	}
}
