package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
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
	m := newMigration(t, 20, 1, 2, 64<<20, 2<<20, 4, heldClock).useZooKeeper(t)
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
	fast := executor.New(cl, executor.Options{Throttle: 200 << 20, PollInterval: 20 * time.Millisecond, Store: m.zk.store(t),
		Audit: executor.OpenAudit(filepath.Join(m.dir, "kshift-audit.jsonl"))})
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
	// The clock stood still since the interrupt: every partition of the
	// undo is still in flight, and the cancel reverts them all.
	want := fmt.Sprintf("undo (rollback) of step 3: reverted %d partition(s) back to the step's to; 0 were already back at its from", len(lower.Partitions))
	if out, code := run("cancel", m.planPath); code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "cleared kshift's throttles") || strings.Contains(out, "nothing of the plan") {
		t.Fatalf("cancel: exit %d; want %q and the throttles cleared\n%s", code, want, out)
	}
	clock.SetFactor(speed)
	m.finalState(t)
}

// TestRollbackDryRunAcrossZooKeeperSteps pins `kshift rollback --to-step 1
// --dry-run` over a migration whose zk-join (step 1) and zk-handover (step
// 5) ran on a real ZooKeeper ensemble: each step is checked against what the
// undos dry-run before it would leave (the undone zk-handover is pending,
// though the live ensemble still shows it done), so the run exits 0, prints
// the undo of every step in reverse order, and changes neither the cluster,
// its throttles nor the ensemble.
func TestRollbackDryRunAcrossZooKeeperSteps(t *testing.T) {
	ens := zktest.StartEnsemble(t, zktest.Options{Voters: 3})
	target := ens.AddNode("")
	zkServer := func(n *zktest.Node, role string) plans.ZKServer {
		return plans.ZKServer{ID: n.ID, Host: "127.0.0.1", QuorumPort: n.QuorumPort, ElectionPort: n.ElectionPort, ClientPort: n.ClientPort, Role: role}
	}
	var sources []plans.ZKServer
	for _, id := range ens.IDs()[:3] {
		sources = append(sources, zkServer(ens.Node(id), plans.RoleParticipant))
	}
	joined := zkServer(target, plans.RoleObserver)
	t.Setenv("KSHIFT_ZK_DIGEST", zktest.SuperUser+":"+zktest.SuperPassword)

	// The cluster's own ZooKeeper (where kshift keeps its state) is not
	// the ensemble the plan migrates: the shared one.
	m := newMigration(t, 20, 1, 2, 64<<20, 2<<20, 4).useZooKeeper(t)
	join := plans.Step{Phase: plans.PhaseZKJoin, ZooKeeper: &plans.ZooKeeperChange{Connect: ens.Connect(),
		Join: []plans.ZKServer{joined}, Before: sources}}
	handover := plans.Step{Phase: plans.PhaseZKHandover, ZooKeeper: &plans.ZooKeeperChange{Connect: ens.Connect(),
		Promote: []int{target.ID}, Retire: []int{1}, Before: append(slices.Clone(sources), joined)}}
	m.plan.Steps = append(append([]plans.Step{join}, m.plan.Steps...), handover)
	for i := range m.plan.Steps {
		m.plan.Steps[i].Number = i + 1
	}
	data, err := plans.Marshal(m.plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.planPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		out, err := kshiftCmd(t, append(args, m.connArgs()...)...).CombinedOutput()
		return string(out), exitCodeOf(err)
	}
	if out, code := run("apply", m.planPath, "--all", "--auto-continue", "--throttle", "200MiB/s", "--poll-interval", "20ms"); code != 0 {
		t.Fatalf("apply --all: exit %d\n%s", code, out)
	}
	// kshift status reads each zk step from the ensemble, with why.
	out, code := run("status", m.planPath, "-o", "json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	var st struct {
		Steps []struct {
			Number int    `json:"number"`
			Phase  string `json:"phase"`
			State  string `json:"state"`
			Detail string `json:"detail"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	for _, s := range st.Steps {
		if strings.HasPrefix(s.Phase, "zk-") && s.State != "done" {
			t.Errorf("status of step %d (%s): %s (%s), want done", s.Number, s.Phase, s.State, s.Detail)
		}
	}
	out, code = run("status", m.planPath)
	if code != 0 || !strings.Contains(out, "membership: 2:participant 3:participant 4:participant") {
		t.Errorf("status table does not show the zk steps' detail: exit %d\n%s", code, out)
	}
	admin := ens.Client(target.ID)
	membership := func() string {
		cfg, err := zkops.ReadConfig(context.Background(), admin)
		if err != nil {
			t.Fatalf("reading the ensemble's config: %v", err)
		}
		var ms []string
		for _, s := range cfg.Members {
			ms = append(ms, fmt.Sprintf("%d:%s", s.ID, s.Role))
		}
		return strings.Join(ms, " ")
	}
	applied := membership()
	if want := "2:participant 3:participant 4:participant"; applied != want {
		t.Fatalf("membership after the migration: %s, want %s", applied, want)
	}

	out, code = run("rollback", m.planPath, "--to-step", "1", "--dry-run", "--poll-interval", "20ms")
	if code != 0 {
		t.Fatalf("rollback --to-step 1 --dry-run: exit %d\n%s", code, out)
	}
	// Every undo prints its call, the last step's first.
	var wants []string
	for i := len(m.plan.Steps) - 1; i >= 0; i-- {
		s := m.plan.Steps[i]
		if s.Phase.IsZooKeeper() {
			wants = append(wants, "would call zookeeper undo "+string(s.Phase)+": "+s.ZooKeeper.String())
			if want := fmt.Sprintf("undo of step %d (%s): dry run, nothing changed", s.Number, s.Phase); !strings.Contains(out, want) {
				t.Errorf("rollback dry run: output lacks %q:\n%s", want, out)
			}
			continue
		}
		var calls []string
		for _, mv := range s.Partitions {
			calls = append(calls, fmt.Sprintf("%s=%v", mv.Name(), mv.From))
		}
		wants = append(wants, "would call AlterPartitionAssignments: "+strings.Join(calls, ", ")+"\n")
	}
	at := 0
	for _, want := range wants {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("rollback dry run: output lacks %q after offset %d (undos in reverse order):\n%s", want, at, out)
		}
		at += i + len(want)
	}
	if want := "dry run: undo of step 1 is checked against the cluster as the 4 step(s) dry-run before it"; !strings.Contains(out, want) {
		t.Errorf("rollback dry run: output lacks %q:\n%s", want, out)
	}
	if got := membership(); got != applied {
		t.Errorf("the rollback dry run changed the ensemble: %s, was %s", got, applied)
	}
	m.finalState(t)
}
