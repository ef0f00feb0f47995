package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
)

// TestMain lets tests run this test binary as the kshift command itself
// (KSHIFT_TEST_RUN_MAIN=1), so subprocess tests exercise the real main,
// flags, signals and exit codes without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("KSHIFT_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	code := m.Run()
	stopSharedZooKeeper()
	os.Exit(code)
}

// kshiftCmd returns the kshift command with args, as a subprocess.
func kshiftCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "KSHIFT_TEST_RUN_MAIN=1")
	return cmd
}

// migration is a double with source brokers 0-2 and targets 3-5, topics
// with data, and a multi-step phased plan written to dir/plan.yaml.
type migration struct {
	c        *kafkasim.Cluster
	dir      string
	planPath string
	plan     *plans.Plan
	origRF   map[string]int
	// zk is the cluster's registration in ZooKeeper (useZooKeeper), where
	// kshift keeps its state; nil when the test needs none.
	zk *clusterZK
	// operatorLists (topic → key → value) and operatorRates (broker → key
	// → value) are throttles the operator set before the migration: they
	// must be exactly as set at the end.
	operatorLists map[string]map[string]string
	operatorRates map[int32]map[string]string
}

func newMigration(t *testing.T, speed float64, topics, partitions int, size int64, rate plans.Rate, perStep int, configs ...func(*kafkasim.Config)) *migration {
	t.Helper()
	var brokers []kafkasim.BrokerConfig
	for i := int32(0); i < 6; i++ {
		brokers = append(brokers, kafkasim.BrokerConfig{ID: i, Rack: fmt.Sprintf("r%d", i%3)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := kafkasim.Config{ClusterID: "kill-test", Brokers: brokers,
		Clock: kafkasim.NewScaledClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), speed)}
	for _, f := range configs {
		f(&cfg)
	}
	c, err := kafkasim.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m := &migration{c: c, dir: t.TempDir(), origRF: map[string]int{}}
	var raise, lead, lower []plans.Move
	for i := range topics {
		name := fmt.Sprintf("topic-%d", i)
		var assign [][]int32
		for p := range partitions {
			assign = append(assign, []int32{int32(p+i) % 3, int32(p+i+1) % 3, int32(p+i+2) % 3})
		}
		if err := c.CreateTopic(name, assign, map[string]string{"min.insync.replicas": "2"}); err != nil {
			t.Fatal(err)
		}
		for p, from := range assign {
			if err := c.SetPartitionSize(name, int32(p), size); err != nil {
				t.Fatal(err)
			}
			m.origRF[fmt.Sprintf("%s-%d", name, p)] = len(from)
			var tgt []int32
			for _, r := range from {
				tgt = append(tgt, r+3)
			}
			raised := append(slices.Clone(from), tgt...)
			led := append(slices.Clone(tgt), from...)
			raise = append(raise, plans.Move{Topic: name, Partition: int32(p), From: from, To: raised, Size: plans.ByteSize(size)})
			lead = append(lead, plans.Move{Topic: name, Partition: int32(p), From: raised, To: led, Size: plans.ByteSize(size)})
			lower = append(lower, plans.Move{Topic: name, Partition: int32(p), From: led, To: tgt, Size: plans.ByteSize(size)})
		}
	}
	p := &plans.Plan{Version: plans.FormatVersion, Kind: plans.KindMigration, ClusterID: "kill-test", Strategy: plans.StrategyPhased,
		Throttle: rate, SourceBrokers: []int32{0, 1, 2}, TargetBrokers: []int32{3, 4, 5}}
	for _, phase := range []struct {
		ph    plans.Phase
		moves []plans.Move
	}{{plans.PhaseRaiseRF, raise}, {plans.PhaseMoveLeader, lead}, {plans.PhaseLowerRF, lower}} {
		for i := 0; i < len(phase.moves); i += perStep {
			moves := phase.moves[i:min(i+perStep, len(phase.moves))]
			p.Steps = append(p.Steps, plans.Step{Number: len(p.Steps) + 1, Phase: phase.ph, Partitions: moves, Estimate: plans.EstimateMoves(moves, rate)})
		}
	}
	p.Totals = plans.ComputeTotals(p.Steps)
	data, err := plans.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	m.planPath = filepath.Join(m.dir, "plan.yaml")
	if err := os.WriteFile(m.planPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m.plan = p
	return m
}

// heldClock configures a cluster whose test stops its clock to hold a move
// in flight (Clock.SetFactor(0)) while kshift acts on it: the lags of a
// real cluster pass on the simulated clock, so with the clock stopped a
// broker's Metadata would never catch up with what kshift does; they are
// off there.
func heldClock(c *kafkasim.Config) {
	c.MetadataLag, c.ConfigChangeLag, c.TopicDeletionTime = -1, -1, -1
}

// useZooKeeper registers the migration's cluster in the shared ZooKeeper:
// from then on connArgs passes --zookeeper, which the commands that change
// the cluster need (kshift keeps its lock, throttle records and audit
// trail there).
func (m *migration) useZooKeeper(t *testing.T) *migration {
	t.Helper()
	m.zk = registerZooKeeper(t, m.c)
	return m
}

func (m *migration) connArgs() []string {
	args := []string{"--bootstrap", strings.Join(m.c.Bootstrap(), ",")}
	if m.zk != nil {
		args = append(args, "--zookeeper", m.zk.Connect)
	}
	return args
}

// finalState fails unless every partition is at the last step's `to`, led by
// its first replica, fully in sync, with no throttle config but the
// operator's own (exactly as the operator set them) and no lock left; with
// ZooKeeper, kshift's state there holds no lock, no throttle record and no
// rate override either.
func (m *migration) finalState(t *testing.T) {
	t.Helper()
	last := map[string]plans.Move{}
	for _, s := range m.plan.Steps {
		for _, mv := range s.Partitions {
			last[mv.Name()] = mv
		}
	}
	for name, mv := range last {
		st, _ := m.c.Partition(mv.Topic, mv.Partition)
		if !slices.Equal(st.Replicas, mv.To) || st.Reassigning || len(st.ISR) != len(mv.To) || st.Leader != mv.To[0] {
			t.Errorf("%s: replicas %v isr %v leader %d moving %v; want %v led by %d", name, st.Replicas, st.ISR, st.Leader, st.Reassigning, mv.To, mv.To[0])
		}
	}
	for _, name := range m.c.Topics() {
		cfg, _ := m.c.TopicConfigs(name)
		for _, k := range []string{executor.LeaderReplicasKey, executor.FollowerReplicasKey} {
			v, ok := cfg[k]
			want, owned := m.operatorLists[name][k]
			switch {
			case owned && (!ok || v != want):
				t.Errorf("topic %s: the operator's %s=%q is now %q (set: %v)", name, k, want, v, ok)
			case !owned && ok:
				t.Errorf("topic %s keeps %s=%q", name, k, v)
			}
		}
		if strings.HasPrefix(name, plans.KshiftTopicPrefix) {
			t.Errorf("lock topic %s left behind", name)
		}
	}
	for b := int32(0); b < 6; b++ {
		r := m.c.BrokerRates(b)
		if want := m.operatorRates[b]; len(r) > 0 || len(want) > 0 {
			if fmt.Sprint(r) != fmt.Sprint(want) {
				t.Errorf("broker %d keeps rates %v, want the operator's %v", b, r, want)
			}
		}
	}
	if m.zk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := m.zk.store(t)
	if l, err := st.Lock(ctx); err != nil || l != nil {
		t.Errorf("operator lock left in ZooKeeper: %v (%v)", l, err)
	}
	if recs, err := st.ThrottleRecords(ctx); err != nil || len(recs) > 0 {
		for _, r := range recs {
			t.Errorf("throttle record left in ZooKeeper: %s", describeRecordForTest(r))
		}
		if err != nil {
			t.Errorf("reading the throttle records: %v", err)
		}
	}
	if r, err := st.Rate(ctx); err != nil || r != nil {
		t.Errorf("rate override left in ZooKeeper: %+v (%v)", r, err)
	}
}

// exitCodeOf returns a finished command's exit code.
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestApplyCommandEndToEnd pins the commands as operators run them: status
// before, apply with SIGINT (exit 4, resume hint), a second apply refused by
// the lock of a live holder (exit 3), resume, status as json, rollback, and
// throttle clear.
func TestApplyCommandEndToEnd(t *testing.T) {
	m := newMigration(t, 20, 2, 2, 100<<20, 10<<20, 4).useZooKeeper(t)
	conn := m.connArgs()
	// run runs the command words in command (e.g. "throttle clear") with
	// args, then the connection flags (after PLAN, as operators type them).
	run := func(command string, args ...string) (string, int) {
		cmd := kshiftCmd(t, append(append(strings.Fields(command), args...), conn...)...)
		out, err := cmd.CombinedOutput()
		return string(out), exitCodeOf(err)
	}
	if out, code := run("status", m.planPath, "-o", "json"); code != 0 || !strings.Contains(out, `"state": "pending"`) {
		t.Fatalf("status before: %d\n%s", code, out)
	}
	// --dry-run prints the calls and changes nothing.
	dryRunSteps(t, m, run, "--through", "2")
	// SIGINT mid-copy: exit 4, the move keeps going, resume command printed.
	cmd := kshiftCmd(t, append(append([]string{"apply"}, conn...), m.planPath, "--step", "1", "--poll-interval", "20ms")...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitMoving := time.Now().Add(10 * time.Second)
	for {
		st, _ := m.c.Partition("topic-0", 0)
		if st.Reassigning || time.Now().After(waitMoving) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// While it runs, a second kshift is refused by the lock, and says
	// nothing of partitions it did not submit.
	if out2, code := run("apply", m.planPath, "--step", "1"); code != exitRefused || !strings.Contains(out2, "operator lock") || !strings.Contains(out2, "plan.yaml step 1") || strings.Contains(out2, "submitted") {
		t.Errorf("second apply while the first runs: exit %d\n%s", code, out2)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if code := exitCodeOf(err); code != exitInterrupted || !strings.Contains(out.String(), "kshift apply "+m.planPath+" --step 1") {
		t.Fatalf("interrupted apply: exit %d\n%s", code, out.String())
	}
	if out, code := run("status", m.planPath); code != 0 || !strings.Contains(out, "in-flight") {
		t.Errorf("status mid-step: exit %d\n%s", code, out)
	}
	// The throttles left for the moving partitions are found through the
	// throttle records in the cluster's ZooKeeper.
	if out, code := run("throttle set", "20MiB/s", m.planPath); code != 0 || m.c.BrokerRates(3)[executor.FollowerRateKey] != "20971520" {
		t.Errorf("throttle set: exit %d, broker 3 rates %v\n%s", code, m.c.BrokerRates(3), out)
	}
	if out, code := run("apply", m.planPath, "--through", "2", "--auto-continue", "--poll-interval", "20ms"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	// --through asks only before a step that will change something: not
	// before step 2, done already, but before step 3.
	ask := kshiftCmd(t, append(append([]string{"apply"}, conn...), m.planPath, "--through", "3")...)
	pty, tty := openPTY(t)
	ask.Stdin = tty
	if _, err := pty.WriteString("n\n"); err != nil {
		t.Fatal(err)
	}
	if outb, err := ask.CombinedOutput(); err != nil || strings.Count(string(outb), "Continue?") != 1 ||
		!strings.Contains(string(outb), "next: step 3 (lower-rf") || !strings.Contains(string(outb), "step 2 (move-leader): already done") {
		t.Errorf("apply --through 3 answering no: %v\n%s", err, outb)
	}
	outJSON, code := run("status", m.planPath, "-o", "json")
	if code != 0 {
		t.Fatalf("status: %d\n%s", code, outJSON)
	}
	var st executor.PlanStatus
	if err := json.Unmarshal([]byte(outJSON), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, outJSON)
	}
	if st.Steps[0].State != executor.StepDone || st.Steps[1].State != executor.StepDone || st.Steps[2].State != executor.StepPending {
		t.Errorf("status after steps 1-2: %+v", st.Steps)
	}
	if out, code := run("rollback", m.planPath, "--to-step", "1", "--poll-interval", "20ms"); code != 0 {
		t.Fatalf("rollback: exit %d\n%s", code, out)
	}
	for _, mv := range m.plan.Steps[0].Partitions {
		if s, _ := m.c.Partition(mv.Topic, mv.Partition); !slices.Equal(s.Replicas, mv.From) || s.Leader != mv.From[0] {
			t.Errorf("after rollback: %s replicas %v leader %d, want %v", mv.Name(), s.Replicas, s.Leader, mv.From)
		}
	}
	if out, code := run("apply", m.planPath, "--all", "--auto-continue", "--poll-interval", "20ms"); code != 0 {
		t.Fatalf("apply --all: exit %d\n%s", code, out)
	}
	if out, code := run("throttle clear", m.planPath); code != 0 {
		t.Fatalf("throttle clear: exit %d\n%s", code, out)
	}
	m.finalState(t)
}

// dryRunSteps runs apply --dry-run with the step flags given and fails
// unless it exits 0, prints every step's calls, throttle removal included,
// says the later steps are gated against what the earlier ones would
// leave, and changes nothing on the double.
func dryRunSteps(t *testing.T, m *migration, run func(string, ...string) (string, int), steps ...string) {
	t.Helper()
	out, code := run("apply", append([]string{m.planPath, "--dry-run"}, steps...)...)
	if code != 0 {
		t.Fatalf("dry run %v: exit %d\n%s", steps, code, out)
	}
	last := len(m.plan.Steps)
	if steps[0] == "--through" {
		fmt.Sscan(steps[1], &last)
	}
	for _, s := range m.plan.Steps[:last] {
		var calls []string
		for _, mv := range s.Partitions {
			calls = append(calls, fmt.Sprintf("%s=%v", mv.Name(), mv.To))
		}
		// A step that copies says at which rate it would throttle; one
		// that copies nothing says no rate.
		rate := ""
		if s.Phase == plans.PhaseRaiseRF {
			rate = regexp.QuoteMeta(fmt.Sprintf(", throttled at %s per broker (the plan's rate)", m.plan.Throttle))
		}
		line := regexp.MustCompile(fmt.Sprintf(`(?m)^step %d \(%s\): dry run, would submit %d partitions%s; nothing changed$`, s.Number, s.Phase, len(s.Partitions), rate))
		if !line.MatchString(out) {
			t.Errorf("dry run %v: output lacks a line matching %q:\n%s", steps, line, out)
		}
		wants := []string{"would call AlterPartitionAssignments: " + strings.Join(calls, ", ") + "\n"}
		if s.Number > 1 {
			wants = append(wants, fmt.Sprintf("dry run: step %d is checked against the cluster as the %d step(s) dry-run before it", s.Number, s.Number-1))
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("dry run %v: output lacks %q:\n%s", steps, want, out)
			}
		}
	}
	// raise-rf steps copy: their throttles are set, then removed.
	if n := strings.Count(out, "DELETE broker 3 follower.replication.throttled.rate"); n != strings.Count(out, "SET broker 3 follower.replication.throttled.rate") || n == 0 {
		t.Errorf("dry run %v: %d throttle removals on broker 3 for its settings:\n%s", steps, n, out)
	}
	if strings.Contains(out, "submitted") {
		t.Errorf("dry run %v claims partitions were submitted:\n%s", steps, out)
	}
	seen := map[string]bool{}
	for _, s := range m.plan.Steps {
		for _, mv := range s.Partitions {
			if seen[mv.Name()] {
				continue
			}
			seen[mv.Name()] = true // its first move starts where it is
			if st, _ := m.c.Partition(mv.Topic, mv.Partition); st.Reassigning || !slices.Equal(st.Replicas, mv.From) {
				t.Errorf("dry run changed %s: %+v, want replicas %v", mv.Name(), st, mv.From)
			}
		}
	}
	for b := int32(0); b < 6; b++ {
		if r := m.c.BrokerRates(b); len(r) > 0 {
			t.Errorf("dry run set rates on broker %d: %v", b, r)
		}
	}
}

// TestApplyDryRunAllSteps pins apply --all --dry-run over a plan whose
// steps of one phase move different partitions: step 2 is not refused for
// step 1 being pending on the live cluster.
func TestApplyDryRunAllSteps(t *testing.T) {
	m := newMigration(t, 20, 2, 2, 100<<20, 10<<20, 2)
	run := func(command string, args ...string) (string, int) {
		out, err := kshiftCmd(t, append(append(strings.Fields(command), args...), m.connArgs()...)...).CombinedOutput()
		return string(out), exitCodeOf(err)
	}
	dryRunSteps(t, m, run, "--all")
}

// TestMetricsServeProgress pins --metrics-addr: the step's progress is
// served as Prometheus gauges, and an adding replica's gauges go once it is
// no longer reported (its partition done).
func TestMetricsServeProgress(t *testing.T) {
	m, addr, stop, err := serveMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	scrape := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	m.update(executor.Progress{Step: 3, Partitions: 10, Done: 4, InFlight: 6, BytesTotal: 1000, BytesCopied: 420, Stalled: true, ETA: 90 * time.Second,
		Rate: 12345, Throttle: 10 << 20, BusiestBroker: 4, BusiestRate: 999,
		Replicas: []executor.ReplicaProgress{{Topic: "orders", Partition: 7, Broker: 4, Copied: 20, Size: 100}}})
	body := scrape()
	// Prometheus reserves the _total suffix for counters.
	for _, gauge := range regexp.MustCompile(`(?m)^# TYPE (\S+) gauge$`).FindAllStringSubmatch(body, -1) {
		if strings.HasSuffix(gauge[1], "_total") {
			t.Errorf("gauge %s is named like a counter (_total)", gauge[1])
		}
	}
	for _, want := range []string{"kshift_step_number 3", "kshift_step_partitions_done 4", "kshift_step_bytes_to_copy 1000", "kshift_step_bytes_copied 420", "kshift_step_stalled 1", "kshift_step_eta_seconds 90",
		"kshift_step_partitions_in_flight 6", "kshift_step_copy_rate_bytes_per_second 12345", "kshift_step_throttle_bytes_per_second 1.048576e+07", `kshift_step_busiest_receiver_bytes_per_second{broker="4"} 999`,
		`kshift_adding_replica_bytes_copied{broker="4",partition="7",topic="orders"} 20`, `kshift_adding_replica_leader_bytes{broker="4",partition="7",topic="orders"} 100`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	m.update(executor.Progress{Step: 3, Partitions: 10, Done: 5, BytesTotal: 1000, BytesCopied: 500, BusiestBroker: -1})
	if body := scrape(); strings.Contains(body, `partition="7"`) {
		t.Errorf("metrics keep the gauges of a replica no longer copying:\n%s", body)
	} else if strings.Contains(body, `broker="4"`) {
		t.Errorf("metrics keep the busiest receiver of an earlier read:\n%s", body)
	}
}

// TestApplyProgressLines pins the progress of a copying step as an operator
// sees it, through a real apply against the simulator: each line counts the
// adding replicas of the partitions still in flight and names the least
// advanced (at most 3, least advanced first, bytes copied of their leader's
// size, never going back), shows the busiest receiving broker against the
// per-broker throttle (or that nothing was copied since the last read), and
// its ETA agrees with the bytes left at the step's rate so far;
// --metrics-addr serves the copy of each adding replica.
func TestApplyProgressLines(t *testing.T) {
	const size = 16 << 20
	m := newMigration(t, 4, 2, 2, size, 10<<20, 4).useZooKeeper(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := kshiftCmd(t, append(append([]string{"apply"}, m.connArgs()...), m.planPath, "--step", "1", "--poll-interval", "20ms",
		"--progress-interval", "0s", "--metrics-addr", addr, "--audit-log", filepath.Join(m.dir, "audit.jsonl"))...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	linesc := make(chan []string, 1)
	// readAt is when each line came (the reads behind an ETA are timed).
	var readAt []time.Time
	go func() {
		var lines []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			readAt = append(readAt, time.Now())
		}
		linesc <- lines
	}()
	// While the step copies, scrape until a replica is seen part-way.
	sample := regexp.MustCompile(`(?m)^kshift_adding_replica_bytes_copied\{broker="(\d+)",partition="(\d+)",topic="([^"]+)"\} (\S+)$`)
	var lines []string
	var midCopyMetric string
scrape:
	for {
		select {
		case lines = <-linesc:
			break scrape
		case <-time.After(20 * time.Millisecond):
		}
		if midCopyMetric != "" {
			continue
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue // not serving yet, or done
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, sm := range sample.FindAllStringSubmatch(string(body), -1) {
			v, _ := strconv.ParseFloat(sm[4], 64)
			total := fmt.Sprintf(`kshift_adding_replica_leader_bytes{broker="%s",partition="%s",topic="%s"} %g`, sm[1], sm[2], sm[3], float64(size))
			if v > 0 && v < size && strings.Contains(string(body), total) {
				midCopyMetric = sm[0]
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("apply: %v\n%s\n%s", err, stdout.String(), strings.Join(lines, "\n"))
	}
	if midCopyMetric == "" {
		t.Errorf("--metrics-addr never served an adding replica part-way through its copy")
	}

	// The rate a line shows is the busiest receiving broker's since the
	// last read, against the per-broker throttle, or that nothing was
	// copied since the last read.
	lineRe := regexp.MustCompile(`^step 1 raise-rf: (\d)/4 partitions done, (.+?) of (.+?) copied \(\d+%\)` +
		`(?:; (?:busiest receiver now broker (\d+) at (.+?)/s|(nothing copied since the last read)) \(throttle (.+?) per broker\))?` +
		`(?:, eta (\S+))?(?:; least advanced of (\d+) adding replicas: (.+))?$`)
	entryRe := regexp.MustCompile(`(topic-\d+-\d+) on broker (\d+) ([\d.]+ \w*B)/([\d.]+ \w*B) \((\d+)%\)`)
	parse := func(s string) int64 {
		b, err := plans.ParseByteSize(s)
		if err != nil {
			t.Fatalf("%q in a progress line: %v", s, err)
		}
		return int64(b)
	}
	copiedBy := map[string]int64{}
	progressLines, etaLines, midCopyLines, busiestLines, idleLines := 0, 0, 0, 0, 0
	// The previous progress line (each is one read, with
	// --progress-interval 0s) and the first, with when it came.
	var prevCopied, firstCopied int64
	var prevDone int
	var firstAt time.Time
	for i, line := range lines {
		lm := lineRe.FindStringSubmatch(line)
		if lm == nil {
			continue
		}
		progressLines++
		done, _ := strconv.Atoi(lm[1])
		copiedNow := parse(lm[2])
		if progressLines == 1 {
			firstCopied, firstAt = copiedNow, readAt[i]
		}
		switch {
		case lm[4] != "":
			busiestLines++
			if b, _ := strconv.Atoi(lm[4]); b < 3 || parse(lm[5]) <= 0 || copiedNow < prevCopied {
				t.Errorf("busiest receiver named, but not a target broker copying, or nothing grew (%s before): %s", plans.ByteSize(prevCopied), line)
			}
		case lm[6] != "":
			idleLines++
			if copiedNow != prevCopied && done == prevDone {
				t.Errorf("nothing copied since the last read, but %s were copied then: %s", plans.ByteSize(prevCopied), line)
			}
		}
		if lm[7] != "" && lm[7] != m.plan.Throttle.String() {
			t.Errorf("throttle %s per broker, want the plan's %s: %s", lm[7], m.plan.Throttle, line)
		}
		adding, _ := strconv.Atoi(lm[9])
		if adding != 3*(4-done) {
			t.Errorf("%d adding replicas with %d of 4 partitions done, want 3 per partition in flight: %s", adding, done, line)
		}
		entries := entryRe.FindAllStringSubmatch(lm[10], -1)
		if len(entries) != min(3, adding) {
			t.Errorf("%d replicas named, want %d: %s", len(entries), min(3, adding), line)
		}
		// The least advanced replica holds at most the mean of those in
		// flight (the line's bytes copied, less the done partitions'),
		// within the rounding of the printed sizes.
		if len(entries) > 0 {
			mean := (parse(lm[2]) - int64(done)*3*size) / int64(adding)
			if first := parse(entries[0][3]); first > mean+1<<20 {
				t.Errorf("%s on broker %s named least advanced with %s, above the mean %s of the replicas in flight: %s",
					entries[0][1], entries[0][2], plans.ByteSize(first), plans.ByteSize(mean), line)
			}
		}
		lastPct := -1
		for _, en := range entries {
			key := en[1] + " on broker " + en[2]
			copied, total := parse(en[3]), parse(en[4])
			pct, _ := strconv.Atoi(en[5])
			if total != size {
				t.Errorf("%s: size %d, want its leader's %d: %s", key, total, size, line)
			}
			if pct < lastPct {
				t.Errorf("replicas not least advanced first: %s", line)
			}
			if copied < copiedBy[key] {
				t.Errorf("%s went back from %d to %d bytes: %s", key, copiedBy[key], copied, line)
			}
			if copied > 0 && copied < total {
				midCopyLines++
			}
			lastPct, copiedBy[key] = pct, copied
		}
		if lm[8] != "" && copiedNow > firstCopied {
			// The ETA is the bytes left at the step's rate so far: what was
			// copied since the first read over the time since the step
			// started, which lies between the first line and the start of
			// the process.
			etaLines++
			eta, err := time.ParseDuration(lm[8])
			if err != nil {
				t.Fatalf("eta %q: %v", lm[8], err)
			}
			left, grew := float64(parse(lm[3])-copiedNow), float64(copiedNow-firstCopied)
			lo := time.Duration(left / grew * float64(readAt[i].Sub(firstAt)))
			hi := time.Duration(left / grew * float64(readAt[i].Sub(started)))
			if eta < lo-time.Second-lo/10 || eta > hi+time.Second+hi/10 {
				t.Errorf("eta %s, but %s left at the rate since the step started takes %s to %s: %s", eta, plans.ByteSize(left), lo.Round(time.Second), hi.Round(time.Second), line)
			}
		}
		prevCopied, prevDone = copiedNow, done
	}
	if progressLines < 2 || etaLines == 0 || midCopyLines == 0 || busiestLines == 0 {
		t.Errorf("%d progress lines, %d with an eta, %d naming a replica part-way, %d naming the busiest receiver (%d idle); want several, some with an eta, some part-way, some naming the busiest:\n%s",
			progressLines, etaLines, midCopyLines, busiestLines, idleLines, strings.Join(lines, "\n"))
	}
}

// TestApplyHelpDefaults pins apply's help: one default per flag that says
// what happens when the flag is left out, none that is meaningless.
func TestApplyHelpDefaults(t *testing.T) {
	code, out, _ := planRun(t, "apply", "--help")
	if code != 0 {
		t.Fatalf("apply --help: exit %d", code)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "--") {
			lines[f[0]] = l
		}
	}
	for flag, want := range map[string][]string{
		"--dial-timeout":    {"(default: the profile's dial_timeout, else 10s)"},
		"--request-timeout": {"(default: the profile's request_timeout, else 30s)"},
		"--step":            {"(default: none)"},
		"--through":         {"unless --auto-continue", "(default: none)"},
		"--all":             {"unless --auto-continue"},
		"--throttle":        {"overriding the plan's rate and each step's own"},
	} {
		l := lines[flag]
		for _, w := range want {
			if !strings.Contains(l, w) {
				t.Errorf("%s help %q lacks %q", flag, l, w)
			}
		}
		if strings.Count(l, "default") > 1 || strings.Contains(l, "(default: 0") {
			t.Errorf("%s help %q: more than one or a meaningless default", flag, l)
		}
	}
}

// TestNextStepPrompt: the question before a step says how long it should
// take in all, copy time and fixed cost, and how that splits.
func TestNextStepPrompt(t *testing.T) {
	for _, tc := range []struct {
		step plans.Step
		want string
	}{
		{plans.Step{Number: 2, Phase: plans.PhaseRaiseRF, Partitions: make([]plans.Move, 3),
			Estimate: plans.Estimate{Duration: plans.Duration(137 * time.Second), FixedCost: plans.Duration(time.Second)}},
			"next: step 2 (raise-rf, 3 partitions, about 2m18s (2m17s copying + 1s fixed)). Continue? [y/N] "},
		{plans.Step{Number: 5, Phase: plans.PhaseMoveLeader, Partitions: make([]plans.Move, 51),
			Estimate: plans.Estimate{FixedCost: plans.FixedCost(plans.PhaseMoveLeader, 51)}},
			"next: step 5 (move-leader, 51 partitions, about 4s). Continue? [y/N] "},
	} {
		if got := nextStepPrompt(&tc.step); got != tc.want {
			t.Errorf("prompt %q, want %q", got, tc.want)
		}
	}
}

// TestEstimateModelMatchesApplyDefaults: plan estimates pace elections as
// apply does by default; the model and apply's defaults must not drift apart.
func TestEstimateModelMatchesApplyDefaults(t *testing.T) {
	d := executor.DefaultOptions()
	if d.ElectionBatch != plans.DefaultElectionBatch || d.ElectionWait != plans.DefaultElectionWait {
		t.Errorf("apply elects %d partitions per batch, %s apart; plans.FixedCost assumes %d, %s apart: change both together",
			d.ElectionBatch, d.ElectionWait, plans.DefaultElectionBatch, plans.DefaultElectionWait)
	}
}
