package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Gate names one health gate of `kshift check`.
type Gate string

const (
	// GateClusterID: every broker, the plan and ZooKeeper name one cluster id.
	GateClusterID Gate = "cluster-id"
	// GateController: a live controller is registered.
	GateController Gate = "controller"
	// GateTargetBrokers: every target broker is registered and answers.
	GateTargetBrokers Gate = "target-brokers"
	// GateBrokerConfigs: target brokers agree with source brokers on the
	// configs that matter for sharing a cluster (IBP, message format, sizes,
	// listener names, racks, fetchers).
	GateBrokerConfigs Gate = "broker-configs"
	// GateOffline: no partition is without a leader.
	GateOffline Gate = "offline-partitions"
	// GateUnderReplicated: every replica not being added by a move is in the ISR.
	GateUnderReplicated Gate = "under-replicated"
	// GateUnderMinISR: no partition has fewer in-sync replicas than its
	// min.insync.replicas (producers with acks=all fail).
	GateUnderMinISR Gate = "under-min-isr"
	// GateAtMinISR: partitions exactly at min.insync.replicas; losing one more
	// replica stops acks=all producers. A warning, not a failure.
	GateAtMinISR Gate = "at-min-isr"
	// GateReassignments: no reassignment kshift did not start is in flight.
	GateReassignments Gate = "reassignments"
	// GateThrottles: no throttle is already set (a leftover or someone else's).
	GateThrottles Gate = "throttles"
	// GateDiskHeadroom: each target broker has room for the bytes the plan
	// puts on it.
	GateDiskHeadroom Gate = "disk-headroom"
)

// AllGates lists every gate in the order they are reported.
var AllGates = []Gate{GateClusterID, GateController, GateTargetBrokers, GateBrokerConfigs, GateOffline,
	GateUnderReplicated, GateUnderMinISR, GateAtMinISR, GateReassignments, GateThrottles, GateDiskHeadroom}

// Status is a gate's outcome.
type Status string

const (
	// StatusPass: the gate holds.
	StatusPass Status = "pass"
	// StatusWarn: worth knowing, does not stop a step.
	StatusWarn Status = "warn"
	// StatusFail: a step must not start.
	StatusFail Status = "fail"
	// StatusSkip: the gate could not be evaluated (e.g. disk capacity unknown).
	StatusSkip Status = "skip"
)

// AllStatuses lists every status.
var AllStatuses = []Status{StatusPass, StatusWarn, StatusFail, StatusSkip}

// HeadroomFraction of a broker's disk is kept free by the disk gate.
const HeadroomFraction = 0.10

// CheckScope says what a check looks at. The zero value checks the whole
// cluster with every broker compared against the others.
type CheckScope struct {
	// Plan, when set, must be for this cluster; its source and target brokers
	// drive the broker and config gates and its moves the disk gate.
	Plan *plans.Plan
	// Step limits the partition and disk gates to one step of Plan (0: the
	// whole plan's moves for the disk gate, every partition for the others).
	Step int
	// Brokers are target brokers to check besides the plan's.
	Brokers []int32
	// Partitions limit the partition gates to these (added to Step's).
	Partitions []PartitionID
	// OwnMoves are moves kshift itself has in flight: a reassignment of one
	// of these partitions towards its To is not foreign.
	OwnMoves []plans.Move
	// AllowOwnThrottles passes throttles that look like kshift's own (set
	// while a step runs); they are reported but do not fail.
	AllowOwnThrottles bool
	// TargetCapacity is the usable disk of target brokers that do not report
	// it (Kafka before 3.3), from the mapping; 0 is unknown.
	TargetCapacity plans.ByteSize
	// ZooKeeper, when set, is read for hidden throttle rates and the chroot.
	ZooKeeper *ZooKeeperSource
}

// CheckReport is the outcome of every gate.
type CheckReport struct {
	ClusterID string       `json:"cluster_id" yaml:"cluster_id"`
	Gates     []GateResult `json:"gates" yaml:"gates"`
	// Notes say what could not be read (a broker's log dirs, hidden rates).
	Notes []string `json:"notes,omitempty" yaml:"notes,omitempty"`
}

// GateResult is one gate's outcome and what it found.
type GateResult struct {
	Gate    Gate   `json:"gate" yaml:"gate"`
	Status  Status `json:"status" yaml:"status"`
	Summary string `json:"summary" yaml:"summary"`
	// Findings are the brokers, partitions or configs behind the status.
	Findings []Finding `json:"findings,omitempty" yaml:"findings,omitempty"`
}

// Finding is one thing a gate found.
type Finding struct {
	Subject string `json:"subject" yaml:"subject"`
	Detail  string `json:"detail" yaml:"detail"`
	// Owner is who likely set a throttle or started a reassignment.
	Owner string `json:"owner,omitempty" yaml:"owner,omitempty"`
}

// Failed returns the gates that failed, in report order.
func (r *CheckReport) Failed() []Gate {
	var out []Gate
	for _, g := range r.Gates {
		if g.Status == StatusFail {
			out = append(out, g.Gate)
		}
	}
	return out
}

// Gate returns one gate's result, nil when it was not run.
func (r *CheckReport) Gate(g Gate) *GateResult {
	for i := range r.Gates {
		if r.Gates[i].Gate == g {
			return &r.Gates[i]
		}
	}
	return nil
}

// Err is nil when no gate failed, else an error naming the failed gates.
func (r *CheckReport) Err() error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	names := make([]string, len(failed))
	for i, g := range failed {
		names[i] = string(g)
	}
	return fmt.Errorf("health check failed: %s", strings.Join(names, ", "))
}

// maxFindings bounds the findings one gate lists; the summary counts all.
const maxFindings = 50

// Check reads the live cluster and evaluates every gate within scope. It
// returns an error only when the cluster cannot be read; failed gates are
// in the report (see CheckReport.Err).
func Check(ctx context.Context, cl *kafkaconn.Clients, scope CheckScope) (*CheckReport, error) {
	if scope.Step != 0 && (scope.Plan == nil || scope.Plan.Step(scope.Step) == nil) {
		return nil, fmt.Errorf("check: step %d is not in the plan", scope.Step)
	}
	moves := scopeMoves(scope)
	partitions := scopePartitions(scope, moves)
	var topics []string
	if partitions != nil {
		seen := map[string]bool{}
		for p := range partitions {
			if !seen[p.Topic] {
				seen[p.Topic] = true
				topics = append(topics, p.Topic)
			}
		}
		sort.Strings(topics)
	}
	st, err := Read(ctx, cl, ReadOptions{Topics: topics, ZooKeeper: nil})
	if err != nil {
		return nil, err
	}
	inFlight, err := listReassignments(ctx, cl)
	if err != nil {
		return nil, err
	}
	var zkErr error
	if scope.ZooKeeper != nil {
		zkErr = readZooKeeper(ctx, scope.ZooKeeper, st)
		if zkErr != nil && !isChrootError(zkErr) {
			return nil, zkErr
		}
		noteHiddenRates(st)
	}
	c := &checker{st: st, scope: scope, moves: moves, partitions: partitions, inFlight: inFlight}
	c.targets, c.sources = c.brokerRoles()
	rep := &CheckReport{ClusterID: st.Snapshot.ClusterID, Notes: st.Notes}
	rep.Gates = []GateResult{
		c.clusterID(zkErr), c.controller(), c.targetBrokers(), c.brokerConfigs(),
	}
	rep.Gates = append(rep.Gates, c.partitionGates()...)
	rep.Gates = append(rep.Gates, c.reassignments(), c.throttles(), c.diskHeadroom())
	return rep, nil
}

func isChrootError(err error) bool {
	return errors.Is(err, ErrNoKafkaInChroot) || errors.Is(err, ErrOtherClusterInChroot)
}

type checker struct {
	st         *State
	scope      CheckScope
	moves      []plans.Move
	partitions map[PartitionID]bool // nil: every partition
	inFlight   map[PartitionID]Reassignment
	targets    []int32
	sources    []int32
}

// Reassignment is one partition reassignment in flight, as the controller
// lists it.
type Reassignment struct {
	Replicas []int32 `json:"replicas" yaml:"replicas"`
	Adding   []int32 `json:"adding" yaml:"adding"`
	Removing []int32 `json:"removing" yaml:"removing"`
}

// Target is the replica list the reassignment moves to: the current list
// without the replicas being removed (item 1: replicas = target ++ removing).
func (r Reassignment) Target() []int32 {
	var out []int32
	for _, id := range r.Replicas {
		if !slices.Contains(r.Removing, id) {
			out = append(out, id)
		}
	}
	return out
}

// listReassignments lists every reassignment in flight. kadm's helper with a
// nil set sends nothing, so the raw request with null topics is sent (item 9);
// kgo routes it to the controller.
func listReassignments(ctx context.Context, cl *kafkaconn.Clients) (map[PartitionID]Reassignment, error) {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = int32(cl.Options.RequestTimeout.Milliseconds())
	resp, err := req.RequestWith(ctx, cl.Kafka)
	if err != nil {
		return nil, fmt.Errorf("list reassignments in flight: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("list reassignments in flight: %w", err)
	}
	out := map[PartitionID]Reassignment{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[PartitionID{t.Topic, p.Partition}] = Reassignment{Replicas: p.Replicas, Adding: p.AddingReplicas, Removing: p.RemovingReplicas}
		}
	}
	return out, nil
}

func scopeMoves(s CheckScope) []plans.Move {
	if s.Plan == nil {
		return nil
	}
	if s.Step != 0 {
		return s.Plan.Step(s.Step).Partitions
	}
	var out []plans.Move
	for _, st := range s.Plan.Steps {
		out = append(out, st.Partitions...)
	}
	return out
}

// scopePartitions returns the partitions the partition gates look at, nil
// for every partition.
func scopePartitions(s CheckScope, moves []plans.Move) map[PartitionID]bool {
	if s.Step == 0 && len(s.Partitions) == 0 {
		return nil
	}
	out := map[PartitionID]bool{}
	if s.Step != 0 {
		for _, m := range moves {
			out[PartitionID{m.Topic, m.Partition}] = true
		}
	}
	for _, p := range s.Partitions {
		out[p] = true
	}
	return out
}

// brokerRoles returns the target brokers (the plan's and scope's) and the
// source brokers (the plan's, or every other registered broker).
func (c *checker) brokerRoles() (targets, sources []int32) {
	if c.scope.Plan != nil {
		targets = append(targets, c.scope.Plan.TargetBrokers...)
		sources = append(sources, c.scope.Plan.SourceBrokers...)
	}
	for _, b := range c.scope.Brokers {
		if !slices.Contains(targets, b) {
			targets = append(targets, b)
		}
	}
	if c.scope.Plan == nil {
		for _, b := range c.st.Snapshot.Brokers {
			if !slices.Contains(targets, b.ID) && !slices.Contains(c.st.Unregistered, b.ID) {
				sources = append(sources, b.ID)
			}
		}
	}
	slices.Sort(targets)
	slices.Sort(sources)
	return targets, sources
}

func result(g Gate, findings []Finding, failSummary, passSummary string, failStatus Status) GateResult {
	r := GateResult{Gate: g, Status: StatusPass, Summary: passSummary}
	if len(findings) > 0 {
		r.Status = failStatus
		r.Summary = failSummary
		if len(findings) > maxFindings {
			r.Summary += fmt.Sprintf(" (first %d of %d listed)", maxFindings, len(findings))
			findings = findings[:maxFindings]
		}
		r.Findings = findings
	}
	return r
}

func (c *checker) clusterID(zkErr error) GateResult {
	s := c.st.Snapshot
	var f []Finding
	if s.ClusterID == "" {
		f = append(f, Finding{Subject: "cluster", Detail: "the brokers report no cluster id"})
	}
	if p := c.scope.Plan; p != nil && p.ClusterID != s.ClusterID {
		f = append(f, Finding{Subject: "plan", Detail: fmt.Sprintf("the plan is for cluster %q, the brokers belong to %q: this plan does not apply here", p.ClusterID, s.ClusterID)})
	}
	for _, id := range sortedIDs(c.st.BrokerClusterIDs) {
		if got := c.st.BrokerClusterIDs[id]; got != s.ClusterID {
			f = append(f, Finding{Subject: fmt.Sprintf("broker %d", id), Detail: fmt.Sprintf("belongs to cluster %q, not %q", got, s.ClusterID)})
		}
	}
	if zkErr != nil {
		f = append(f, Finding{Subject: "zookeeper", Detail: zkErr.Error()})
	}
	return result(GateClusterID, f, "more than one cluster id", "one cluster id: "+s.ClusterID, StatusFail)
}

func (c *checker) controller() GateResult {
	s := c.st.Snapshot
	ctl := s.Controller
	var f []Finding
	if ctl < 0 {
		f = append(f, Finding{Subject: "controller", Detail: "no controller is elected"})
	} else if b := s.Broker(ctl); b == nil || slices.Contains(c.st.Unregistered, ctl) {
		f = append(f, Finding{Subject: "controller", Detail: fmt.Sprintf("controller %d is not a registered broker", ctl)})
	}
	return result(GateController, f, "no live controller", fmt.Sprintf("controller is broker %d", ctl), StatusFail)
}

func (c *checker) targetBrokers() GateResult {
	var f []Finding
	for _, id := range c.targets {
		b := c.st.Snapshot.Broker(id)
		switch {
		case b == nil || slices.Contains(c.st.Unregistered, id):
			f = append(f, Finding{Subject: fmt.Sprintf("broker %d", id), Detail: "not registered: is it started, with this cluster's zookeeper.connect and chroot?"})
		case c.st.Unreachable[id] != nil:
			f = append(f, Finding{Subject: fmt.Sprintf("broker %d", id), Detail: fmt.Sprintf("registered at %s:%d but does not answer: %v", b.Host, b.Port, c.st.Unreachable[id])})
		}
	}
	if len(c.targets) == 0 {
		return GateResult{Gate: GateTargetBrokers, Status: StatusSkip, Summary: "no target brokers given (--plan or --broker)"}
	}
	return result(GateTargetBrokers, f, "target brokers missing or unreachable",
		fmt.Sprintf("%d target brokers registered and answering", len(c.targets)), StatusFail)
}

func (c *checker) brokerConfigs() GateResult {
	s := c.st.Snapshot
	var f []Finding
	live := func(ids []int32) []*plans.Broker {
		var out []*plans.Broker
		for _, id := range ids {
			if b := s.Broker(id); b != nil && b.Configs != nil {
				out = append(out, b)
			}
		}
		return out
	}
	sources, targets := live(c.sources), live(c.targets)
	if len(targets) == 0 {
		// No roles: every broker must agree with every other.
		sources, targets = nil, live(c.sources)
	}
	all := append(append([]*plans.Broker{}, sources...), targets...)
	for _, k := range ComparedBrokerKeys {
		if d := disagreement(all, func(b *plans.Broker) string { return b.Configs[k] }); d != "" {
			f = append(f, Finding{Subject: k, Detail: d})
		}
	}
	if d := disagreement(all, func(b *plans.Broker) string { return strings.Join(listenerNames(b.Configs[KeyListeners]), ",") }); d != "" {
		f = append(f, Finding{Subject: "listener names", Detail: d})
	}
	if d := disagreement(all, func(b *plans.Broker) string { return b.Configs[KeyInterBrokerListener] }); d != "" {
		f = append(f, Finding{Subject: KeyInterBrokerListener, Detail: d})
	}
	racked := func(bs []*plans.Broker) (with, without []int32) {
		for _, b := range bs {
			if b.Rack != "" {
				with = append(with, b.ID)
			} else {
				without = append(without, b.ID)
			}
		}
		return with, without
	}
	if with, without := racked(all); len(with) > 0 && len(without) > 0 {
		f = append(f, Finding{Subject: "broker.rack", Detail: fmt.Sprintf("brokers %v have a rack, brokers %v have none: rack-aware placement needs every broker to have one", with, without)})
	}
	return result(GateBrokerConfigs, f, "brokers disagree on configs that must match in one cluster",
		fmt.Sprintf("%d brokers agree on IBP, message format, sizes, fetchers, listener names and racks", len(all)), StatusFail)
}

// disagreement describes how brokers differ on a value ("2.4-IV1 on [1 2 3];
// 2.8-IV1 on [101]"), "" when they agree.
func disagreement(bs []*plans.Broker, value func(*plans.Broker) string) string {
	by := map[string][]int32{}
	for _, b := range bs {
		v := value(b)
		by[v] = append(by[v], b.ID)
	}
	if len(by) < 2 {
		return ""
	}
	vals := make([]string, 0, len(by))
	for v := range by {
		vals = append(vals, v)
	}
	sort.Strings(vals)
	parts := make([]string, len(vals))
	for i, v := range vals {
		shown := v
		if shown == "" {
			shown = "(not set)"
		}
		parts[i] = fmt.Sprintf("%s on %v", shown, by[v])
	}
	return strings.Join(parts, "; ")
}

// listenerNames returns the sorted listener names of a listeners config
// ("PLAINTEXT://:9092,SSL://:9093" -> PLAINTEXT, SSL).
func listenerNames(listeners string) []string {
	var out []string
	for _, l := range strings.Split(listeners, ",") {
		if name, _, ok := strings.Cut(strings.TrimSpace(l), "://"); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (c *checker) inScope(p PartitionID) bool { return c.partitions == nil || c.partitions[p] }

func (c *checker) partitionGates() []GateResult {
	var offline, under, belowMin, atMin []Finding
	for _, t := range c.st.Snapshot.Topics {
		minISR := t.MinInsyncReplicas()
		for _, p := range t.Partitions {
			id := PartitionID{t.Name, p.ID}
			if !c.inScope(id) {
				continue
			}
			if p.Leader < 0 {
				offline = append(offline, Finding{Subject: id.String(), Detail: fmt.Sprintf("no leader; replicas %v, offline %v", p.Replicas, c.st.OfflineReplicas[id])})
				continue
			}
			// Replicas a move is still adding are not expected in the ISR.
			adding := c.inFlight[id].Adding
			var missing []int32
			for _, r := range p.Replicas {
				if !slices.Contains(p.ISR, r) && !slices.Contains(adding, r) {
					missing = append(missing, r)
				}
			}
			if len(missing) > 0 {
				under = append(under, Finding{Subject: id.String(), Detail: fmt.Sprintf("replicas %v, isr %v: %v not in sync", p.Replicas, p.ISR, missing)})
			}
			switch {
			case len(p.ISR) < minISR:
				belowMin = append(belowMin, Finding{Subject: id.String(), Detail: fmt.Sprintf("isr %v has %d members, min.insync.replicas is %d: acks=all producers fail", p.ISR, len(p.ISR), minISR)})
			case len(p.ISR) == minISR && len(p.Replicas) > minISR:
				atMin = append(atMin, Finding{Subject: id.String(), Detail: fmt.Sprintf("isr %v is at min.insync.replicas %d: one more lost replica stops acks=all producers", p.ISR, minISR)})
			}
		}
	}
	scope := "all partitions"
	if c.partitions != nil {
		scope = fmt.Sprintf("the %d partitions in scope", len(c.partitions))
	}
	return []GateResult{
		result(GateOffline, offline, fmt.Sprintf("%d partitions offline", len(offline)), "none offline of "+scope, StatusFail),
		result(GateUnderReplicated, under, fmt.Sprintf("%d partitions under-replicated", len(under)), "every replica in sync, "+scope, StatusFail),
		result(GateUnderMinISR, belowMin, fmt.Sprintf("%d partitions under min.insync.replicas", len(belowMin)), "none under min.insync.replicas of "+scope, StatusFail),
		result(GateAtMinISR, atMin, fmt.Sprintf("%d partitions at min.insync.replicas", len(atMin)), "none at min.insync.replicas of "+scope, StatusWarn),
	}
}

func (c *checker) reassignments() GateResult {
	own := map[PartitionID][]int32{}
	for _, m := range c.scope.OwnMoves {
		own[PartitionID{m.Topic, m.Partition}] = m.To
	}
	ids := make([]PartitionID, 0, len(c.inFlight))
	for id := range c.inFlight {
		ids = append(ids, id)
	}
	sortPartitionIDs(ids)
	var foreign, mine []Finding
	for _, id := range ids {
		r := c.inFlight[id]
		detail := fmt.Sprintf("replicas %v, adding %v, removing %v", r.Replicas, r.Adding, r.Removing)
		if to, ok := own[id]; ok && sameSet(to, r.Target()) {
			mine = append(mine, Finding{Subject: id.String(), Detail: detail, Owner: "kshift (this step)"})
			continue
		}
		owner := "not kshift: another tool or operator (or an interrupted kshift run: see kshift status)"
		if c.scope.Plan != nil && c.planTarget(id, r.Target()) {
			owner = "kshift (a step of this plan not in progress here: interrupted run?)"
		}
		foreign = append(foreign, Finding{Subject: id.String(), Detail: detail, Owner: owner})
	}
	if len(foreign) == 0 && len(mine) > 0 {
		return GateResult{Gate: GateReassignments, Status: StatusPass, Summary: fmt.Sprintf("%d reassignments in flight, all this step's", len(mine)), Findings: mine}
	}
	return result(GateReassignments, foreign, fmt.Sprintf("%d reassignments in flight that this run did not start", len(foreign)), "no reassignment in flight", StatusFail)
}

// planTarget reports whether some move of the plan sets this partition to target.
func (c *checker) planTarget(id PartitionID, target []int32) bool {
	for _, st := range c.scope.Plan.Steps {
		for _, m := range st.Partitions {
			if m.Topic == id.Topic && m.Partition == id.Partition && sameSet(m.To, target) {
				return true
			}
		}
	}
	return false
}

func sameSet(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (c *checker) throttles() GateResult {
	s := c.st.Snapshot
	var f []Finding
	ownRates := map[string]bool{}
	if p := c.scope.Plan; p != nil {
		ownRates[strconv.FormatInt(int64(p.Throttle), 10)] = true
		for _, st := range p.Steps {
			if st.Throttle > 0 {
				ownRates[strconv.FormatInt(int64(st.Throttle), 10)] = true
			}
		}
	}
	planPartitions := map[PartitionID]bool{}
	for _, m := range c.moves {
		planPartitions[PartitionID{m.Topic, m.Partition}] = true
	}
	allOwn := true
	rateOwner := func(v string) string {
		switch {
		case v == UnknownValue:
			allOwn = false
			return "unknown: the broker hides the rate (Kafka before 3.x); give --zookeeper to read it"
		case ownRates[v]:
			return "likely kshift: the plan's throttle rate"
		}
		allOwn = false
		return "not kshift: the rate is not this plan's"
	}
	for _, b := range s.Brokers {
		for _, k := range rateKeys {
			if v, ok := b.Configs[k]; ok && v != "" {
				f = append(f, Finding{Subject: fmt.Sprintf("broker %d %s", b.ID, k), Detail: "set to " + v, Owner: rateOwner(v)})
			}
		}
	}
	for _, k := range rateKeys {
		if v, ok := s.ClusterConfigs[k]; ok && v != "" {
			f = append(f, Finding{Subject: "cluster default " + k, Detail: "set to " + v + " (not enforced by Kafka 2.4)", Owner: rateOwner(v)})
		}
	}
	for _, t := range s.Topics {
		for _, k := range []string{KeyLeaderThrottledReplicas, KeyFollowerThrottledReplicas} {
			v := t.Configs[k]
			if v == "" {
				continue
			}
			owner := "not kshift: lists replicas outside this plan"
			if v != "*" && c.scope.Plan != nil && throttleListWithin(t.Name, v, planPartitions) {
				owner = "likely kshift: every listed partition is in this plan"
			} else {
				allOwn = false
			}
			if v == "*" {
				owner = "not kshift: kshift never throttles every replica (*)"
			}
			f = append(f, Finding{Subject: fmt.Sprintf("topic %s %s", t.Name, k), Detail: "set to " + v, Owner: owner})
		}
	}
	if len(f) > 0 && allOwn && c.scope.AllowOwnThrottles {
		return GateResult{Gate: GateThrottles, Status: StatusPass, Summary: fmt.Sprintf("%d throttle settings, all kshift's own", len(f)), Findings: f}
	}
	return result(GateThrottles, f, fmt.Sprintf("%d throttle settings already in place: clear leftovers (kshift throttle clear) or find their owner", len(f)), "no throttle set", StatusFail)
}

// throttleListWithin reports whether every "partition:broker" of a throttled
// replica list names a partition in the set.
func throttleListWithin(topic, list string, in map[PartitionID]bool) bool {
	for _, e := range strings.Split(list, ",") {
		ps, _, ok := strings.Cut(strings.TrimSpace(e), ":")
		p, err := strconv.ParseInt(ps, 10, 32)
		if !ok || err != nil || !in[PartitionID{topic, int32(p)}] {
			return false
		}
	}
	return true
}

func (c *checker) diskHeadroom() GateResult {
	s := c.st.Snapshot
	if len(c.moves) == 0 {
		return GateResult{Gate: GateDiskHeadroom, Status: StatusSkip, Summary: "no plan given: nothing to put on the brokers"}
	}
	live := map[PartitionID][]int32{}
	for _, t := range s.Topics {
		for _, p := range t.Partitions {
			live[PartitionID{t.Name, p.ID}] = p.Replicas
		}
	}
	incoming := map[int32]int64{}
	for _, m := range c.moves {
		cur, ok := live[PartitionID{m.Topic, m.Partition}]
		for _, b := range m.Adding() {
			// A replica already there has its bytes on disk (or copying).
			if ok && slices.Contains(cur, b) {
				continue
			}
			incoming[b] += int64(m.Size)
		}
	}
	var f, unknown []Finding
	ids := sortedIDs(incoming)
	for _, id := range ids {
		in := incoming[id]
		if in == 0 {
			continue
		}
		b := s.Broker(id)
		var capacity, usable int64
		switch {
		case b != nil && b.DiskCapacity > 0:
			capacity, usable = int64(b.DiskCapacity), c.st.UsableBytes[id]
		case c.scope.TargetCapacity > 0:
			capacity = int64(c.scope.TargetCapacity)
			usable = capacity - c.st.UsedBytes[id]
		default:
			unknown = append(unknown, Finding{Subject: fmt.Sprintf("broker %d", id), Detail: fmt.Sprintf("receives %s; disk capacity unknown (Kafka before 3.3: set target_capacity in the mapping)", plans.ByteSize(in))})
			continue
		}
		reserve := int64(float64(capacity) * HeadroomFraction)
		if in > usable-reserve {
			f = append(f, Finding{Subject: fmt.Sprintf("broker %d", id), Detail: fmt.Sprintf("receives %s but has %s free of %s (keeping %d%% free)",
				plans.ByteSize(in), plans.ByteSize(usable), plans.ByteSize(capacity), int(HeadroomFraction*100))})
		}
	}
	if len(f) == 0 && len(unknown) > 0 {
		return GateResult{Gate: GateDiskHeadroom, Status: StatusSkip, Summary: "disk capacity unknown for brokers that receive data", Findings: unknown}
	}
	return result(GateDiskHeadroom, append(f, unknown...), "target brokers without room for the bytes the plan puts on them",
		fmt.Sprintf("%d brokers have room for what the plan puts on them", len(ids)), StatusFail)
}

func sortedIDs[V any](m map[int32]V) []int32 {
	out := make([]int32, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func sortPartitionIDs(ids []PartitionID) {
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Topic != ids[j].Topic {
			return ids[i].Topic < ids[j].Topic
		}
		return ids[i].Partition < ids[j].Partition
	})
}
