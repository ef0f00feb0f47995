package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// syncBuffer is a buffer safe to read while a running command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveRun runs kshift in-process and returns its exit code, stdout and the
// error message main would print.
func liveRun(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut syncBuffer
	return liveRunTo(ctx, &out, &errOut, args...), out.String(), errOut.String()
}

func liveRunTo(ctx context.Context, out, errOut *syncBuffer, args ...string) int {
	app := newApp()
	app.Writer, app.ErrWriter = out, errOut
	if st := liveStoreFor(args); st != nil {
		app.Metadata = map[string]any{metaStateStore: st}
	}
	err := app.RunContext(ctx, append([]string{"kshift"}, args...))
	if err != nil {
		errOut.Write([]byte("kshift: " + err.Error() + "\n"))
	}
	return exitCode(err)
}

// liveStores holds kshift's state store of each simulated cluster of the
// running tests, by bootstrap address: an in-process command finds its
// cluster's as the real command finds the cluster's ZooKeeper.
var liveStores sync.Map

// withLiveStore gives the simulated cluster d a state store for the
// commands run in process against it.
func withLiveStore(t *testing.T, d *kafkasim.Cluster) {
	key := strings.Join(d.Bootstrap(), ",")
	liveStores.Store(key, state.NewMemory())
	t.Cleanup(func() { liveStores.Delete(key) })
}

// liveStoreFor returns the state store of the cluster args' --bootstrap
// names, nil when none.
func liveStoreFor(args []string) state.Store {
	for i, a := range args {
		if (a == "--bootstrap" || a == "-b") && i+1 < len(args) {
			if st, ok := liveStores.Load(args[i+1]); ok {
				return st.(state.Store)
			}
		}
	}
	return nil
}

func liveCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// liveDouble starts sources 1-3 and targets 4-6 with topic orders (RF 3).
func liveDouble(t *testing.T, cfg kafkasim.Config) *kafkasim.Cluster {
	t.Helper()
	for i := int32(1); i <= 6; i++ {
		cfg.Brokers = append(cfg.Brokers, kafkasim.BrokerConfig{ID: i, Rack: []string{"r1", "r2", "r3"}[i%3]})
	}
	cfg.ClusterID = "c-live"
	cfg.Clock = kafkasim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, err := kafkasim.Start(liveCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	withLiveStore(t, d)
	if err := d.CreateTopic("orders", [][]int32{{1, 2, 3}, {2, 3, 1}}, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheckCommandExitCodes(t *testing.T) {
	d := liveDouble(t, kafkasim.Config{})
	boot := strings.Join(d.Bootstrap(), ",")
	code, out, errMsg := liveRun(liveCtx(t), "check", "--bootstrap", boot, "--broker", "4", "--broker", "5")
	if code != exitOK || !strings.Contains(out, "target-brokers") || !strings.Contains(out, "PASS") {
		t.Fatalf("healthy cluster: exit %d\n%s%s", code, out, errMsg)
	}

	// A leftover throttle fails the throttles gate: exit 3 naming it.
	if err := d.LoadSnapshot(&plans.Snapshot{Topics: nil, ClusterConfigs: map[string]string{"follower.replication.throttled.rate": "1000"}}); err != nil {
		t.Fatal(err)
	}
	code, out, errMsg = liveRun(liveCtx(t), "check", "--bootstrap", boot, "-o", "json")
	if code != exitRefused || !strings.Contains(errMsg, "health check failed: throttles") {
		t.Fatalf("leftover throttle: exit %d, %q", code, errMsg)
	}
	var rep struct {
		Gates []struct{ Gate, Status string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--output json is not JSON: %v\n%s", err, out)
	}
	failed := 0
	for _, g := range rep.Gates {
		if g.Status == "fail" {
			failed++
			if g.Gate != "throttles" {
				t.Errorf("gate %s failed too", g.Gate)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d gates failed, want the throttles gate only", failed)
	}

	if code, _, msg := liveRun(liveCtx(t), "check", "--bootstrap", boot, "--step", "2"); code != exitBadInput || !strings.Contains(msg, "--step needs --plan") {
		t.Errorf("--step without --plan: exit %d %q", code, msg)
	}
}

func TestSnapshotCommandSecretsAndProfile(t *testing.T) {
	const password = "pw-in-env-only-42"
	d := liveDouble(t, kafkasim.Config{SASLMechanism: "SCRAM-SHA-256", SASLUsers: []kafkasim.SASLUser{{User: "ops", Password: password}}})
	dir := t.TempDir()
	profile := filepath.Join(dir, "prod.yaml")
	body := "version: 1\nbootstrap: [" + strings.Join(d.Bootstrap(), ", ") + "]\nsasl:\n  mechanism: SCRAM-SHA-256\n  user: ops\n  password_env: PROD_PW\n"
	if err := os.WriteFile(profile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROD_PW", password)
	out := filepath.Join(dir, "snapshot.yaml")
	code, _, errMsg := liveRun(liveCtx(t), "snapshot", "--profile", profile, "--out", out)
	if code != exitOK {
		t.Fatalf("snapshot with a profile: exit %d %s", code, errMsg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), password) || strings.Contains(errMsg, password) {
		t.Error("the snapshot or the log contains the SASL password")
	}
	s, _, err := plans.LoadFile[plans.Snapshot](out)
	if err != nil || s.ClusterID != "c-live" || s.PartitionCount() != 2 {
		t.Fatalf("written snapshot: %v %+v", err, s)
	}

	t.Setenv("PROD_PW", "not-the-password")
	code, _, errMsg = liveRun(liveCtx(t), "snapshot", "--profile", profile, "--out", out)
	if code != exitFailure || !strings.Contains(errMsg, `SASL SCRAM-SHA-256 authentication as user "ops" failed: wrong user or password (the password comes from the environment variable PROD_PW)`) {
		t.Errorf("wrong password: exit %d %q", code, errMsg)
	}
	// A flag overrides the profile: the user no longer matches.
	t.Setenv("PROD_PW", password)
	if code, _, errMsg = liveRun(liveCtx(t), "snapshot", "--profile", profile, "--sasl-user", "nobody", "--out", out); code != exitFailure || !strings.Contains(errMsg, `user "nobody"`) {
		t.Errorf("--sasl-user over the profile: exit %d %q", code, errMsg)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nbootstrap: [k:9092]\nsasl:\n  password: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errMsg = liveRun(liveCtx(t), "snapshot", "--profile", bad, "--out", out); code != exitBadInput || !strings.Contains(errMsg, "password_env") {
		t.Errorf("password in a profile: exit %d %q", code, errMsg)
	}
}

func TestSnapshotCommandUnreachable(t *testing.T) {
	start := time.Now()
	code, _, errMsg := liveRun(liveCtx(t), "snapshot", "--bootstrap", "127.0.0.1:1", "--dial-timeout", "1s", "--out", filepath.Join(t.TempDir(), "s.yaml"))
	if code != exitFailure || !strings.Contains(errMsg, "cannot connect to 127.0.0.1:1") {
		t.Errorf("unreachable bootstrap: exit %d %q", code, errMsg)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s to give up with --dial-timeout 1s", took)
	}
	if code, _, errMsg = liveRun(liveCtx(t), "snapshot", "--out", "x.yaml"); code != exitBadInput || !strings.Contains(errMsg, "no bootstrap servers") {
		t.Errorf("no bootstrap: exit %d %q", code, errMsg)
	}
}

// The sandbox serves until its context ends, and every other command can be
// pointed at it: its snapshot plans, and check passes before step 1.
func TestSandboxCommand(t *testing.T) {
	dir := t.TempDir()
	snap, mapping := filepath.Join(dir, "snap.yaml"), filepath.Join(dir, "mapping.yaml")
	ctx, cancel := context.WithCancel(liveCtx(t))
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- liveRunTo(ctx, &out, &errOut, "sandbox", "--topics", "5", "--partitions", "30", "--write-snapshot", snap, "--write-mapping", mapping)
	}()
	var boot string
	for deadline := time.Now().Add(20 * time.Second); boot == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(out.String(), "\n") {
			if b, ok := strings.CutPrefix(l, "bootstrap: "); ok {
				boot = b
			}
		}
	}
	if boot == "" {
		cancel()
		t.Fatalf("no bootstrap line: %s %s", out.String(), errOut.String())
	}
	// Without --zookeeper it says at once what will not work, and how to
	// make it work.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Ctrl-C stops it") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if want := "note: commands that change the cluster (apply, rollback, cancel, throttle set, throttle clear) keep kshift's state in the cluster's ZooKeeper, and this sandbox has none: start it with --zookeeper HOST:PORT"; !strings.Contains(out.String(), want) {
		t.Errorf("sandbox without --zookeeper does not say %q:\n%s", want, out.String())
	}
	planDir := filepath.Join(dir, "plan")
	if code, stdout, msg := liveRun(liveCtx(t), "plan", "--snapshot", snap, "--mapping", mapping, "--out", planDir); code != exitOK {
		t.Fatalf("plan of the sandbox's snapshot: exit %d %s %s", code, stdout, msg)
	}
	if code, stdout, msg := liveRun(liveCtx(t), "check", "--bootstrap", boot, "--plan", filepath.Join(planDir, "plan.yaml"), "--step", "1"); code != exitOK {
		t.Fatalf("check before step 1: exit %d\n%s%s", code, stdout, msg)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("sandbox exit %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop when its context ended")
	}
}

func TestJoinConfigCommand(t *testing.T) {
	dir := t.TempDir()
	snap := `version: 1
cluster_id: c1
controller: 1
brokers:
  - {id: 1, rack: r1, configs: {inter.broker.protocol.version: 2.4-IV1, log.message.format.version: 2.4-IV1, listeners: "PLAINTEXT://:9092", zookeeper.connect: "zk1:2181/kafka"}}
topics: []
`
	mapping := `version: 1
source_brokers: [1]
target_brokers: [101]
listeners:
  ports: {PLAINTEXT: 19092}
  advertised_hosts: {101: k101.example.com}
  racks: {101: z1}
`
	for name, body := range map[string]string{"snap.yaml": snap, "mapping.yaml": mapping} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, out, msg := liveRun(liveCtx(t), "join", "config", "--snapshot", filepath.Join(dir, "snap.yaml"), "--mapping", filepath.Join(dir, "mapping.yaml"), "--zookeeper-hosts", "zk9:2181")
	if code != exitOK || !strings.Contains(out, "zookeeper.connect=zk9:2181/kafka\n") || !strings.Contains(out, "advertised.listeners=PLAINTEXT://k101.example.com:19092\n") {
		t.Fatalf("join config: exit %d\n%s%s", code, out, msg)
	}
	// Without a ZooKeeper migration the targets join the sources' ensemble.
	code, out, msg = liveRun(liveCtx(t), "join", "config", "--snapshot", filepath.Join(dir, "snap.yaml"), "--mapping", filepath.Join(dir, "mapping.yaml"))
	if code != exitOK || !strings.Contains(out, "zookeeper.connect=zk1:2181/kafka\n") {
		t.Errorf("no --zookeeper-hosts, no zookeeper section: exit %d %q\n%s", code, msg, out)
	}
}

// --from-snapshot mirrors a snapshot's brokers, replica lists and sizes and
// adds empty target brokers above them.
func TestSandboxFromSnapshot(t *testing.T) {
	dir := t.TempDir()
	src, srcMapping := filepath.Join(dir, "src.yaml"), filepath.Join(dir, "m.yaml")
	if code, out, msg := liveRun(liveCtx(t), "snapshot", "synth", "--source-brokers", "3", "--target-brokers", "1", "--topics", "4", "--partitions", "12", "--out", src, "--mapping-out", srcMapping); code != exitOK {
		t.Fatalf("synth: %d %s %s", code, out, msg)
	}
	want, _, err := plans.LoadFile[plans.Snapshot](src)
	if err != nil {
		t.Fatal(err)
	}
	mirror, mapping := filepath.Join(dir, "mirror.yaml"), filepath.Join(dir, "mapping.yaml")
	ctx, cancel := context.WithCancel(liveCtx(t))
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- liveRunTo(ctx, &out, &errOut, "sandbox", "--from-snapshot", src, "--target-brokers", "2", "--write-snapshot", mirror, "--write-mapping", mapping)
	}()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "bootstrap: ") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("sandbox: exit %d %s", code, errOut.String())
	}
	got, _, err := plans.LoadFile[plans.Snapshot](mirror)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := plans.LoadFile[plans.Mapping](mapping)
	if err != nil {
		t.Fatal(err)
	}
	// synth's target 1001 is a source here; the new targets come after it.
	if len(got.Brokers) != len(want.Brokers)+2 || got.Broker(2001) == nil || got.Broker(2002) == nil || len(m.TargetBrokers) != 2 || len(m.SourceBrokers) != len(want.Brokers) {
		t.Errorf("brokers %d (want %d), mapping sources %v targets %v", len(got.Brokers), len(want.Brokers)+2, m.SourceBrokers, m.TargetBrokers)
	}
	for i, tp := range want.Topics {
		for j, p := range tp.Partitions {
			g := got.Topics[i].Partitions[j]
			if got.Topics[i].Name != tp.Name || !slices.Equal(g.Replicas, p.Replicas) || g.Size != p.Size || g.Leader != p.Leader {
				t.Errorf("%s-%d: mirror %+v, snapshot %+v", tp.Name, p.ID, g, p)
			}
		}
	}
}

// The SASL password given through the environment never reaches the audit
// log or the output of a step applied with it.
func TestApplyAuditNeverContainsPassword(t *testing.T) {
	const password = "audit-secret-pw-7"
	cfg := kafkasim.Config{SASLMechanism: "SCRAM-SHA-512", SASLUsers: []kafkasim.SASLUser{{User: "ops", Password: password}}}
	d := liveDouble(t, cfg)
	dir := t.TempDir()
	plan := &plans.Plan{Version: 1, Kind: plans.KindMigration, ClusterID: "c-live", Strategy: plans.StrategyPhased, Throttle: 50 << 20,
		SourceBrokers: []int32{1, 2, 3}, TargetBrokers: []int32{4, 5, 6},
		Steps: []plans.Step{{Number: 1, Phase: plans.PhaseRaiseRF, Throttle: 50 << 20, Partitions: []plans.Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2, 3}, To: []int32{1, 2, 3, 4}},
		}}, {Number: 2, Phase: plans.PhaseMoveLeader, Partitions: []plans.Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2, 3, 4}, To: []int32{4, 1, 2, 3}},
		}}, {Number: 3, Phase: plans.PhaseLowerRF, Partitions: []plans.Move{
			{Topic: "orders", Partition: 0, From: []int32{4, 1, 2, 3}, To: []int32{4}},
		}}}}
	data, err := plans.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	planPath, audit := filepath.Join(dir, "plan.yaml"), filepath.Join(dir, "audit.jsonl")
	if err := os.WriteFile(planPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KSHIFT_SASL_PASSWORD", password)
	code, out, msg := liveRun(liveCtx(t), "apply", planPath, "--step", "1", "--audit-log", audit, "--accept-unknown-rates",
		"--bootstrap", strings.Join(d.Bootstrap(), ","), "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "ops")
	if code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out, msg)
	}
	log, err := os.ReadFile(audit)
	if err != nil || len(log) == 0 {
		t.Fatalf("no audit log: %v", err)
	}
	for name, text := range map[string]string{"audit log": string(log), "output": out + msg} {
		if strings.Contains(text, password) {
			t.Errorf("the %s contains the SASL password", name)
		}
	}
}

// startSandbox starts kshift sandbox with args in process and waits for
// the lines it prints at start (by their label: "bootstrap", ...); stop
// stops it and returns its exit code.
func startSandbox(t *testing.T, args ...string) (lines map[string]string, out *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- liveRunTo(ctx, out, &errOut, append([]string{"sandbox"}, args...)...) }()
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Error("sandbox did not stop 30s after its context ended")
			}
		})
		return code
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(out.String(), "Ctrl-C stops it\n") {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("sandbox did not start within 30s:\n%s%s", out.String(), errOut.String())
		}
	}
	lines = map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			lines[k] = v
		}
	}
	return lines, out, stop
}

// TestSandboxWithZooKeeper pins `kshift sandbox --zookeeper`: the simulated
// cluster registers under a fresh chroot of a real ZooKeeper, printed with
// the flags the commands that change the cluster take; `kshift apply` with
// them runs a step and keeps kshift's state there, without them it is
// refused naming the brokers' zookeeper.connect; the chroot is gone when
// the sandbox stops.
func TestSandboxWithZooKeeper(t *testing.T) {
	srv := sharedZooKeeper(t)
	dir := t.TempDir()
	snap, mapping := filepath.Join(dir, "snap.yaml"), filepath.Join(dir, "mapping.yaml")
	lines, out, stop := startSandbox(t, "--zookeeper", srv.Addr(), "--topics", "3", "--partitions", "12", "--speed", "1000",
		"--write-snapshot", snap, "--write-mapping", mapping)
	defer stop()
	boot, connect := lines["bootstrap"], lines["zookeeper"]
	chroot, ok := strings.CutPrefix(connect, srv.Addr())
	if boot == "" || !ok || !strings.HasPrefix(chroot, "/kshift-sandbox-") {
		t.Fatalf("sandbox --zookeeper %s printed bootstrap %q, zookeeper %q; want %s/kshift-sandbox-...:\n%s", srv.Addr(), boot, connect, srv.Addr(), out.String())
	}
	if want := "commands that change the cluster take: --bootstrap " + boot + " --zookeeper " + connect + "\n"; !strings.Contains(out.String(), want) {
		t.Errorf("sandbox output lacks %q:\n%s", want, out.String())
	}
	conn := zktest.Dial(t, srv.Addr(), false)
	if ids, _, err := conn.Children(chroot + "/brokers/ids"); err != nil || len(ids) != 6 {
		t.Errorf("brokers registered under %s: %v %v, want 6", chroot, ids, err)
	}

	planDir := filepath.Join(dir, "plan")
	if code, stdout, msg := liveRun(liveCtx(t), "plan", "--snapshot", snap, "--mapping", mapping, "--out", planDir); code != exitOK {
		t.Fatalf("plan of the sandbox's snapshot: exit %d %s %s", code, stdout, msg)
	}
	plan := filepath.Join(planDir, "plan.yaml")
	code, stdout, msg := liveRun(liveCtx(t), "apply", plan, "--step", "1", "--bootstrap", boot)
	if code != exitBadInput || !strings.Contains(msg, "zookeeper.connect="+connect) {
		t.Errorf("apply without --zookeeper: exit %d, want %d naming zookeeper.connect=%s:\n%s%s", code, exitBadInput, connect, stdout, msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, stdout, msg = liveRun(ctx, "apply", plan, "--step", "1", "--bootstrap", boot, "--zookeeper", connect, "--throttle", "1GiB/s", "--poll-interval", "20ms")
	if code != exitOK {
		t.Fatalf("apply --step 1 against the sandbox: exit %d\n%s%s", code, stdout, msg)
	}
	st, err := state.NewZooKeeper(conn, chroot, state.Options{SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.Audit(liveCtx(t), state.AuditFilter{})
	if err != nil || len(recs) == 0 || recs[0].Event != state.AuditStart || recs[0].Step != 1 {
		t.Errorf("kshift's audit trail under %s: %v %+v", chroot, err, recs)
	}
	if l, err := st.Lock(liveCtx(t)); err != nil || l != nil {
		t.Errorf("lock left under %s: %+v %v", chroot, l, err)
	}

	if code := stop(); code != exitOK {
		t.Errorf("sandbox exit %d", code)
	}
	if ok, _, err := conn.Exists(chroot); err != nil || ok {
		t.Errorf("chroot %s still in ZooKeeper after the sandbox stopped (%v)", chroot, err)
	}
}
