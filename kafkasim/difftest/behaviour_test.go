package difftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kshift/kshift/plans"
)

// behaviour is one row of the differential table: one observed behaviour
// of docs/kafka-behaviour.md, checked through the Kafka protocol on a
// backend.
type behaviour struct {
	// item names the docs/kafka-behaviour.md items the row pins ("8+30"),
	// or "api" for the section on API versions and wrong brokers.
	item string
	name string
	// simOnly, when set, says why the row cannot run on a real cluster;
	// its real subtest skips with it.
	simOnly string
	check   func(k *kit)
}

// TestBehaviour runs every row against the simulator and a real Kafka 2.4
// cluster, as the subtests ROW/sim and ROW/real, side by side. The rows run
// one after another: some look at the whole cluster (every move in flight,
// every broker's rates).
func TestBehaviour(t *testing.T) {
	for _, row := range behaviours {
		name := "item" + row.item + "-" + strings.ReplaceAll(row.name, " ", "-")
		if row.item == "api" {
			name = "api-" + strings.ReplaceAll(row.name, " ", "-")
		}
		t.Run(name, func(t *testing.T) {
			for _, backend := range []string{"sim", "real"} {
				t.Run(backend, func(t *testing.T) {
					t.Parallel()
					if backend == "real" && row.simOnly != "" {
						t.Skip("simulator only: " + row.simOnly)
					}
					row.check(newKit(t, backend))
				})
			}
		})
	}
}

// The messages Kafka 2.4 answers with (item 30: for reading logs, never to
// be parsed by kshift).
const (
	msgInvalidAssignment = "Replica assignment is invalid."
	msgNoPartition       = "The partition does not exist."
	msgNoReassignment    = "No partition reassignment is in progress."
	msgNotController     = "This is not the correct controller for this cluster."
	msgNotNeeded         = "Leader election not needed for topic partition"
	// npeNotSet is the NullPointerException a broker on Java 17 hits on
	// APPEND or SUBTRACT of a list never set (item 15).
	npeNotSet = `Cannot invoke "String.split(String)" because the return value of "java.util.Properties.getProperty(String)" is null`
)

// unique is a value no earlier row set: Kafka 2.4 keeps a broker's
// configs as they were at its last change (item 26), so a row that set a
// value seen before might change nothing.
func unique() string { return strconv.FormatInt(1<<20+time.Now().UnixNano()%(1<<30), 10) }

// sameKeys reports whether a and b hold the same keys, in any order.
func sameKeys(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(x string) bool { return !slices.Contains(b, x) })
}

// entry finds key among entries.
func entry(entries []described, key string) (described, bool) {
	for _, d := range entries {
		if d.name == key {
			return d, true
		}
	}
	return described{}, false
}

// hiddenEntry is how Kafka 2.4 lists a broker config it keeps apart from
// its own definitions (the rates, unknown keys): value null, sensitive and
// read-only, with its source and, when set, one synonym of that source
// (items 13 and 26).
func hiddenEntry(key string, source kmsg.ConfigSource) described {
	d := described{name: key, source: source, sensitive: true, readOnly: true}
	if source != kmsg.ConfigSourceDefaultConfig {
		d.synonyms = []kmsg.ConfigSource{source}
	}
	return d
}

// waitListed waits until broker id (resource id, "" for id < 0) lists key
// as want.
func (k *kit) waitListed(id int32, key string, want described) {
	k.t.Helper()
	via := id
	if via < 0 {
		via = k.other()
	}
	k.wait(settle, fmt.Sprintf("broker %q to list %v", brokerResource(id), want), func() error {
		got, ok := entry(k.describeBroker(via, brokerResource(id), []string{key}), key)
		if !ok || got.String() != want.String() {
			return fmt.Errorf("listed %v: %v", ok, got)
		}
		return nil
	})
}

// waitSource waits until broker id lists key with a source other than
// from, and returns the entry (listed false: not listed).
func (k *kit) waitSource(id int32, key string, from kmsg.ConfigSource) (described, bool) {
	k.t.Helper()
	var got described
	var ok bool
	k.wait(settle, fmt.Sprintf("broker %d to list %s other than %v", id, key, from), func() error {
		got, ok = entry(k.describeBroker(id, brokerResource(id), []string{key}), key)
		if ok && got.source == from {
			return fmt.Errorf("still %v", got)
		}
		return nil
	})
	return got, ok
}

// checkFlight compares one partition in flight with what the row expects.
func (k *kit) checkFlight(topic string, p int32, want inFlight) {
	k.t.Helper()
	got, ok := k.moving(topic, p)[p]
	if !ok {
		k.t.Errorf("%s-%d: not in flight, want %v", topic, p, want)
		return
	}
	if !slices.Equal(got.replicas, want.replicas) || !slices.Equal(got.adding, want.adding) || !slices.Equal(got.removing, want.removing) {
		k.t.Errorf("%s-%d in flight: %v, want %v", topic, p, got, want)
	}
}

// checkAnswer compares a code and message with what the row expects.
func (k *kit) checkAnswer(what string, code int16, msg string, wantCode int16, wantMsg string) {
	k.t.Helper()
	if code != wantCode || msg != wantMsg {
		k.t.Errorf("%s: code %d %q, want %d %q", what, code, msg, wantCode, wantMsg)
	}
}

// validation is a row of item 8: a move refused, or accepted, as data.
func validation(name, topic string, p int32, target []int32, code int16, msg string) behaviour {
	return behaviour{item: "8+30", name: name, check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		if topic == "" {
			topic = t
		} else {
			topic = k.topic(topic) // a name no broker knows
		}
		got, gotMsg := k.reassignOne(topic, p, target)
		k.checkAnswer(fmt.Sprintf("moving %s-%d to %v", topic, p, target), got, gotMsg, code, msg)
		if moves := k.moving(t, 0); len(moves) != 0 {
			k.t.Errorf("a refused move is in flight: %v", moves)
		}
	}}
}

// listFormat is a row of item 14: a throttled-replica list value, the
// answer to setting it, and the value read back when it is accepted.
func listFormat(value string, code int16, readBack string) behaviour {
	name := "list " + strconv.Quote(value)
	if code != 0 {
		name += " refused"
	}
	return behaviour{item: "14", name: name, check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		got, msg := k.alterTopic(t, kmsg.IncrementalAlterConfigOpSet, leaderList, value)
		want := ""
		if code != 0 {
			// The message shows the value parsed as a list.
			want = "Invalid config value for resource ConfigResource(type=TOPIC, name='" + t + "'): Invalid value [" + value +
				"] for configuration " + leaderList + ": " + leaderList +
				" must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
		}
		k.checkAnswer("setting "+strconv.Quote(value), got, msg, code, want)
		d, ok := k.topicConfig(t, leaderList)
		if code == 0 && (!ok || deref(d.value) != readBack || d.source != kmsg.ConfigSourceDynamicTopicConfig) {
			k.t.Errorf("the topic lists %v (listed %v), want %q set", d, ok, readBack)
		}
		if code != 0 && ok && d.source == kmsg.ConfigSourceDynamicTopicConfig {
			k.t.Errorf("after code %d the topic lists %v", got, d)
		}
	}}
}

// rateValue is a row of item 12: a rate value or operation refused. A bad
// value's message names the resource first.
func rateValue(name string, op kmsg.IncrementalAlterConfigOp, key, value string, code int16, msg string) behaviour {
	return behaviour{item: "12", name: name, check: func(k *kit) {
		id := k.other()
		want := msg
		if code == 42 {
			want = fmt.Sprintf("Invalid config value for resource ConfigResource(type=BROKER, name='%d'): %s", id, msg)
		}
		got, gotMsg := k.alterBroker(id, id, op, key, value)
		k.checkAnswer(fmt.Sprintf("%v %s=%q on broker %d", op, key, value, id), got, gotMsg, code, want)
	}}
}

var behaviours = []behaviour{
	// API versions and wrong brokers.
	{item: "api", name: "reassignment requests to a non-controller fail with 41", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		via := k.other()
		apr := k.reassign(via, t, move{0, []int32{3, 2, 1}})
		if apr.ErrorCode != 41 || deref(apr.ErrorMessage) != msgNotController {
			k.t.Errorf("AlterPartitionReassignments via broker %d: code %d %q, want 41 %q", via, apr.ErrorCode, deref(apr.ErrorMessage), msgNotController)
		}
		lpr := k.list(via, nil)
		if lpr.ErrorCode != 41 || deref(lpr.ErrorMessage) != msgNotController {
			k.t.Errorf("ListPartitionReassignments via broker %d: code %d %q, want 41 %q", via, lpr.ErrorCode, deref(lpr.ErrorMessage), msgNotController)
		}
		if got := k.partitionOn(k.controller(), t, 0).Replicas; !slices.Equal(got, []int32{1, 2, 3}) {
			k.t.Errorf("after the refused move: replicas %v", got)
		}
	}},
	{item: "api", name: "ElectLeaders to a non-controller answers 41 per partition", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3}, []int32{2, 3, 1})
		via := k.other()
		resp := k.elect(via, t, 0, 1)
		if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
			k.t.Fatalf("via broker %d: %+v, want top-level 0 and two partitions", via, resp)
		}
		for _, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != 41 {
				k.t.Errorf("partition %d: code %d %q, want 41", p.Partition, p.ErrorCode, deref(p.ErrorMessage))
			}
		}
	}},
	{item: "api", name: "a broker resource sent to another broker fails with 42", check: func(k *kit) {
		via := k.other()
		target := k.controller()
		res := k.describe(via, kmsg.ConfigResourceTypeBroker, brokerResource(target), nil)
		k.checkAnswer("DescribeConfigs", res.code, res.message, 42,
			fmt.Sprintf("Unexpected broker id, expected %d or empty string, but received %d", via, target))
		code, msg := k.alterBroker(via, target, kmsg.IncrementalAlterConfigOpSet, "no.such.key", unique())
		k.checkAnswer("IncrementalAlterConfigs", code, msg, 42,
			fmt.Sprintf("Unexpected broker id, expected %d, but received %d", via, target))
		if res := k.describe(via, kmsg.ConfigResourceTypeBroker, "", nil); res.code != 0 {
			k.t.Errorf("DescribeConfigs of the cluster default via broker %d: code %d %q", via, res.code, res.message)
		}
	}},

	// Reassignments.
	{item: "1", name: "a move lists target then origin", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2}, []int32{2, 1})
		k.slowMoves(t, 2)
		k.mustReassign(t, 0, []int32{2, 3})
		k.mustReassign(t, 1, []int32{3})
		k.checkFlight(t, 0, inFlight{[]int32{2, 3, 1}, []int32{3}, []int32{1}})
		k.checkFlight(t, 1, inFlight{[]int32{3, 2, 1}, []int32{3}, []int32{2, 1}})
		k.waitReplicas(t, 0, []int32{2, 3, 1})
		k.waitReplicas(t, 1, []int32{3, 2, 1})
	}},
	{item: "2+5", name: "moves that copy nothing complete inside the call", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3}, []int32{1, 2, 3}, []int32{1, 2, 3})
		targets := [][]int32{{3, 2, 1}, {1, 2, 3}, {1, 2}}
		bumps := []int32{1, 1, 2} // item 5: completion +1, +1 per removed replica
		before := make([]int32, len(targets))
		for p := range targets {
			before[p] = k.partitionOn(k.controller(), t, int32(p)).LeaderEpoch
		}
		for p, target := range targets {
			k.mustReassign(t, int32(p), target)
			if moves := k.moving(t, int32(p)); len(moves) != 0 {
				k.t.Errorf("partition %d (to %v) right after the call: in flight %v", p, target, moves)
			}
		}
		for p, target := range targets {
			want := before[p] + bumps[p]
			got := k.waitShown(t, int32(p), fmt.Sprintf("with replicas %v, epoch %d or more", target, want), func(got partition) bool {
				return slices.Equal(got.Replicas, target) && got.LeaderEpoch >= want
			})
			if got.LeaderEpoch != want {
				k.t.Errorf("partition %d (to %v): leader epoch %d, want %d", p, target, got.LeaderEpoch, want)
			}
		}
	}},
	{item: "3", name: "a reorder keeps the leader", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		k.mustReassign(t, 0, []int32{3, 2, 1})
		if got := k.waitReplicas(t, 0, []int32{3, 2, 1}); got.Leader != 1 {
			k.t.Errorf("after the reorder: leader %d, want 1", got.Leader)
		}
	}},
	{item: "4+5", name: "the leader stays while copying then the first target leads", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.slowMoves(t, 1)
		e0 := k.partitionOn(k.controller(), t, 0).LeaderEpoch
		k.mustReassign(t, 0, []int32{3, 2})
		got := k.waitShown(t, 0, "with replicas [3 2 1] and a new epoch", func(p partition) bool {
			return slices.Equal(p.Replicas, []int32{3, 2, 1}) && p.LeaderEpoch > e0
		})
		if got.Leader != 1 || got.LeaderEpoch != e0+1 {
			k.t.Errorf("while copying: leader %d epoch %d, want 1 and %d (submission +1)", got.Leader, got.LeaderEpoch, e0+1)
		}
		k.clearRates()
		got = k.waitShown(t, 0, "with replicas [3 2] led by 3", func(p partition) bool {
			return slices.Equal(p.Replicas, []int32{3, 2}) && p.Leader == 3 && p.LeaderEpoch >= e0+3
		})
		if got.LeaderEpoch != e0+3 {
			k.t.Errorf("after completion: leader epoch %d, want %d (submission +1, completion +1, one removed +1)", got.LeaderEpoch, e0+3)
		}
	}},
	{item: "5", name: "a replacement and a cancel each add one to the epoch", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.slowMoves(t, 1)
		epoch := k.partitionOn(k.controller(), t, 0).LeaderEpoch
		for _, step := range []struct {
			target, shown []int32
		}{
			{[]int32{1, 2, 3}, []int32{1, 2, 3}}, // submission +1
			{[]int32{2, 1, 3}, []int32{2, 1, 3}}, // replacement +1
			{nil, []int32{2, 1}},                 // cancel +1
		} {
			k.mustReassign(t, 0, step.target)
			epoch++
			got := k.waitShown(t, 0, fmt.Sprintf("with replicas %v, epoch %d or more", step.shown, epoch), func(p partition) bool {
				return slices.Equal(p.Replicas, step.shown) && p.LeaderEpoch >= epoch
			})
			if got.LeaderEpoch != epoch || got.Leader != 1 {
				k.t.Errorf("after moving to %v: leader %d epoch %d, want leader 1 epoch %d", step.target, got.Leader, got.LeaderEpoch, epoch)
			}
		}
	}},
	{item: "6+20", name: "a replacement is computed from the origin", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1})
		k.slowMoves(t, 1)
		k.mustReassign(t, 0, []int32{1, 2, 3})
		k.checkFlight(t, 0, inFlight{[]int32{1, 2, 3}, []int32{2, 3}, []int32{}})
		k.wait(settle, "broker 2 to list its adding replica", func() error {
			if _, ok := k.logDirOn(2, t, 0); !ok {
				return fmt.Errorf("%s-0 not in broker 2's log dirs", t)
			}
			return nil
		})
		k.mustReassign(t, 0, []int32{3, 1})
		k.checkFlight(t, 0, inFlight{[]int32{3, 1}, []int32{3}, []int32{}})
		k.waitReplicas(t, 0, []int32{3, 1})
		k.wait(settle, "broker 2 to delete the replica no longer added", func() error {
			if d, ok := k.logDirOn(2, t, 0); ok {
				return fmt.Errorf("%s-0 still in broker 2's log dirs: %+v", t, d)
			}
			return nil
		})
	}},
	{item: "28+7", name: "a replacement removes in the current order and a cancel keeps it", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.slowMoves(t, 1)
		k.mustReassign(t, 0, []int32{2, 1, 3})
		k.checkFlight(t, 0, inFlight{[]int32{2, 1, 3}, []int32{3}, []int32{}})
		k.mustReassign(t, 0, []int32{3})
		k.checkFlight(t, 0, inFlight{[]int32{3, 2, 1}, []int32{3}, []int32{2, 1}})
		k.mustReassign(t, 0, nil)
		if moves := k.moving(t, 0); len(moves) != 0 {
			k.t.Errorf("right after the cancel: in flight %v", moves)
		}
		k.waitReplicas(t, 0, []int32{2, 1})
	}},
	{item: "7+2", name: "a cancel restores the origin set in the current order", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.slowMoves(t, 1)
		k.mustReassign(t, 0, []int32{2, 1, 3})
		code, msg := k.reassignOne(t, 0, nil)
		k.checkAnswer("cancel", code, msg, 0, "")
		if moves := k.moving(t, 0); len(moves) != 0 {
			k.t.Errorf("right after the cancel: in flight %v", moves)
		}
		k.waitReplicas(t, 0, []int32{2, 1})
		code, msg = k.reassignOne(t, 0, nil)
		k.checkAnswer("a second cancel", code, msg, 85, msgNoReassignment)
		code, msg = k.reassignOne(k.topic("nope"), 0, nil)
		k.checkAnswer("a cancel of an unknown topic", code, msg, 85, msgNoReassignment)
	}},
	validation("unknown broker", "", 0, []int32{1, 2, 9}, 39, msgInvalidAssignment),
	validation("duplicate broker", "", 0, []int32{1, 1, 2}, 39, msgInvalidAssignment),
	validation("empty list", "", 0, []int32{}, 39, msgInvalidAssignment),
	validation("negative broker", "", 0, []int32{-1, 1, 2}, 39, msgInvalidAssignment),
	validation("stopped broker added", "", 0, []int32{1, 2, stopped}, 39, msgInvalidAssignment),
	validation("unknown topic", "nope", 0, []int32{1, 2, 3}, 3, msgNoPartition),
	validation("unknown partition", "", 7, []int32{1, 2, 3}, 3, msgNoPartition),
	validation("unknown topic and bad list", "nope", 0, []int32{1, 9}, 39, msgInvalidAssignment),
	{item: "8", name: "the same partition twice: the last wins", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		resp := k.reassign(-1, t, move{0, []int32{2, 3, 1}}, move{0, []int32{3, 1, 2}})
		if resp.ErrorCode != 0 || resp.ErrorMessage == nil || *resp.ErrorMessage != "" {
			k.t.Errorf("top level: code %d message %v, want 0 and \"\" (not null)", resp.ErrorCode, resp.ErrorMessage)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			k.t.Errorf("results %+v, want one, code 0", resp.Topics)
		}
		k.waitReplicas(t, 0, []int32{3, 1, 2})
	}},
	{item: "9+29", name: "a list leaves out unknown and idle partitions", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2}, []int32{2, 1})
		k.slowMoves(t, 2)
		k.mustReassign(t, 0, []int32{1, 2, 3})
		nope := k.topic("nope")
		resp := k.list(-1, map[string][]int32{t: {0, 1, 9}, nope: {0}})
		if resp.ErrorCode != 0 || resp.ErrorMessage == nil || *resp.ErrorMessage != "" {
			k.t.Errorf("top level: code %d message %v, want 0 and \"\" (not null)", resp.ErrorCode, resp.ErrorMessage)
		}
		got := flights(resp)
		if len(got) != 1 || len(got[t]) != 1 {
			k.t.Errorf("listed %v, want %s-0 alone", got, t)
		}
		all := flights(k.list(-1, nil))
		if _, ok := all[t][0]; !ok {
			k.t.Errorf("topics null: %s-0 not listed: %v", t, all)
		}
		if _, ok := all[t][1]; ok {
			k.t.Errorf("topics null: the idle %s-1 listed: %v", t, all)
		}
	}},
	{item: "29", name: "a list with nothing in flight answers an empty message", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		resp := k.list(-1, map[string][]int32{t: {0}})
		if resp.ErrorCode != 0 || resp.ErrorMessage == nil || *resp.ErrorMessage != "" || len(resp.Topics) != 0 {
			k.t.Errorf("code %d message %v topics %+v, want 0, \"\" (not null), none", resp.ErrorCode, resp.ErrorMessage, resp.Topics)
		}
	}},
	{item: "24", name: "the controller's list is current at once and Metadata follows", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2}, []int32{1, 2})
		k.slowMoves(t, 2)
		k.mustReassign(t, 0, []int32{2, 1})
		k.mustReassign(t, 1, []int32{1, 2, 3})
		moves := k.moving(t, 0, 1)
		if _, ok := moves[0]; ok {
			k.t.Errorf("the reorder is listed right after its call: %v", moves[0])
		}
		if _, ok := moves[1]; !ok {
			k.t.Errorf("the copying move is not listed right after its call")
		}
		// Every broker shows the old list or the new one, never another.
		for _, id := range running {
			parts, err := k.tryPartitions(id, t)
			if err != nil {
				k.t.Fatal(err)
			}
			if got := parts[0].Replicas; !slices.Equal(got, []int32{1, 2}) && !slices.Equal(got, []int32{2, 1}) {
				k.t.Errorf("broker %d shows partition 0 with replicas %v", id, got)
			}
			if got := parts[1].Replicas; !slices.Equal(got, []int32{1, 2}) && !slices.Equal(got, []int32{1, 2, 3}) {
				k.t.Errorf("broker %d shows partition 1 with replicas %v", id, got)
			}
		}
		k.waitReplicas(t, 0, []int32{2, 1})
		k.waitReplicas(t, 1, []int32{1, 2, 3})
	}},
	{item: "20", name: "an adding replica is listed in its log dir and goes when cancelled", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.slowMoves(t, 1)
		k.mustReassign(t, 0, []int32{1, 2, 3})
		k.wait(settle, "broker 3 to list its adding replica", func() error {
			if _, ok := k.logDirOn(3, t, 0); !ok {
				return fmt.Errorf("%s-0 not in broker 3's log dirs", t)
			}
			return nil
		})
		leader, ok := k.logDirOn(1, t, 0)
		if !ok || leader.size < slowData {
			k.t.Fatalf("the leader's log: %+v (listed %v), want at least %d bytes", leader, ok, slowData)
		}
		if got, _ := k.logDirOn(3, t, 0); got.size >= leader.size || got.offsetLag != 0 {
			k.t.Errorf("the adding replica's log: %+v, want less than the leader's %d bytes and offsetLag 0", got, leader.size)
		}
		k.mustReassign(t, 0, nil)
		k.wait(settle, "broker 3 to delete the cancelled replica", func() error {
			if d, ok := k.logDirOn(3, t, 0); ok {
				return fmt.Errorf("%s-0 still in broker 3's log dirs: %+v", t, d)
			}
			return nil
		})
	}},
	{item: "25", name: "a deleted topic's name is taken for a moment", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		del := kmsg.NewPtrDeleteTopicsRequest()
		del.TimeoutMillis = 30000
		del.TopicNames = []string{t}
		resp := k.request(k.controller(), del).(*kmsg.DeleteTopicsResponse)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
			k.t.Fatalf("deleting %s: %+v", t, resp.Topics)
		}
		code, msg := k.createTopic(t, nil, []int32{1, 2, 3})
		if code != 36 {
			k.t.Errorf("creating %s right after its deletion: code %d %q, want 36 TOPIC_ALREADY_EXISTS", t, code, msg)
		}
		k.wait(settle, "the name to be free", func() error {
			if code, msg := k.createTopic(t, nil, []int32{1, 2, 3}); code != 0 {
				return fmt.Errorf("code %d %q", code, msg)
			}
			return nil
		})
	}},

	// Throttles.
	rateValue("a rate that is not a number", kmsg.IncrementalAlterConfigOpSet, leaderRate, "abc", 42,
		"Invalid value abc for configuration "+leaderRate+": Not a number of type LONG"),
	rateValue("an empty rate", kmsg.IncrementalAlterConfigOpSet, leaderRate, "", 42,
		"Invalid value  for configuration "+leaderRate+": Not a number of type LONG"),
	rateValue("a negative rate", kmsg.IncrementalAlterConfigOpSet, followerRate, "-1", 42,
		"Invalid value -1 for configuration "+followerRate+": Value must be at least 0"),
	// APPEND and SUBTRACT on a rate fail before the value is checked.
	rateValue("APPEND to a rate", kmsg.IncrementalAlterConfigOpAppend, leaderRate, "1", -1, "key not found: "+leaderRate),
	rateValue("SUBTRACT from a rate", kmsg.IncrementalAlterConfigOpSubtract, followerRate, "1", -1, "key not found: "+followerRate),
	{item: "12", name: "a key twice in one request", check: func(k *kit) {
		id := k.other()
		v := unique()
		code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, leaderRate, v, leaderRate, v)
		k.checkAnswer("the leader rate twice", code, msg, 42, "Error due to duplicate config keys : "+leaderRate)
	}},
	{item: "12", name: "validateOnly stores nothing", check: func(k *kit) {
		id := k.other()
		// A rate deleted by an earlier row reads as set for a moment.
		k.waitSource(id, leaderRate, kmsg.ConfigSourceDynamicBrokerConfig)
		code, msg := k.alter(id, kmsg.ConfigResourceTypeBroker, brokerResource(id), true, kmsg.IncrementalAlterConfigOpSet, leaderRate, unique())
		k.checkAnswer("validating a leader rate", code, msg, 0, "")
		// A change made after it, once the broker shows it, shows that
		// the broker has processed everything before it.
		k.t.Cleanup(func() { k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, followerRate, "") })
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, followerRate, unique()); code != 0 {
			k.t.Fatalf("setting the follower rate: code %d %q", code, msg)
		}
		k.waitListed(id, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicBrokerConfig))
		if d, ok := entry(k.describeBroker(id, brokerResource(id), []string{leaderRate}), leaderRate); ok && d.source == kmsg.ConfigSourceDynamicBrokerConfig {
			k.t.Errorf("the validated rate reads as set: %v", d)
		}
	}},
	{item: "12", name: "a cluster-default rate is not enforced", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.fill(t, 0, slowData)
		for _, key := range []string{leaderList, followerList} {
			if code, msg := k.alterTopic(t, kmsg.IncrementalAlterConfigOpSet, key, "*"); code != 0 {
				k.t.Fatalf("setting %s: code %d %q", key, code, msg)
			}
		}
		k.t.Cleanup(func() {
			k.alterBroker(k.other(), -1, kmsg.IncrementalAlterConfigOpDelete, leaderRate, "", followerRate, "")
		})
		if code, msg := k.alterBroker(k.other(), -1, kmsg.IncrementalAlterConfigOpSet, leaderRate, throttleRate, followerRate, throttleRate); code != 0 {
			k.t.Fatalf("setting the default rates: code %d %q", code, msg)
		}
		for _, id := range running {
			k.waitListed(id, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicDefaultBrokerConfig))
		}
		k.mustReassign(t, 0, []int32{1, 2, 3})
		k.waitReplicas(t, 0, []int32{1, 2, 3})
	}},
	{item: "13", name: "rates are hidden", check: func(k *kit) {
		id := k.other()
		k.t.Cleanup(func() {
			k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, leaderRate, "")
			k.alterBroker(id, -1, kmsg.IncrementalAlterConfigOpDelete, followerRate, "")
		})
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, leaderRate, unique()); code != 0 {
			k.t.Fatalf("setting broker %d's leader rate: code %d %q", id, code, msg)
		}
		if code, msg := k.alterBroker(id, -1, kmsg.IncrementalAlterConfigOpSet, followerRate, unique()); code != 0 {
			k.t.Fatalf("setting the default follower rate: code %d %q", code, msg)
		}
		k.waitListed(id, leaderRate, hiddenEntry(leaderRate, kmsg.ConfigSourceDynamicBrokerConfig))
		k.waitListed(-1, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicDefaultBrokerConfig))
		for _, b := range running {
			k.waitListed(b, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicDefaultBrokerConfig))
		}
	}},
	listFormat("*", 0, "*"),
	listFormat("", 0, ""),
	listFormat("0:1,1:2", 0, "0:1,1:2"),
	listFormat("0:1, 1:2", 0, "0:1,1:2"), // read back as parsed
	listFormat("0:99", 0, "0:99"),
	listFormat("x", 42, ""),
	listFormat("0:abc", 42, ""),
	listFormat("-1", 42, ""),
	listFormat("0-1", 42, ""),
	{item: "14", name: "a list on an unknown topic", check: func(k *kit) {
		t := k.topic("nope")
		code, msg := k.alterTopic(t, kmsg.IncrementalAlterConfigOpSet, leaderList, "*")
		k.checkAnswer("setting a list on "+t, code, msg, -1, `Topic "`+t+`" does not exist.`)
	}},
	{item: "15+27", name: "APPEND and SUBTRACT on lists", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		for i, step := range []struct {
			op    kmsg.IncrementalAlterConfigOp
			key   string
			value string
			code  int16
			msg   string
			want  string // the list after it
		}{
			{kmsg.IncrementalAlterConfigOpAppend, leaderList, "0:1", -1, npeNotSet, ""},
			{kmsg.IncrementalAlterConfigOpSubtract, leaderList, "0:1", -1, npeNotSet, ""},
			{kmsg.IncrementalAlterConfigOpSet, leaderList, "0:1", 0, "", "0:1"},
			{kmsg.IncrementalAlterConfigOpAppend, leaderList, "0:1", 0, "", "0:1,0:1"}, // no dedupe
			{kmsg.IncrementalAlterConfigOpSubtract, leaderList, "0:7", 0, "", "0:1,0:1"},
			{kmsg.IncrementalAlterConfigOpSubtract, leaderList, "0:1", 0, "", "0:1"}, // item 27: one removed
			{kmsg.IncrementalAlterConfigOpSubtract, leaderList, "0:1", 0, "", ""},
			{kmsg.IncrementalAlterConfigOpAppend, leaderList, "0:4", 0, "", ",0:4"}, // onto "": unparsable
			{kmsg.IncrementalAlterConfigOpAppend, leaderList, "0:4", 0, "", ",0:4,0:4"},
			{kmsg.IncrementalAlterConfigOpSubtract, leaderList, "0:4", 0, "", ",0:4"}, // item 27
			{kmsg.IncrementalAlterConfigOpAppend, "retention.ms", "1", 42, "Config value append is not allowed for config key: retention.ms", ",0:4"},
		} {
			code, msg := k.alterTopic(t, step.op, step.key, step.value)
			k.checkAnswer(fmt.Sprintf("step %d: %v %s %q", i, step.op, step.key, step.value), code, msg, step.code, step.msg)
			d, ok := k.topicConfig(t, leaderList)
			if got := deref(d.value); !ok || got != step.want {
				k.t.Errorf("step %d: the list is %q (listed %v), want %q", i, got, ok, step.want)
			}
		}
	}},
	{item: "16", name: "a rate without throttled-replica lists throttles nothing", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.fill(t, 0, slowData)
		k.t.Cleanup(k.clearRates)
		for _, id := range running {
			if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, leaderRate, throttleRate, followerRate, throttleRate); code != 0 {
				k.t.Fatalf("setting broker %d's rates: code %d %q", id, code, msg)
			}
		}
		for _, id := range running {
			k.waitListed(id, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicBrokerConfig))
		}
		k.mustReassign(t, 0, []int32{1, 2, 3})
		k.waitReplicas(t, 0, []int32{1, 2, 3})
	}},
	{item: "17", name: "a completed move leaves its throttles", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.throttle(t) // and no data: the move completes at once
		k.mustReassign(t, 0, []int32{1, 2, 3})
		k.waitReplicas(t, 0, []int32{1, 2, 3})
		for _, key := range []string{leaderList, followerList} {
			if d, ok := k.topicConfig(t, key); !ok || deref(d.value) != "*" {
				k.t.Errorf("after the move %s is %v (listed %v), want \"*\"", key, d, ok)
			}
		}
		for _, id := range running {
			for _, key := range []string{leaderRate, followerRate} {
				if d, ok := entry(k.describeBroker(id, brokerResource(id), []string{key}), key); !ok || d.source != kmsg.ConfigSourceDynamicBrokerConfig {
					k.t.Errorf("after the move broker %d lists %v (listed %v), want it set", id, d, ok)
				}
			}
		}
	}},

	// Leader election.
	{item: "18+30", name: "an election the preferred leader does not need", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		got := k.electOne(t, 0)
		k.checkAnswer("electing "+t+"-0", got.code, got.message, 84, msgNotNeeded)
	}},
	{item: "18", name: "an election moves the leader to the preferred replica", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		k.mustReassign(t, 0, []int32{2, 1, 3})
		k.waitReplicas(t, 0, []int32{2, 1, 3})
		got := k.electOne(t, 0)
		k.checkAnswer("electing "+t+"-0", got.code, got.message, 0, "")
		k.waitShown(t, 0, "led by 2", func(p partition) bool { return p.Leader == 2 })
	}},
	{item: "18+30", name: "an election with the preferred replica out of the ISR", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.slowMoves(t, 1)
		k.mustReassign(t, 0, []int32{3, 1, 2})
		got := k.electOne(t, 0)
		k.checkAnswer("electing "+t+"-0", got.code, got.message, 80,
			"Failed to elect leader for partition "+t+"-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy")
	}},
	{item: "18+30", name: "an election of an unknown partition", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		got := k.electOne(t, 9)
		k.checkAnswer("electing "+t+"-9", got.code, got.message, 3, msgNoPartition)
	}},

	// Unset rates and unknown keys.
	{item: "26", name: "a deleted rate is listed as a default until another change", check: func(k *kit) {
		id := k.other()
		k.t.Cleanup(func() { k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, leaderRate, "", followerRate, "") })
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, leaderRate, unique()); code != 0 {
			k.t.Fatalf("setting the leader rate: code %d %q", code, msg)
		}
		k.waitListed(id, leaderRate, hiddenEntry(leaderRate, kmsg.ConfigSourceDynamicBrokerConfig))
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, leaderRate, ""); code != 0 {
			k.t.Fatalf("deleting the leader rate: code %d %q", code, msg)
		}
		got, ok := k.waitSource(id, leaderRate, kmsg.ConfigSourceDynamicBrokerConfig)
		if want := hiddenEntry(leaderRate, kmsg.ConfigSourceDefaultConfig); !ok || got.String() != want.String() {
			k.t.Errorf("the deleted rate: %v (listed %v), want %v", got, ok, want)
		}
		// Setting the other rate drops the deleted one from the list.
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, followerRate, unique()); code != 0 {
			k.t.Fatalf("setting the follower rate: code %d %q", code, msg)
		}
		k.waitListed(id, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicBrokerConfig))
		if got, ok := entry(k.describeBroker(id, brokerResource(id), []string{leaderRate, followerRate}), leaderRate); ok {
			k.t.Errorf("after the follower rate was set, the deleted leader rate is still listed: %v", got)
		}
	}},
	{item: "26", name: "a deleted default rate is listed by every broker", check: func(k *kit) {
		k.t.Cleanup(func() { k.alterBroker(k.other(), -1, kmsg.IncrementalAlterConfigOpDelete, followerRate, "") })
		if code, msg := k.alterBroker(k.other(), -1, kmsg.IncrementalAlterConfigOpSet, followerRate, unique()); code != 0 {
			k.t.Fatalf("setting the default follower rate: code %d %q", code, msg)
		}
		for _, id := range running {
			k.waitListed(id, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicDefaultBrokerConfig))
		}
		if code, msg := k.alterBroker(k.other(), -1, kmsg.IncrementalAlterConfigOpDelete, followerRate, ""); code != 0 {
			k.t.Fatalf("deleting the default follower rate: code %d %q", code, msg)
		}
		for _, id := range running {
			k.waitListed(id, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDefaultConfig))
			if got, ok := entry(k.describeBroker(id, brokerResource(id), []string{leaderRate, followerRate}), leaderRate); ok {
				k.t.Errorf("broker %d lists the leader rate no one set: %v", id, got)
			}
		}
		if got := k.describeBroker(k.other(), "", []string{leaderRate, followerRate}); len(got) != 0 {
			k.t.Errorf("the cluster default lists %v after the delete", got)
		}
	}},
	{item: "26", name: "keys come in the broker's order", check: func(k *kit) {
		id := k.other()
		k.t.Cleanup(func() { k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, leaderRate, "", followerRate, "") })
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, leaderRate, unique(), followerRate, unique()); code != 0 {
			k.t.Fatalf("setting both rates: code %d %q", code, msg)
		}
		k.waitListed(id, followerRate, hiddenEntry(followerRate, kmsg.ConfigSourceDynamicBrokerConfig))
		// The same answer whatever the order asked for (a hash map's).
		var answers [][]string
		for _, keys := range [][]string{{leaderRate, followerRate}, {followerRate, leaderRate}} {
			var got []string
			for _, d := range k.describeBroker(id, brokerResource(id), keys) {
				got = append(got, d.name)
			}
			if !sameKeys(got, keys) {
				k.t.Errorf("asked for %v, listed %v", keys, got)
			}
			answers = append(answers, got)
		}
		if !slices.Equal(answers[0], answers[1]) {
			k.t.Errorf("the order follows the request: %v", answers)
		}
	}},
	{item: "33", name: "an unknown broker key is accepted and listed hidden", check: func(k *kit) {
		id := k.other()
		key := "no.such.key"
		k.t.Cleanup(func() { k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, key, "") })
		code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, key, unique())
		k.checkAnswer("setting "+key, code, msg, 0, "")
		k.waitListed(id, key, hiddenEntry(key, kmsg.ConfigSourceDynamicBrokerConfig))
	}},
	{item: "34", name: "partitions with different replica counts are refused", check: func(k *kit) {
		t := k.topic("orders")
		code, msg := k.createTopic(t, nil, []int32{1, 2, 3}, []int32{1, 2})
		k.checkAnswer("creating "+t, code, msg, 39, "All partitions should have the same number of replicas")
		if _, err := k.tryPartitions(k.controller(), t); err == nil {
			k.t.Errorf("%s exists after its creation was refused", t)
		}
	}},
	{item: "33", name: "an unknown topic key is refused", check: func(k *kit) {
		t := k.topic("orders")
		k.create(t, []int32{1, 2, 3})
		key := "no.such.key"
		code, msg := k.alterTopic(t, kmsg.IncrementalAlterConfigOpSet, key, "1000")
		k.checkAnswer("setting "+key+" on "+t, code, msg, 40, "Unknown topic config name: "+key)
		if d, ok := k.topicConfig(t, key); ok {
			k.t.Errorf("the topic lists %v", d)
		}
		other := k.topic("events")
		code, msg = k.createTopic(other, map[string]string{key: "1000"}, []int32{1, 2, 3})
		k.checkAnswer("creating "+other+" with "+key, code, msg, 40, "Unknown topic config name: "+key)
		if _, err := k.tryPartitions(k.controller(), other); err == nil {
			k.t.Errorf("%s exists after its creation was refused", other)
		}
	}},

	// A stopped broker (one row: a real broker takes seconds to stop and
	// start again).
	{item: "8+11+18+22", name: "a stopped broker", check: func(k *kit) {
		t := k.topic("orders")
		v := k.other()
		var rest []int32 // the other two, the controller among them
		for _, id := range running {
			if id != v {
				rest = append(rest, id)
			}
		}
		a, b := rest[0], rest[1]
		k.create(t, []int32{v, a}, []int32{a, b}, []int32{a, v})
		k.fill(t, 2, 200<<10)
		k.stopBroker(v)
		// Item 22: after a clean stop the broker is gone from every
		// broker's Metadata, its leaderships moved.
		k.wait(settle, fmt.Sprintf("every broker to drop broker %d", v), func() error {
			for _, id := range k.up() {
				if got := k.brokersOn(id); slices.Contains(got, v) {
					return fmt.Errorf("broker %d lists brokers %v", id, got)
				}
				if p := k.partitionOn(id, t, 0); p.Leader != a {
					return fmt.Errorf("broker %d shows %s-0 led by %d", id, t, p.Leader)
				}
			}
			return nil
		})
		// Item 8: adding a stopped broker is refused; keeping one is not,
		// and that move stays in flight while it is down.
		code, msg := k.reassignOne(t, 1, []int32{a, b, v})
		k.checkAnswer("adding the stopped broker", code, msg, 39, msgInvalidAssignment)
		k.mustReassign(t, 0, []int32{v, a, b})
		// Item 18: the preferred replica is down.
		got := k.electOne(t, 0)
		k.checkAnswer("electing "+t+"-0", got.code, got.message, 80,
			"Failed to elect leader for partition "+t+"-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy")
		// Item 11: removing the dead replica completes.
		k.mustReassign(t, 2, []int32{a})
		k.waitReplicas(t, 2, []int32{a})
		if _, ok := k.moving(t, 0)[0]; !ok {
			k.t.Errorf("the move keeping stopped broker %d completed", v)
		}
		k.startBroker(v)
		// Item 11: the move completes with no action once it is back, and
		// the removed replica's log is still on its disk.
		k.wait(settle, "the move keeping the stopped broker to complete", func() error {
			if moves := k.moving(t, 0); len(moves) != 0 {
				return fmt.Errorf("in flight: %v", moves)
			}
			return nil
		})
		k.waitReplicas(t, 0, []int32{v, a, b})
		k.wait(settle, fmt.Sprintf("broker %d to list the removed replica's log", v), func() error {
			d, ok := k.logDirOn(v, t, 2)
			if !ok || d.offsetLag != -1 || d.size < 200<<10 {
				return fmt.Errorf("%s-2 on broker %d: listed %v, %+v; want the 200 KiB written and offsetLag -1", t, v, ok, d)
			}
			return nil
		})
	}},

	// ZooKeeper, read right after the call: a real controller writes it
	// before it answers.
	{item: "23", name: "ZooKeeper holds a move as the call returns", check: func(k *kit) {
		conn, root := k.zkConn()
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		k.slowMoves(t, 1)
		e0 := k.partitionOn(k.controller(), t, 0).LeaderEpoch
		k.mustReassign(t, 0, []int32{1, 2, 3})
		data, ok := k.zkGet(conn, root, "/brokers/topics/"+t)
		var assignment struct {
			Version    int                `json:"version"`
			Partitions map[string][]int32 `json:"partitions"`
			Adding     map[string][]int32 `json:"adding_replicas"`
			Removing   map[string][]int32 `json:"removing_replicas"`
		}
		if err := json.Unmarshal([]byte(data), &assignment); !ok || err != nil {
			k.t.Fatalf("/brokers/topics/%s: %q (exists %v): %v", t, data, ok, err)
		}
		if got, want := fmt.Sprint(assignment), fmt.Sprint(struct {
			Version                      int
			Partitions, Adding, Removing map[string][]int32
		}{2, map[string][]int32{"0": {1, 2, 3}}, map[string][]int32{"0": {3}}, map[string][]int32{}}); got != want {
			k.t.Errorf("/brokers/topics/%s: %s, want %s", t, got, want)
		}
		data, ok = k.zkGet(conn, root, "/brokers/topics/"+t+"/partitions/0/state")
		var state struct {
			Leader      int32   `json:"leader"`
			LeaderEpoch int32   `json:"leader_epoch"`
			ISR         []int32 `json:"isr"`
		}
		if err := json.Unmarshal([]byte(data), &state); !ok || err != nil {
			k.t.Fatalf("the state of %s-0: %q (exists %v): %v", t, data, ok, err)
		}
		if state.Leader != 1 || state.LeaderEpoch != e0+1 || !plans.SameMembers(state.ISR, []int32{1, 2}) {
			k.t.Errorf("the state of %s-0: %+v, want leader 1, epoch %d, isr [1 2]", t, state, e0+1)
		}
	}},
	{item: "13", name: "rates live in ZooKeeper as the call returns", check: func(k *kit) {
		conn, root := k.zkConn()
		id := k.other()
		k.t.Cleanup(func() {
			k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, leaderRate, "")
			k.alterBroker(id, -1, kmsg.IncrementalAlterConfigOpDelete, followerRate, "")
		})
		config := func(p string) (map[string]string, bool) {
			data, ok := k.zkGet(conn, root, p)
			var v struct {
				Version int               `json:"version"`
				Config  map[string]string `json:"config"`
			}
			if ok {
				if err := json.Unmarshal([]byte(data), &v); err != nil || v.Version != 1 {
					k.t.Fatalf("%s: %q: version %d, %v", p, data, v.Version, err)
				}
			}
			return v.Config, ok
		}
		own, dflt := fmt.Sprintf("/config/brokers/%d", id), "/config/brokers/<default>"
		lv, fv := unique(), unique()
		if code, msg := k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpSet, leaderRate, lv); code != 0 {
			k.t.Fatalf("setting the leader rate: code %d %q", code, msg)
		}
		if got, _ := config(own); got[leaderRate] != lv {
			k.t.Errorf("%s right after the call: %v, want %s=%s", own, got, leaderRate, lv)
		}
		if code, msg := k.alterBroker(id, -1, kmsg.IncrementalAlterConfigOpSet, followerRate, fv); code != 0 {
			k.t.Fatalf("setting the default follower rate: code %d %q", code, msg)
		}
		if got, _ := config(dflt); got[followerRate] != fv {
			k.t.Errorf("%s right after the call: %v, want %s=%s", dflt, got, followerRate, fv)
		}
		k.alterBroker(id, id, kmsg.IncrementalAlterConfigOpDelete, leaderRate, "")
		k.alterBroker(id, -1, kmsg.IncrementalAlterConfigOpDelete, followerRate, "")
		// The znodes stay, empty.
		for _, p := range []string{own, dflt} {
			if got, ok := config(p); !ok || len(got) != 0 {
				k.t.Errorf("%s after the deletes: %v (exists %v), want an empty config", p, got, ok)
			}
		}
	}},
	{item: "10", name: "moves written to ZooKeeper the old way", check: func(k *kit) {
		conn, root := k.zkConn()
		t := k.topic("orders")
		k.create(t, []int32{1, 2}, []int32{1, 2})
		k.slowMoves(t, 2)
		const znode = "/admin/reassign_partitions"
		legacy := func() []string {
			data, ok := k.zkGet(conn, root, znode)
			if !ok {
				return nil
			}
			var v struct {
				Partitions []struct {
					Topic     string  `json:"topic"`
					Partition int32   `json:"partition"`
					Replicas  []int32 `json:"replicas"`
				} `json:"partitions"`
			}
			if err := json.Unmarshal([]byte(data), &v); err != nil {
				k.t.Fatalf("%s: %q: %v", znode, data, err)
			}
			var out []string
			for _, m := range v.Partitions {
				out = append(out, fmt.Sprintf("%s-%d:%v", m.Topic, m.Partition, m.Replicas))
			}
			slices.Sort(out)
			return out
		}
		move := fmt.Sprintf(`{"version":1,"partitions":[{"topic":%q,"partition":0,"replicas":[1,2,3]},{"topic":%q,"partition":1,"replicas":[2,1,3]}]}`, t, t)
		if _, err := conn.Create(root+znode, []byte(move), 0, zk.WorldACL(zk.PermAll)); err != nil {
			k.t.Fatalf("writing %s: %v", znode, err)
		}
		k.t.Cleanup(func() { _ = conn.Delete(root+znode, -1) })
		k.wait(settle, "the moves written to ZooKeeper to start", func() error {
			if got := k.moving(t, 0, 1); len(got) != 2 {
				return fmt.Errorf("in flight: %v", got)
			}
			return nil
		})
		k.checkFlight(t, 0, inFlight{[]int32{1, 2, 3}, []int32{3}, []int32{}})
		k.checkFlight(t, 1, inFlight{[]int32{2, 1, 3}, []int32{3}, []int32{}})
		// An API call on a partition takes it out of the znode, which goes
		// with its last move; moves started through the API never write it.
		k.mustReassign(t, 0, nil)
		if got, want := legacy(), []string{t + "-1:[2 1 3]"}; !slices.Equal(got, want) {
			k.t.Errorf("%s after an API cancel of %s-0: %v, want %v", znode, t, got, want)
		}
		k.mustReassign(t, 1, nil)
		if got := legacy(); got != nil {
			k.t.Errorf("%s after the last move's cancel: %v, want it gone", znode, got)
		}
		k.mustReassign(t, 0, []int32{1, 2, 3})
		if got := legacy(); got != nil {
			k.t.Errorf("%s after an API move: %v, want none", znode, got)
		}
	}},
	{item: "35", name: "deleting /controller elects another live broker", check: func(k *kit) {
		conn, root := k.zkConn()
		controller := func() (int32, int32, bool) {
			data, st, err := conn.Get(root + "/controller")
			if errors.Is(err, zk.ErrNoNode) {
				return -1, -1, false
			}
			if err != nil {
				k.t.Fatalf("reading %s/controller: %v", root, err)
			}
			var v struct {
				BrokerID int32 `json:"brokerid"`
			}
			if err := json.Unmarshal(data, &v); err != nil {
				k.t.Fatalf("%s/controller is %q: %v", root, data, err)
			}
			return v.BrokerID, st.Version, true
		}
		old, version, ok := controller()
		if !ok {
			k.t.Fatal("no /controller znode")
		}
		if err := conn.Delete(root+"/controller", version); err != nil {
			k.t.Fatalf("deleting %s/controller: %v", root, err)
		}
		var now int32
		k.wait(settle, "a broker to recreate /controller", func() error {
			id, _, ok := controller()
			if !ok {
				return errors.New("no /controller yet")
			}
			now = id
			return nil
		})
		if !slices.Contains(k.up(), now) {
			k.t.Errorf("controller %d after deleting /controller (was %d): not a running broker %v", now, old, k.up())
		}
		k.wait(settle, "Metadata to name the new controller", func() error {
			if got := k.controller(); got != now {
				return fmt.Errorf("Metadata names %d, /controller %d", got, now)
			}
			return nil
		})
		k.t.Logf("controller %d -> %d", old, now)
	}},

	// Timings a real cluster cannot be made to show on demand: copy progress
	// needs minutes of throttled copying to measure, and a loaded 2-core
	// host skews it. They run on a simulator of their own, on a clock the
	// row moves.
	{item: "16+32", name: "a throttled copy runs at about 0.9 of the rate", simOnly: "a copy rate needs minutes of copying to measure", check: func(k *kit) {
		k = k.manualSim()
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		if err := k.sim.SetPartitionSize(t, 0, 1<<30); err != nil {
			k.t.Fatal(err)
		}
		k.throttleAt(t, "10485760")
		k.mustReassign(t, 0, []int32{1, 2, 3})
		k.sim.Clock().Advance(100 * time.Second)
		d, ok := k.logDirOn(3, t, 0)
		if want := 0.9 * 10485760 * 100; !ok || float64(d.size) < 0.95*want || float64(d.size) > 1.05*want {
			k.t.Errorf("copied %d bytes (listed %v) in 100 s at 10 MiB/s, want about %.0f", d.size, ok, want)
		}
	}},
	{item: "20+31", name: "a copy grows in fetch-sized steps", simOnly: "fetch sizes depend on the batches written and need a clock the row moves", check: func(k *kit) {
		k = k.manualSim()
		t := k.topic("orders")
		k.create(t, []int32{1, 2})
		if err := k.sim.SetPartitionSize(t, 0, 1<<30); err != nil {
			k.t.Fatal(err)
		}
		k.throttleAt(t, "1048576")
		k.mustReassign(t, 0, []int32{1, 2, 3})
		const fetch = 983266 // seen on a real 2.4 broker
		for i := 0; i < 5; i++ {
			k.sim.Clock().Advance(1700 * time.Millisecond)
			d, ok := k.logDirOn(3, t, 0)
			if !ok || d.size%fetch != 0 || d.offsetLag != 0 {
				k.t.Errorf("after %d00 ms: %+v (listed %v), want whole fetches of %d bytes and offsetLag 0", 17*(i+1), d, ok, fetch)
			}
		}
	}},
}
