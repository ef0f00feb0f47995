// Package zktest starts real ZooKeeper servers (Debian's `zookeeper` package,
// run with java) on 127.0.0.1 for tests: ensembles of voters and observers
// with dynamic reconfiguration and super-digest auth, one data and conf
// directory per node under the test's temp dir, and stop/start/pause/resume
// of single nodes. Everything an Ensemble starts is stopped by t.Cleanup; a
// Server (one node whose lifetime its caller owns, for a fixture shared by a
// whole test binary) is stopped by its caller. Every server runs in its own
// process group and is sent SIGKILL by the kernel when the test binary dies,
// so a killed or panicking test leaves no JVM behind.
//
// Tests that use it skip under `go test -short` (the fast tier starts no JVM)
// and when ZooKeeper or java is missing, unless KSHIFT_REQUIRE_ZOOKEEPER is set.
//
// It is a test helper only: it must never be imported by production code, and
// it knows nothing about kshift's plans or zkops.
package zktest

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// JarPath is the server jar of Debian's zookeeper package.
const JarPath = "/usr/share/java/zookeeper.jar"

// RequireEnv, when set, turns a missing ZooKeeper into a test failure
// instead of a skip (CI sets it).
const RequireEnv = "KSHIFT_REQUIRE_ZOOKEEPER"

// SuperUser and SuperPassword are the digest credentials every test server
// accepts as the super user (needed for reconfig).
const (
	SuperUser     = "super"
	SuperPassword = "kshift-test-password"
)

// classpath holds the server jar and the logging binding it lacks.
var classpath = []string{JarPath, "/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"}

// Missing lists what a real ZooKeeper server needs and this machine lacks
// (the server jar, java); it is empty when a server can run.
func Missing() []string {
	var missing []string
	if _, err := os.Stat(JarPath); err != nil {
		missing = append(missing, JarPath)
	}
	if _, err := exec.LookPath("java"); err != nil {
		missing = append(missing, "java")
	}
	return missing
}

// Require skips t under -short (these tests start a JVM) and when ZooKeeper
// or java is not installed; it fails t instead of skipping when ZooKeeper is
// missing and KSHIFT_REQUIRE_ZOOKEEPER is set.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("zktest: starts a real ZooKeeper (a JVM), which -short skips")
	}
	missing := Missing()
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("real ZooKeeper needed: %s not found (apt-get install -y zookeeper)", strings.Join(missing, ", "))
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s; %s is set, so this is a failure", msg, RequireEnv)
	}
	t.Skip(msg)
}

// SuperDigest is the value of -Dzookeeper.DigestAuthenticationProvider.superDigest
// for user:password: user:base64(sha1("user:password")), the digest
// ZooKeeper's DigestAuthenticationProvider computes.
func SuperDigest(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Role is a server's role in the dynamic config.
type Role string

const (
	// Participant is a voting member.
	Participant Role = "participant"
	// Observer is a non-voting member.
	Observer Role = "observer"
)

// Options shape a test ensemble.
type Options struct {
	// Voters and Observers are the member counts; ids are 1..Voters, then the observers.
	Voters, Observers int
	// ReconfigDisabled starts the servers with reconfigEnabled=false.
	ReconfigDisabled bool
}

// Node is one ZooKeeper server process.
type Node struct {
	ID           int
	ClientPort   int
	QuorumPort   int
	ElectionPort int
	// Role is the role the node was started with.
	Role Role

	t        testing.TB
	dir      string
	reconfig bool
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	paused   bool
}

// Ensemble is a set of nodes started together; nodes added later join it.
type Ensemble struct {
	t     testing.TB
	opts  Options
	mu    sync.Mutex
	nodes map[int]*Node
}

// StartEnsemble starts opts.Voters participants and opts.Observers observers
// and waits until every node serves with exactly one leader.
func StartEnsemble(t testing.TB, opts Options) *Ensemble {
	t.Helper()
	Require(t)
	if opts.Voters < 1 {
		t.Fatalf("zktest: an ensemble needs at least one voter")
	}
	e := &Ensemble{t: t, opts: opts, nodes: map[int]*Node{}}
	for i := 1; i <= opts.Voters+opts.Observers; i++ {
		role := Participant
		if i > opts.Voters {
			role = Observer
		}
		e.nodes[i] = newNode(t, i, role, !opts.ReconfigDisabled)
	}
	dyn := e.DynamicConfig()
	for _, id := range e.IDs() {
		n := e.nodes[id]
		n.start(n.ZooCfg(), dyn)
	}
	e.WaitServing(60 * time.Second)
	return e
}

func newNode(t testing.TB, id int, role Role, reconfig bool) *Node {
	ports := FreePorts(t, 3)
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("zk%d", id))
	n := &Node{ID: id, ClientPort: ports[0], QuorumPort: ports[1], ElectionPort: ports[2], Role: role, t: t, dir: dir, reconfig: reconfig}
	t.Cleanup(n.kill)
	return n
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1 (see
// FindFreePorts), failing t when there are none; they stay reserved until t
// ends.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, release, err := reservePorts(n)
	if err != nil {
		t.Fatalf("zktest: %v", err)
	}
	t.Cleanup(release)
	return ports
}

// FindFreePorts returns n distinct free TCP ports on 127.0.0.1 for servers
// started later, reserved until the test binary exits. A port the kernel
// hands out for 127.0.0.1:0 can be taken by any outgoing connection before
// the server binds it (seen in CI as "Address already in use"), so the ports
// come from below the kernel's ephemeral range, and each is reserved by a
// lock on a file under the temp dir, so test binaries running in parallel
// never pick the same one.
func FindFreePorts(n int) ([]int, error) {
	ports, release, err := reservePorts(n)
	if err != nil {
		return nil, err
	}
	heldMu.Lock()
	held = append(held, release)
	heldMu.Unlock()
	return ports, nil
}

// held keeps the reservations FindFreePorts hands out for the life of the
// process (a lock file that is garbage-collected is closed, and its lock
// released).
var (
	heldMu sync.Mutex
	held   []func()
)

// reservePorts picks n ports in portRange at random and reserves each
// (reservePort); release ends the reservations.
func reservePorts(n int) (ports []int, release func(), err error) {
	dir := filepath.Join(os.TempDir(), "kshift-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, nil, fmt.Errorf("reserving ports: %w", err)
	}
	lo, hi := portRange()
	var locks []*os.File
	release = func() {
		for _, f := range locks {
			f.Close()
		}
	}
	for tries := 0; len(ports) < n; tries++ {
		if tries == 10000 {
			release()
			return nil, nil, fmt.Errorf("no free port on 127.0.0.1 in %d-%d after %d tries", lo, hi, tries)
		}
		port := lo + rand.IntN(hi-lo)
		if f, ok := reservePort(dir, port); ok {
			locks = append(locks, f)
			ports = append(ports, port)
		}
	}
	return ports, release, nil
}

// portRange is the range ports are picked from: from 10000 up to the start
// of the kernel's ephemeral range (32768 unless the kernel says otherwise).
func portRange() (lo, hi int) {
	lo, hi = 10000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var first, last int
		if _, err := fmt.Sscan(string(b), &first, &last); err == nil && first > lo+1000 {
			hi = first
		}
	}
	return lo, hi
}

// reservePort takes an exclusive lock on dir/PORT and checks that nothing
// listens on the port; the lock holds until the returned file is closed.
func reservePort(dir string, port int) (*os.File, bool) {
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		f.Close()
		return nil, false
	}
	l.Close()
	return f, true
}

// ServerLine is the node's dynamic-config line with the given role.
func (n *Node) ServerLine(role Role) string {
	return fmt.Sprintf("server.%d=127.0.0.1:%d:%d:%s;127.0.0.1:%d", n.ID, n.QuorumPort, n.ElectionPort, role, n.ClientPort)
}

// Addr is the node's client address.
func (n *Node) Addr() string { return fmt.Sprintf("127.0.0.1:%d", n.ClientPort) }

// DataDir is the node's data directory.
func (n *Node) DataDir() string { return filepath.Join(n.dir, "data") }

// IDs returns the ensemble's node ids in order.
func (e *Ensemble) IDs() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]int, 0, len(e.nodes))
	for id := range e.nodes {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// Node returns node id, failing the test when there is none.
func (e *Ensemble) Node(id int) *Node {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.nodes[id]
	if !ok {
		e.t.Fatalf("zktest: no node %d", id)
	}
	return n
}

// DynamicConfig is the dynamic config listing every node with the role it
// was started with.
func (e *Ensemble) DynamicConfig() string {
	var b strings.Builder
	for _, id := range e.IDs() {
		n := e.Node(id)
		b.WriteString(n.ServerLine(n.Role) + "\n")
	}
	return b.String()
}

// Connect is the client connect string of the given nodes (all when none given).
func (e *Ensemble) Connect(ids ...int) string {
	if len(ids) == 0 {
		ids = e.IDs()
	}
	addrs := make([]string, len(ids))
	for i, id := range ids {
		addrs[i] = e.Node(id).Addr()
	}
	return strings.Join(addrs, ",")
}

// AddNode starts a new node that is not yet a member, the way an operator
// starts a server before reconfig adds it: its dynamic config is members
// (e.DynamicConfig() when empty) plus itself as an observer.
func (e *Ensemble) AddNode(members string) *Node {
	e.t.Helper()
	if members == "" {
		members = e.DynamicConfig()
	}
	ids := e.IDs()
	id := ids[len(ids)-1] + 1
	n := newNode(e.t, id, Observer, !e.opts.ReconfigDisabled)
	e.mu.Lock()
	e.nodes[id] = n
	e.mu.Unlock()
	n.start(n.ZooCfg(), members+n.ServerLine(Observer)+"\n")
	// Before it is a member the server answers as a (non-voting) follower.
	n.WaitServing(60 * time.Second)
	return n
}

// NewNode reserves ports and directories for a new node without starting
// it, for callers that write its config themselves (StartWithConfig).
func (e *Ensemble) NewNode() *Node {
	ids := e.IDs()
	id := ids[len(ids)-1] + 1
	n := newNode(e.t, id, Observer, !e.opts.ReconfigDisabled)
	e.mu.Lock()
	e.nodes[id] = n
	e.mu.Unlock()
	return n
}

// StartWithConfig starts n from the given zoo.cfg and dynamic config. The
// zoo.cfg must point dynamicConfigFile at DynamicConfigPath() and dataDir
// at DataDir().
func (n *Node) StartWithConfig(zooCfg, dynamic string) {
	n.t.Helper()
	n.start(zooCfg, dynamic)
}

// DynamicConfigPath is where the node's dynamic config lives.
func (n *Node) DynamicConfigPath() string { return filepath.Join(n.dir, "conf", "zoo.cfg.dynamic") }

// ZooCfg is the static config the harness writes for a node.
func (n *Node) ZooCfg() string {
	return fmt.Sprintf(`tickTime=200
initLimit=20
syncLimit=10
dataDir=%s
reconfigEnabled=%t
standaloneEnabled=false
4lw.commands.whitelist=*
admin.enableServer=false
dynamicConfigFile=%s
`, n.DataDir(), n.reconfig, n.DynamicConfigPath())
}

// start writes the node's files and starts it, failing the test on error.
func (n *Node) start(zooCfg, dynamic string) {
	n.t.Helper()
	if err := n.writeFiles(zooCfg, dynamic); err != nil {
		n.t.Fatalf("zktest: %v", err)
	}
	if err := n.run(); err != nil {
		n.t.Fatalf("zktest: %v", err)
	}
}

func (n *Node) writeFiles(zooCfg, dynamic string) error {
	conf := filepath.Join(n.dir, "conf")
	for _, d := range []string{conf, n.DataDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("making node %d's directories: %w", n.ID, err)
		}
	}
	logProps := fmt.Sprintf(`log4j.rootLogger=INFO, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=%s
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%%d{HH:mm:ss,SSS} [myid:%%X{myid}] %%-5p [%%t:%%C{1}@%%L] - %%m%%n
`, filepath.Join(n.dir, "zookeeper.log"))
	files := map[string]string{
		filepath.Join(conf, "zoo.cfg"):          zooCfg,
		n.DynamicConfigPath():                   dynamic,
		filepath.Join(conf, "log4j.properties"): logProps,
		filepath.Join(n.DataDir(), "myid"):      fmt.Sprintf("%d\n", n.ID),
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return fmt.Errorf("writing node %d's config: %w", n.ID, err)
		}
	}
	return nil
}

// run starts the java process with the files already in place.
func (n *Node) run() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return fmt.Errorf("node %d is already running", n.ID)
	}
	conf := filepath.Join(n.dir, "conf")
	cmd := exec.Command("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.DigestAuthenticationProvider.superDigest="+SuperDigest(SuperUser, SuperPassword),
		"-cp", conf+":"+strings.Join(classpath, ":"),
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(conf, "zoo.cfg"))
	out, err := os.OpenFile(filepath.Join(n.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening node %d's stdout log: %w", n.ID, err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = ChildProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("starting node %d: %w", n.ID, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
	n.cmd, n.exited, n.paused = cmd, exited, false
	return nil
}

// ChildProcAttr is how test servers are started: in a process group of
// their own (a terminal's Ctrl-C reaches the test binary, whose cleanup
// stops them in order, not the servers directly), and with the kernel
// sending them SIGKILL when the thread that started them dies, so a test
// binary that is killed or panics leaves no JVM behind. The Go runtime
// keeps its threads for the life of the process unless a goroutine exits
// while locked to one (runtime.LockOSThread): do not start servers from
// such a goroutine.
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 10 s).
func (n *Node) Stop() {
	n.t.Helper()
	if err := n.stop(10 * time.Second); err != nil {
		n.t.Fatalf("zktest: %v", err)
	}
}

func (n *Node) stop(grace time.Duration) error {
	n.mu.Lock()
	cmd, exited, paused := n.cmd, n.exited, n.paused
	n.cmd, n.paused = nil, false
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if paused {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("node %d did not stop within %s of SIGTERM: killed", n.ID, grace)
	}
}

// kill is the cleanup: stop without failing the (already finished) test,
// and show the node's log tail when the test failed.
func (n *Node) kill() {
	if n.t.Failed() {
		n.t.Logf("zktest: node %d log tail:\n%s", n.ID, tail(n.LogPath(), 15))
	}
	_ = n.stop(5 * time.Second)
}

// Restart starts a stopped node again with the files it had.
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.run(); err != nil {
		n.t.Fatalf("zktest: %v", err)
	}
}

// Pause freezes the node with SIGSTOP: it keeps its sockets but answers
// nothing. It returns once the kernel reports the process stopped.
func (n *Node) Pause() {
	n.t.Helper()
	n.signal(syscall.SIGSTOP, true)
	n.mu.Lock()
	pid := n.cmd.Process.Pid
	n.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for processState(pid) != "T" {
		if time.Now().After(deadline) {
			n.t.Fatalf("zktest: node %d (pid %d) not stopped 10s after SIGSTOP", n.ID, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processState is the state letter of /proc/PID/stat (T: stopped).
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The state follows the command name in parentheses, which may hold spaces.
	s := string(b)
	if i := strings.LastIndex(s, ") "); i >= 0 && i+3 <= len(s) {
		return s[i+2 : i+3]
	}
	return ""
}

// Resume continues a paused node with SIGCONT.
func (n *Node) Resume() { n.signal(syscall.SIGCONT, false) }

func (n *Node) signal(sig syscall.Signal, paused bool) {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		n.t.Fatalf("zktest: node %d is not running", n.ID)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("zktest: signalling node %d: %v", n.ID, err)
	}
	n.paused = paused
}

// Running reports whether the node's process was started and not stopped.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// Mode asks the node with `srvr` for its mode (leader, follower, observer),
// or returns an error when it does not serve.
func (n *Node) Mode(timeout time.Duration) (string, error) {
	out, err := FourLetterWord(n.Addr(), "srvr", timeout)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if m, ok := strings.CutPrefix(line, "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", fmt.Errorf("node %d does not serve: %s", n.ID, strings.TrimSpace(out))
}

// FourLetterWord sends a four-letter word to addr and returns the answer.
func FourLetterWord(addr, word string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(word)); err != nil {
		return "", err
	}
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String(), sc.Err()
}

// WaitServing waits until every running node serves and exactly one is the leader.
func (e *Ensemble) WaitServing(timeout time.Duration) {
	e.t.Helper()
	var last error
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if last = e.serving(); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("zktest: ensemble not serving within %s: %v", timeout, last)
}

func (e *Ensemble) serving() error {
	leaders := 0
	for _, id := range e.IDs() {
		n := e.Node(id)
		if !n.Running() {
			continue
		}
		mode, err := n.Mode(time.Second)
		if err != nil {
			return fmt.Errorf("node %d: %w", id, err)
		}
		if mode == "leader" {
			leaders++
		}
	}
	if leaders != 1 {
		return fmt.Errorf("%d leaders", leaders)
	}
	return nil
}

// WaitServing waits until node n answers srvr with a mode.
func (n *Node) WaitServing(timeout time.Duration) {
	n.t.Helper()
	if err := n.waitServing(timeout); err != nil {
		n.t.Fatalf("zktest: %v", err)
	}
}

func (n *Node) waitServing(timeout time.Duration) error {
	var last error
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, last = n.Mode(time.Second); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("node %d not serving within %s: %w", n.ID, timeout, last)
}

// Leader returns the id of the node that reports Mode: leader, or 0.
func (e *Ensemble) Leader() int {
	for _, id := range e.IDs() {
		n := e.Node(id)
		if !n.Running() {
			continue
		}
		if m, err := n.Mode(time.Second); err == nil && m == "leader" {
			return id
		}
	}
	return 0
}

// Client connects to the given nodes (all when none given), authenticates
// as the super user, waits for a session and closes it at cleanup.
func (e *Ensemble) Client(ids ...int) *zk.Conn {
	e.t.Helper()
	return Dial(e.t, e.Connect(ids...), true)
}

// Dial connects to connect (host:port,...), optionally as the super user,
// and waits up to 20 s for a session.
func Dial(t testing.TB, connect string, super bool) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect(strings.Split(connect, ","), 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatalf("zktest: connecting to %s: %v", connect, err)
	}
	t.Cleanup(conn.Close)
	// The event channel drops events when full: poll the state instead.
	deadline := time.Now().Add(20 * time.Second)
	for conn.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("zktest: no session with %s within 20s", connect)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if super {
		if err := conn.AddAuth("digest", []byte(SuperUser+":"+SuperPassword)); err != nil {
			t.Fatalf("zktest: super auth: %v", err)
		}
	}
	return conn
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Server is a one-node ZooKeeper (an ensemble of one voter, enough for
// Kafka) whose lifetime its caller owns: unlike StartEnsemble it takes no
// testing.TB and registers no cleanup, so it can serve a whole test binary
// (a fixture closed from TestMain). The caller must call Stop.
type Server struct {
	n *Node
}

// StartServer starts a one-node ensemble with its files under dir and waits
// up to timeout until it serves. On failure it stops what it started and the
// error carries the server's log tail.
func StartServer(dir string, timeout time.Duration) (*Server, error) {
	if missing := Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("real ZooKeeper needed: %s not found (apt-get install -y zookeeper)", strings.Join(missing, ", "))
	}
	ports, err := FindFreePorts(3)
	if err != nil {
		return nil, err
	}
	n := &Node{ID: 1, ClientPort: ports[0], QuorumPort: ports[1], ElectionPort: ports[2], Role: Participant, dir: dir, reconfig: true}
	if err := n.writeFiles(n.ZooCfg(), n.ServerLine(Participant)+"\n"); err != nil {
		return nil, err
	}
	if err := n.run(); err != nil {
		return nil, err
	}
	if err := n.waitServing(timeout); err != nil {
		_ = n.stop(5 * time.Second)
		return nil, fmt.Errorf("%w; log tail:\n%s", err, tail(n.LogPath(), 15))
	}
	return &Server{n: n}, nil
}

// Addr is the server's client address, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.n.Addr() }

// Pid is the server's process id, or 0 once it is stopped.
func (s *Server) Pid() int {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	if s.n.cmd == nil {
		return 0
	}
	return s.n.cmd.Process.Pid
}

// LogPath is the server's log file.
func (s *Server) LogPath() string { return s.n.LogPath() }

// Stop sends SIGTERM and waits for the process to exit; after grace it sends
// SIGKILL and reports that it had to. Stopping a stopped server does nothing.
func (s *Server) Stop(grace time.Duration) error { return s.n.stop(grace) }

// LogPath is the node's log file.
func (n *Node) LogPath() string { return filepath.Join(n.dir, "zookeeper.log") }
