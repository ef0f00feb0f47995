package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kshift/kshift/plans"
)

// TestApplyRetireSources runs the retire-sources step through the command
// line on the simulator kept in a real ZooKeeper: apply --all applies the
// moves, moves the controller off the sources, prints the checklist and
// the stop order, and stops there (exit 0) rather than going on to the
// ZooKeeper hand-over after it; status shows the step waiting for the
// operator; once the sources are stopped, apply --step N says it is done.
func TestApplyRetireSources(t *testing.T) {
	m := newMigration(t, 50, 1, 2, 1<<20, 50<<20, 8).useZooKeeper(t)
	p := m.plan
	retire := len(p.Steps) + 1
	p.Steps = append(p.Steps,
		plans.Step{Number: retire, Phase: plans.PhaseRetireSources, Retire: &plans.RetireChange{Sources: p.SourceBrokers, Targets: p.TargetBrokers}},
		plans.Step{Number: retire + 1, Phase: plans.PhaseZKHandover, ZooKeeper: &plans.ZooKeeperChange{Connect: "127.0.0.1:1", Promote: []int{4}, Retire: []int{1}}})
	p.Totals = plans.ComputeTotals(p.Steps)
	data, err := plans.Marshal(p)
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
	// A dry run of the whole plan checks the step against what the moves
	// would leave, and deletes nothing.
	out, code := run("apply", m.planPath, "--all", "--dry-run")
	if code != 0 || !strings.Contains(out, "would delete "+m.zk.Chroot+"/controller (controller: source broker 0)") || m.c.Controller() != 0 {
		t.Errorf("apply --all --dry-run: exit %d, controller %d\n%s", code, m.c.Controller(), out)
	}
	out, code = run("apply", m.planPath, "--all", "--auto-continue", "--poll-interval", "20ms")
	if code != 0 {
		t.Fatalf("apply --all: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		fmt.Sprintf("step %d (retire-sources): retire source brokers [0 1 2], clients to [3 4 5]", retire),
		"controller: moved from source broker 0 to target broker 3 after 3 election(s)",
		"clients' bootstrap list: " + strings.Join(addrsOf(m, 3, 4, 5), ","),
		"in this order: 0, 1, 2",
		fmt.Sprintf("stopped at step %d: the steps after it need the source brokers gone", retire),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply --all output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, fmt.Sprintf("step %d (zk-handover)", retire+1)) {
		t.Errorf("apply --all went on to the zk-handover step:\n%s", out)
	}
	if st, _ := run("status", m.planPath); !strings.Contains(st, "waiting-for-operator") || !strings.Contains(st, "stop source brokers [0 1 2] in this order (controller 3)") {
		t.Errorf("status:\n%s", st)
	}
	for _, id := range []int32{0, 1, 2} {
		if err := m.c.StopBroker(id); err != nil {
			t.Fatal(err)
		}
	}
	out, code = run("apply", m.planPath, "--step", fmt.Sprint(retire), "--wait-for-sources", "20s", "--poll-interval", "20ms")
	if code != 0 || !strings.Contains(out, "done: source brokers [0 1 2] have left; nothing is offline or under-replicated; controller 3") {
		t.Errorf("apply --step %d with the sources stopped: exit %d\n%s", retire, code, out)
	}
}

func addrsOf(m *migration, ids ...int32) []string {
	var out []string
	for _, id := range ids {
		a, _ := m.c.Addr(id)
		out = append(out, a)
	}
	return out
}
