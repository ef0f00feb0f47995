package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kshift/kshift/internal/zktest"
)

// TestClusterTargetsJoinEmptyAndBrokersStopKillAndRestart runs the life of a
// migration's cluster: sources up with data, a target joining empty, and a
// clean stop, a kill and restarts of brokers on the same port and data.
func TestClusterTargetsJoinEmptyAndBrokersStopKillAndRestart(t *testing.T) {
	start := time.Now()
	c := Start(t, Options{Brokers: 2, Later: 1, Racks: map[int32]string{1: "east", 2: "west", 3: "east"}})
	t.Logf("ZooKeeper and 2 brokers up in %s", time.Since(start).Round(time.Millisecond))
	if want := []int32{1, 2}; !slices.Equal(c.Running(), want) {
		t.Fatalf("running brokers %v, want %v", c.Running(), want)
	}
	if !strings.HasPrefix(c.ZooKeeper(), c.ZooKeeperEnsemble()+"/kafka-") || !strings.HasSuffix(c.ZooKeeper(), c.Chroot()) {
		t.Fatalf("ZooKeeper() = %q, want the ensemble %q and the chroot %q", c.ZooKeeper(), c.ZooKeeperEnsemble(), c.Chroot())
	}
	zk := zktest.Dial(t, c.ZooKeeperEnsemble(), false)
	registered := func() []string {
		t.Helper()
		ids, _, err := zk.Children(c.Chroot() + "/brokers/ids")
		if err != nil {
			t.Fatalf("reading the registered brokers under %s: %v", c.Chroot(), err)
		}
		sort.Strings(ids)
		return ids
	}
	if got := registered(); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("registered brokers %v, want [1 2]", got)
	}

	topic := TopicName(t, "data")
	step := time.Now()
	c.CreateTopic(t, topic, Topic{Partitions: 4, ReplicationFactor: 2})
	c.Fill(t, topic, 2000, 1000)
	t.Logf("topic made and filled in %s", time.Since(step).Round(time.Millisecond))

	step = time.Now()
	c.Broker(t, 3).Start(t)
	t.Logf("broker 3 up in %s", time.Since(step).Round(time.Millisecond))
	if got := registered(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("registered brokers after starting 3: %v, want [1 2 3]", got)
	}
	checkRacks(t, c)
	parts := partitions(t, c, topic)
	for _, p := range parts {
		if slices.Contains(p.Replicas, 3) {
			t.Errorf("partition %d has replicas %v: broker 3 started after the topic was made and must hold none", p.Partition, p.Replicas)
		}
	}
	if held := topicDirs(t, c.Broker(t, 3).DataDir(), topic); len(held) > 0 {
		t.Errorf("broker 3 joined with %v of %s: want it empty", held, topic)
	}

	b2 := c.Broker(t, 2)
	pid := b2.Pid()
	step = time.Now()
	b2.Stop(t)
	t.Logf("broker 2 stopped in %s", time.Since(step).Round(time.Millisecond))
	if processAlive(pid) || b2.Running() || b2.Pid() != 0 {
		t.Fatalf("broker 2 (pid %d) still runs after Stop", pid)
	}
	WaitFor(t, 10*time.Second, "broker 2 out of every ISR", func(ctx context.Context) error {
		return notInISR(ctx, c, topic, 2)
	})
	step = time.Now()
	b2.Start(t)
	c.WaitInSync(t, topic)
	t.Logf("broker 2 back in sync in %s", time.Since(step).Round(time.Millisecond))

	b1 := c.Broker(t, 1)
	pid = b1.Pid()
	held := topicDirs(t, b1.DataDir(), topic)
	b1.Kill(t)
	if processAlive(pid) {
		t.Fatalf("broker 1 (pid %d) alive after Kill", pid)
	}
	killed := time.Now()
	b1.Start(t) // waits for the killed broker's ZooKeeper session to expire
	t.Logf("broker 1 back %s after a kill", time.Since(killed).Round(time.Millisecond))
	if got := advertised(t, c, 1); got != fmt.Sprintf("127.0.0.1:%d", b1.Port) {
		t.Fatalf("broker 1 came back advertising %s, want its port %d", got, b1.Port)
	}
	if got := topicDirs(t, b1.DataDir(), topic); len(held) == 0 || !slices.Equal(got, held) {
		t.Fatalf("broker 1 held %v before the kill and %v after: want the same data back", held, got)
	}
	c.WaitInSync(t, topic)
	for _, id := range c.IDs() {
		rss, err := c.Broker(t, id).RSS()
		if err != nil {
			t.Fatalf("reading broker %d's memory: %v", id, err)
		}
		t.Logf("broker %d RSS %d MiB", id, rss>>20)
	}
}

// checkRacks compares the racks Metadata reports with Options.Racks.
func checkRacks(t *testing.T, c *Cluster) {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(t.Context(), c.Client(t))
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	got := map[int32]string{}
	for _, b := range resp.Brokers {
		if b.Rack != nil {
			got[b.NodeID] = *b.Rack
		}
	}
	want := map[int32]string{1: "east", 2: "west", 3: "east"}
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(c.Racks()) != fmt.Sprint(want) {
		t.Fatalf("racks in Metadata %v, c.Racks() %v, want %v", got, c.Racks(), want)
	}
}

// advertised is the host:port Metadata gives for broker id.
func advertised(t *testing.T, c *Cluster, id int32) string {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(t.Context(), c.Client(t))
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for _, b := range resp.Brokers {
		if b.NodeID == id {
			return fmt.Sprintf("%s:%d", b.Host, b.Port)
		}
	}
	return "nowhere"
}

func partitions(t *testing.T, c *Cluster, topic string) []Partition {
	t.Helper()
	parts, err := c.Partitions(t.Context(), topic)
	if err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	return parts[topic]
}

func notInISR(ctx context.Context, c *Cluster, topic string, id int32) error {
	parts, err := c.Partitions(ctx, topic)
	if err != nil {
		return err
	}
	for _, p := range parts[topic] {
		if slices.Contains(p.ISR, id) {
			return fmt.Errorf("partition %d ISR %v", p.Partition, p.ISR)
		}
	}
	return nil
}

// topicDirs lists the partition folders of topic in a broker's data dir.
func topicDirs(t *testing.T, dataDir, topic string) []string {
	t.Helper()
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		t.Fatalf("reading %s: %v", dataDir, err)
	}
	var held []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), topic+"-") {
			held = append(held, e.Name())
		}
	}
	return held
}

func processAlive(pid int) bool {
	return pid > 0 && !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
