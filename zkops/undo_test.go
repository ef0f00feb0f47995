package zkops_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
)

func TestPruneRefusedWhileSourceIsMember(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	admin := e.Client()
	kafkaLayout(t, admin, admin, "/a", "cluster-a", []int{1})
	b := zktest.Dial(t, e.Connect(), false)
	kafkaLayout(t, admin, b, "/b", "cluster-b", []int{2})
	b.Close() // no live registrations under /b
	ch := &plans.ZooKeeperChange{Connect: e.Connect(), Chroot: "/a", Sources: []int{1}, Prune: []string{"/b"}}
	_, err := zkops.Prune(ctx, admin, ch, false, zkops.Options{})
	if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), "source server 1 is still a member") {
		t.Fatalf("prune with source 1 a member: %v, want a refusal", err)
	}
	if ok, _, _ := admin.Exists("/b/cluster/id"); !ok {
		t.Fatal("/b was deleted despite the refusal")
	}
}

func TestPruneRefusedWithLiveBrokers(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	admin := e.Client()
	kafkaLayout(t, admin, admin, "/a", "cluster-a", []int{1})
	b := zktest.Dial(t, e.Connect(), false)
	kafkaLayout(t, admin, b, "/b", "cluster-b", []int{2, 3})
	// Source ids 7, 8, 9 are not members: only the live brokers stop it.
	ch := &plans.ZooKeeperChange{Connect: e.Connect(), Chroot: "/a", Sources: []int{7, 8, 9}, Prune: []string{"/b"}}
	_, err := zkops.Prune(ctx, admin, ch, false, zkops.Options{})
	if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), "/b: brokers [2 3]") {
		t.Fatalf("prune of /b with brokers 2, 3 registered: %v, want a refusal naming them", err)
	}
	if n, err := zkops.CountZNodes(ctx, admin, "/b"); err != nil || n < 10 {
		t.Fatalf("/b after the refusal: %d znodes, %v", n, err)
	}
	// Prune never touches the migrated chroot, even when asked.
	ch.Prune = []string{"/a"}
	if _, err := zkops.Prune(ctx, admin, ch, true, zkops.Options{}); !errors.Is(err, zkops.ErrRefused) {
		t.Fatalf("prune of the migrated chroot: %v, want a refusal", err)
	}
}

// TestPruneKeepsKshiftState: a cluster at the root owns /kshift (kshift's
// lock, throttle records and audit trail) beside the other clusters'
// chroots. Prune deletes whole chroots, each with its own kshift state,
// and refuses a kshift subtree or any other piece of a cluster's data.
func TestPruneKeepsKshiftState(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	admin := e.Client()
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/cluster", "/cluster/id", "/brokers", "/brokers/ids", "/kshift", "/kshift/lock"} {
		if _, err := admin.Create(p, []byte("{}"), 0, acl); err != nil {
			t.Fatalf("creating %s: %v", p, err)
		}
	}
	kafkaLayout(t, admin, admin, "/kafka/a", "cluster-a", []int{1})
	b := zktest.Dial(t, e.Connect(), false)
	kafkaLayout(t, admin, b, "/kafka/b", "cluster-b", []int{2})
	b.Close() // no live registrations under /kafka/b
	for _, p := range []string{"/kafka/a/kshift", "/kafka/b/kshift"} {
		if _, err := admin.Create(p, []byte(`{"version":1}`), 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	ch := &plans.ZooKeeperChange{Connect: e.Connect(), Chroot: "/kafka/a", Sources: []int{7}}
	for _, tc := range []struct{ prune, says string }{
		{"/kshift", "kshift's own state"},
		{"/kafka/b/kshift", "kshift's own state"},
		{"/brokers", "part of the Kafka cluster at /"},
		{"/kafka/b/brokers", "part of the Kafka cluster at /kafka/b"},
	} {
		ch.Prune = []string{"/kafka/b", tc.prune}
		_, err := zkops.Prune(ctx, admin, ch, false, zkops.Options{})
		if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("prune of %s: %v, want a refusal saying %q", tc.prune, err, tc.says)
		}
	}
	for _, p := range []string{"/kshift/lock", "/brokers/ids", "/kafka/b/kshift", "/kafka/b/brokers"} {
		if ok, _, err := admin.Exists(p); err != nil || !ok {
			t.Fatalf("%s is gone after the refusals (%v)", p, err)
		}
	}
	// A whole chroot goes, its kshift state with it; the root cluster's
	// state and the migrated chroot's stay.
	ch.Prune = []string{"/kafka/b"}
	if _, err := zkops.Prune(ctx, admin, ch, false, zkops.Options{}); err != nil {
		t.Fatalf("prune of /kafka/b: %v", err)
	}
	for p, want := range map[string]bool{"/kafka/b": false, "/kshift/lock": true, "/kafka/a/kshift": true} {
		if ok, _, err := admin.Exists(p); err != nil || ok != want {
			t.Errorf("%s exists = %v (%v) after the prune, want %v", p, ok, err, want)
		}
	}
}

// hook is a progress writer that runs fn once, at the first line holding
// trigger: a fault injected at a known point of a step.
type hook struct {
	mu      sync.Mutex
	trigger string
	fn      func()
	log     strings.Builder
}

func (h *hook) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log.Write(p)
	if h.fn != nil && strings.Contains(string(p), h.trigger) {
		h.fn()
		h.fn = nil
	}
	return len(p), nil
}

// TestHandoverPrechecksHalfWayAndUndoOfStoppedServers: a paused target
// refuses the hand-over before anything changes; a target paused once the
// hand-over has begun stops it half way, and the error says which servers
// changed and how to finish; once the retired voters are stopped, the undo
// is refused up front (one of them still running is not re-added alone)
// with the dynamic config to start them with, and works once they run.
func TestHandoverPrechecksHalfWayAndUndoOfStoppedServers(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 3})
	var sources, targets []plans.ZKServer
	for _, id := range e.IDs() {
		sources = append(sources, server(e.Node(id), plans.RoleParticipant))
	}
	for i := 0; i < 3; i++ {
		targets = append(targets, server(e.AddNode(""), plans.RoleObserver))
	}
	joined := append(append([]plans.ZKServer{}, sources...), targets...)
	join := &plans.Step{Number: 1, Phase: plans.PhaseZKJoin, ZooKeeper: &plans.ZooKeeperChange{Connect: e.Connect(), Join: targets, Before: sources, Mode: plans.ZKModeHandover}}
	handover := &plans.Step{Number: 4, Phase: plans.PhaseZKHandover, ZooKeeper: &plans.ZooKeeperChange{Connect: e.Connect(), Promote: []int{4, 5, 6}, Retire: []int{1, 2, 3}, Before: joined, Mode: plans.ZKModeHandover}}
	// Not through 6, which the test pauses.
	conn := e.Client(4, 5)
	status := func(step *plans.Step, want zkops.State) {
		t.Helper()
		got, why, err := zkops.StepStatus(ctx, conn, step, zkops.Options{})
		if err != nil || got != want {
			t.Fatalf("step %d status = %s (%s), %v; want %s", step.Number, got, why, err, want)
		}
	}
	const before = "1:participant 2:participant 3:participant"
	const afterJoin = "1:participant 2:participant 3:participant 4:observer 5:observer 6:observer"
	// The join, its undo (back to the membership it found) and the join again.
	status(join, zkops.StatePending)
	if err := zkops.ApplyStep(ctx, conn, join, zkops.Options{}); err != nil {
		t.Fatalf("join: %v", err)
	}
	status(join, zkops.StateDone)
	if err := zkops.UndoStep(ctx, conn, join, zkops.Options{}); err != nil {
		t.Fatalf("undo join: %v", err)
	}
	if got := membership(t, ctx, conn); got != before {
		t.Fatalf("after undoing the join: %s, want %s", got, before)
	}
	status(join, zkops.StatePending)
	if err := zkops.ApplyStep(ctx, conn, join, zkops.Options{}); err != nil {
		t.Fatalf("join again: %v", err)
	}
	status(handover, zkops.StatePending)

	t0 := time.Now()
	phase := func(what string) { t.Logf("%s: %s", what, time.Since(t0).Round(time.Millisecond)) }
	e.Node(6).Pause()
	err := zkops.ApplyStep(ctx, conn, handover, zkops.Options{SyncTimeout: 3 * time.Second})
	phase("refused up front")
	e.Node(6).Resume()
	if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), "server 6, to be promoted, does not answer") {
		t.Errorf("hand-over with target 6 paused: %v, want a refusal before any change", err)
	}
	if got := membership(t, ctx, conn); got != afterJoin {
		t.Fatalf("membership after the refused hand-over: %s, want %s", got, afterJoin)
	}
	waitMode := func(id int, mode string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			if m, err := e.Node(id).Mode(time.Second); err == nil && m == mode {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %d not back as %s", id, mode)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitMode(6, "observer")

	h := &hook{trigger: "server 4 is a participant", fn: func() { e.Node(6).Pause() }}
	err = zkops.ApplyStep(ctx, conn, handover, zkops.Options{Out: h, SyncTimeout: 3 * time.Second})
	e.Node(6).Resume()
	waitMode(6, "observer")
	if err == nil || !strings.Contains(err.Error(), "the step stopped half way: servers 4 (participant, was observer), 5 (participant, was observer) changed") ||
		!strings.Contains(err.Error(), "kshift apply PLAN --step 4") || !strings.Contains(err.Error(), "kshift rollback PLAN --step 4") {
		t.Fatalf("hand-over with target 6 paused after the first promotion: %v, want the half-way report", err)
	}
	phase("half way")
	// Server 6, resumed, may drop out once more while it reconnects: the
	// pre-check refuses until it serves again.
	for deadline := time.Now().Add(60 * time.Second); ; {
		err := zkops.ApplyStep(ctx, conn, handover, zkops.Options{})
		if err == nil {
			break
		}
		if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), "does not answer") || time.Now().After(deadline) {
			t.Fatalf("finishing the hand-over: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	phase("finished")
	if got := membership(t, ctx, conn); got != "4:participant 5:participant 6:participant" {
		t.Fatalf("after the hand-over: %s", got)
	}
	status(handover, zkops.StateDone)
	if err := zkops.ApplyStep(ctx, conn, handover, zkops.Options{}); err != nil {
		t.Fatalf("applying the done hand-over again: %v", err)
	}

	// The retired voters are stopped, but for 1: the undo re-adds none.
	e.Node(2).Stop()
	e.Node(3).Stop()
	err = zkops.UndoStep(ctx, conn, handover, zkops.Options{})
	if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("undo with retired servers 2 and 3 stopped: %v, want a refusal up front", err)
	}
	if got := membership(t, ctx, conn); got != "4:participant 5:participant 6:participant" {
		t.Fatalf("the refused undo changed the membership: %s", got)
	}
	// Start them as the refusal says, with the dynamic config it prints.
	for _, id := range []int{2, 3} {
		re := regexp.MustCompile(fmt.Sprintf(`(?s)server %d at [^\n]*write its zoo.cfg.dynamic as\n(.*?)\n   \(no version line\)`, id))
		m := re.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("the refusal gives no dynamic config for server %d:\n%v", id, err)
		}
		var lines []string
		for _, l := range strings.Split(m[1], "\n") {
			lines = append(lines, strings.TrimSpace(l))
		}
		n := e.Node(id)
		n.StartWithConfig(n.ZooCfg(), strings.Join(lines, "\n")+"\n")
		n.WaitServing(60 * time.Second)
	}
	phase("restarted 2 and 3")
	if err := zkops.UndoStep(ctx, conn, handover, zkops.Options{}); err != nil {
		t.Fatalf("undo once the retired servers run again: %v", err)
	}
	phase("undone")
	if got := membership(t, ctx, conn); got != afterJoin {
		t.Fatalf("after the undo: %s, want %s", got, afterJoin)
	}
	status(handover, zkops.StatePending)
	if err := zkops.WriteCheck(ctx, conn); err != nil {
		t.Fatal(err)
	}
}
