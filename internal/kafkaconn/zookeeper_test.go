package kafkaconn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
)

// Digest credentials from the environment reach a znode only they may read;
// without them ZooKeeper refuses. Runs a real ZooKeeper.
func TestConnectZooKeeperDigestAndChroot(t *testing.T) {
	zktest.Require(t)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	admin := e.Client()
	if _, err := admin.Create("/kafka", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create("/kafka/secret", []byte("ok"), 0, zk.DigestACL(zk.PermAll, "kshift", "zk-pw")); err != nil {
		t.Fatal(err)
	}
	o := Options{ZooKeeper: ZooKeeperOptions{Connect: e.Connect() + "/kafka", DigestEnv: "TEST_ZK_DIGEST"}}
	o.ResolveSecrets(func(k string) string { return map[string]string{"TEST_ZK_DIGEST": "kshift:zk-pw"}[k] })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	z, err := ConnectZooKeeper(ctx, o.ZooKeeper, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if z.Chroot != "/kafka" || z.Path("/secret") != "/kafka/secret" {
		t.Fatalf("chroot %q", z.Chroot)
	}
	if data, _, err := z.Conn.Get(z.Path("/secret")); err != nil || string(data) != "ok" {
		t.Errorf("with the digest: %q, %v", data, err)
	}

	anon, err := ConnectZooKeeper(ctx, ZooKeeperOptions{Connect: e.Connect() + "/kafka"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, _, err := anon.Conn.Get(anon.Path("/secret")); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("without the digest: %v, want ErrNoAuth", err)
	}
}
