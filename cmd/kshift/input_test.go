package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/nettest"
	"github.com/kshift/kshift/plans"
)

// runIn runs kshift in this process with stdin as its standard input and
// returns stdout and stderr (the error included, as main prints it) and the
// exit code.
func runIn(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return runInCtx(ctx, stdin, args...)
}

// runInCtx is runIn until ctx ends (a sandbox runs until then).
func runInCtx(ctx context.Context, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	app := newApp()
	app.Reader, app.Writer, app.ErrWriter = stdin, &out, &errOut
	err := app.RunContext(ctx, append([]string{"kshift"}, args...))
	if err != nil {
		errOut.WriteString("kshift: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), exitCode(err)
}

// noCluster is a bootstrap address where nothing listens: a command that
// got as far as connecting fails there with exit 1.
var noCluster = []string{"--bootstrap", "127.0.0.1:1", "--dial-timeout", "1s"}

// writeEditedPlan writes m's plan with edit applied, as a person editing
// the file would, and returns its path.
func writeEditedPlan(t *testing.T, m *migration, edit func(p *plans.Plan)) string {
	t.Helper()
	data, err := os.ReadFile(m.planPath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plans.Decode[plans.Plan](data, m.planPath)
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	if data, err = plans.Marshal(p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edited.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCommandsRefusePlanBreakingInvariants pins issue 12's case: a raise-rf
// `to` edited by hand to one broker was executed by apply (the partition
// left at RF 1). apply, rollback and cancel refuse it with exit 3, naming
// every violation, and change nothing.
func TestCommandsRefusePlanBreakingInvariants(t *testing.T) {
	m := newMigration(t, 1000, 1, 2, 1<<20, 100<<20, 2)
	path := writeEditedPlan(t, m, func(p *plans.Plan) { p.Steps[0].Partitions[0].To = []int32{3} })
	mv := m.plan.Steps[0].Partitions[0]
	for _, args := range [][]string{
		{"apply", path, "--step", "1"},
		{"rollback", path, "--step", "1"},
		{"cancel", path},
	} {
		_, stderr, code := runIn(t, strings.NewReader(""), append(args, m.connArgs()...)...)
		if code != exitRefused {
			t.Errorf("%s: exit %d, want %d\n%s", args[0], code, exitRefused, stderr)
		}
		for _, want := range []string{
			path + " breaks the plan invariants, so kshift runs none of it",
			"step 1, partition " + mv.Name() + ": raise-rf [0 1 2] -> [3] must keep the current replicas first, in order, and only add",
			"step 1: estimate says",
			"step 2, partition " + mv.Name() + ": from [0 1 2 3 4 5] is not [3], where the previous step leaves it",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: output lacks %q:\n%s", args[0], want, stderr)
			}
		}
		if st, _ := m.c.Partition(mv.Topic, mv.Partition); !slices.Equal(st.Replicas, mv.From) || st.Reassigning {
			t.Fatalf("%s changed %s: replicas %v, reassigning %v", args[0], mv.Name(), st.Replicas, st.Reassigning)
		}
	}
}

// TestPlanRatesChecked pins `throttle: 0` (or no rate), which copied
// unthrottled and passed plan validate, even with a mapping at 10 MiB/s:
// validate and apply refuse it, and validate --mapping names every rate that
// is not the mapping's.
func TestPlanRatesChecked(t *testing.T) {
	planPath, snap, mapping, dir := writePlan(t)
	data, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	const rate = "throttle: 10485760\n" // the mapping's 10MiB/s
	if !strings.Contains(string(data), rate) {
		t.Fatalf("fixture changed: the plan has no %q", rate)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zero := write("zero.yaml", strings.Replace(string(data), rate, "throttle: 0\n", 1))
	missing := write("missing.yaml", strings.Replace(string(data), rate, "", 1))
	for _, p := range []string{zero, missing} {
		for _, args := range [][]string{
			{"plan", "validate", p},
			{"plan", "validate", p, "--mapping", mapping, "--snapshot", snap},
			append([]string{"apply", p, "--step", "1"}, noCluster...),
		} {
			stdout, stderr, code := runIn(t, strings.NewReader(""), args...)
			if code != exitRefused || !strings.Contains(stdout+stderr, "throttle: is 0 bytes/s (0 when missing): a plan copies at a positive rate per broker") {
				t.Errorf("%v: exit %d, want %d naming the rate:\n%s%s", args, code, exitRefused, stdout, stderr)
			}
		}
	}
	// A step's own rate set to 0, and rates that differ from the mapping's.
	stepZero := write("step-zero.yaml", strings.Replace(string(data), "    throttle: 10485760\n", "    throttle: 0\n", 1))
	if stdout, _, code := runIn(t, nil, "plan", "validate", stepZero); code != exitRefused || !strings.Contains(stdout, "step 1: throttle is 0, which would copy unthrottled") {
		t.Errorf("a step's rate of 0: exit %d\n%s", code, stdout)
	}
	other := strings.Replace(string(data), rate, "throttle: 20971520\n", 1)
	other = strings.Replace(other, "    throttle: 10485760\n", "    throttle: 5242880\n", 1)
	stdout, _, code := runIn(t, nil, "plan", "validate", write("other.yaml", other), "--mapping", mapping)
	for _, want := range []string{
		"throttle: 20 MiB/s (20971520 bytes/s) per broker, the mapping's throttle is 10 MiB/s (10485760 bytes/s)",
		"step 1: throttle 5.0 MiB/s (5242880 bytes/s) per broker, the mapping's throttle is 10 MiB/s (10485760 bytes/s)",
	} {
		if code != exitRefused || !strings.Contains(stdout, want) {
			t.Errorf("rates other than the mapping's: exit %d, output lacks %q:\n%s", code, want, stdout)
		}
	}
}

// TestApplyStepsNeedSomeoneToAsk pins --through and --all without a
// terminal: every step after the first asks, nobody can answer, so the
// command is refused (exit 2) before it connects; with --auto-continue, a
// dry run, or a single step it goes on (here to fail connecting, exit 1).
func TestApplyStepsNeedSomeoneToAsk(t *testing.T) {
	planPath, _, _, _ := writePlan(t)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--all"}, exitBadInput},
		{[]string{"--through", "2"}, exitBadInput},
		{[]string{"--all", "--auto-continue"}, exitFailure},
		{[]string{"--all", "--dry-run"}, exitFailure},
		{[]string{"--through", "1"}, exitFailure},
		{[]string{"--step", "2"}, exitFailure},
	} {
		args := append(append([]string{"apply", planPath}, tc.args...), noCluster...)
		_, stderr, code := runIn(t, strings.NewReader("y\ny\ny\n"), args...)
		if code != tc.want {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.want, stderr)
		}
		if tc.want == exitBadInput && !strings.Contains(stderr, "standard input is not a terminal: give --auto-continue") {
			t.Errorf("%v: %s", tc.args, stderr)
		}
	}
	// A terminal is asked (the answer is read; it fails connecting first).
	_, tty := openPTY(t)
	if _, stderr, code := runIn(t, tty, append([]string{"apply", planPath, "--all"}, noCluster...)...); code != exitFailure {
		t.Errorf("--all on a terminal: exit %d, want %d\n%s", code, exitFailure, stderr)
	}
}

// specialPaths makes, in a fresh directory, paths an output must never
// replace: a FIFO (a non-blocking reader is kept open on it, so a write
// that wrongly opens it does not hang the test), a unix socket and a
// directory.
func specialPaths(t *testing.T) (dir string, paths map[string]string) {
	t.Helper()
	dir = t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sub := filepath.Join(dir, "dir")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, map[string]string{"a FIFO": fifo, "a socket": sock, "is a directory": sub}
}

// unchanged fails unless every path is still what specialPaths made.
func unchanged(t *testing.T, what string, paths map[string]string) {
	t.Helper()
	for kind, p := range paths {
		st, err := os.Lstat(p)
		if err != nil || st.Mode().IsRegular() {
			t.Errorf("%s: %s (%s) replaced: %v %v", what, p, kind, st.Mode(), err)
		}
	}
}

// TestOutputsNeverReplaceSpecialFiles pins issue 12: every writer of a file
// (snapshot --out, snapshot synth, plan export, sandbox --write-*, join
// config --out, the audit log) replaced a device node, FIFO or socket by a
// regular file (as root, --out /dev/null replaced /dev/null). Each refuses
// such a path with exit 2 before its work: snapshot before it connects
// (nothing listens at noCluster: connecting would exit 1).
func TestOutputsNeverReplaceSpecialFiles(t *testing.T) {
	planPath, snap, mapping, _ := writePlan(t)
	_, paths := specialPaths(t)
	joinSnap, joinMapping := joinFixture(t)
	for kind, p := range paths {
		for _, args := range [][]string{
			append([]string{"snapshot", "--out", p}, noCluster...),
			{"snapshot", "synth", "--out", p, "--mapping-out", filepath.Join(t.TempDir(), "m.yaml")},
			{"snapshot", "synth", "--out", filepath.Join(t.TempDir(), "s.yaml"), "--mapping-out", p},
			{"plan", "export", planPath, "--step", "1", "--out", p},
			{"sandbox", "--write-snapshot", p},
			{"sandbox", "--write-mapping", p},
			append([]string{"apply", planPath, "--step", "1", "--audit-log", p}, noCluster...),
			append([]string{"cancel", planPath, "--audit-log", p}, noCluster...),
			append([]string{"throttle", "clear", "--audit-log", p}, noCluster...),
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, stderr, code := runInCtx(ctx, strings.NewReader(""), args...)
			cancel()
			if code != exitBadInput || !strings.Contains(stderr, kind) {
				t.Errorf("%v (%s): exit %d, want %d naming %q\n%s", args, kind, code, exitBadInput, kind, stderr)
			}
		}
	}
	unchanged(t, "after the writers", paths)

	// join config --out writes server-<id>.properties into a directory.
	dir, jpaths := specialPaths(t)
	if err := os.Rename(jpaths["a FIFO"], filepath.Join(dir, "server-101.properties")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runIn(t, nil, "join", "config", "--snapshot", joinSnap, "--mapping", joinMapping, "--zookeeper-hosts", "zk9:2181", "--out", dir)
	if st, err := os.Lstat(filepath.Join(dir, "server-101.properties")); code != exitBadInput || err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("join config --out onto a FIFO: exit %d, want %d, and the FIFO kept (%v %v)\n%s", code, exitBadInput, st.Mode(), err, stderr)
	}
	for _, notDir := range []string{jpaths["a socket"], filepath.Join(dir, "missing")} {
		if _, stderr, code := runIn(t, nil, "join", "config", "--snapshot", joinSnap, "--mapping", joinMapping, "--zookeeper-hosts", "zk9:2181", "--out", notDir); code != exitBadInput {
			t.Errorf("join config --out %s: exit %d, want %d\n%s", notDir, code, exitBadInput, stderr)
		}
	}

	// /dev/null is only ever refused: with nothing listening the command
	// could not have written it, and exit 2 (not 1) shows it was refused
	// before connecting.
	for _, args := range [][]string{
		append([]string{"snapshot", "--out", "/dev/null"}, noCluster...),
		append([]string{"apply", planPath, "--step", "1", "--audit-log", "/dev/null"}, noCluster...),
	} {
		if _, stderr, code := runIn(t, nil, args...); code != exitBadInput || !strings.Contains(stderr, "a character device") {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitBadInput, stderr)
		}
	}

	// A missing or non-directory parent is bad input too, before any work.
	missing := filepath.Join(t.TempDir(), "no", "such")
	for _, args := range [][]string{
		append([]string{"snapshot", "--out", filepath.Join(missing, "s.yaml")}, noCluster...),
		{"plan", "--snapshot", snap, "--mapping", mapping, "--out", filepath.Join(missing, "plan")},
		{"plan", "--snapshot", snap, "--mapping", mapping, "--out", paths["a FIFO"]},
		{"plan", "export", planPath, "--step", "1", "--out", filepath.Join(planPath, "x.json")},
		append([]string{"apply", planPath, "--step", "1", "--audit-log", filepath.Join(missing, "a.jsonl")}, noCluster...),
	} {
		if _, stderr, code := runIn(t, nil, args...); code != exitBadInput {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitBadInput, stderr)
		}
	}
}

// joinFixture writes a snapshot and a mapping kshift join config accepts,
// with one target broker, 101.
func joinFixture(t *testing.T) (snap, mapping string) {
	t.Helper()
	dir := t.TempDir()
	snap, mapping = filepath.Join(dir, "snap.yaml"), filepath.Join(dir, "mapping.yaml")
	for path, body := range map[string]string{
		snap: `version: 1
cluster_id: c1
controller: 1
brokers:
  - {id: 1, rack: r1, configs: {inter.broker.protocol.version: 2.4-IV1, log.message.format.version: 2.4-IV1, listeners: "PLAINTEXT://:9092", zookeeper.connect: "zk1:2181/kafka"}}
topics: []
`,
		mapping: `version: 1
source_brokers: [1]
target_brokers: [101]
listeners:
  ports: {PLAINTEXT: 19092}
  advertised_hosts: {101: k101.example.com}
  racks: {101: z1}
`,
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return snap, mapping
}

// TestConnectionInputIsBadInput pins issue 12's small ones: connection flags
// that are wrong are bad input (exit 2), found before any connection (a
// connection to noCluster would fail with exit 1), and never echo a secret.
func TestConnectionInputIsBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "snap.yaml")
	const secret = "hunter2pw"
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"missing --tls-ca", []string{"--tls-ca", filepath.Join(t.TempDir(), "ca.pem")}, "cannot read the TLS CA file (--tls-ca)"},
		{"zookeeper port not a number", []string{"--zookeeper", "zk1:21x1/kafka"}, `port "21x1" is not a number`},
		{"zookeeper port out of range", []string{"--zookeeper", "zk1:2181,zk2:70000"}, `port "70000" is not a number from 1 to 65535`},
		{"zookeeper chroot with an empty part", []string{"--zookeeper", "zk1:2181/kafka//prod"}, "has an empty or blank part"},
		{"zookeeper host missing", []string{"--zookeeper", ":2181"}, "has no host"},
		{"negative --dial-timeout", []string{"--dial-timeout", "-5s"}, "dial timeout -5s is negative"},
		{"negative --request-timeout", []string{"--request-timeout", "-1s"}, "request timeout -1s is negative"},
		{"credentials in --bootstrap", []string{"--bootstrap", "ops:" + secret + "@127.0.0.1:1"}, "holds credentials (user:password@host): kshift never takes a secret from a flag"},
		{"credentials in --zookeeper", []string{"--zookeeper", "ops:" + secret + "@zk1:2181"}, "holds credentials (user:password@host): it is not shown"},
		{"a password as --sasl-password-env", []string{"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "ops", "--sasl-password-env", secret + "!"},
			"--sasl-password-env (sasl.password_env in a profile) must name the environment variable holding the SASL password"},
		{"an unset lower-case --sasl-password-env", []string{"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "ops", "--sasl-password-env", secret},
			"set the environment variable named by --sasl-password-env (its name is not shown"},
		{"a password as --zookeeper-digest-env", []string{"--zookeeper", "zk1:2181", "--zookeeper-digest-env", "ops:" + secret},
			"--zookeeper-digest-env (zookeeper.digest_env in a profile) must name the environment variable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"snapshot", "--out", out}, noCluster...), tc.flags...)
			stdout, stderr, code := runIn(t, nil, args...)
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d saying %q:\n%s", code, exitBadInput, tc.want, stderr)
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("the output echoes the secret:\n%s%s", stdout, stderr)
			}
		})
	}

	// The unset variable a person named is printed (it is named like one)
	// and warned about: ZooKeeper is then used without authentication.
	_, stderr, code := runIn(t, nil, append(append([]string{"snapshot", "--out", out}, noCluster...), "--zookeeper", "zk1:2181", "--zookeeper-digest-env", "KSHIFT_TEST_UNSET_DIGEST")...)
	if code != exitFailure || !strings.Contains(stderr, "warning: the environment variable KSHIFT_TEST_UNSET_DIGEST is not set: connecting to ZooKeeper without authentication") {
		t.Errorf("unset --zookeeper-digest-env: exit %d, want %d and a warning:\n%s", code, exitFailure, stderr)
	}
	zk := nettest.RefusedAddr(t)
	_, stderr, _ = runIn(t, nil, "zk", "status", "--zookeeper", zk, "--zookeeper-digest-env", "KSHIFT_TEST_UNSET_DIGEST", "--timeout", "2s")
	if !strings.Contains(stderr, "warning: the environment variable KSHIFT_TEST_UNSET_DIGEST is not set") {
		t.Errorf("zk status with an unset --zookeeper-digest-env: no warning:\n%s", stderr)
	}
	for _, flags := range [][]string{{"--zookeeper", "zk1:x"}, {"--zookeeper", zk, "--timeout", "-1s"}, {"--zookeeper", zk, "--zookeeper-digest-env", "ops:" + secret}} {
		_, stderr, code := runIn(t, nil, append([]string{"zk", "status"}, flags...)...)
		if code != exitBadInput || strings.Contains(stderr, secret) {
			t.Errorf("zk status %v: exit %d, want %d without the secret:\n%s", flags, code, exitBadInput, stderr)
		}
	}
}

// TestZKStatusRefusedFailsFast pins issue 12: zk status on a port where
// nothing listens waited out its whole --timeout (30s) and then spoke of a
// missing session. It fails within a few seconds, saying refused.
func TestZKStatusRefusedFailsFast(t *testing.T) {
	addr := nettest.RefusedAddr(t)
	start := time.Now()
	_, stderr, code := runIn(t, nil, "zk", "status", "--zookeeper", addr)
	if took := time.Since(start); code != exitFailure || took > 10*time.Second || !strings.Contains(stderr, "connection refused by "+addr) {
		t.Errorf("exit %d after %s, want %d within 10s saying refused:\n%s", code, took.Round(time.Millisecond), exitFailure, stderr)
	}
}

// TestRateFlagsBounded: a rate above 1 PiB/s is a typing mistake, refused
// (exit 2) before connecting; Mbps is megabits, taken as such.
func TestRateFlagsBounded(t *testing.T) {
	_, stderr, code := runIn(t, nil, append([]string{"throttle", "set", "2PiB/s"}, noCluster...)...)
	if code != exitBadInput || !strings.Contains(stderr, "above 1.0 PiB/s") {
		t.Errorf("throttle set 2PiB/s: exit %d, want %d\n%s", code, exitBadInput, stderr)
	}
	planPath, _, _, _ := writePlan(t)
	if _, stderr, code := runIn(t, nil, append([]string{"apply", planPath, "--step", "1", "--throttle", "1125899906842625"}, noCluster...)...); code != exitBadInput {
		t.Errorf("apply --throttle above 1 PiB/s: exit %d, want %d\n%s", code, exitBadInput, stderr)
	}
	if _, stderr, code := runIn(t, nil, append([]string{"throttle", "set", "400Mbps"}, noCluster...)...); code != exitFailure {
		t.Errorf("throttle set 400Mbps: exit %d, want %d (a rate; nothing listens)\n%s", code, exitFailure, stderr)
	}
}

// freePorts returns the first of n consecutive loopback ports where nothing
// listens now.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 20; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := base+n <= 65535
		for p := base; ok && p < base+n; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if ok = err == nil; ok {
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Skip("no run of free consecutive ports")
	return 0
}

// TestSandboxPortBase pins what --port-base says (issue 11): the first
// broker, the lowest id, listens on the base port, the next on base+1.
func TestSandboxPortBase(t *testing.T) {
	out, _, _ := runIn(t, nil, "sandbox", "--help")
	if !strings.Contains(out, "the first (the lowest id) on P, the next on P+1") {
		t.Errorf("sandbox --help does not say which broker gets the base port:\n%s", out)
	}
	base := freePorts(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- liveRunTo(ctx, &stdout, &stderr, "sandbox", "--source-brokers", "2", "--target-brokers", "1", "--topics", "2", "--partitions", "4", "--port-base", strconv.Itoa(base))
	}()
	defer func() { cancel(); <-done }()
	var boot string
	for deadline := time.Now().Add(20 * time.Second); boot == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(stdout.String(), "\n") {
			if b, ok := strings.CutPrefix(l, "bootstrap: "); ok {
				boot = b
			}
		}
	}
	if boot == "" {
		t.Fatalf("no bootstrap line: %s %s", stdout.String(), stderr.String())
	}
	cl, err := kafkaconn.Connect(ctx, kafkaconn.Options{Bootstrap: strings.Split(boot, ",")})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	md, err := cl.Admin.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int32{1: int32(base), 2: int32(base + 1), 1001: int32(base + 2)}
	for _, b := range md.Brokers {
		if b.Port != want[b.NodeID] {
			t.Errorf("broker %d listens on %d, want %d", b.NodeID, b.Port, want[b.NodeID])
		}
	}
	if len(md.Brokers) != len(want) {
		t.Errorf("brokers %v, want ids 1, 2, 1001", md.Brokers)
	}
}
