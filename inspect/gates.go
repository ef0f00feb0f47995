package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
)

// GateKind says when a gate runs before a step.
type GateKind string

const (
	// KindSafety gates run before every step, whatever the flags: a step
	// they refuse would break a promise kshift makes (docs/design.md
	// "Safety invariants").
	KindSafety GateKind = "safety"
	// KindHealth gates run before every step unless the operator skips them
	// (--skip-health-check): the cluster is not in a state to start a move
	// in, but the move itself would not break an invariant.
	KindHealth GateKind = "health"
	// KindReport gates only inform `kshift check`: before a step the
	// executor deals with what they look at itself (it records foreign
	// throttles and leaves them exactly as they were).
	KindReport GateKind = "report"
)

// AllGateKinds lists every kind.
var AllGateKinds = []GateKind{KindSafety, KindHealth, KindReport}

// GateDef is one gate of the registry.
type GateDef struct {
	ID Gate
	// Checks says what the gate checks, in a line for people.
	Checks string
	Kind   GateKind
	// First marks the gates that say which cluster this is: the executor
	// runs them before it looks at the step's partitions at all.
	First bool
	// Settles marks a gate that reads values trailing the truth (Metadata
	// after a change, the ISR: docs/kafka-behaviour.md 21, 24): when it
	// fails, the cluster is read again for CheckScope.Settle before the
	// failure stands.
	Settles bool
	// Run evaluates the gate on one read of the cluster.
	Run func(in *GateInput) GateResult
	// needs are the reads Run uses besides Metadata.
	needs need
}

// Registry is an ordered list of gates: the order of the report.
type Registry []GateDef

// Gates is kshift's gate registry: `kshift check` runs every gate, the
// executor runs the safety and health gates before every step. Adding a
// gate is one entry here and one test.
var Gates = Registry{
	{ID: GateClusterID, Kind: KindSafety, First: true, Run: clusterIDGate, needs: needVersions | needZooKeeper,
		Checks: "the plan, every broker and ZooKeeper name one cluster id"},
	{ID: GateController, Kind: KindHealth, Settles: true, Run: controllerGate,
		Checks: "a live controller is registered"},
	{ID: GateTargetBrokers, Kind: KindSafety, Settles: true, Run: targetBrokersGate, needs: needPartitions | needVersions,
		Checks: "every target broker, and every broker the step moves replicas onto, is registered and answers"},
	{ID: GateBrokerConfigs, Kind: KindHealth, Run: brokerConfigsGate, needs: needVersions | needBrokerConfigs,
		Checks: "source and target brokers agree on IBP, message format, message and fetch sizes, fetchers, listener names and racks"},
	{ID: GateOffline, Kind: KindHealth, Settles: true, Run: offlineGate, needs: needPartitions,
		Checks: "no partition in scope is without a leader"},
	{ID: GateUnderReplicated, Kind: KindSafety, Settles: true, Run: underReplicatedGate, needs: needPartitions | needReassignments,
		Checks: "every replica of the partitions in scope is in the ISR, but those a move is adding"},
	{ID: GateUnderMinISR, Kind: KindHealth, Settles: true, Run: underMinISRGate, needs: needPartitions | needTopicConfigs,
		Checks: "no partition in scope has fewer in-sync replicas than min.insync.replicas"},
	{ID: GateAtMinISR, Kind: KindHealth, Settles: true, Run: atMinISRGate, needs: needPartitions | needTopicConfigs,
		Checks: "partitions exactly at min.insync.replicas (a warning: one more lost replica stops acks=all producers)"},
	{ID: GateTargetRF, Kind: KindSafety, Run: targetRFGate, needs: needPartitions | needTopicConfigs,
		Checks: "every move leaves at least min.insync.replicas replicas"},
	{ID: GateReassignments, Kind: KindSafety, Run: reassignmentsGate, needs: needReassignments,
		Checks: "no reassignment the step did not start is in flight"},
	{ID: GateThrottles, Kind: KindReport, Run: throttlesGate, needs: needPartitions | needBrokerConfigs | needTopicConfigs | needZooKeeper,
		Checks: "no throttle is set already (a leftover or someone else's), with its likely owner"},
	{ID: GateCoverage, Kind: KindReport, Run: coverageGate, needs: needPartitions,
		Checks: "the plan moves every partition with a replica on a source broker (a warning: apply and status report it too)"},
	{ID: GateDiskHeadroom, Kind: KindHealth, Run: diskHeadroomGate, needs: needPartitions | needVersions | needLogDirs,
		Checks: fmt.Sprintf("each broker that receives data has room for it, keeping %d%% of its disk free", int(HeadroomFraction*100))},
}

// BeforeStep returns the gates the executor runs before a step: the safety
// gates, and the health gates unless skipHealth; first selects the gates
// that say which cluster this is (GateDef.First), or all the others.
func (r Registry) BeforeStep(skipHealth, first bool) Registry {
	var out Registry
	for _, g := range r {
		if g.First == first && (g.Kind == KindSafety || g.Kind == KindHealth && !skipHealth) {
			out = append(out, g)
		}
	}
	return out
}

// IDs are the gates' ids in order.
func (r Registry) IDs() []Gate {
	out := make([]Gate, len(r))
	for i, g := range r {
		out[i] = g.ID
	}
	return out
}

// GateInput is what a gate looks at: one read of the cluster and the scope.
type GateInput struct {
	State *State
	Scope CheckScope

	moves      []plans.Move
	partitions map[PartitionID]bool // nil: every partition
	targets    []int32
	sources    []int32
	// zkErr is why ZooKeeper does not hold this cluster, when it does not.
	zkErr error
}

// SettlePolicy is kshift's one settle policy for a check that can fail
// from a trailing read (Metadata after a change, the ISR:
// docs/kafka-behaviour.md 21, 24): read again after 100 ms, then at pauses
// doubling up to a second (most trailing values settle within a second,
// the ISR after a broker restart within several), for timeout at most,
// and at least once.
func SettlePolicy(timeout time.Duration) poll.Options {
	// poll.Until reads at least once; a timeout of 0 would wait for ctx.
	return poll.Options{Timeout: max(timeout, time.Nanosecond), First: 100 * time.Millisecond, Interval: time.Second}
}

// Run reads the cluster through k and evaluates the gates in order. A
// gate that settles and fails makes Run read the cluster again
// (SettlePolicy), for up to scope.Settle, as long as no gate that does not
// settle has failed; the report is then the last read's. It returns an error only when the
// cluster cannot be read; failed gates are in the report (CheckReport.Err,
// CheckReport.Refusal).
func (r Registry) Run(ctx context.Context, k *kafkaapi.Client, scope CheckScope) (*CheckReport, error) {
	if scope.Step != 0 && (scope.Plan == nil || scope.Plan.Step(scope.Step) == nil) {
		return nil, fmt.Errorf("check: step %d is not in the plan", scope.Step)
	}
	var needs need
	for _, g := range r {
		needs |= g.needs
	}
	in := &GateInput{Scope: scope, moves: scopeMoves(scope)}
	in.partitions = scopePartitions(scope, in.moves)
	var rep *CheckReport
	err := poll.Until(ctx, SettlePolicy(scope.Settle), func(ctx context.Context) (bool, error) {
		if err := in.read(ctx, k, needs); err != nil {
			return false, err
		}
		rep = &CheckReport{ClusterID: in.State.Snapshot.ClusterID, Notes: in.State.Notes}
		settling, final := false, false
		for _, g := range r {
			res := g.Run(in)
			res.Kind = g.Kind
			rep.Gates = append(rep.Gates, res)
			if res.Status != StatusFail {
				continue
			}
			if !g.Settles {
				final = true // a failure no second read can change
			}
			settling = true
		}
		// Every gate is in the report, the ones after a failure too.
		return final || !settling, nil
	})
	if err != nil && !errors.Is(err, poll.ErrTimeout) {
		return nil, err
	}
	return rep, nil
}

// Check reads the live cluster and evaluates every gate of the registry
// within scope (`kshift check`).
func Check(ctx context.Context, k *kafkaapi.Client, scope CheckScope) (*CheckReport, error) {
	return Gates.Run(ctx, k, scope)
}

// read reads what the gates need: the scope's topics (each partition from
// the broker with the newest view of it), every topic when the scope has
// no partitions, none when no gate looks at partitions.
func (in *GateInput) read(ctx context.Context, k *kafkaapi.Client, needs need) error {
	topics, fresh := []string{}, false // brokers and cluster only
	switch {
	case needs&needPartitions == 0:
	case in.partitions == nil:
		topics = nil // every topic
	default:
		fresh = true
		topics = []string{}
		for p := range in.partitions {
			if !slices.Contains(topics, p.Topic) {
				topics = append(topics, p.Topic)
			}
		}
		slices.Sort(topics)
	}
	st, err := read(ctx, k, ReadOptions{Topics: topics, fresh: fresh}, needs&^needZooKeeper)
	if err != nil {
		return err
	}
	in.State, in.zkErr = st, nil
	if z := in.Scope.ZooKeeper; z != nil && needs&needZooKeeper != 0 {
		in.zkErr = readZooKeeper(ctx, z, st)
		if in.zkErr != nil && !isChrootError(in.zkErr) {
			return in.zkErr
		}
		noteHiddenRates(st)
	}
	in.targets, in.sources = in.brokerRoles()
	return nil
}

// maxRefusalFindings bounds the findings a refusal names per gate.
const maxRefusalFindings = 20

// Refusal is nil when no gate failed, else an error naming every failed
// gate with its kind, summary and findings, for a refused step.
func (r *CheckReport) Refusal() error {
	var failed []string
	for _, g := range r.Gates {
		if g.Status != StatusFail {
			continue
		}
		var found []string
		for i, f := range g.Findings {
			if i == maxRefusalFindings {
				found = append(found, fmt.Sprintf("and %d more", len(g.Findings)-i))
				break
			}
			found = append(found, f.Subject+": "+f.Detail)
		}
		msg := fmt.Sprintf("gate %s (%s): %s", g.Gate, g.Kind, g.Summary)
		if len(found) > 0 {
			msg += ": " + strings.Join(found, "; ")
		}
		failed = append(failed, msg)
	}
	if len(failed) == 0 {
		return nil
	}
	return errors.New(strings.Join(failed, " | "))
}
