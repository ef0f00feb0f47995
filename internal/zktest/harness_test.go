package zktest

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
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

func TestServerServesInItsOwnProcessGroupUntilStopped(t *testing.T) {
	Require(t)
	s, err := StartServer(t.TempDir(), 60*time.Second)
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop(5 * time.Second) })
	if out, err := FourLetterWord(s.Addr(), "srvr", time.Second); err != nil || !strings.Contains(out, "Mode: ") {
		t.Fatalf("srvr answered %q, %v; want a mode", out, err)
	}
	pid := s.Pid()
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Fatalf("server pid %d is in process group %d (%v): want its own", pid, pgid, err)
	}
	if err := s.Stop(10 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) || s.Pid() != 0 {
		t.Fatalf("server pid %d still there after Stop (kill 0: %v, Pid %d)", pid, err, s.Pid())
	}
	if err := s.Stop(time.Second); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
}
