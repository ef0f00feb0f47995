package acceptance

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkatest"
	"github.com/kshift/kshift/plans"
)

// migrationsWanted is how many migrations TestMigrationsConverge runs:
// KSHIFT_ACCEPTANCE_MIGRATIONS, else 2 (one each way).
func migrationsWanted(t *testing.T) int {
	v := os.Getenv("KSHIFT_ACCEPTANCE_MIGRATIONS")
	if v == "" {
		return 2
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("KSHIFT_ACCEPTANCE_MIGRATIONS=%q: want a positive number", v)
	}
	return n
}

// TestMigrationsConverge is the acceptance migration: `kshift apply --all
// --auto-continue` of a whole plan finishes in one run with exit 0, while a
// producer (acks=all, idempotent) and a consumer group run throughout, and
// leaves every partition at its target, in sync, led by its first replica,
// no throttle key in ZooKeeper, no reassignment, no lock. The migrations go
// back and forth between brokers 1-3 and 4-6: a phased broker_map one, then
// a rolling rack_map one lowering the replication factor from 3 to 2, then
// phased and rolling in turn. At the end every acknowledged record is read
// back at its offset, once, in order, and the group consumed them all.
func TestMigrationsConverge(t *testing.T) {
	f := sharedCluster(t)
	w := f.c.StartWorkload(t, kafkatest.WorkloadOptions{Topics: []string{f.workloadTopic()}, Rate: 200, RecordBytes: 200, Group: kafkatest.GroupName(t, "readers")})
	want := migrationsWanted(t)
	converged := 0
	for i := range want {
		from, to := f.side()
		m := mapping{from: from, to: to, strategy: plans.StrategyPhased, throttle: "20MiB/s", perStep: 8}
		if i%2 == 1 {
			m.rackMap, m.strategy = true, plans.StrategyRolling
			if i == 1 {
				m.rf = 2
			}
		}
		planPath, p := f.plan(m)
		start := time.Now()
		out, code := f.kshift("apply", planPath, "--all", "--auto-continue")
		if code != 0 {
			t.Errorf("migration %d (%s, %v -> %v): apply --all exit %d after %s\n%s", i+1, m.strategy, from, to, code, time.Since(start).Round(time.Second), out)
			// Finish it for the next migration, and count it as not converged.
			if out, code := f.kshift("apply", planPath, "--all", "--auto-continue", "--break-lock"); code != 0 {
				t.Fatalf("migration %d: second apply --all: exit %d\n%s", i+1, code, out)
			}
		} else {
			converged++
		}
		f.migrated(p)
		t.Logf("migration %d (%s, %d steps, %v -> %v): apply --all exit %d in %s; estimated %s\n%s", i+1, m.strategy, len(p.Steps), from, to, code,
			time.Since(start).Round(time.Second), p.Totals.TotalDuration, grepLines(out, "): "))
	}
	rep := w.Verify(t)
	t.Logf("%d of %d migrations converged in one apply --all run, exit 0; workload: %s", converged, want, rep)
	if converged != want {
		t.Errorf("%d of %d migrations converged in one run", converged, want)
	}
}

// TestInterruptsAndResumes runs a migration as an operator whose runs get
// interrupted: SIGKILL in a copying step and a resume without --break-lock
// (the killed holder's lease frees the lock); Ctrl-C in a step where some
// partitions finished while the largest still copies, and `cancel` (it
// says how many it reverted and how many stay done); the step again, Ctrl-C
// while it copies, `throttle set` while it is stopped, and the resume,
// which keeps the operator's rate and says so; then the rest of the plan.
//
// Kafka lets a throttled copy burst about eleven seconds' worth of its rate
// at the start (docs/kafka-behaviour.md 32), so only the 24 MiB partition
// logs-0 copies for long at the plan's 1 MiB/s: its step is the one
// interrupted while copying.
func TestInterruptsAndResumes(t *testing.T) {
	f := sharedCluster(t)
	w := f.c.StartWorkload(t, kafkatest.WorkloadOptions{Topics: []string{f.workloadTopic()}, Rate: 100, RecordBytes: 200, Group: kafkatest.GroupName(t, "readers")})
	from, to := f.side()
	planPath, p := f.plan(mapping{from: from, to: to, strategy: plans.StrategyPhased, throttle: "1MiB/s", perStep: 4})
	big := stepMoving(p, topicRF2, 0)
	killed := 0
	for _, n := range copyingSteps(p) {
		if n != big {
			killed = n
			break
		}
	}
	if big == 0 || killed == 0 {
		t.Fatalf("the plan has no step copying logs-0 (%d) or no other copying step (%d)", big, killed)
	}
	first, second := min(big, killed), max(big, killed)
	f.applyThrough(planPath, first-1)
	for _, n := range []int{first, second} {
		if n == second {
			f.applyThrough(planPath, second-1)
		}
		if n == killed {
			f.killAndResume(planPath, n)
		} else {
			f.cancelThenThrottleSet(planPath, p.Step(n))
		}
	}

	// The rest, in one run, faster.
	if out, code := f.kshift("apply", planPath, "--all", "--auto-continue", "--throttle", "50MiB/s"); code != 0 {
		t.Fatalf("apply --all after the interruptions: exit %d\n%s", code, out)
	}
	f.migrated(p)
	t.Logf("workload: %s", w.Verify(t))
}

// killAndResume kills `apply --step n` with SIGKILL once it submitted, and
// resumes it without --break-lock: refused with exit 3 naming the dead
// holder while its lease lasts, then done.
func (f *fixture) killAndResume(planPath string, n int) {
	f.t.Helper()
	out, code := f.interrupt(planPath, n, syscall.SIGKILL)
	f.t.Logf("apply --step %d killed: exit %d\n%s", n, code, out)
	deadline := time.Now().Add(time.Minute)
	refused := 0
	for {
		out, code = f.kshift("apply", planPath, "--step", fmt.Sprint(n))
		if code != 3 || !strings.Contains(out, "operator lock") || time.Now().After(deadline) {
			break
		}
		refused++
		time.Sleep(time.Second)
	}
	if code != 0 {
		f.t.Fatalf("resume of step %d after SIGKILL: exit %d\n%s", n, code, out)
	}
	f.t.Logf("resume of step %d after SIGKILL: refused %d time(s) while the dead holder's lease lasted, then done", n, refused)
}

// cancelThenThrottleSet interrupts step s once some of its partitions are
// done while others copy, cancels it, applies it again, interrupts it while
// it copies, lowers the rate with throttle set, and resumes it.
func (f *fixture) cancelThenThrottleSet(planPath string, s *plans.Step) {
	f.t.Helper()
	cmd := f.command(true, "apply", planPath, "--step", fmt.Sprint(s.Number))
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.waitSomeDone(s)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		f.t.Fatal(err)
	}
	if code := exitCode(cmd.Wait()); code != 4 || !strings.Contains(buf.String(), fmt.Sprintf("kshift apply %s --step %d", planPath, s.Number)) {
		f.t.Fatalf("apply --step %d interrupted: exit %d, want 4 with the resume command\n%s", s.Number, code, buf.String())
	}
	out, code := f.kshift("cancel", planPath)
	re := regexp.MustCompile(fmt.Sprintf(`step %d: reverted (\d+) of its (\d+) partition\(s\) to their from; (\d+) had finished and stay done`, s.Number))
	if mm := re.FindStringSubmatch(out); code != 0 || mm == nil || mm[1] == "0" || mm[3] == "0" {
		f.t.Fatalf("cancel of step %d with some partitions done: exit %d, want it to say how many it reverted (some) and how many stay done (some)\n%s", s.Number, code, out)
	} else {
		f.t.Logf("cancel: %s", mm[0])
	}

	// Again, Ctrl-C while it copies; the operator changes the rate while
	// nothing runs: it stands for the resume, which says where its rate
	// comes from. This run copies at 512 KiB/s, so that logs-0 still copies
	// for about 35 s after Kafka's initial burst (docs/kafka-behaviour.md
	// 32): at the plan's 1 MiB/s a loaded machine's interrupt, throttle set
	// and resume took longer than the copy, and the resume found it done.
	out, code = f.interrupt(planPath, s.Number, syscall.SIGINT, "--throttle", "512KiB/s")
	if code != 4 {
		f.t.Fatalf("apply --step %d interrupted again: exit %d, want 4\n%s", s.Number, code, out)
	}
	if out, code := f.kshift("throttle", "set", "768KiB/s", planPath); code != 0 {
		f.t.Fatalf("throttle set: exit %d\n%s", code, out)
	}
	if r := f.anyBrokerRate(); r != "786432" {
		f.t.Errorf("after throttle set 768KiB/s, a throttled broker's rate in ZooKeeper is %q, want 786432", r)
	}
	out, code = f.kshift("apply", planPath, "--step", fmt.Sprint(s.Number))
	if code != 0 || !strings.Contains(out, "throttled at 768 KiB/s per broker (kshift throttle set by") {
		f.t.Fatalf("resume of step %d after throttle set: exit %d, want 0 saying it used the 768 KiB/s set by throttle set\n%s", s.Number, code, out)
	}
}

// stepMoving returns the raise-rf step that copies partition p of topic, 0
// when none does.
func stepMoving(pl *plans.Plan, topic string, p int32) int {
	for _, s := range pl.Steps {
		for _, m := range s.Partitions {
			if s.Phase == plans.PhaseRaiseRF && m.Topic == topic && m.Partition == p {
				return s.Number
			}
		}
	}
	return 0
}

// TestRollbackEachPhaseAndReapply migrates, then rolls back into each
// phase in turn (--to-step the phase's first step, which undoes every step
// after it, lower-rf, move-leader and raise-rf alike), checks those steps
// pending, and applies the plan again to its end.
func TestRollbackEachPhaseAndReapply(t *testing.T) {
	f := sharedCluster(t)
	w := f.c.StartWorkload(t, kafkatest.WorkloadOptions{Topics: []string{f.workloadTopic()}, Rate: 100, RecordBytes: 200, Group: kafkatest.GroupName(t, "readers")})
	from, to := f.side()
	planPath, p := f.plan(mapping{from: from, to: to, strategy: plans.StrategyPhased, throttle: "20MiB/s", perStep: 12})
	if out, code := f.kshift("apply", planPath, "--all", "--auto-continue"); code != 0 {
		t.Fatalf("apply --all: exit %d\n%s", code, out)
	}
	for _, phase := range []plans.Phase{plans.PhaseLowerRF, plans.PhaseMoveLeader, plans.PhaseRaiseRF} {
		first := 0
		for _, s := range p.Steps {
			if s.Phase == phase {
				first = s.Number
				break
			}
		}
		out, code := f.kshift("rollback", planPath, "--to-step", fmt.Sprint(first))
		if code != 0 {
			t.Fatalf("rollback --to-step %d (%s): exit %d\n%s", first, phase, code, out)
		}
		status, code := f.kshift("status", planPath, "-o", "json")
		if code != 0 || strings.Count(status, `"state": "pending"`) != len(p.Steps)-first+1 {
			t.Fatalf("status after rollback --to-step %d: exit %d, want steps %d..%d pending\n%s", first, code, first, len(p.Steps), status)
		}
		if out, code := f.kshift("apply", planPath, "--all", "--auto-continue"); code != 0 {
			t.Fatalf("re-apply after rollback --to-step %d (%s): exit %d\n%s", first, phase, code, out)
		}
		f.migrated(p)
	}
	t.Logf("workload: %s", w.Verify(t))
}

// TestWithoutZooKeeper: apply without --zookeeper is refused before
// anything changes (exit 2), naming the brokers' zookeeper.connect; check
// and snapshot work with and without --zookeeper, and without it report
// no "unknown" throttle rate where none is set (Kafka 2.4 lists unset
// rates with source DEFAULT_CONFIG once a broker processed any rate change,
// docs/kafka-behaviour.md 26: the migrations before set and deleted rates).
func TestWithoutZooKeeper(t *testing.T) {
	f := sharedCluster(t)
	from, to := f.side()
	planPath, _ := f.plan(mapping{from: from, to: to, strategy: plans.StrategyPhased, throttle: "20MiB/s", perStep: 8})
	out, code := f.kshiftNoZK("apply", planPath, "--step", "1")
	if code != 2 || !strings.Contains(out, "--zookeeper") || !strings.Contains(out, "zookeeper.connect="+f.c.ZooKeeper()) || !strings.Contains(out, "nothing was changed") {
		t.Errorf("apply without --zookeeper: exit %d, want 2 naming --zookeeper and the brokers' zookeeper.connect\n%s", code, out)
	}
	if st, code := f.kshift("status", planPath, "-o", "json"); code != 0 || strings.Contains(st, `"state": "in-flight"`) || strings.Contains(st, `"state": "done"`) {
		t.Errorf("status after the refused apply: exit %d, want every step pending\n%s", code, st)
	}
	for _, zk := range []bool{false, true} {
		dir := t.TempDir()
		snap := dir + "/snapshot.yaml"
		run := f.kshiftNoZK
		if zk {
			run = f.kshift
		}
		if out, code := run("snapshot", "--out", snap); code != 0 {
			t.Errorf("snapshot (zookeeper %v): exit %d\n%s", zk, code, out)
		} else if data, _ := os.ReadFile(snap); strings.Contains(string(data), "unknown") {
			t.Errorf("snapshot (zookeeper %v) writes an unknown value where no throttle is set:\n%s", zk, grepLines(string(data), "unknown"))
		}
		if out, code := run("check"); code != 0 {
			t.Errorf("check (zookeeper %v): exit %d\n%s", zk, code, out)
		}
	}
}

// copyingSteps lists the steps of p that copy at least 1 MiB, in order:
// those last long enough under the test's throttle to be caught copying.
func copyingSteps(p *plans.Plan) []int {
	var out []int
	for _, s := range p.Steps {
		if s.Estimate.BytesToCopy >= 1<<20 {
			out = append(out, s.Number)
		}
	}
	return out
}

// applyThrough applies steps 1 to n (those not done yet), at a rate that
// does not keep the test waiting.
func (f *fixture) applyThrough(planPath string, n int) {
	f.t.Helper()
	if n < 1 {
		return
	}
	if out, code := f.kshift("apply", planPath, "--through", fmt.Sprint(n), "--auto-continue", "--throttle", "50MiB/s"); code != 0 {
		f.t.Fatalf("apply --through %d: exit %d\n%s", n, code, out)
	}
}

// interrupt starts `apply --step n` (with extra flags), sends sig once one
// of the step's moves is in flight, and returns the output and exit code.
func (f *fixture) interrupt(planPath string, n int, sig syscall.Signal, extra ...string) (string, int) {
	f.t.Helper()
	cmd := f.command(true, append([]string{"apply", planPath, "--step", fmt.Sprint(n)}, extra...)...)
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	kafkatest.WaitFor(f.t, time.Minute, fmt.Sprintf("step %d in flight", n), func(ctx context.Context) error {
		moves, err := f.c.Reassignments(ctx)
		if err != nil || len(moves) == 0 {
			return fmt.Errorf("no reassignment in flight yet (%v)", err)
		}
		return nil
	})
	if err := cmd.Process.Signal(sig); err != nil {
		f.t.Fatal(err)
	}
	err := cmd.Wait()
	return buf.String(), exitCode(err)
}

// waitSomeDone waits until some of step s's partitions are at their `to`
// while others still move.
func (f *fixture) waitSomeDone(s *plans.Step) {
	f.t.Helper()
	kafkatest.WaitFor(f.t, 2*time.Minute, fmt.Sprintf("step %d partly done", s.Number), func(ctx context.Context) error {
		moves, err := f.c.Reassignments(ctx)
		if err != nil {
			return err
		}
		moving := 0
		for _, m := range s.Partitions {
			if _, ok := moves[m.Name()]; ok {
				moving++
			}
		}
		if moving == 0 || moving == len(s.Partitions) {
			return fmt.Errorf("%d of %d partitions moving", moving, len(s.Partitions))
		}
		return nil
	})
}

// anyBrokerRate returns the follower rate of a broker kshift throttles
// now, read from ZooKeeper.
func (f *fixture) anyBrokerRate() string {
	for _, b := range append(append([]int32{}, sides[0]...), sides[1]...) {
		if r := f.brokerRates(b)["follower.replication.throttled.rate"]; r != "" {
			return r
		}
	}
	return ""
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
