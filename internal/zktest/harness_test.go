package zktest

import (
	"os/exec"

	"github.com/go-zookeeper/zk"
	"strings"
	"testing"
	"time"
)

func TestSuperDigestMatchesZooKeeper(t *testing.T) {
	Require(t)
	out, err := exec.Command("java", "-cp", JarPath+":/usr/share/java/slf4j-nop.jar",
		"org.apache.zookeeper.server.auth.DigestAuthenticationProvider", "super:password").CombinedOutput()
	if err != nil {
		t.Fatalf("running DigestAuthenticationProvider: %v\n%s", err, out)
	}
	want := "super:password->" + SuperDigest("super", "password")
	if !strings.Contains(string(out), want) {
		t.Fatalf("ZooKeeper printed %q, want a line %q", out, want)
	}
}

func TestEnsembleStartsServesAndStopsNodes(t *testing.T) {
	e := StartEnsemble(t, Options{Voters: 3, Observers: 1})
	if m, err := e.Node(4).Mode(time.Second); err != nil || m != "observer" {
		t.Fatalf("node 4 mode = %q, %v; want observer", m, err)
	}
	c := e.Client()
	if _, err := c.Create("/x", []byte("1"), 0, worldACL()); err != nil {
		t.Fatalf("create: %v", err)
	}
	follower := 1
	if e.Leader() == 1 {
		follower = 2
	}
	e.Node(follower).Pause()
	if _, err := e.Node(follower).Mode(300 * time.Millisecond); err == nil {
		t.Fatalf("paused node %d still answers", follower)
	}
	e.Node(follower).Resume()
	e.Node(follower).WaitServing(10 * time.Second)
	e.Node(follower).Stop()
	e.Node(follower).Restart()
	e.WaitServing(30 * time.Second)
}

func worldACL() []zk.ACL { return zk.WorldACL(zk.PermAll) }
