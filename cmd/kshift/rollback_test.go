package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRollbackInterruptCommands pins an interrupted `kshift rollback` as an
// operator meets it: SIGINT while the undo of a lower-rf step copies data
// back exits 4 naming the forward step and `kshift rollback PLAN --step N`;
// status shows that step's undo in flight with its progress; running the
// rollback again converges to the step's exact from; and after a second
// interrupted rollback, kshift cancel reverts the undo to the step's exact to
// and leaves no throttle.
func TestRollbackInterruptCommands(t *testing.T) {
	m := newMigration(t, 20, 1, 2, 64<<20, 2<<20, 4)
	conn := m.connArgs()
	run := func(args ...string) (string, int) {
		out, err := kshiftCmd(t, append(args, conn...)...).CombinedOutput()
		return string(out), exitCodeOf(err)
	}
	// interrupt starts kshift with args on a stopped clock and sends SIGINT
	// once topic-0-0 is moving and has copied a little: the move stays in
	// flight, however loaded the machine, until the clock runs again.
	clock := m.c.Clock()
	speed := clock.Factor()
	interrupt := func(args ...string) (string, int) {
		clock.SetFactor(0)
		cmd := kshiftCmd(t, append(args, conn...)...)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st, _ := m.c.Partition("topic-0", 0); st.Reassigning {
				clock.Advance(2 * time.Second) // a few MiB of 64 MiB per replica
				break
			}
		}
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		return out.String(), exitCodeOf(err)
	}

	// The forward steps, at a rate that makes them quick.
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.c.Bootstrap()...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fast := executor.New(cl, executor.Options{Throttle: 200 << 20, PollInterval: 20 * time.Millisecond, Audit: executor.OpenAudit(filepath.Join(m.dir, "kshift-audit.jsonl"))})
	ref := executor.PlanRef{Plan: m.plan, Path: m.planPath}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, s := range m.plan.Steps {
		if _, err := fast.Apply(ctx, ref, s.Number); err != nil {
			t.Fatalf("apply step %d: %v", s.Number, err)
		}
	}
	lower := m.plan.Steps[2]

	out, code := interrupt("rollback", m.planPath, "--step", "3", "--poll-interval", "20ms")
	if code != exitInterrupted || !strings.Contains(out, "the undo of step 3") || !strings.Contains(out, "resume with: kshift rollback "+m.planPath+" --step 3") ||
		!strings.Contains(out, "kshift cancel "+m.planPath) || strings.Contains(out, "kshift apply") {
		t.Fatalf("interrupted rollback: exit %d; want 4 naming the undo of step 3 and how to resume or cancel it:\n%s", code, out)
	}
	out, code = run("status", m.planPath, "-o", "json")
	var st executor.PlanStatus
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("status: exit %d, %v\n%s", code, err, out)
	}
	if s3 := st.Steps[2]; s3.State != executor.StepUndoInFlight || s3.BytesTotal == 0 || st.Steps[0].State != executor.StepDone || st.Steps[1].State != executor.StepDone {
		t.Errorf("status while step 3's undo is in flight: %+v", st.Steps)
	}
	if out, code := run("status", m.planPath); code != 0 || !strings.Contains(out, "undo-in-flight") || strings.Contains(out, " drifted ") {
		t.Errorf("status table while step 3's undo is in flight: exit %d\n%s", code, out)
	}
	clock.SetFactor(speed)
	if out, code := run("rollback", m.planPath, "--step", "3", "--poll-interval", "20ms"); code != 0 {
		t.Fatalf("resumed rollback: exit %d\n%s", code, out)
	}
	for _, mv := range lower.Partitions {
		if s, _ := m.c.Partition(mv.Topic, mv.Partition); !slices.Equal(s.Replicas, mv.From) || s.Reassigning {
			t.Errorf("after the resumed rollback: %s replicas %v, want %v", mv.Name(), s.Replicas, mv.From)
		}
	}

	// Forward again, then an interrupted rollback that kshift cancel reverts.
	if out, code := run("apply", m.planPath, "--step", "3", "--poll-interval", "20ms"); code != 0 {
		t.Fatalf("apply step 3 again: exit %d\n%s", code, out)
	}
	if out, code := interrupt("rollback", m.planPath, "--step", "3", "--poll-interval", "20ms"); code != exitInterrupted {
		t.Fatalf("second interrupted rollback: exit %d\n%s", code, out)
	}
	if out, code := run("cancel", m.planPath); code != 0 || !strings.Contains(out, "reverted the undo (rollback) of step(s) [3]") || strings.Contains(out, "nothing of the plan") {
		t.Fatalf("cancel: exit %d; want the undo of step 3 reverted\n%s", code, out)
	}
	clock.SetFactor(speed)
	m.finalState(t)
}
