package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/internal/zkdial"
	"github.com/kshift/kshift/plans"
)

// StepWaiting: a retire-sources step whose sources hold nothing and whose
// controller is on a target, waiting for the operator to stop the source
// brokers (or, for its undo, to start them again).
const StepWaiting StepState = "waiting-for-operator"

// ZooKeeperAdmin is the part of a ZooKeeper client the retire-sources step
// uses besides Get: it lists the configs and ACLs that name the source
// brokers, and deletes /controller to move the controller off them.
// *zk.Conn satisfies it; Options.ZooKeeper is checked for it.
type ZooKeeperAdmin interface {
	ZooKeeper
	Children(path string) ([]string, *zk.Stat, error)
	Delete(path string, version int32) error
}

var _ ZooKeeperAdmin = (*zk.Conn)(nil)

// DefaultControllerElections is how many times the retire-sources step
// deletes /controller while a source broker keeps winning the election
// (every live broker races to recreate it, so with as many sources as
// targets each election is about even). Past that, the stop order puts the
// controller's broker last, which leaves only targets to elect.
const DefaultControllerElections = 10

// RetireReport is what a retire-sources step (or its undo) found and says
// the operator must do.
type RetireReport struct {
	Sources []int32 `json:"sources" yaml:"sources,flow"`
	// Registered are the source brokers still registered in the cluster.
	Registered []int32 `json:"registered" yaml:"registered,flow"`
	// Controller is the controller when the step ended; ControllerMoved
	// says how it got off a source ("" when it was already on a target).
	Controller      int32  `json:"controller" yaml:"controller"`
	ControllerMoved string `json:"controller_moved,omitempty" yaml:"controller_moved,omitempty"`
	// Bootstrap is the target brokers' bootstrap list, for clients.
	Bootstrap string `json:"bootstrap,omitempty" yaml:"bootstrap,omitempty"`
	// SourceAddrs are the source brokers' listeners, which no client's
	// bootstrap list should name any more.
	SourceAddrs string `json:"source_addrs,omitempty" yaml:"source_addrs,omitempty"`
	// Checklist lists what outside Kafka's replicas still names a source
	// broker (configs, throttle lists, ACL hosts), found in ZooKeeper.
	Checklist []string `json:"checklist,omitempty" yaml:"checklist,omitempty"`
	// StopOrder is the order to stop the sources in: the controller's broker
	// (if still a source) last.
	StopOrder []int32 `json:"stop_order,omitempty" yaml:"stop_order,omitempty,flow"`
	// Waiting is set while the operator has not finished: sources still
	// registered (or, for the undo, not yet registered again).
	Waiting bool `json:"waiting" yaml:"waiting"`
	// Restart marks the undo: the sources are to be started again.
	Restart bool `json:"restart,omitempty" yaml:"restart,omitempty"`
}

// applyRetire runs a retire-sources step: the gates (nothing on the
// sources, nothing uncovered, nothing moving, everything in sync, no
// coordinator on a source), the controller moved to a target, the
// operator's checklist, then the wait for the sources to leave and the
// check that nothing went offline or under-replicated. With the step's
// restart set (its undo) or undoZK (kshift rollback of it), it waits for the
// sources to be started again instead: nothing else is to undo.
func (r *stepRun) applyRetire(ctx context.Context) error {
	e, s := r.e, r.step
	if err := r.registryGates(ctx, true); err != nil {
		return err
	}
	if s.Retire.Restart || r.undoZK {
		return r.restartSources(ctx)
	}
	rep := &RetireReport{Sources: slices.Clone(s.Retire.Sources), Controller: -1}
	r.res.Retire = rep
	_, registered, err := r.readRetire(ctx)
	if err != nil {
		return err
	}
	rep.Registered = registered
	if len(registered) == 0 {
		// The operator stopped them all: check they left nothing behind.
		return r.verifyRetired(ctx, rep)
	}
	if !e.opts.ForceOrder && r.prevDone != nil {
		if err := r.prevDone(ctx); err != nil {
			return err
		}
	}
	md, err := r.retireGates(ctx)
	if err != nil {
		return err
	}
	if err := r.lock(ctx); err != nil {
		return err
	}
	rep.Controller = md.Controller
	if slices.Contains(s.Retire.Sources, md.Controller) {
		if err := r.moveController(ctx, rep); err != nil {
			return err
		}
	}
	rep.Bootstrap, rep.SourceAddrs = addrsOf(md, s.Retire.Targets), addrsOf(md, s.Retire.Sources)
	if rep.Bootstrap == "" {
		rep.Bootstrap = s.Retire.Bootstrap
	}
	rep.Checklist = r.checklist(ctx, md)
	rep.StopOrder = stopOrder(registered, rep.Controller)
	// The rest is the operator's: hold no lock while waiting for them.
	if err := r.unlock(); err != nil {
		return err
	}
	return r.waitSources(ctx, rep, false)
}

// readRetire reads every partition and which source brokers are
// registered: in ZooKeeper (/brokers/ids) when kshift has it, else as
// Metadata lists the live brokers.
func (r *stepRun) readRetire(ctx context.Context) (*kafkaapi.Metadata, []int32, error) {
	md, err := r.e.kafka.Metadata(ctx, kafkaapi.AllTopics)
	if err != nil {
		return nil, nil, err
	}
	registered, err := r.registeredSources(ctx, md)
	return md, registered, err
}

// registeredSources returns the step's source brokers still registered.
func (r *stepRun) registeredSources(ctx context.Context, md *kafkaapi.Metadata) ([]int32, error) {
	var out []int32
	ids := map[int32]bool{}
	for id := range md.Brokers {
		ids[id] = true
	}
	if zka, ok := r.e.zkAdmin(); ok {
		p := path.Join("/", r.e.opts.ZooKeeperChroot, "brokers", "ids")
		children, err := zkdial.Call(ctx, r.e.opts.CallTimeout, func() ([]string, error) {
			c, _, err := zka.Children(p)
			return c, err
		})
		if err != nil {
			return nil, fmt.Errorf("reading the registered brokers at ZooKeeper %s: %w", p, err)
		}
		ids = map[int32]bool{}
		for _, c := range children {
			if id, err := strconv.ParseInt(c, 10, 32); err == nil {
				ids[int32(id)] = true
			}
		}
	}
	for _, id := range r.step.Retire.Sources {
		if ids[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// zkAdmin returns the cluster's ZooKeeper as a ZooKeeperAdmin, when kshift
// has one (a dry run reads it and deletes nothing: moveController).
func (e *Executor) zkAdmin() (ZooKeeperAdmin, bool) {
	if e.opts.ZooKeeper == nil {
		return nil, false
	}
	zka, ok := e.opts.ZooKeeper.(ZooKeeperAdmin)
	return zka, ok
}

// retireGates checks, on one read of every partition and reassignment,
// read again while it settles (docs/kafka-behaviour.md 21, 24), that the
// sources can stop: no replica or leadership on a source, nothing the plan
// does not cover left on one, no reassignment in flight, every partition
// led and in sync, no group or transaction coordinator on a source.
func (r *stepRun) retireGates(ctx context.Context) (*kafkaapi.Metadata, error) {
	e, s := r.e, r.step
	e.doing("checking that the source brokers hold nothing")
	var md *kafkaapi.Metadata
	var findings []string
	err := poll.Until(ctx, inspect.SettlePolicy(e.opts.SettleTimeout), func(ctx context.Context) (bool, error) {
		var err error
		if md, err = e.kafka.Metadata(ctx, kafkaapi.AllTopics); err != nil {
			return false, err
		}
		inflight, err := e.kafka.Reassignments(ctx)
		if err != nil {
			return false, err
		}
		findings = RetireFindings(r.ref.Plan, s.Retire.Sources, md, inflight)
		return len(findings) == 0, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return md, refusal("%s (%s): the source brokers cannot stop yet: %s", s.Label(), s.Phase, strings.Join(findings, "; "))
	}
	return md, err
}

// RetireFindings lists why sources cannot be stopped on the cluster md
// shows with inflight moving: partitions with a replica or the leadership
// on a source (those the plan does not cover named as such:
// inspect.PlanCoverage), reassignments in flight, partitions without a leader
// or out of sync, and coordinators on a source. A group's coordinator is
// the leader of its __consumer_offsets partition and a transactional id's
// that of its __transaction_state partition, so they are checked there.
// None: the sources can stop.
func RetireFindings(p *plans.Plan, sources []int32, md *kafkaapi.Metadata, inflight map[kafkaapi.TP]kafkaapi.Reassignment) []string {
	isSource := func(id int32) bool { return slices.Contains(sources, id) }
	replicas := make(map[inspect.PartitionID][]int32, len(md.Partitions))
	for key, pt := range md.Partitions {
		replicas[inspect.PartitionID{Topic: key.Topic, Partition: key.Partition}] = pt.Replicas
	}
	var excludedOn []string
	var excluded []string
	for _, s := range p.Steps {
		if s.Retire != nil {
			excluded = s.Retire.Excluded
		}
	}
	uncovered := map[kafkaapi.TP]bool{}
	var uncoveredOn []string
	for _, u := range inspect.PlanCoverage(p, replicas).Uncovered {
		on := fmt.Sprintf("%s on %v", u.Name(), u.Replicas)
		if slices.Contains(excluded, u.Topic) {
			excludedOn = append(excludedOn, on)
			continue
		}
		uncovered[kafkaapi.TP{Topic: u.Topic, Partition: u.Partition}] = true
		uncoveredOn = append(uncoveredOn, on)
	}
	var onSource, led, unsynced, coordinators []string
	for _, key := range kafkaapi.SortedTPs(md.Partitions) {
		if plans.IsKshiftTopic(key.Topic) {
			continue
		}
		pt := md.Partitions[key]
		name := fmt.Sprintf("%s-%d", key.Topic, key.Partition)
		if on := slices.DeleteFunc(slices.Clone(pt.Replicas), func(id int32) bool { return !isSource(id) }); len(on) > 0 && !uncovered[key] && !slices.Contains(excluded, key.Topic) {
			onSource = append(onSource, fmt.Sprintf("%s on %v", name, on))
		}
		switch {
		case pt.Leader < 0:
			led = append(led, name+" has no leader")
		case isSource(pt.Leader) && plans.IsInternalTopic(key.Topic):
			what := "group coordinator (for the groups of this partition)"
			if key.Topic == "__transaction_state" {
				what = "transaction coordinator (for the transactional ids of this partition)"
			}
			coordinators = append(coordinators, fmt.Sprintf("source broker %d leads %s: it is the %s", pt.Leader, name, what))
		case isSource(pt.Leader):
			led = append(led, fmt.Sprintf("%s is led by source broker %d", name, pt.Leader))
		}
		if len(pt.ISR) < len(pt.Replicas) {
			unsynced = append(unsynced, fmt.Sprintf("%s in sync %v of %v", name, pt.ISR, pt.Replicas))
		}
	}
	var out []string
	add := func(what string, items []string) {
		if len(items) > 0 {
			out = append(out, fmt.Sprintf("%s: %s", what, nameList(items)))
		}
	}
	add(fmt.Sprintf("%d partition(s) the plan does not cover still have a replica on a source broker (created or added after the plan: cover them with a catch-up plan, %s, and apply it first)", len(uncoveredOn), inspect.CatchUpCommand("PLAN", "")), uncoveredOn)
	add(fmt.Sprintf("%d partition(s) of topics the mapping excluded still have a replica on a source broker (stopping the sources would lose them: move them with a plan that does not exclude them, or delete the topics)", len(excludedOn)), excludedOn)
	add(fmt.Sprintf("%d partition(s) still have a replica on a source broker (apply the plan's earlier steps first)", len(onSource)), onSource)
	add("leaders on source brokers or missing", led)
	add("coordinators on source brokers", coordinators)
	if len(inflight) > 0 {
		var names []string
		for _, key := range kafkaapi.SortedTPs(inflight) {
			names = append(names, fmt.Sprintf("%s-%d", key.Topic, key.Partition))
		}
		add(fmt.Sprintf("%d reassignment(s) in flight", len(inflight)), names)
	}
	add(fmt.Sprintf("%d partition(s) not fully in sync", len(unsynced)), unsynced)
	return out
}

// moveController moves the controller off the source brokers the one way
// ZooKeeper-mode Kafka allows: deleting the /controller znode, which every
// live broker races to recreate (docs/kafka-behaviour.md 35). A source can
// win again: it tries up to Options.ControllerElections times, and if a
// source still holds it, says so; the stop order then puts that broker
// last, so that only targets are left to elect when it stops.
func (r *stepRun) moveController(ctx context.Context, rep *RetireReport) error {
	e, s := r.e, r.step
	zka, ok := e.zkAdmin()
	if !ok {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the controller is source broker %d and kshift has no ZooKeeper to move it with (give --zookeeper): stop it last, so that only targets are left to take over", rep.Controller))
		return nil
	}
	znode := path.Join("/", e.opts.ZooKeeperChroot, "controller")
	from := rep.Controller
	for attempt := 1; attempt <= e.opts.ControllerElections; attempt++ {
		cur, version, err := readController(ctx, zka, znode, e.opts.CallTimeout)
		if err != nil {
			return err
		}
		rep.Controller = cur
		if cur >= 0 && !slices.Contains(s.Retire.Sources, cur) {
			break
		}
		if e.opts.DryRun {
			fmt.Fprintf(e.opts.DryRunOut, "would delete %s (controller: source broker %d) so that the brokers elect another controller\n", znode, cur)
			return nil
		}
		// Not a Kafka call: fence it here.
		if err := r.lease.Check(ctx); err != nil {
			return err
		}
		e.doing("moving the controller off source broker %d (election %d)", cur, attempt)
		_, err = zkdial.Call(ctx, e.opts.CallTimeout, func() (struct{}, error) { return struct{}{}, zka.Delete(znode, version) })
		r.audit.call("zookeeper delete "+znode, map[string]any{"controller": cur, "version": version}, err)
		if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
			return fmt.Errorf("deleting %s to move the controller off source broker %d: %w", znode, cur, err)
		}
		// Wait for the new controller to register (a new znode version).
		var next int32 = -1
		werr := poll.Until(ctx, inspect.SettlePolicy(e.opts.SettleTimeout), func(ctx context.Context) (bool, error) {
			id, v, err := readController(ctx, zka, znode, e.opts.CallTimeout)
			if err != nil {
				return false, err
			}
			next = id
			return id >= 0 && v != version, nil
		})
		if werr != nil && !errors.Is(werr, poll.ErrTimeout) {
			return werr
		}
		rep.Controller = next
		if next < 0 {
			return fmt.Errorf("no broker became controller within %s of deleting %s: check the brokers' controller.log, then run the step again", e.opts.SettleTimeout, znode)
		}
		if !slices.Contains(s.Retire.Sources, next) {
			rep.ControllerMoved = fmt.Sprintf("from source broker %d to target broker %d after %d election(s)", from, next, attempt)
			break
		}
	}
	if slices.Contains(s.Retire.Sources, rep.Controller) {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("a source broker won each of the %d controller elections kshift caused, and source broker %d is the controller: stop it last (the order below does), so that only targets are left to take over", e.opts.ControllerElections, rep.Controller))
		return nil
	}
	// Let the brokers learn of the new controller before clients ask them.
	_ = poll.Until(ctx, inspect.SettlePolicy(e.opts.SettleTimeout), func(ctx context.Context) (bool, error) {
		md, err := e.kafka.Metadata(ctx, []string{})
		return err == nil && md.Controller == rep.Controller, nil
	})
	return nil
}

// readController reads the controller's broker id and the znode's version
// (-1, -1 when no broker is controller).
func readController(ctx context.Context, zka ZooKeeperAdmin, znode string, timeout time.Duration) (int32, int32, error) {
	type answer struct {
		data []byte
		stat *zk.Stat
	}
	a, err := zkdial.Call(ctx, timeout, func() (answer, error) {
		d, st, err := zka.Get(znode)
		return answer{d, st}, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return -1, -1, nil
	}
	if err != nil {
		return -1, -1, fmt.Errorf("reading the controller at ZooKeeper %s: %w", znode, err)
	}
	var doc struct {
		BrokerID int32 `json:"brokerid"`
	}
	if err := json.Unmarshal(a.data, &doc); err != nil {
		return -1, -1, fmt.Errorf("ZooKeeper %s is not Kafka's controller znode: %w", znode, err)
	}
	return doc.BrokerID, a.stat.Version, nil
}

// stopOrder is the order to stop the registered sources in: by id, the
// controller's broker (when a source) last.
func stopOrder(registered []int32, controller int32) []int32 {
	out := slices.Clone(registered)
	slices.SortFunc(out, func(a, b int32) int {
		switch {
		case a == controller:
			return 1
		case b == controller:
			return -1
		}
		return int(a - b)
	})
	return out
}

// addrsOf lists the listeners of the given brokers that md shows.
func addrsOf(md *kafkaapi.Metadata, ids []int32) string {
	var out []string
	for _, id := range ids {
		if b, ok := md.Brokers[id]; ok {
			out = append(out, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
		}
	}
	return strings.Join(out, ",")
}

// checklist lists what in ZooKeeper still names a source broker: its own
// dynamic configs, topics' throttled-replica lists naming it, and ACLs
// restricted to a source broker's host. What it cannot read is said.
func (r *stepRun) checklist(ctx context.Context, md *kafkaapi.Metadata) []string {
	e, s := r.e, r.step
	zka, ok := e.zkAdmin()
	if !ok {
		return []string{"kshift has no ZooKeeper (--zookeeper) to look for configs, throttle lists and ACLs naming the source brokers: check them by hand"}
	}
	root := path.Join("/", e.opts.ZooKeeperChroot)
	get := func(p string) (map[string]any, bool) {
		data, err := zkdial.Call(ctx, e.opts.CallTimeout, func() ([]byte, error) {
			d, _, err := zka.Get(p)
			return d, err
		})
		var doc map[string]any
		if err != nil || json.Unmarshal(data, &doc) != nil {
			return nil, false
		}
		return doc, true
	}
	children := func(p string) []string {
		c, err := zkdial.Call(ctx, e.opts.CallTimeout, func() ([]string, error) {
			c, _, err := zka.Children(p)
			return c, err
		})
		if err != nil {
			return nil
		}
		sort.Strings(c)
		return c
	}
	var out []string
	for _, id := range s.Retire.Sources {
		p := path.Join(root, "config", "brokers", strconv.Itoa(int(id)))
		if doc, ok := get(p); ok {
			if cfg, _ := doc["config"].(map[string]any); len(cfg) > 0 {
				out = append(out, fmt.Sprintf("broker config %s (source broker %d) sets %s: it leaves with the broker; delete it with kafka-configs --entity-type brokers --entity-name %d --alter --delete-config ...", p, id, sortedKeys(cfg), id))
			}
		}
	}
	for _, topic := range children(path.Join(root, "config", "topics")) {
		doc, ok := get(path.Join(root, "config", "topics", topic))
		if !ok {
			continue
		}
		cfg, _ := doc["config"].(map[string]any)
		for _, key := range []string{"leader.replication.throttled.replicas", "follower.replication.throttled.replicas"} {
			v, _ := cfg[key].(string)
			for _, entry := range strings.Split(v, ",") {
				_, b, found := strings.Cut(strings.TrimSpace(entry), ":")
				if id, err := strconv.ParseInt(b, 10, 32); found && err == nil && slices.Contains(s.Retire.Sources, int32(id)) {
					out = append(out, fmt.Sprintf("topic %s: %s=%s names source broker %d (not kshift's: kshift clears its own)", topic, key, v, id))
					break
				}
			}
		}
	}
	hosts := map[string]int32{}
	for _, id := range s.Retire.Sources {
		if b, ok := md.Brokers[id]; ok {
			hosts[b.Host] = id
		}
	}
	for _, kind := range children(path.Join(root, "kafka-acl")) {
		for _, name := range children(path.Join(root, "kafka-acl", kind)) {
			doc, ok := get(path.Join(root, "kafka-acl", kind, name))
			if !ok {
				continue
			}
			acls, _ := doc["acls"].([]any)
			for _, a := range acls {
				acl, _ := a.(map[string]any)
				host, _ := acl["host"].(string)
				if id, ok := hosts[host]; ok {
					out = append(out, fmt.Sprintf("ACL on %s %s for %v is restricted to host %s, source broker %d's", kind, name, acl["principal"], host, id))
				}
			}
		}
	}
	for _, kind := range []string{"users", "clients"} {
		if n := len(children(path.Join(root, "config", kind))); n > 0 {
			out = append(out, fmt.Sprintf("%d %s quota entit(ies) at %s: quotas are cluster-wide and apply on the targets; none names a broker id", n, strings.TrimSuffix(kind, "s"), path.Join(root, "config", kind)))
		}
	}
	return out
}

func sortedKeys(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// waitSources waits, for Options.RetireWait (0: one look), until every
// source broker has left (restart: is registered again), then for a
// retire checks that nothing went offline or under-replicated. Still
// waiting at the end is no error: the step is waiting for the operator and
// a later run checks again.
func (r *stepRun) waitSources(ctx context.Context, rep *RetireReport, restart bool) error {
	e := r.e
	finished := func(registered []int32) bool {
		if restart {
			return len(registered) == len(rep.Sources)
		}
		return len(registered) == 0
	}
	if e.opts.RetireWait > 0 {
		e.doing("waiting for the operator to %s source brokers %v", map[bool]string{true: "start", false: "stop"}[restart], rep.Sources)
	}
	err := poll.Until(ctx, poll.Options{Timeout: max(e.opts.RetireWait, time.Nanosecond), First: time.Second, Interval: e.opts.PollInterval}, func(ctx context.Context) (bool, error) {
		md, err := e.kafka.Metadata(ctx, []string{})
		if err != nil {
			return false, err
		}
		if rep.Registered, err = r.registeredSources(ctx, md); err != nil {
			return false, err
		}
		return finished(rep.Registered), nil
	})
	switch {
	case errors.Is(err, poll.ErrTimeout):
		rep.Waiting = true
		return nil
	case err != nil:
		return err
	case restart:
		return nil
	}
	return r.verifyRetired(ctx, rep)
}

// verifyRetired checks, once every source has left, that nothing went
// offline or under-replicated (read again while the ISR settles,
// docs/kafka-behaviour.md 21, 22).
func (r *stepRun) verifyRetired(ctx context.Context, rep *RetireReport) error {
	e, s := r.e, r.step
	e.doing("checking that nothing went offline or under-replicated")
	var bad []string
	err := poll.Until(ctx, inspect.SettlePolicy(e.opts.SettleTimeout), func(ctx context.Context) (bool, error) {
		md, err := e.kafka.Metadata(ctx, kafkaapi.AllTopics)
		if err != nil {
			return false, err
		}
		rep.Controller = md.Controller
		bad = bad[:0]
		for _, key := range kafkaapi.SortedTPs(md.Partitions) {
			pt := md.Partitions[key]
			name := fmt.Sprintf("%s-%d", key.Topic, key.Partition)
			switch {
			case pt.Leader < 0:
				bad = append(bad, name+" is offline")
			case len(pt.ISR) < len(pt.Replicas):
				bad = append(bad, fmt.Sprintf("%s is under-replicated (in sync %v of %v)", name, pt.ISR, pt.Replicas))
			}
			if on := slices.DeleteFunc(slices.Clone(pt.Replicas), func(id int32) bool { return !slices.Contains(s.Retire.Sources, id) }); len(on) > 0 {
				bad = append(bad, fmt.Sprintf("%s still lists stopped source broker(s) %v: start them again", name, on))
			}
		}
		return len(bad) == 0, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("%s (%s): every source broker has left, but %d partition(s) are not healthy: %s", s.Label(), s.Phase, len(bad), nameList(bad))
	}
	return err
}

// restartSources is the undo of a retire-sources step: nothing in Kafka to
// undo, the source brokers to start again. It says so and waits for them
// (Options.RetireWait) to be registered again.
func (r *stepRun) restartSources(ctx context.Context) error {
	s := r.step
	rep := &RetireReport{Sources: slices.Clone(s.Retire.Sources), Controller: -1, Restart: true}
	r.res.Retire = rep
	md, registered, err := r.readRetire(ctx)
	if err != nil {
		return err
	}
	rep.Controller, rep.Registered = md.Controller, registered
	if len(registered) == len(rep.Sources) {
		r.res.AlreadyDone = true
		r.notes = append(r.notes, fmt.Sprintf("nothing to undo for the retire-sources step (%s): it changed nothing in Kafka but the controller's broker, and source brokers %v are running", s.Label(), rep.Sources))
		return nil
	}
	r.notes = append(r.notes, fmt.Sprintf("nothing to undo for the retire-sources step (%s) but restarting the source brokers: start %v again (they rejoin empty; the undo of the steps before copies data back onto them)", s.Label(), missing(rep.Sources, registered)))
	return r.waitSources(ctx, rep, true)
}

func missing(all, present []int32) []int32 {
	var out []int32
	for _, id := range all {
		if !slices.Contains(present, id) {
			out = append(out, id)
		}
	}
	return out
}

// retireStatus is where a retire-sources step (or its undo) stands on the
// cluster md shows, with registered the step's sources still registered:
// done once they have all left (the undo: all back); drifted when a source
// left while still holding replicas; pending while a source holds a
// replica or the controller; else waiting for the operator.
func retireStatus(s *plans.Step, md *kafkaapi.Metadata, registered []int32) (StepState, string) {
	r := s.Retire
	gone := missing(r.Sources, registered)
	if r.Restart {
		if len(gone) == 0 {
			return StepDone, fmt.Sprintf("source brokers %v are registered", r.Sources)
		}
		return StepWaiting, fmt.Sprintf("start source brokers %v again", gone)
	}
	held := map[int32]int{}
	for _, pt := range md.Partitions {
		for _, id := range pt.Replicas {
			if slices.Contains(r.Sources, id) {
				held[id]++
			}
		}
	}
	for _, id := range gone {
		if held[id] > 0 {
			return StepDrifted, fmt.Sprintf("source broker %d left while it still holds %d replica(s): start it again", id, held[id])
		}
	}
	var holding []string
	for _, id := range r.Sources {
		if held[id] > 0 {
			holding = append(holding, fmt.Sprintf("broker %d: %d", id, held[id]))
		}
	}
	switch {
	case len(holding) > 0:
		return StepPending, "source brokers still hold replicas (" + strings.Join(holding, ", ") + ")"
	case len(registered) == 0:
		return StepDone, fmt.Sprintf("source brokers %v have left; controller %d", r.Sources, md.Controller)
	case slices.Contains(r.Sources, md.Controller):
		return StepPending, fmt.Sprintf("the sources hold nothing; the controller is source broker %d: apply the step to move it", md.Controller)
	}
	return StepWaiting, fmt.Sprintf("stop source brokers %v in this order (controller %d)", stopOrder(registered, md.Controller), md.Controller)
}

// retireStepStatus reads the retire-sources step's state for Status from
// md, a Metadata of every topic.
func (e *Executor) retireStepStatus(ctx context.Context, s *plans.Step, md *kafkaapi.Metadata) (StepStatus, error) {
	ss := StepStatus{Number: s.Number, Phase: s.Phase}
	r := &stepRun{run: &run{e: e}, step: s}
	registered, err := r.registeredSources(ctx, md)
	if err != nil {
		return ss, err
	}
	ss.State, ss.Detail = retireStatus(s, md, registered)
	ss.Stopped = missing(s.Retire.Sources, registered)
	return ss, nil
}
