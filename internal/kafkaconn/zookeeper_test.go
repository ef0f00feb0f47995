package kafkaconn

import (
	"context"
	"errors"
	"net"
	"strings"
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

// The client retries a refused server forever: kshift fails at once,
// saying refused, instead of after its timeout.
func TestConnectZooKeeperRefusedFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, err = ConnectZooKeeper(context.Background(), ZooKeeperOptions{Connect: addr + "/kafka"}, 30*time.Second)
	if took := time.Since(start); err == nil || took > 10*time.Second || !strings.Contains(err.Error(), "connection refused by "+addr) {
		t.Errorf("after %s: %v; want a refusal within 10s", took.Round(time.Millisecond), err)
	}
}
