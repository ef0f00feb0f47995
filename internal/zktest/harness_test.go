package zktest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// shortChildEnv marks the test binary's re-run of TestRequireSkipsUnderShort.
const shortChildEnv = "ZKTEST_SHORT_CHILD"

// TestRequireSkipsUnderShort: go test -short starts no JVM, even where
// ZooKeeper is installed and KSHIFT_REQUIRE_ZOOKEEPER is set. The test binary
// runs itself with -test.short; that run's Require must skip it.
func TestRequireSkipsUnderShort(t *testing.T) {
	if os.Getenv(shortChildEnv) != "" {
		Require(t)
		t.Fatal("Require returned under -short: the test would start ZooKeeper")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRequireSkipsUnderShort$", "-test.short", "-test.v")
	cmd.Env = append(os.Environ(), shortChildEnv+"=1", RequireEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the -short run failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- SKIP: TestRequireSkipsUnderShort") || !strings.Contains(string(out), "which -short skips") {
		t.Fatalf("the -short run did not skip with a message:\n%s", out)
	}
}

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

// TestFreePortsStayOutOfEphemeralRangeAndReserved: ports (of FreePorts and
// FindFreePorts) come from below the kernel's ephemeral range, where no
// outgoing connection can take one before a server binds it, and a port
// reserved by one caller (another test binary in CI) or bound by a listener
// is not handed out again.
func TestFreePortsStayOutOfEphemeralRangeAndReserved(t *testing.T) {
	lo, hi := portRange()
	ports := FreePorts(t, 20)
	forServer, err := FindFreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	ports = append(ports, forServer...)
	seen := map[int]bool{}
	for _, p := range ports {
		if p < lo || p >= hi {
			t.Errorf("port %d outside %d-%d", p, lo, hi)
		}
		if seen[p] {
			t.Errorf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	dir := t.TempDir()
	first, ok := reservePort(dir, ports[0])
	if !ok {
		t.Fatalf("reserving free port %d failed", ports[0])
	}
	if f, ok := reservePort(dir, ports[0]); ok {
		f.Close()
		t.Fatalf("port %d reserved twice", ports[0])
	}
	first.Close()
	again, ok := reservePort(dir, ports[0])
	if !ok {
		t.Fatalf("port %d not reservable after its reservation ended", ports[0])
	}
	again.Close()

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if f, ok := reservePort(dir, ports[1]); ok {
		f.Close()
		t.Fatalf("port %d reserved while a listener holds it", ports[1])
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
