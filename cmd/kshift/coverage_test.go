package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/plans"
)

// coverageMapping is the mapping of newMigration's cluster: sources 0-2,
// targets 3-5.
const coverageMapping = `version: 1
source_brokers: [0, 1, 2]
target_brokers: [3, 4, 5]
limits:
  partitions_per_step: 4
  bytes_per_step: 1GiB
  moves_into_broker: 10
throttle: 10MiB/s
`

// TestCoverageCatchUp pins what kshift does with partitions created after
// the plan (issue 17): status, check --plan and apply name them with the
// command that covers them; neither status nor apply --all calls the
// migration finished while they sit on a source broker; the catch-up plan
// made from a fresh snapshot moves exactly them, after which the
// migration is finished.
func TestCoverageCatchUp(t *testing.T) {
	m := newMigration(t, 200, 1, 2, 1<<20, 10<<20, 4)
	withLiveStore(t, m.c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := m.connArgs()
	// After planning: a new topic, and a partition added to the plan's own.
	if err := m.c.CreateTopic("late", [][]int32{{0, 1, 2}}, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := m.c.CreateTopic("topic-0-extra", [][]int32{{1, 2, 0}, {2, 0, 1}}, nil); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errMsg := liveRun(ctx, append(args, conn...)...)
		return code, out + errMsg
	}
	code, out := run("status", m.planPath)
	if code != exitOK || !strings.Contains(out, "NOT COVERED") || !strings.Contains(out, "late-0 on [0 1 2]") || !strings.Contains(out, "topic-0-extra-1") || !strings.Contains(out, "kshift plan --catch-up "+m.planPath) {
		t.Fatalf("status before: exit %d, want the uncovered partitions and the catch-up command:\n%s", code, out)
	}
	code, out = run("check", "--plan", m.planPath, "--settle", "0s")
	if !strings.Contains(out, "coverage") || !strings.Contains(out, "late-0") || !strings.Contains(out, "--catch-up") {
		t.Fatalf("check --plan: exit %d, want the coverage gate naming late-0:\n%s", code, out)
	}
	code, out = run("apply", m.planPath, "--all", "--auto-continue", "--poll-interval", "20ms")
	if code != exitOK {
		t.Fatalf("apply --all: exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "warning: 3 partition(s) with a replica on a source broker are not in this plan") || !strings.Contains(out, "the migration is NOT finished: 3 partition(s)") || strings.Contains(out, "migration finished") {
		t.Fatalf("apply --all: want the uncovered partitions named before and the migration not finished after:\n%s", out)
	}
	code, out = run("status", m.planPath)
	if code != exitOK || !strings.Contains(out, "not finished") || strings.Contains(out, "│ finished │") {
		t.Fatalf("status after the plan: exit %d, want not finished:\n%s", code, out)
	}

	// The catch-up: a fresh snapshot, a plan of just those partitions.
	dir := t.TempDir()
	snap, mapping, catchUp := filepath.Join(dir, "snapshot.yaml"), filepath.Join(dir, "mapping.yaml"), filepath.Join(dir, "catch-up")
	if err := os.WriteFile(mapping, []byte(coverageMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out = run("snapshot", "--out", snap); code != exitOK {
		t.Fatalf("snapshot: exit %d:\n%s", code, out)
	}
	code, out, errMsg := liveRun(ctx, "plan", "--catch-up", m.planPath, "--snapshot", snap, "--mapping", mapping, "--out", catchUp)
	if code != exitOK {
		t.Fatalf("plan --catch-up: exit %d:\n%s%s", code, out, errMsg)
	}
	cu, _, err := plans.LoadFile[plans.Plan](filepath.Join(catchUp, "plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	moved := map[string]bool{}
	for _, s := range cu.Steps {
		if s.Phase.IsZooKeeper() || s.Phase == plans.PhaseRetireSources {
			t.Errorf("catch-up step %d is a %s step: the first plan owns those", s.Number, s.Phase)
		}
		for _, mv := range s.Partitions {
			moved[mv.Name()] = true
		}
	}
	if len(moved) != 3 || !moved["late-0"] || !moved["topic-0-extra-0"] || !moved["topic-0-extra-1"] {
		t.Fatalf("catch-up moves %v, want exactly late-0, topic-0-extra-0 and -1", moved)
	}
	code, out = run("apply", filepath.Join(catchUp, "plan.yaml"), "--all", "--auto-continue", "--poll-interval", "20ms")
	// The catch-up has no retire-sources step: it finishes its own steps,
	// not the migration, whose sources are still running.
	if code != exitOK || !strings.Contains(out, "plan finished") || !strings.Contains(out, "retire-sources step of the plan it catches up") || strings.Contains(out, "migration finished") {
		t.Fatalf("apply the catch-up: exit %d, want the plan finished and the first plan's retire step named:\n%s", code, out)
	}
	code, out = run("status", m.planPath)
	if code != exitOK || !strings.Contains(out, "│ finished │") || strings.Contains(out, "NOT COVERED") {
		t.Fatalf("status after the catch-up: exit %d, want finished:\n%s", code, out)
	}
	// A second catch-up finds nothing to do.
	if code, out = run("snapshot", "--out", snap); code != exitOK {
		t.Fatalf("snapshot: exit %d:\n%s", code, out)
	}
	code, _, errMsg = liveRun(ctx, "plan", "--catch-up", m.planPath, "--snapshot", snap, "--mapping", mapping, "--out", filepath.Join(dir, "again"))
	if code != exitBadInput || !strings.Contains(errMsg, "nothing to catch up") {
		t.Fatalf("a catch-up with nothing left: exit %d, want %d and nothing to catch up: %s", code, exitBadInput, errMsg)
	}
}

// TestLostBrokerRule pins the lost-broker rule (issue 17) on the
// simulator: with a target stopped for good after the raise-rf step, the
// undo of that step (kshift rollback --step 1), which drops exactly its
// out-of-sync replicas, runs, says what it drops and why that is safe, and
// names the plan's step; with a source stopped for good before the lower-rf
// step, that step drops it the same way, and status names the down broker
// with its role at once.
func TestLostBrokerRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lost   int32
		before []string // commands run before the broker is lost
		then   []string // the command the rule lets through
		want   string
	}{
		{name: "target", lost: 3, before: []string{"apply --step 1"}, then: []string{"rollback", "--step", "1"}, want: "undo of step 1"},
		{name: "source", lost: 0, before: []string{"apply --step 1", "apply --step 2"}, then: []string{"apply", "--step", "3"}, want: "step 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMigration(t, 200, 1, 2, 1<<20, 10<<20, 4)
			withLiveStore(t, m.c)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// The bootstrap list of every broker: the state store is found
			// by it, and a stopped broker's address is simply not answered.
			conn := m.connArgs()
			run := func(args ...string) (int, string) {
				t.Helper()
				code, out, errMsg := liveRun(ctx, append(args, conn...)...)
				return code, out + errMsg
			}
			for _, c := range tc.before {
				words := strings.Fields(c)
				if code, out := run(append([]string{words[0], m.planPath}, append(words[1:], "--poll-interval", "20ms")...)...); code != exitOK {
					t.Fatalf("%s: exit %d:\n%s", c, code, out)
				}
			}
			if err := m.c.StopBroker(tc.lost); err != nil {
				t.Fatal(err)
			}
			code, out := run("status", m.planPath)
			if code != exitOK || !strings.Contains(out, fmt.Sprintf("broker %d (", tc.lost)) || !strings.Contains(out, "is down") {
				t.Fatalf("status with broker %d down: exit %d, want it named:\n%s", tc.lost, code, out)
			}
			args := append([]string{tc.then[0], m.planPath}, tc.then[1:]...)
			code, out = run(append(args, "--poll-interval", "20ms")...)
			if code != exitOK {
				t.Fatalf("%v with broker %d lost: exit %d, want the lost-broker rule to let it run:\n%s", tc.then, tc.lost, code, out)
			}
			if !strings.Contains(out, fmt.Sprintf("broker(s) [%d] are down and the step drops their replicas", tc.lost)) || !strings.Contains(out, tc.want) {
				t.Fatalf("%v: want what is dropped and why said, naming %q:\n%s", tc.then, tc.want, out)
			}
		})
	}
}

// TestCancelWithBrokerDown pins cancel and throttle clear with a broker
// down (issue 17): cancel reverts the step, restores every throttle it can,
// names the broker whose rates it had to leave and exits 5 (partly done);
// throttle clear says the same without claiming to have cleared it; once
// the broker is back, throttle clear finishes with exit 0 and nothing left.
func TestCancelWithBrokerDown(t *testing.T) {
	m := newMigration(t, 1, 1, 2, 200<<20, 1<<20, 4)
	withLiveStore(t, m.c)
	conn := m.connArgs()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	applyCtx, stop := context.WithCancel(ctx)
	out := &cancelAfter{marker: "copied", n: 1, cancel: stop}
	app := newApp()
	app.Writer, app.ErrWriter = out, out
	app.Metadata = map[string]any{metaStateStore: liveStoreFor(conn)}
	err := app.RunContext(applyCtx, append([]string{"kshift", "apply", m.planPath, "--step", "1", "--poll-interval", "20ms"}, conn...))
	if code := exitCode(err); code != exitInterrupted {
		t.Fatalf("apply --step 1 interrupted: exit %d (%v), want %d:\n%s", code, err, exitInterrupted, out.out.String())
	}
	if len(m.c.BrokerRates(3)) == 0 {
		t.Fatalf("no throttle rate on target 3 while the step copies: the test sets up nothing")
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, o, errMsg := liveRun(ctx, append(args, conn...)...)
		return code, o + errMsg
	}
	// check without --plan knows kshift's own leftovers by its records.
	code, o := run("check", "--settle", "0s", "--output", "json")
	if !strings.Contains(o, "kshift: its throttle record") || strings.Contains(o, `"owner": "not kshift`) {
		t.Fatalf("check without --plan: exit %d, want kshift's throttles owned by its record, none called not kshift's:\n%s", code, o)
	}
	if err := m.c.StopBroker(3); err != nil {
		t.Fatal(err)
	}
	code, o = run("cancel", m.planPath)
	if code != exitPartial || !strings.Contains(o, "broker(s) [3] are left in place") || !strings.Contains(o, "once they are back") {
		t.Fatalf("cancel with target 3 down: exit %d, want %d naming broker 3:\n%s", code, exitPartial, o)
	}
	for b := int32(0); b < 6; b++ {
		if r := m.c.BrokerRates(b); b != 3 && len(r) > 0 {
			t.Errorf("broker %d keeps rates %v after the cancel", b, r)
		}
	}
	code, o = run("throttle", "clear", m.planPath)
	if code != exitPartial || !strings.Contains(o, "broker(s) [3] are left in place") || strings.Contains(o, "brokers [3]") {
		t.Fatalf("throttle clear with broker 3 down: exit %d, want %d naming broker 3 as left, not cleared:\n%s", code, exitPartial, o)
	}
	if err := m.c.StartBroker(3); err != nil {
		t.Fatal(err)
	}
	code, o = run("throttle", "clear", m.planPath)
	if code != exitOK || !strings.Contains(o, "brokers [3]") {
		t.Fatalf("throttle clear with broker 3 back: exit %d, want 0 clearing it:\n%s", code, o)
	}
	if r := m.c.BrokerRates(3); len(r) > 0 {
		t.Errorf("broker 3 keeps rates %v after throttle clear", r)
	}
}
