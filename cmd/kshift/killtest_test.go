package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// killsEnv names the environment variable that sets how many SIGKILLs the
// kill test makes. CI sets 200; the default keeps a local `go test ./...`
// to about a minute.
const killsEnv = "KSHIFT_KILL_TEST_KILLS"

const defaultKills = 36

func killsWanted(t *testing.T) int {
	t.Helper()
	v := os.Getenv(killsEnv)
	if v == "" {
		return defaultKills
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number of kills", killsEnv, v)
	}
	return n
}

// killVariant is how the runs of one migration of the kill test are made.
type killVariant string

const (
	// killBreakLock: every run passes --break-lock, and takes the lock a
	// killed run left at once.
	killBreakLock killVariant = "break-lock"
	// killOperatorThrottles: as killBreakLock, on a cluster where the
	// operator set throttled-replica lists and broker rates of their own
	// before the migration (the rates hidden from DescribeConfigs, as Kafka
	// 2.4 does, and read from ZooKeeper): they must be exactly as set at
	// the end.
	killOperatorThrottles killVariant = "operator-throttles"
	// killSecondHost: as killOperatorThrottles, with two working
	// directories, two hosts each with its own copy of the plan (named
	// differently) and its own local audit log, sharing nothing but the
	// cluster: host A's runs are killed in the steps that throttle until a
	// kill leaves throttle records open; host B then makes every run left,
	// and must find A's records in ZooKeeper and clear them.
	killSecondHost killVariant = "second-host"
	// killLease: no run passes --break-lock: a run started after a kill is
	// refused (exit 3, naming the killed holder) while the killed holder's
	// lease lasts, and the next takes the lock once the lease freed it.
	killLease killVariant = "lease"
)

// killVariants are taken in turn, one migration each.
var killVariants = []killVariant{killBreakLock, killOperatorThrottles, killSecondHost, killLease}

// testLease is the ZooKeeper session timeout (the operator lock's lease)
// of the runs that wait for a lease to end: the test server's tickTime of
// 200 ms lets a session last 0.4 s to 4 s. It is long enough for a live
// holder on a loaded machine to keep its session.
const testLease = 3 * time.Second

// killStats counts what one variant's migrations went through.
type killStats struct {
	migrations, converged, kills, lateKills, runs, finished int
	// refusals counts runs refused by a killed holder's lock (killLease),
	// longestFree the longest a killed holder's lock outlived its kill.
	refusals    int
	longestFree time.Duration
	// holds counts the step runs that made mutating calls, each alone.
	holds int
	// killsHolding counts the kills of a run that held the lock.
	killsHolding int
	// tookOver counts the throttle records host A left open when host B
	// took over (killSecondHost).
	tookOver int
	// said counts the warnings and notes the runs printed, by text
	// (numbers left out).
	said map[string]int
}

var sayNumbers = regexp.MustCompile(`(0x[0-9a-f]+|[0-9]+)`)

// collect counts the warning and note lines of a run's output.
func (s *killStats) collect(out string) {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "warning: ") || strings.HasPrefix(l, "note: ") {
			if s.said == nil {
				s.said = map[string]int{}
			}
			s.said[sayNumbers.ReplaceAllString(l, "N")]++
		}
	}
}

// killHost is where a run of the kill test is made from.
type killHost struct {
	name string
	dir  string
	// plan is the plan's path as this host names it.
	plan string
	args []string
}

// TestKillAndResume pins idempotency, resumability and the operator lock's
// lease and fencing, with kshift run as operators run it (subprocesses,
// their state in the cluster's ZooKeeper):
//   - kills: the kshift process killed with SIGKILL at random moments of
//     `apply --all` over 9-step migrations, KSHIFT_KILL_TEST_KILLS times
//     (every kill landing inside a migration in progress), the migrations
//     taking the variants of killVariants in turn;
//   - stopped-holder: a holder stopped (SIGSTOP) mid-step, another run that
//     takes the lock once the lease has expired, without --break-lock, and
//     the stopped one woken: fenced, it makes no more mutating call and its
//     release does not free the other's lock.
//
// Every migration converges: every partition at its target, no partition
// ever below its original RF in sync, no throttle but the operator's own
// (exactly as set), no throttle record, rate override or lock left in
// ZooKeeper, and the audit trail in ZooKeeper shows the mutating calls of
// one step run at a time: never two holders.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test: many kshift subprocesses and a real ZooKeeper")
	}
	t.Run("kills", testKills)
	t.Run("stopped-holder", testStoppedHolder)
}

// testKills: each migration takes kills in each of its phases in turn (at
// a random moment shortly after a step of the phase starts); when it has
// converged, its final state is checked and a fresh migration on a fresh
// cluster takes the next kills, with the next variant.
func testKills(t *testing.T) {
	want := killsWanted(t)
	const (
		// killsPerPhase is how many kills each migration takes in each phase
		// before the next phase's steps become the target.
		killsPerPhase = 3
	)
	// Each phase must take at least two thirds of an even share.
	minKillsPerPhase := want * 2 / 9
	phases := []plans.Phase{plans.PhaseRaiseRF, plans.PhaseMoveLeader, plans.PhaseLowerRF}
	// maxDelay bounds the random wait, after a step of the target phase
	// starts, before the kill. It is below one step's length on an idle
	// machine (a raise-rf step copies for about 0.7s, a move-leader step
	// elects 4 partitions 40ms apart, a lower-rf step completes inside its
	// call in about 20ms), so most kills land in the phase they target; a
	// step resumed by a later run starts part-way through, so the kills
	// spread over the whole step. On a loaded machine steps take longer and
	// kills land earlier in them.
	maxDelay := map[plans.Phase]time.Duration{plans.PhaseRaiseRF: 400 * time.Millisecond, plans.PhaseMoveLeader: 100 * time.Millisecond, plans.PhaseLowerRF: 20 * time.Millisecond}
	rng := rand.New(rand.NewSource(20261122))
	killedIn := map[plans.Phase]int{}
	stats := map[killVariant]*killStats{}
	for _, v := range killVariants {
		stats[v] = &killStats{}
	}
	started := time.Now()
	kills, migrations := 0, 0
	for kills < want || migrations < len(killVariants) {
		v := killVariants[migrations%len(killVariants)]
		migrations++
		vs := stats[v]
		vs.migrations++
		// Each migration is a subtest: what it starts is stopped when it
		// ends, and a failure is its own.
		converged := t.Run(fmt.Sprintf("%d-%s", migrations, v), func(t *testing.T) {
			said := &killStats{}
			m := newMigration(t, 8, 4, 3, 8<<20, 10<<20, 4).useZooKeeper(t)
			conn := m.connArgs()
			if v == killLease {
				conn = m.profileArgs(t, testLease)
			}
			if v == killOperatorThrottles || v == killSecondHost {
				m.setOperatorThrottles(t)
			}
			flags := []string{"--all", "--auto-continue", "--poll-interval", "20ms",
				// Elections one partition at a time, paced: move-leader steps last
				// long enough for kills to land in them.
				"--election-batch", "1", "--election-wait", "40ms"}
			if v != killLease {
				flags = append(flags, "--break-lock")
			}
			hosts := []killHost{{name: "A", dir: m.dir, plan: m.planPath, args: []string{"--audit-log", filepath.Join(m.dir, "audit.jsonl")}}}
			if v == killSecondHost {
				// Host A names the plan as it sits in its working directory,
				// host B by its full path in its own; each keeps its local audit
				// log beside its plan.
				second := t.TempDir()
				copyFile(t, m.planPath, filepath.Join(second, "plan.yaml"))
				hosts = []killHost{{name: "A", dir: m.dir, plan: "plan.yaml"}, {name: "B", dir: second, plan: filepath.Join(second, "plan.yaml")}}
			}
			command := func(h killHost) *exec.Cmd {
				args := append(append(append([]string{"apply"}, conn...), h.plan), flags...)
				cmd := kshiftCmd(t, append(args, h.args...)...)
				cmd.Dir = h.dir
				return cmd
			}
			st := m.zk.store(t)
			stop := make(chan struct{})
			rfReport := m.watchRF(stop)
			status := m.statusReader(t)
			// killedAt holds the pids this migration killed, with when.
			killedAt := map[int]time.Time{}
			// refusedByKilled handles a run refused by the lock of a killed
			// run (killLease): the refusal must name it, and its lock must go
			// by itself once its lease ends.
			refusedByKilled := func(out string) bool {
				pid, ok := killedHolder(out, killedAt)
				if !ok {
					return false
				}
				vs.refusals++
				freed := m.waitLockFree(t, st, killedAt[pid].Add(testLease+5*time.Second))
				if d := freed.Sub(killedAt[pid]); d > vs.longestFree {
					vs.longestFree = d
				}
				return true
			}
			// host is the index in hosts of the next run's host; with two
			// hosts, B takes over from A for good (killSecondHost).
			host, tookOver := 0, 0
			quota := map[plans.Phase]int{}
			for _, ph := range phases {
				quota[ph] = killsPerPhase
			}
			runs := 0
			for {
				cur := status()
				if cur == "" {
					break
				}
				runs++
				vs.runs++
				if runs > 100 {
					t.Fatalf("%s migration %d: %d runs and still not converged (kills: %d)", v, migrations, runs, kills)
				}
				// The target is the first phase, from where the migration stands,
				// with kills left in its quota; none once enough kills are made:
				// that run is left to finish the migration.
				var target plans.Phase
				switch {
				case v == killSecondHost && host == 0:
					// Host A is killed in the steps that throttle until a
					// kill leaves throttle records open.
					if cur == plans.PhaseRaiseRF {
						target = cur
					}
				case kills < want:
					for _, ph := range phases[slices.Index(phases, cur):] {
						if quota[ph] > 0 {
							target = ph
							break
						}
					}
				}
				h := hosts[host]
				out := newStepStartWatch(target)
				cmd := command(h)
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				killed := false
				var err error
				if target != "" {
					select {
					case err = <-done:
					case <-out.started:
						select {
						case err = <-done:
						case <-time.After(time.Duration(rng.Int63n(int64(maxDelay[target])))):
							cmd.Process.Signal(syscall.SIGKILL)
							<-done
							killed = true
							killedAt[cmd.Process.Pid] = time.Now()
							if holding(t, st, cmd.Process.Pid) != nil {
								vs.killsHolding++
							}
						}
					}
				} else {
					err = <-done
				}
				said.collect(out.String())
				if !killed {
					switch {
					case err == nil:
						vs.finished++
					case v == killLease && exitCodeOf(err) == exitRefused && refusedByKilled(out.String()):
					default:
						t.Fatalf("%s migration %d run %d (host %s) ended on its own with %v:\n%s", v, migrations, runs, h.name, err, out.String())
					}
					continue
				}
				// A kill after the last step was done (while kshift released its
				// throttles and lock) is not inside a migration in progress: it is
				// counted apart and the migration's last run clears what it left.
				if v == killSecondHost && host == 0 {
					if recs := m.openRecords(t, st); len(recs) > 0 {
						// Host A never runs again: host B must find its
						// records in ZooKeeper and clear them.
						host, tookOver = 1, len(recs)
						vs.tookOver += len(recs)
					}
				}
				ph := status()
				if ph == "" {
					vs.lateKills++
					continue
				}
				kills++
				vs.kills++
				killedIn[ph]++
				quota[ph]--
			}
			// Converged: a last run clears what a late kill may have left,
			// then the final state must hold.
			for attempt := 1; ; attempt++ {
				cmd := command(hosts[host])
				outb, err := cmd.CombinedOutput()
				said.collect(string(outb))
				if err == nil {
					break
				}
				if attempt < 3 && v == killLease && exitCodeOf(err) == exitRefused && refusedByKilled(string(outb)) {
					continue
				}
				t.Fatalf("%s migration %d: last apply (host %s): %v\n%s", v, migrations, hosts[host].name, err, outb)
			}
			close(stop)
			if bad := <-rfReport; len(bad) > 0 {
				t.Errorf("%s migration %d: partitions below their original RF: %v", v, migrations, bad)
			}
			m.finalState(t)
			vs.holds += m.oneHolderAtATime(t, nil)
			if len(hosts) > 1 && tookOver == 0 {
				t.Errorf("%s migration %d: host B never took over a throttle record host A left open", v, migrations)
			}
			for line, n := range said.said {
				// No older kshift ever ran here, and nobody but kshift
				// changes a throttle, so no cleanup finds a rate changed or
				// deleted by someone else. (A second host does: it does not
				// take the first host's record of a step for the step's, as
				// records are matched by the plan's path, and records the
				// first host's rates as the values from before kshift.)
				if strings.Contains(line, "older kshift") || (v != killSecondHost &&
					(strings.Contains(line, "was changed by someone else") || strings.Contains(line, "was deleted by someone else"))) {
					t.Errorf("%s migration %d: a run said %q", v, migrations, line)
				}
				if vs.said == nil {
					vs.said = map[string]int{}
				}
				vs.said[line] += n
			}
		})
		if converged {
			vs.converged++
		}
	}
	for _, ph := range phases {
		if killedIn[ph] < minKillsPerPhase {
			t.Errorf("only %d kills left a migration in a %s step, want at least %d (kills per phase: %v)", killedIn[ph], ph, minKillsPerPhase, killedIn)
		}
	}
	t.Logf("%d kills inside %d migrations in %s, per phase of the first step not done after the kill: %v", kills, migrations, time.Since(started).Round(time.Second), killedIn)
	for _, v := range killVariants {
		s := stats[v]
		line := fmt.Sprintf("variant %s: %d kills (%d of a run holding the lock; and %d after the last step) over %d runs in %d migrations, %d of them converged (%d runs finished on their own, %d step runs held the lock, one at a time)",
			v, s.kills, s.killsHolding, s.lateKills, s.runs, s.migrations, s.converged, s.finished, s.holds)
		if v == killSecondHost {
			line += fmt.Sprintf("; host B took over %d throttle record(s) host A's kills left open", s.tookOver)
		}
		if v == killLease {
			line += fmt.Sprintf("; %d runs refused by a killed holder's lock, which its lease freed at most %s after the kill (lease %s)", s.refusals, s.longestFree.Round(10*time.Millisecond), testLease)
		}
		said := make([]string, 0, len(s.said))
		for l, n := range s.said {
			said = append(said, fmt.Sprintf("%dx %s", n, l))
		}
		sort.Strings(said)
		if len(said) > 0 {
			line += "; the runs said:\n\t" + strings.Join(said, "\n\t")
		}
		t.Log(line)
	}
	if s := stats[killLease]; s.kills > 0 && s.refusals == 0 {
		t.Errorf("variant %s: %d kills and no run was refused by a killed holder's lock: the lease was not exercised", killLease, s.kills)
	}
}

// killedHolder finds, in the output of a run refused by the operator
// lock, the pid of the killed run the refusal names.
func killedHolder(out string, killed map[int]time.Time) (int, bool) {
	if !strings.Contains(out, state.ErrLocked.Error()) {
		return 0, false
	}
	for _, m := range regexp.MustCompile(`\(pid (\d+),`).FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[1])
		if _, ok := killed[pid]; ok {
			return pid, true
		}
	}
	return 0, false
}

// waitLockFree waits until nobody holds the operator lock, failing t at
// deadline, and returns when it saw it free.
func (m *migration) waitLockFree(t *testing.T, st state.Store, deadline time.Time) time.Time {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		l, err := st.Lock(ctx)
		cancel()
		if err != nil {
			t.Fatalf("reading the operator lock: %v", err)
		}
		if l == nil {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the operator lock of %s is still held at %s, past its lease", l, deadline.Format(time.RFC3339Nano))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// statusReader returns a function that says the phase of the first step
// of the migration not done ("" once every step is): where a run killed
// now leaves the migration.
func (m *migration) statusReader(t *testing.T) func() plans.Phase {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.c.Bootstrap()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	status := executor.New(cl, executor.Options{Command: "status"})
	return func() plans.Phase {
		st, err := status.Status(context.Background(), executor.PlanRef{Plan: m.plan, Path: m.planPath})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st.Steps {
			if s.State != executor.StepDone {
				return s.Phase
			}
		}
		return ""
	}
}

// profileArgs writes a cluster profile naming the migration's cluster and
// its ZooKeeper with the given session timeout (the operator lock's
// lease), and returns the flag that uses it.
func (m *migration) profileArgs(t *testing.T, lease time.Duration) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "profile.yaml")
	body := fmt.Sprintf("version: 1\nbootstrap: [%s]\nzookeeper:\n  connect: %s\n  session_timeout: %s\n", strings.Join(m.c.Bootstrap(), ", "), m.zk.Connect, lease)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--profile", p}
}

// setOperatorThrottles sets throttles of the operator's own through the
// Kafka API, as kafka-configs does: throttled-replica lists that share
// entries with the ones kshift sets and hold others, and broker rates on
// a source and a target broker. Kafka 2.4 hides the rates from
// DescribeConfigs; kshift reads them in ZooKeeper.
func (m *migration) setOperatorThrottles(t *testing.T) {
	t.Helper()
	m.operatorLists = map[string]map[string]string{
		"topic-0": {executor.LeaderReplicasKey: "0:1,1:0"},
		"topic-1": {executor.FollowerReplicasKey: "2:5,1:0"},
	}
	m.operatorRates = map[int32]map[string]string{
		1: {executor.LeaderRateKey: "20971520"},
		3: {executor.FollowerRateKey: "31457280"},
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.c.Bootstrap()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alter := func(kv map[string]string) []kadm.AlterConfig {
		var out []kadm.AlterConfig
		for k, v := range kv {
			out = append(out, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(v)})
		}
		return out
	}
	for topic, kv := range m.operatorLists {
		rs, err := adm.AlterTopicConfigs(ctx, alter(kv), topic)
		if err == nil {
			err = rs[0].Err
		}
		if err != nil {
			t.Fatalf("setting the operator's throttles on %s: %v", topic, err)
		}
	}
	for b, kv := range m.operatorRates {
		rs, err := adm.AlterBrokerConfigs(ctx, alter(kv), b)
		if err == nil {
			err = rs[0].Err
		}
		if err != nil {
			t.Fatalf("setting the operator's rates on broker %d: %v", b, err)
		}
	}
	// The rates are hidden from DescribeConfigs and shown in ZooKeeper:
	// kshift must read them there to restore them.
	rcs, err := adm.DescribeBrokerConfigs(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rcs[0].Configs {
		if c.Key == executor.FollowerRateKey && c.Value != nil {
			t.Fatalf("broker 3 shows %s=%s: the cluster does not hide its rates as Kafka 2.4 does", c.Key, *c.Value)
		}
	}
	if err := m.c.SyncZooKeeper(ctx); err != nil {
		t.Fatal(err)
	}
	data, _, err := m.zk.Conn.Get(path.Join(m.zk.Chroot, "config/brokers/3"))
	var doc struct{ Config map[string]string }
	if err == nil {
		err = json.Unmarshal(data, &doc)
	}
	if err != nil || doc.Config[executor.FollowerRateKey] != "31457280" {
		t.Fatalf("ZooKeeper's config of broker 3: %s %v; want the operator's rate", data, err)
	}
}

// callWindow is when one step run made its mutating calls.
type callWindow struct {
	run        string
	pid        int
	step       int
	first, end time.Time
	calls      int
}

// oneHolderAtATime fails t unless the step runs recorded in the cluster's
// audit trail made their mutating calls one run at a time: each run makes
// them while it holds the operator lock, so two runs whose calls overlap
// in time would be two holders at once. It also fails when a process in
// woken made a call after it was woken (the time given): fenced, it must
// make none. It returns how many runs made calls.
func (m *migration) oneHolderAtATime(t *testing.T, woken map[int]time.Time) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := m.zk.store(t).Audit(ctx, state.AuditFilter{})
	if err != nil {
		t.Fatalf("reading the audit trail in ZooKeeper: %v", err)
	}
	byRun := map[string]*callWindow{}
	var order []*callWindow
	for _, r := range recs {
		if r.Event != state.AuditCall {
			continue
		}
		if at, ok := woken[r.PID]; ok && !r.Time.Before(at) {
			t.Errorf("pid %d, woken at %s after losing the lock, made a mutating call at %s: %s %v (%s)", r.PID, at.Format(time.RFC3339Nano), r.Time.Format(time.RFC3339Nano), r.Call, r.Request, r.Result)
		}
		w := byRun[r.Run]
		if w == nil {
			w = &callWindow{run: r.Run, pid: r.PID, step: r.Step, first: r.Time}
			byRun[r.Run] = w
			order = append(order, w)
		}
		if r.Time.Before(w.first) {
			w.first = r.Time
		}
		if r.Time.After(w.end) {
			w.end = r.Time
		}
		w.calls++
	}
	sort.Slice(order, func(i, j int) bool { return order[i].first.Before(order[j].first) })
	for i := 1; i < len(order); i++ {
		for _, prev := range order[:i] {
			if w := order[i]; !w.first.After(prev.end) {
				t.Errorf("two holders at once: %s (pid %d, step %d) made %d calls from %s to %s, and %s (pid %d, step %d) made one at %s", prev.run, prev.pid, prev.step, prev.calls,
					prev.first.Format(time.RFC3339Nano), prev.end.Format(time.RFC3339Nano), w.run, w.pid, w.step, w.first.Format(time.RFC3339Nano))
			}
		}
	}
	return len(order)
}

// lockWatch polls the operator lock znode and records every holder it
// sees, in order.
type lockWatch struct {
	mu      sync.Mutex
	holders []state.LockInfo
	stop    chan struct{}
	done    chan struct{}
}

func watchLock(t *testing.T, st state.Store) *lockWatch {
	w := &lockWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			l, err := st.Lock(ctx)
			cancel()
			if err != nil || l == nil {
				continue
			}
			w.mu.Lock()
			if n := len(w.holders); n == 0 || w.holders[n-1].Epoch != l.Epoch || w.holders[n-1].Session != l.Session {
				w.holders = append(w.holders, *l)
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *lockWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// seen returns the holders seen so far.
func (w *lockWatch) seen() []state.LockInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.holders)
}

// holding returns the lock's holder when it is pid's, nil otherwise.
func holding(t *testing.T, st state.Store, pid int) *state.LockInfo {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := st.Lock(ctx)
	if err != nil {
		t.Fatalf("reading the operator lock: %v", err)
	}
	if l != nil && l.PID == pid {
		return l
	}
	return nil
}

// testStoppedHolder: run A is stopped (SIGSTOP) while it watches a step
// copy, holding the lock; run B, without --break-lock, is refused naming A
// while A's lease lasts, then takes the lock; A is woken. Fenced, A makes
// no more mutating call and its release does not free B's lock: woken and
// left to run on, it stops when the step ends, at its next write; woken
// and interrupted (Ctrl-C) while B holds the lock, its cleanup leaves B's
// lock in place. B finishes the migration either way.
func testStoppedHolder(t *testing.T) {
	for _, interrupt := range []bool{false, true} {
		name := "woken-runs-on"
		if interrupt {
			name = "woken-interrupted"
		}
		t.Run(name, func(t *testing.T) { stoppedHolder(t, interrupt) })
	}
}

func stoppedHolder(t *testing.T, interrupt bool) {
	const speed = 8
	m := newMigration(t, speed, 4, 3, 8<<20, 10<<20, 4, heldClock).useZooKeeper(t)
	conn := m.profileArgs(t, testLease)
	args := append(append([]string{"apply"}, conn...), m.planPath, "--all", "--auto-continue", "--poll-interval", "20ms", "--progress-interval", "0s")
	st := m.zk.store(t)
	locks := watchLock(t, st)
	stop := make(chan struct{})
	rfReport := m.watchRF(stop)
	clock := m.c.Clock()

	// A starts step 1 on a stopped clock: its copy stays in flight however
	// long the test takes, until the clock runs again.
	clock.SetFactor(0)
	a := kshiftCmd(t, args...)
	var aOut syncBuffer
	a.Stdout, a.Stderr = &aOut, &aOut
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() { aDone <- a.Wait() }()
	t.Cleanup(func() {
		a.Process.Signal(syscall.SIGCONT)
		a.Process.Kill()
	})
	// A watches the copy once it prints progress: it holds the lock and
	// makes no call until the copy ends.
	var aLock *state.LockInfo
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if aLock == nil {
			aLock = holding(t, st, a.Process.Pid)
		}
		if aLock != nil && strings.Contains(aOut.String(), "step 1 raise-rf: 0/4 partitions done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run A not watching step 1 after 30s:\n%s", aOut.String())
		}
	}
	if err := a.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()

	// B, without --break-lock, is refused while A's lease lasts, then
	// takes the lock.
	var b *exec.Cmd
	var bOut *syncBuffer
	bDone := make(chan error, 1)
	refusals := 0
	var bLock *state.LockInfo
	for bLock == nil {
		if time.Since(stoppedAt) > testLease+10*time.Second {
			t.Fatalf("run B has not taken the lock %s after A stopped (lease %s); %d refusals", time.Since(stoppedAt).Round(time.Millisecond), testLease, refusals)
		}
		b, bOut = kshiftCmd(t, args...), &syncBuffer{}
		b.Stdout, b.Stderr = bOut, bOut
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		bc := b
		go func() { bDone <- bc.Wait() }()
	attempt:
		for {
			select {
			case err := <-bDone:
				if exitCodeOf(err) != exitRefused || !strings.Contains(bOut.String(), state.ErrLocked.Error()) || !strings.Contains(bOut.String(), fmt.Sprintf("(pid %d,", a.Process.Pid)) {
					t.Fatalf("run B while A is stopped: %v, want exit %d naming A (pid %d):\n%s", err, exitRefused, a.Process.Pid, bOut.String())
				}
				refusals++
				time.Sleep(100 * time.Millisecond)
				break attempt
			case <-time.After(10 * time.Millisecond):
				if bLock = holding(t, st, b.Process.Pid); bLock != nil {
					break attempt
				}
			}
		}
	}
	t.Cleanup(func() { b.Process.Kill() })
	tookOver := time.Since(stoppedAt)
	if refusals == 0 {
		t.Errorf("run B took the lock without a refusal while A's lease (%s) lasted", testLease)
	}
	if bLock.Epoch <= aLock.Epoch || bLock.Session == aLock.Session {
		t.Errorf("B's lock %+v does not follow A's %+v", bLock, aLock)
	}

	// A wakes.
	if err := a.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	wokenAt := time.Now()
	var aErr error
	if interrupt {
		// Ctrl-C while B holds the lock (the clock still stands, B waits
		// for the copy): A's cleanup must not touch B's lock.
		time.Sleep(300 * time.Millisecond)
		a.Process.Signal(os.Interrupt)
		select {
		case aErr = <-aDone:
		case <-time.After(60 * time.Second):
			t.Fatalf("run A did not end 60s after Ctrl-C:\n%s", aOut.String())
		}
		if now := holding(t, st, b.Process.Pid); now == nil || now.Epoch != bLock.Epoch || now.Session != bLock.Session {
			t.Errorf("after A's cleanup the lock is %+v, want B's %+v untouched", now, bLock)
		}
		clock.SetFactor(speed)
	} else {
		clock.SetFactor(speed)
		select {
		case aErr = <-aDone:
		case <-time.After(60 * time.Second):
			t.Fatalf("run A did not end 60s after it was woken:\n%s", aOut.String())
		}
	}
	if aErr == nil || !strings.Contains(aOut.String(), state.ErrLockLost.Error()) {
		t.Errorf("run A woken after losing the lock: %v, want a failure saying %q:\n%s", aErr, state.ErrLockLost, aOut.String())
	}
	select {
	case err := <-bDone:
		if err != nil {
			t.Fatalf("run B: %v\n%s", err, bOut.String())
		}
	case <-time.After(120 * time.Second):
		t.Fatalf("run B did not finish the migration within 120s:\n%s", bOut.String())
	}
	close(stop)
	if bad := <-rfReport; len(bad) > 0 {
		t.Errorf("partitions below their original RF: %v", bad)
	}
	m.finalState(t)
	holds := m.oneHolderAtATime(t, map[int]time.Time{a.Process.Pid: wokenAt})
	locks.close()
	seen := locks.seen()
	for i, l := range seen {
		if l.PID == a.Process.Pid && i > 0 && seen[i-1].PID != a.Process.Pid {
			t.Errorf("A (pid %d) holds the lock again after %s", a.Process.Pid, seen[i-1])
		}
		if i > 0 && l.Epoch <= seen[i-1].Epoch {
			t.Errorf("lock epoch went from %d to %d", seen[i-1].Epoch, l.Epoch)
		}
	}
	t.Logf("A (pid %d) stopped holding epoch %d; B refused %d times, took the lock (epoch %d) %s after A stopped (lease %s); A woken ended with exit %d; %d lock holders seen in turn, %d step runs made calls one at a time",
		a.Process.Pid, aLock.Epoch, refusals, bLock.Epoch, tookOver.Round(10*time.Millisecond), testLease, exitCodeOf(aErr), len(seen), holds)
}

// copyFile copies a file (a plan for a second host).
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// watchRF samples every partition until stop and reports any moment where a
// partition had fewer in-sync replicas than its original RF.
func (m *migration) watchRF(stop <-chan struct{}) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var bad []string
		for {
			select {
			case <-stop:
				out <- bad
				return
			case <-time.After(5 * time.Millisecond):
			}
			for _, name := range m.c.Topics() {
				for p := int32(0); ; p++ {
					st, ok := m.c.Partition(name, p)
					if !ok {
						break
					}
					key := fmt.Sprintf("%s-%d", name, p)
					if rf, ok := m.origRF[key]; ok && len(st.ISR) < rf && len(bad) < 10 {
						bad = append(bad, fmt.Sprintf("%s isr %v replicas %v", key, st.ISR, st.Replicas))
					}
				}
			}
		}
	}()
	return out
}

// stepStartWatch collects a kshift run's output and closes started when the
// run prints the start of a step of the watched phase.
type stepStartWatch struct {
	mu      sync.Mutex
	out     strings.Builder
	marker  string
	started chan struct{}
	seen    bool
}

func newStepStartWatch(phase plans.Phase) *stepStartWatch {
	return &stepStartWatch{started: make(chan struct{}), marker: " (" + string(phase) + "): "}
}

func (w *stepStartWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(b)
	if !w.seen && strings.Contains(w.out.String(), w.marker) {
		w.seen = true
		close(w.started)
	}
	return len(b), nil
}

func (w *stepStartWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// openRecords returns the throttle records open in ZooKeeper.
func (m *migration) openRecords(t *testing.T, st state.Store) []*state.ThrottleRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := st.ThrottleRecords(ctx)
	if err != nil {
		t.Fatalf("reading the throttle records: %v", err)
	}
	return recs
}
