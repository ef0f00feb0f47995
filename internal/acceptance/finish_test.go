package acceptance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/kafkatest"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFinishSafely is issue 17 on the real cluster, with a producer and a
// consumer group running throughout:
//   - partitions created after the plan (a new topic, and two partitions
//     added to clicks, all on the source brokers) are named by status,
//     check --plan and apply, with the command that covers them; a catch-up
//     plan made from a fresh snapshot moves exactly them, and no apply
//     calls the migration finished before it is done;
//   - a target killed for good after the first raise-rf step: status names
//     it at once, and the undo of that step (rollback --step 1) drops its
//     replicas under the lost-broker rule, naming step 1; the operator then
//     replaces it (same id, empty disk) and the migration goes on;
//   - a source killed for good after the move-leader steps: the lower-rf
//     steps drop its replicas under the lost-broker rule and the migration
//     completes; then every acknowledged record is read back.
func TestFinishSafely(t *testing.T) {
	f := sharedCluster(t)
	w := f.c.StartWorkload(t, kafkatest.WorkloadOptions{Topics: []string{f.workloadTopic()}, Rate: 100, RecordBytes: 200, Group: kafkatest.GroupName(t, "readers")})
	from, to := f.side()
	m := mapping{from: from, to: to, strategy: plans.StrategyPhased, throttle: "50MiB/s", perStep: 40}
	planPath, p := f.plan(m)

	// After planning: a new topic and two more clicks partitions, on the sources.
	late := kafkatest.TopicName(t, "late")
	f.c.CreateTopic(t, late, kafkatest.Topic{Assignment: [][]int32{{from[0], from[1], from[2]}, {from[1], from[2], from[0]}}})
	workloadTopics = append(workloadTopics, late)
	f.addPartitions(topicRF3, from)
	uncovered := []string{late + "-0", late + "-1", topicRF3 + "-6", topicRF3 + "-7"}

	out, code := f.kshift("status", planPath)
	f.wantAll("status after new partitions", out, code, 0, append([]string{"NOT COVERED", "kshift plan --catch-up " + planPath}, uncovered...)...)
	out, code = f.kshift("check", "--plan", planPath)
	f.wantAll("check --plan", out, code, -1, append([]string{"coverage", "WARN"}, uncovered...)...)
	out, code = f.kshift("apply", planPath, "--step", "1")
	f.wantAll("apply --step 1", out, code, 0, "warning: 4 partition(s) with a replica on a source broker are not in this plan")

	// A target lost for good: named at once, and the undo of step 1 drops it.
	// Not the controller: after a controller failover onto a busy broker,
	// a preferred election can outlast kshift's call timeout (seen once
	// here; a follow-up), which is not what this test is about.
	lostTarget := to[2]
	if ctrl, err := f.c.Controller(t.Context()); err == nil && ctrl == lostTarget {
		lostTarget = to[1]
	}
	f.loseBroker(lostTarget)
	// Named as soon as the brokers' metadata drops it (a moment after
	// ZooKeeper does: docs/kafka-behaviour.md 24).
	kafkatest.WaitFor(t, 20*time.Second, "status naming the lost target", func(context.Context) error {
		out, code = f.kshift("status", planPath)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("broker %d (adding", lostTarget)) || !strings.Contains(out, "is down") {
			return fmt.Errorf("exit %d:\n%s", code, out)
		}
		return nil
	})
	out, code = f.kshift("rollback", planPath, "--step", "1")
	f.wantAll("rollback --step 1 with a target lost", out, code, 0, "undo of step 1", fmt.Sprintf("broker(s) [%d] are down and the step drops their replicas", lostTarget))
	if n := regexp.MustCompile(`step (\d+)`).FindAllStringSubmatch(out, -1); len(n) > 0 {
		for _, m := range n {
			if m[1] != "1" {
				t.Errorf("rollback --step 1 names step %s, not the plan's step 1:\n%s", m[1], out)
			}
		}
	}
	// The operator replaces the lost target: same id, empty disk.
	if err := os.RemoveAll(f.c.Broker(t, lostTarget).DataDir()); err != nil {
		t.Fatal(err)
	}
	f.c.Broker(t, lostTarget).Start(t)

	// The catch-up, from a fresh snapshot.
	catchUpPath, cu := f.catchUp(planPath, m)
	moved := map[string]bool{}
	for _, s := range cu.Steps {
		for _, mv := range s.Partitions {
			moved[mv.Name()] = true
		}
	}
	for _, u := range uncovered {
		if !moved[u] || len(moved) != len(uncovered) {
			t.Fatalf("the catch-up moves %v, want exactly %v", moved, uncovered)
		}
	}

	// Both plans through their move-leader steps, then a source lost for good.
	f.applyThrough(planPath, lastOfPhase(p, plans.PhaseMoveLeader))
	f.applyThrough(catchUpPath, lastOfPhase(cu, plans.PhaseMoveLeader))
	lostSource := from[0]
	f.loseBroker(lostSource)
	// The lower-rf steps drop the lost source under the rule; the
	// retire-sources step then refuses: the catch-up's partitions are
	// still on the sources.
	out, code = f.kshift("apply", planPath, "--all", "--auto-continue")
	f.wantAll("apply --all with a source lost", out, code, 3, fmt.Sprintf("broker(s) [%d] are down and the step drops their replicas", lostSource), "the plan does not cover still have a replica on a source broker")
	if strings.Contains(out, "migration finished") {
		t.Errorf("apply --all called the migration finished before the catch-up:\n%s", out)
	}
	out, code = f.kshift("apply", catchUpPath, "--all", "--auto-continue")
	f.wantAll("apply the catch-up --all", out, code, 0, "plan finished", "retire-sources step of the plan it catches up")
	if strings.Contains(out, "migration finished") {
		t.Errorf("apply of the catch-up called the migration finished while the sources still run:\n%s", out)
	}
	f.migrated(p)
	f.migrated(cu)
	// Nothing is left on the sources now: the retire-sources step passes
	// its gates and waits for the operator to stop them (TestRetireSources
	// goes on from here on a cluster of its own), and until they are gone
	// the migration is not finished.
	retire := lastOfPhase(p, plans.PhaseRetireSources)
	out, code = f.kshift("apply", planPath, "--step", fmt.Sprint(retire))
	f.wantAll("apply of the retire-sources step", out, code, 0, "the source brokers hold nothing", "waiting for the operator")
	out, code = f.kshift("status", planPath)
	f.wantAll("status at the end", out, code, 0, "waiting-for-operator", "not finished")
	f.c.Broker(t, lostSource).Start(t)
	t.Logf("workload: %s", w.Verify(t))
}

// wantAll fails the test unless the command exited with code (any when
// code < 0) and its output holds every one of words.
func (f *fixture) wantAll(what, out string, code, want int, words ...string) {
	f.t.Helper()
	if want >= 0 && code != want {
		f.t.Fatalf("%s: exit %d, want %d\n%s", what, code, want, out)
	}
	for _, w := range words {
		if !strings.Contains(out, w) {
			f.t.Fatalf("%s: the output lacks %q\n%s", what, w, out)
		}
	}
}

// addPartitions adds two partitions to topic with their replicas on
// brokers (as many as the topic's replication factor now: an earlier
// migration may have lowered it).
func (f *fixture) addPartitions(topic string, brokers []int32) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.t.Context(), 30*time.Second)
	defer cancel()
	parts, err := f.c.Partitions(ctx, topic)
	if err != nil {
		f.t.Fatal(err)
	}
	rf := len(parts[topic][0].Replicas)
	var assignment [][]int32
	for i := range 2 {
		var a []int32
		for j := range rf {
			a = append(a, brokers[(i+j)%len(brokers)])
		}
		assignment = append(assignment, a)
	}
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 20000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, int32(len(parts[topic])+len(assignment))
	for _, a := range assignment {
		ra := kmsg.NewCreatePartitionsRequestTopicAssignment()
		ra.Replicas = a
		rt.Assignment = append(rt.Assignment, ra)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, f.c.Client(f.t))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range resp.Topics {
		if r.ErrorCode != 0 {
			f.t.Fatalf("adding partitions to %s: error %d %v", topic, r.ErrorCode, r.ErrorMessage)
		}
	}
	f.c.WaitInSync(f.t, topic)
}

// loseBroker kills broker id (SIGKILL) and waits until it has left
// ZooKeeper: lost, as far as the cluster can tell.
func (f *fixture) loseBroker(id int32) {
	f.t.Helper()
	f.c.Broker(f.t, id).Kill(f.t)
	znode := path.Join(f.c.Chroot(), "brokers", "ids", fmt.Sprint(id))
	kafkatest.WaitFor(f.t, 30*time.Second, fmt.Sprintf("broker %d deregistered", id), func(context.Context) error {
		ok, _, err := f.zk.Exists(znode)
		if err == nil && ok {
			err = fmt.Errorf("%s exists", znode)
		}
		if err == zk.ErrNoNode {
			err = nil
		}
		return err
	})
}

// catchUp snapshots the cluster and plans the catch-up of the plan at
// planPath with mapping m, and returns its path and the plan.
func (f *fixture) catchUp(planPath string, m mapping) (string, *plans.Plan) {
	f.t.Helper()
	dir := f.t.TempDir()
	snap, mp := filepath.Join(dir, "snapshot.yaml"), filepath.Join(dir, "mapping.yaml")
	if out, code := f.kshift("snapshot", "--out", snap); code != 0 {
		f.t.Fatalf("snapshot for the catch-up: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(mp, []byte(m.yaml()), 0o644); err != nil {
		f.t.Fatal(err)
	}
	out, err := exec.Command(kshiftBin, "plan", "--catch-up", planPath, "--snapshot", snap, "--mapping", mp, "--out", filepath.Join(dir, "catch-up")).CombinedOutput()
	if err != nil {
		f.t.Fatalf("plan --catch-up: %v\n%s", err, out)
	}
	p := filepath.Join(dir, "catch-up", "plan.yaml")
	pl, _, err := plans.LoadFile[plans.Plan](p)
	if err != nil {
		f.t.Fatal(err)
	}
	return p, pl
}

// lastOfPhase is the number of p's last step of phase ph (0: none).
func lastOfPhase(p *plans.Plan, ph plans.Phase) int {
	n := 0
	for _, s := range p.Steps {
		if s.Phase == ph {
			n = s.Number
		}
	}
	return n
}
