package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/state"
)

// hungSandbox is `kshift sandbox --zookeeper` run as a process of its own,
// so that a test can make the whole simulated cluster hang (SIGSTOP): its
// brokers' ports still accept connections (the kernel does) and answer
// nothing, as a cluster does in a long GC pause or behind a dropped route.
type hungSandbox struct {
	cmd       *exec.Cmd
	out       *syncBuffer
	done      chan error
	bootstrap string
	connect   string
	chroot    string
}

// startHungSandbox starts the sandbox process with args and waits for the
// lines it prints at start.
func startHungSandbox(t *testing.T, srv *zktest.Server, args ...string) *hungSandbox {
	t.Helper()
	s := &hungSandbox{out: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = kshiftCmd(t, append([]string{"sandbox", "--zookeeper", srv.Addr()}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	// Woken and stopped at the end (it deletes its chroot); killed if it
	// does not stop.
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGCONT)
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(s.out.String(), "Ctrl-C stops it\n"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox did not start within 60s:\n%s", s.out.String())
		}
	}
	for _, l := range strings.Split(s.out.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "bootstrap: "); ok {
			s.bootstrap = v
		}
		if v, ok := strings.CutPrefix(l, "zookeeper: "); ok {
			s.connect = v
		}
	}
	s.chroot = strings.TrimPrefix(s.connect, srv.Addr())
	if s.bootstrap == "" || s.chroot == s.connect {
		t.Fatalf("sandbox printed no bootstrap or zookeeper line:\n%s", s.out.String())
	}
	return s
}

// waitFor waits up to d for out to match re and returns how long it took.
func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp, d time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	for !re.MatchString(out.String()) {
		if time.Since(start) > d {
			t.Fatalf("%s: not seen within %s (want %q):\n%s", what, d, re, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestInterruptAgainstHungCluster pins Ctrl-C against a cluster that stops
// answering mid-step (issue 12): the first Ctrl-C says at once what kshift
// was waiting for, and the cleanup it starts waits for the cluster; the
// second abandons the cleanup, and kshift ends at once with exit 4,
// printing the throttles it leaves (brokers, topics) and the command that
// clears them; the operator lock is gone once it has exited.
func TestInterruptAgainstHungCluster(t *testing.T) {
	srv := sharedZooKeeper(t)
	dir := t.TempDir()
	snap, mapping := filepath.Join(dir, "snap.yaml"), filepath.Join(dir, "mapping.yaml")
	sb := startHungSandbox(t, srv, "--topics", "3", "--partitions", "12", "--write-snapshot", snap, "--write-mapping", mapping)
	planDir := filepath.Join(dir, "plan")
	if out, err := kshiftCmd(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", planDir).CombinedOutput(); err != nil {
		t.Fatalf("plan of the sandbox's snapshot: %v\n%s", err, out)
	}
	plan := filepath.Join(planDir, "plan.yaml")

	// Step 1 copies at 1 MiB/s: it is in flight, throttled, for minutes.
	apply := kshiftCmd(t, "apply", plan, "--step", "1", "--bootstrap", sb.bootstrap, "--zookeeper", sb.connect,
		"--throttle", "1MiB/s", "--poll-interval", "100ms", "--progress-interval", "0s", "--request-timeout", "20s")
	var out syncBuffer
	apply.Stdout, apply.Stderr = &out, &out
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- apply.Wait() }()
	t.Cleanup(func() { apply.Process.Kill() })
	waitFor(t, &out, regexp.MustCompile(`step 1 \S+: 0/\d+ partitions done`), 60*time.Second, "step 1 watched")

	// The cluster hangs; kshift's next read of it waits for an answer.
	if err := sb.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)

	// First Ctrl-C: at once, what kshift was waiting for.
	if err := apply.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	said := regexp.MustCompile(`interrupted while waiting for \d+ of \d+ partition\(s\) of step 1[^\n]*`)
	if took := waitFor(t, &out, said, 10*time.Second, "first Ctrl-C"); took > 2*time.Second {
		t.Errorf("first Ctrl-C answered after %s, want at once", took.Round(time.Millisecond))
	}
	// Its cleanup waits for the cluster: kshift is still running.
	select {
	case err := <-done:
		t.Fatalf("kshift ended (%v) while the cluster hangs: its cleanup cannot have run:\n%s", err, out.String())
	case <-time.After(2 * time.Second):
	}

	// Second Ctrl-C: the cleanup is abandoned, kshift ends promptly.
	if err := apply.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("kshift did not end 30s after the second Ctrl-C:\n%s", out.String())
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("kshift ended %s after the second Ctrl-C, want promptly", took.Round(time.Millisecond))
	}
	text := out.String()
	if code := exitCodeOf(err); code != exitInterrupted {
		t.Errorf("exit %d after two Ctrl-C, want %d:\n%s", code, exitInterrupted, text)
	}

	// What is left, from the cluster's state store: the throttle record of
	// step 1, which kshift must name with its brokers and topics.
	conn := zktest.Dial(t, srv.Addr(), false)
	st, serr := state.NewZooKeeper(conn, sb.chroot, state.Options{SessionTimeout: 10 * time.Second})
	if serr != nil {
		t.Fatal(serr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if l, lerr := st.Lock(ctx); lerr != nil || l != nil {
		t.Errorf("the operator lock is still held after kshift exited: %+v (%v)", l, lerr)
	}
	recs, rerr := st.ThrottleRecords(ctx)
	if rerr != nil || len(recs) == 0 {
		t.Fatalf("throttle records after the abandoned cleanup: %d (%v), want step 1's", len(recs), rerr)
	}
	left, ok := strings.CutPrefix(text[strings.Index(text, "left in place:"):], "left in place:")
	if !ok {
		t.Fatalf("kshift does not say what it left in place:\n%s", text)
	}
	for _, rec := range recs {
		if !strings.Contains(left, rec.ID) {
			t.Errorf("what is left does not name throttle record %s", rec.ID)
		}
		for b := range rec.Brokers {
			if !regexp.MustCompile(`\b` + strconv.Itoa(int(b)) + `\b`).MatchString(left) {
				t.Errorf("what is left does not name broker %d, whose rates kshift set", b)
			}
		}
		for topic := range rec.Topics {
			if !strings.Contains(left, topic) {
				t.Errorf("what is left does not name topic %s, whose throttled replicas kshift set", topic)
			}
		}
	}
	// The command that clears them names the plan and the cluster, and runs
	// as printed (tried here with --dry-run once the cluster answers again).
	var clear []string
	for _, l := range strings.Split(left, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "kshift throttle clear "); ok {
			clear = append([]string{"throttle", "clear"}, strings.Fields(rest)...)
		}
	}
	joined := strings.Join(clear, " ")
	if len(clear) < 3 || clear[2] != plan || !strings.Contains(joined, " --bootstrap "+sb.bootstrap) || !strings.Contains(joined, " --zookeeper "+sb.connect) {
		t.Fatalf("what is left does not give the command that clears it (kshift throttle clear %s --bootstrap %s --zookeeper %s ...):\n%s", plan, sb.bootstrap, sb.connect, text)
	}
	// The cluster's audit trail records how the run ended: ZooKeeper
	// answers, so its records are written, and no failure to write them
	// is reported.
	if strings.Contains(text, "level=ERROR") {
		t.Errorf("kshift reports an error of its own after the second Ctrl-C:\n%s", text)
	}
	trail, aerr := st.Audit(ctx, state.AuditFilter{})
	if aerr != nil || len(trail) == 0 || trail[len(trail)-1].Event != state.AuditEnd {
		var last state.AuditRecord
		if len(trail) > 0 {
			last = trail[len(trail)-1]
		}
		t.Errorf("the cluster's audit trail does not end with the run's end: %d records (%v), the last %+v", len(trail), aerr, last)
	}
	t.Logf("kshift, interrupted twice:\n%s", text)
	if err := sb.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if out, err := kshiftCmd(t, append(clear, "--dry-run")...).CombinedOutput(); err != nil {
		t.Errorf("the printed command, with --dry-run: %v\n%s", err, out)
	}
}
