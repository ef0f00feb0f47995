package acceptance

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kshift/kshift/internal/kafkatest"
	"github.com/kshift/kshift/plans"
)

// TestRetireSources ends a migration on a real Kafka 2.4 cluster of its
// own (sources 1-2 holding the data and the controller, targets 3-4 joined
// empty) with a producer and a consumer group running: apply --all stops at
// the retire-sources step after it moved the controller to a target and
// printed the stop order (exit 0, status waiting-for-operator); the
// sources are stopped in that order; apply --step N then finds them gone
// and nothing offline or under-replicated (status done); the group's
// coordinator is a target; no acknowledged record is lost.
func TestRetireSources(t *testing.T) {
	c := kafkatest.Start(t, kafkatest.Options{Brokers: 2, Later: 2, IDs: []int32{1, 2, 3, 4},
		Racks: map[int32]string{1: "r1", 2: "r2", 3: "r1", 4: "r2"}})
	kshiftBinary(t)
	const topic = "orders"
	c.CreateTopic(t, topic, kafkatest.Topic{Partitions: 4, ReplicationFactor: 2})
	createOffsetsTopic(t, c)
	c.StartBrokers(t, 3, 4)
	conn, _, err := zk.Connect([]string{c.ZooKeeperEnsemble()}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	f := &fixture{t: t, c: c, zk: conn}
	if ctl := controllerOf(t, f); ctl != 1 && ctl != 2 {
		t.Fatalf("controller %d before the migration: want a source (the sources started first)", ctl)
	}
	group := kafkatest.GroupName(t, "readers")
	w := c.StartWorkload(t, kafkatest.WorkloadOptions{Topics: []string{topic}, Rate: 100, RecordBytes: 200, Group: group})

	planPath, p := f.plan(mapping{from: []int32{1, 2}, to: []int32{3, 4}, strategy: plans.StrategyPhased, throttle: "20MiB/s", perStep: 8})
	retire := p.Steps[len(p.Steps)-1]
	if retire.Phase != plans.PhaseRetireSources {
		t.Fatalf("the plan ends with %s, want %s", retire.Phase, plans.PhaseRetireSources)
	}
	out, code := f.kshift("apply", planPath, "--all", "--auto-continue")
	if code != 0 {
		t.Fatalf("apply --all: exit %d\n%s", code, out)
	}
	moved := regexp.MustCompile(`controller: moved from source broker (\d) to target broker (\d) after (\d+) election`).FindStringSubmatch(out)
	if moved == nil {
		t.Fatalf("apply --all did not say it moved the controller:\n%s", out)
	}
	if got := controllerOf(t, f); strconv.Itoa(int(got)) != moved[2] || got < 3 {
		t.Errorf("controller %d after the retire step, it said %s", got, moved[2])
	}
	t.Logf("apply --all, the retire step:\n%s", out[strings.Index(out, fmt.Sprintf("step %d (retire-sources)", retire.Number)):])
	order := regexp.MustCompile(`in this order: (\d), (\d)\n`).FindStringSubmatch(out)
	if order == nil || !strings.Contains(out, "waiting for the operator: source brokers [1 2] are still registered") {
		t.Fatalf("apply --all printed no stop order or wait:\n%s", out)
	}
	if st, _ := f.kshift("status", planPath); !regexp.MustCompile(fmt.Sprintf(`│ %d +│ retire-sources +│ waiting-for-operator`, retire.Number)).MatchString(st) {
		t.Errorf("status before the sources stop:\n%s", st)
	}

	// The operator stops the sources, one at a time, in the order given.
	for _, id := range order[1:] {
		n, _ := strconv.Atoi(id)
		c.Broker(t, int32(n)).Stop(t)
	}
	out, code = f.kshift("apply", planPath, "--step", strconv.Itoa(retire.Number), "--wait-for-sources", "30s")
	if code != 0 || !strings.Contains(out, "done: source brokers [1 2] have left; nothing is offline or under-replicated") {
		t.Fatalf("apply --step %d with the sources stopped: exit %d\n%s", retire.Number, code, out)
	}
	if st, _ := f.kshift("status", planPath); !regexp.MustCompile(fmt.Sprintf(`│ %d +│ retire-sources +│ done`, retire.Number)).MatchString(st) {
		t.Errorf("status once the sources left:\n%s", st)
	}
	// A group's coordinator is the leader of its __consumer_offsets
	// partition: a target now.
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey = group
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, c.Client(t))
	if err != nil || resp.ErrorCode != 0 || resp.NodeID < 3 {
		t.Errorf("group %s's coordinator: %+v, %v; want a target", group, resp, err)
	}
	rep := w.Verify(t)
	t.Logf("controller moved %s to %s after %s election(s); sources stopped in order %v; workload: %s", moved[1], moved[2], moved[3], order[1:], rep)
}

// controllerOf reads the controller's broker id from ZooKeeper.
func controllerOf(t *testing.T, f *fixture) int32 {
	t.Helper()
	data, _, err := f.zk.Get(f.c.Chroot() + "/controller")
	if err != nil {
		t.Fatalf("reading /controller: %v", err)
	}
	var doc struct {
		BrokerID int32 `json:"brokerid"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.BrokerID
}
