package inspect

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
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
	// GateTargetRF: no move leaves a partition with fewer replicas than its
	// min.insync.replicas (producers with acks=all would fail).
	GateTargetRF Gate = "target-rf"
	// GateReassignments: no reassignment kshift did not start is in flight.
	GateReassignments Gate = "reassignments"
	// GateThrottles: no throttle is already set (a leftover or someone else's).
	GateThrottles Gate = "throttles"
	// GateCoverage: the plan moves every partition that has a replica on
	// a source broker (Coverage).
	GateCoverage Gate = "coverage"
	// GateDiskHeadroom: each target broker has room for the bytes the plan
	// puts on it.
	GateDiskHeadroom Gate = "disk-headroom"
)

// AllGates lists every gate in the order they are reported (the registry's).
var AllGates = Gates.IDs()

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
	// Records are kshift's open throttle records (state.Store), when
	// read: a throttle one of them names is kshift's own leftover, however
	// the plan given (or none) would judge it.
	Records []*state.ThrottleRecord
	// Settle is how long a failing gate that reads a trailing value
	// (GateDef.Settles) is read again before it fails; 0 reads once.
	Settle time.Duration
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
	Gate Gate `json:"gate" yaml:"gate"`
	// Kind says whether the gate runs before every step (safety), before
	// every step unless skipped (health), or only in kshift check (report).
	Kind    GateKind `json:"kind" yaml:"kind"`
	Status  Status   `json:"status" yaml:"status"`
	Summary string   `json:"summary" yaml:"summary"`
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

func isChrootError(err error) bool {
	return errors.Is(err, ErrNoKafkaInChroot) || errors.Is(err, ErrOtherClusterInChroot)
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
func (c *GateInput) brokerRoles() (targets, sources []int32) {
	if c.Scope.Plan != nil {
		targets = append(targets, c.Scope.Plan.TargetBrokers...)
		sources = append(sources, c.Scope.Plan.SourceBrokers...)
	}
	for _, b := range c.Scope.Brokers {
		if !slices.Contains(targets, b) {
			targets = append(targets, b)
		}
	}
	if c.Scope.Plan == nil {
		for _, b := range c.State.Snapshot.Brokers {
			if !slices.Contains(targets, b.ID) && !slices.Contains(c.State.Unregistered, b.ID) {
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

func clusterIDGate(c *GateInput) GateResult {
	s := c.State.Snapshot
	var f []Finding
	if s.ClusterID == "" {
		f = append(f, Finding{Subject: "cluster", Detail: "the brokers report no cluster id"})
	}
	if p := c.Scope.Plan; p != nil && p.ClusterID != s.ClusterID {
		f = append(f, Finding{Subject: "plan", Detail: fmt.Sprintf("the plan is for cluster %q, the brokers belong to %q: this plan does not apply here", p.ClusterID, s.ClusterID)})
	}
	for _, id := range sortedIDs(c.State.BrokerClusterIDs) {
		if got := c.State.BrokerClusterIDs[id]; got != s.ClusterID {
			f = append(f, Finding{Subject: fmt.Sprintf("broker %d", id), Detail: fmt.Sprintf("belongs to cluster %q, not %q", got, s.ClusterID)})
		}
	}
	if c.zkErr != nil {
		f = append(f, Finding{Subject: "zookeeper", Detail: c.zkErr.Error()})
	}
	return result(GateClusterID, f, "more than one cluster id", "one cluster id: "+s.ClusterID, StatusFail)
}

func controllerGate(c *GateInput) GateResult {
	s := c.State.Snapshot
	ctl := s.Controller
	var f []Finding
	if ctl < 0 {
		f = append(f, Finding{Subject: "controller", Detail: "no controller is elected"})
	} else if b := s.Broker(ctl); b == nil || slices.Contains(c.State.Unregistered, ctl) {
		f = append(f, Finding{Subject: "controller", Detail: fmt.Sprintf("controller %d is not a registered broker", ctl)})
	}
	return result(GateController, f, "no live controller", fmt.Sprintf("controller is broker %d", ctl), StatusFail)
}

func targetBrokersGate(c *GateInput) GateResult {
	// Besides the targets, a step needs every broker it moves replicas
	// onto (the undo of a step moves them back onto the sources).
	onto := map[int32][]string{}
	if c.Scope.Step != 0 {
		for _, m := range c.moves {
			for _, b := range m.To {
				onto[b] = append(onto[b], m.Name())
			}
		}
	}
	need := slices.Clone(c.targets)
	if c.Scope.Step != 0 {
		// A target the step only drops (the undo of the step that added it,
		// after it was lost for good) is not needed by the step: the
		// under-replicated gate's lost-broker rule decides on dropping it.
		need = slices.DeleteFunc(need, func(b int32) bool { return onto[b] == nil && c.dropsOnly(b) })
	}
	for _, id := range sortedIDs(onto) {
		if !slices.Contains(need, id) {
			need = append(need, id)
		}
	}
	slices.Sort(need)
	if len(need) == 0 {
		return GateResult{Gate: GateTargetBrokers, Status: StatusSkip, Summary: "no target brokers given (--plan or --broker)"}
	}
	var f []Finding
	for _, id := range need {
		b := c.State.Snapshot.Broker(id)
		detail := ""
		switch {
		case b == nil || slices.Contains(c.State.Unregistered, id):
			detail = "not registered: is it started, with this cluster's zookeeper.connect and chroot?"
		case c.State.Unreachable[id] != nil:
			detail = fmt.Sprintf("registered at %s:%d but does not answer: %v", b.Host, b.Port, c.State.Unreachable[id])
		default:
			continue
		}
		if parts := onto[id]; len(parts) > 0 {
			detail += fmt.Sprintf(" (the step moves %s onto it)", nameList(parts))
		}
		f = append(f, Finding{Subject: fmt.Sprintf("broker %d", id), Detail: detail})
	}
	pass := fmt.Sprintf("%d target brokers registered and answering", len(need))
	if len(need) > len(c.targets) {
		pass = fmt.Sprintf("%d brokers registered and answering (the targets and those the step moves replicas onto)", len(need))
	}
	return result(GateTargetBrokers, f, "brokers the plan needs are missing or unreachable", pass, StatusFail)
}

// dropsOnly reports whether some move of the scope drops a replica on
// broker b (b in its from, not in its to).
func (c *GateInput) dropsOnly(b int32) bool {
	return slices.ContainsFunc(c.moves, func(m plans.Move) bool { return slices.Contains(m.From, b) && !slices.Contains(m.To, b) })
}

// nameList lists names, the first few in full.
func nameList(names []string) string {
	const shown = 5
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:shown], ", ") + fmt.Sprintf(" and %d more", len(names)-shown)
}

func brokerConfigsGate(c *GateInput) GateResult {
	s := c.State.Snapshot
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

func (c *GateInput) inScope(p PartitionID) bool { return c.partitions == nil || c.partitions[p] }

// scopeText says which partitions the partition gates looked at.
func (c *GateInput) scopeText() string {
	if c.partitions != nil {
		return fmt.Sprintf("the %d partitions in scope", len(c.partitions))
	}
	return "all partitions"
}

// eachPartition calls f for every partition in scope with its topic.
func (c *GateInput) eachPartition(f func(t *plans.Topic, id PartitionID, p *plans.Partition)) {
	for i := range c.State.Snapshot.Topics {
		t := &c.State.Snapshot.Topics[i]
		for j := range t.Partitions {
			p := &t.Partitions[j]
			if id := (PartitionID{t.Name, p.ID}); c.inScope(id) {
				f(t, id, p)
			}
		}
	}
}

func offlineGate(c *GateInput) GateResult {
	var f []Finding
	c.eachPartition(func(_ *plans.Topic, id PartitionID, p *plans.Partition) {
		if p.Leader < 0 {
			f = append(f, Finding{Subject: id.String(), Detail: fmt.Sprintf("no leader; replicas %v, offline %v", p.Replicas, c.State.OfflineReplicas[id])})
		}
	})
	return result(GateOffline, f, fmt.Sprintf("%d partitions offline", len(f)), "none offline of "+c.scopeText(), StatusFail)
}

func underReplicatedGate(c *GateInput) GateResult {
	moves := map[PartitionID]*plans.Move{}
	if c.Scope.Step != 0 {
		for i := range c.moves {
			m := &c.moves[i]
			moves[PartitionID{m.Topic, m.Partition}] = m
		}
	}
	var f, dropped []Finding
	c.eachPartition(func(t *plans.Topic, id PartitionID, p *plans.Partition) {
		if p.Leader < 0 {
			return // offline: the offline gate's
		}
		// Replicas a move is still adding are not expected in the ISR.
		adding := c.State.InFlight[id].Adding
		var missing []int32
		for _, r := range p.Replicas {
			if !slices.Contains(p.ISR, r) && !slices.Contains(adding, r) {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			return
		}
		detail := fmt.Sprintf("replicas %v, isr %v: %v not in sync", p.Replicas, p.ISR, missing)
		if m := moves[id]; m != nil {
			ok, why := c.dropsLostReplicas(t, p, m, missing)
			if ok {
				dropped = append(dropped, Finding{Subject: id.String(), Detail: detail + ": " + why})
				return
			}
			if why != "" {
				detail += " (" + why + ")"
			}
		}
		f = append(f, Finding{Subject: id.String(), Detail: detail})
	})
	if len(f) == 0 && len(dropped) > 0 {
		return GateResult{Gate: GateUnderReplicated, Status: StatusWarn, Findings: dropped,
			Summary: fmt.Sprintf("%d partitions have replicas out of the ISR on brokers that are down, which the step drops: safe, since every replica it keeps is in sync and at least min.insync.replicas remain (the lost-broker rule)", len(dropped))}
	}
	return result(GateUnderReplicated, append(f, dropped...), fmt.Sprintf("%d partitions under-replicated (a replica is out of the ISR): wait until they catch up", len(f)),
		"every replica in sync, "+c.scopeText(), StatusFail)
}

// dropsLostReplicas applies the lost-broker rule to a partition whose
// replicas missing are out of the ISR: the step's move m may go on when
// every one of them is on a broker that is down (not registered) and m
// drops it, every replica m keeps is in the ISR, and m leaves at least
// min.insync.replicas replicas. Copying from such a partition needs none
// of the lost replicas, and removing them is what recovering from a lost
// broker takes (docs/operating.md, "A broker lost mid-migration"). It says
// why the move may go on, or why not ("" when the rule does not concern
// the partition: no missing replica is on a down broker).
func (c *GateInput) dropsLostReplicas(t *plans.Topic, p *plans.Partition, m *plans.Move, missing []int32) (bool, string) {
	down := func(b int32) bool {
		return c.State.Snapshot.Broker(b) == nil || slices.Contains(c.State.Unregistered, b)
	}
	var lost []int32
	for _, r := range missing {
		if down(r) {
			lost = append(lost, r)
		}
	}
	if len(lost) == 0 {
		return false, ""
	}
	for _, r := range missing {
		if !down(r) {
			return false, fmt.Sprintf("broker %d is up but out of sync: wait until it catches up", r)
		}
		if slices.Contains(m.To, r) {
			return false, fmt.Sprintf("broker %d is down and the step keeps its replica: bring it back, or drop it first (docs/operating.md, \"A broker lost mid-migration\")", r)
		}
	}
	for _, r := range m.To {
		if slices.Contains(p.Replicas, r) && !slices.Contains(p.ISR, r) {
			return false, fmt.Sprintf("the step keeps broker %d, which is out of the ISR", r)
		}
	}
	if minISR := max(t.MinInsyncReplicas(), 1); len(m.To) < minISR {
		return false, fmt.Sprintf("the step would leave %d replicas, fewer than min.insync.replicas %d", len(m.To), minISR)
	}
	return true, fmt.Sprintf("broker(s) %v are down and the step drops their replicas; it keeps %v, every one in sync (or being added from them), at least min.insync.replicas %d", lost, m.To, max(t.MinInsyncReplicas(), 1))
}

func underMinISRGate(c *GateInput) GateResult {
	var f []Finding
	c.eachPartition(func(t *plans.Topic, id PartitionID, p *plans.Partition) {
		if minISR := t.MinInsyncReplicas(); p.Leader >= 0 && len(p.ISR) < minISR {
			f = append(f, Finding{Subject: id.String(), Detail: fmt.Sprintf("isr %v has %d members, min.insync.replicas is %d: acks=all producers fail", p.ISR, len(p.ISR), minISR)})
		}
	})
	return result(GateUnderMinISR, f, fmt.Sprintf("%d partitions under min.insync.replicas", len(f)), "none under min.insync.replicas of "+c.scopeText(), StatusFail)
}

func atMinISRGate(c *GateInput) GateResult {
	var f []Finding
	c.eachPartition(func(t *plans.Topic, id PartitionID, p *plans.Partition) {
		if minISR := t.MinInsyncReplicas(); p.Leader >= 0 && len(p.ISR) == minISR && len(p.Replicas) > minISR {
			f = append(f, Finding{Subject: id.String(), Detail: fmt.Sprintf("isr %v is at min.insync.replicas %d: one more lost replica stops acks=all producers", p.ISR, minISR)})
		}
	})
	return result(GateAtMinISR, f, fmt.Sprintf("%d partitions at min.insync.replicas", len(f)), "none at min.insync.replicas of "+c.scopeText(), StatusWarn)
}

func targetRFGate(c *GateInput) GateResult {
	if len(c.moves) == 0 {
		return GateResult{Gate: GateTargetRF, Status: StatusSkip, Summary: "no plan given: no move to check"}
	}
	minISR := map[string]int{}
	for i := range c.State.Snapshot.Topics {
		t := &c.State.Snapshot.Topics[i]
		minISR[t.Name] = t.MinInsyncReplicas()
	}
	var f []Finding
	for _, m := range c.moves {
		if n := max(minISR[m.Topic], 1); len(m.To) < n {
			f = append(f, Finding{Subject: m.Name(), Detail: fmt.Sprintf("to %v has %d replicas, min.insync.replicas is %d", m.To, len(m.To), n)})
		}
	}
	return result(GateTargetRF, f, "moves would leave partitions with fewer replicas than min.insync.replicas (producers with acks=all would fail)",
		fmt.Sprintf("every one of %d moves keeps at least min.insync.replicas replicas", len(c.moves)), StatusFail)
}

func reassignmentsGate(c *GateInput) GateResult {
	own := map[PartitionID][]int32{}
	for _, m := range c.Scope.OwnMoves {
		own[PartitionID{m.Topic, m.Partition}] = m.To
	}
	ids := make([]PartitionID, 0, len(c.State.InFlight))
	for id := range c.State.InFlight {
		ids = append(ids, id)
	}
	sortPartitionIDs(ids)
	var foreign, mine []Finding
	for _, id := range ids {
		r := c.State.InFlight[id]
		detail := fmt.Sprintf("replicas %v, adding %v, removing %v", r.Replicas, r.Adding, r.Removing)
		if to, ok := own[id]; ok && plans.SameMembers(to, r.Target()) {
			mine = append(mine, Finding{Subject: id.String(), Detail: detail, Owner: "kshift (this step)"})
			continue
		}
		owner := "not kshift: another tool or operator (or an interrupted kshift run: see kshift status)"
		switch {
		case c.Scope.Plan != nil && c.planTarget(id, r.Target()):
			owner = "kshift (a step of this plan not in progress here: interrupted run?)"
		case len(r.Adding) > 0:
			// kshift throttles every replica a step adds: a move whose
			// adding replicas its records list is an interrupted run's.
			for _, rec := range c.Scope.Records {
				if tt := rec.Topics[id.Topic]; tt != nil && !slices.ContainsFunc(r.Adding, func(b int32) bool {
					return !slices.Contains(tt.Follower, fmt.Sprintf("%d:%d", id.Partition, b))
				}) {
					owner = fmt.Sprintf("kshift: an interrupted run (its throttle record %s names the replicas it adds; kshift status shows the step, kshift apply resumes it, kshift cancel reverts it)", rec.ID)
					break
				}
			}
		}
		foreign = append(foreign, Finding{Subject: id.String(), Detail: detail, Owner: owner})
	}
	if len(foreign) == 0 && len(mine) > 0 {
		return GateResult{Gate: GateReassignments, Status: StatusPass, Summary: fmt.Sprintf("%d reassignments in flight, all this step's", len(mine)), Findings: mine}
	}
	return result(GateReassignments, foreign, fmt.Sprintf("%d reassignments in flight that this run did not start: wait for them or cancel them first", len(foreign)), "no reassignment in flight", StatusFail)
}

// planTarget reports whether some move of the plan sets this partition to target.
func (c *GateInput) planTarget(id PartitionID, target []int32) bool {
	for _, st := range c.Scope.Plan.Steps {
		for _, m := range st.Partitions {
			if m.Topic == id.Topic && m.Partition == id.Partition && plans.SameMembers(m.To, target) {
				return true
			}
		}
	}
	return false
}

func throttlesGate(c *GateInput) GateResult {
	s := c.State.Snapshot
	var f []Finding
	ownRates := map[string]bool{}
	if p := c.Scope.Plan; p != nil {
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
		case c.Scope.Plan == nil:
			allOwn = false
			return "not kshift's as far as its records tell (give --zookeeper to read them, --plan to compare with a plan)"
		}
		allOwn = false
		return "not kshift: the rate is not this plan's"
	}
	// What kshift's throttle records name is kshift's, with the record.
	recordOf := func(match func(*state.ThrottleRecord) bool) string {
		for _, rec := range c.Scope.Records {
			if match(rec) {
				step := ""
				if rec.Step > 0 {
					step = fmt.Sprintf(", step %d of %s", rec.Step, rec.Plan)
				}
				return fmt.Sprintf("kshift: its throttle record %s%s (kshift status shows it; kshift throttle clear restores it)", rec.ID, step)
			}
		}
		return ""
	}
	for _, b := range s.Brokers {
		for _, k := range rateKeys {
			if v, ok := b.Configs[k]; ok && v != "" {
				owner := recordOf(func(rec *state.ThrottleRecord) bool { return rec.Brokers[b.ID] != nil })
				if owner == "" {
					owner = rateOwner(v)
				}
				f = append(f, Finding{Subject: fmt.Sprintf("broker %d %s", b.ID, k), Detail: "set to " + v, Owner: owner})
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
			if c.Scope.Plan == nil {
				owner = "not kshift's as far as its records tell (give --zookeeper to read them, --plan to compare with a plan)"
			}
			key := k
			recorded := recordOf(func(rec *state.ThrottleRecord) bool {
				tt := rec.Topics[t.Name]
				if tt == nil {
					return false
				}
				entries := tt.Leader
				if key == KeyFollowerThrottledReplicas {
					entries = tt.Follower
				}
				return len(entries) > 0 && slices.ContainsFunc(parseEntries(v), func(e string) bool { return slices.Contains(entries, e) })
			})
			switch {
			case v != "*" && recorded != "":
				owner = recorded
			case v != "*" && c.Scope.Plan != nil && throttleListWithin(t.Name, v, planPartitions):
				owner = "likely kshift: every listed partition is in this plan"
			default:
				allOwn = false
			}
			if v == "*" {
				owner = "not kshift: kshift never throttles every replica (*)"
			}
			f = append(f, Finding{Subject: fmt.Sprintf("topic %s %s", t.Name, k), Detail: "set to " + v, Owner: owner})
		}
	}
	if len(f) > 0 && allOwn && c.Scope.AllowOwnThrottles {
		return GateResult{Gate: GateThrottles, Status: StatusPass, Summary: fmt.Sprintf("%d throttle settings, all kshift's own", len(f)), Findings: f}
	}
	return result(GateThrottles, f, fmt.Sprintf("%d throttle settings already in place: clear leftovers (kshift throttle clear) or find their owner", len(f)), "no throttle set", StatusFail)
}

// parseEntries splits a throttled-replica list into its entries.
func parseEntries(list string) []string {
	var out []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
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

func diskHeadroomGate(c *GateInput) GateResult {
	s := c.State.Snapshot
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
			capacity, usable = int64(b.DiskCapacity), c.State.UsableBytes[id]
		case c.Scope.TargetCapacity > 0:
			capacity = int64(c.Scope.TargetCapacity)
			usable = capacity - c.State.UsedBytes[id]
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
