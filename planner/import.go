package planner

import (
	"errors"
	"fmt"
	"slices"

	"github.com/kshift/kshift/internal/version"
	"github.com/kshift/kshift/plans"
)

// ImportInput is a Kafka reassignment JSON (from kafka-reassign-partitions,
// topicmappr or a person) to turn into a checked, phased kshift plan for the
// cluster in Snapshot.
type ImportInput struct {
	Snapshot     *plans.Snapshot
	Reassignment *plans.KafkaReassignment
	// SnapshotSHA256 and ReassignmentSHA256 are recorded in the plan header
	// (the reassignment's hash as mapping_sha256: it plays the mapping's part).
	SnapshotSHA256, ReassignmentSHA256 string
	// ReassignmentName names the JSON file in errors.
	ReassignmentName string
	// Limits bound each step; a zero field takes plans.DefaultLimits.
	Limits plans.Limits
	// Throttle is the replication rate per broker; 0 takes plans.DefaultThrottle.
	Throttle plans.Rate
}

// ErrImportBreaksInvariants is returned (wrapped, with every violation) when
// the reassignment asks for something the plan invariants forbid, such as a
// replication factor below min.insync.replicas.
var ErrImportBreaksInvariants = errors.New("the imported reassignment breaks the plan invariants")

// Import turns each partition's move from its snapshot replicas to the JSON's
// replicas into kshift's safe phases, chained:
//
//   - raise-rf: from ++ the added replicas (current replicas first, in order),
//   - move-leader, when the first replica changes: the JSON's list followed by
//     the replicas about to be removed,
//   - lower-rf: drop the removed replicas, leaving exactly the JSON's list.
//
// All raise-rf steps come first, then move-leader, then lower-rf (the phased
// strategy), each phase cut into steps by the limits in the JSON's order.
// Partitions already at their JSON replicas are left out.
//
// An imported plan need not move from source to target brokers (a rebalance
// is fine), so it records no source_brokers or target_brokers: the invariant
// checker, finding those lists empty, checks chaining, what each phase may do,
// min.insync.replicas and the limits, but not which brokers a phase may add or
// drop, nor final placement and balance.
//
// Unknown topics, partitions and brokers, and moves the phases cannot express
// (reordering followers only), are refused as bad input with their location
// in the JSON.
func Import(in ImportInput) (*Result, error) {
	if in.Snapshot == nil || in.Reassignment == nil {
		return nil, &plans.InputError{File: "import input", Err: errors.New("a snapshot and a reassignment are both required")}
	}
	name := in.ReassignmentName
	if name == "" {
		name = "reassignment"
	}
	lim := withDefaultLimits(in.Limits)
	throttle := in.Throttle
	if throttle <= 0 {
		throttle = plans.DefaultThrottle
	}
	snap := in.Snapshot

	type snapPart struct {
		topic *plans.Topic
		part  *plans.Partition
	}
	parts := make(map[string]map[int32]snapPart, len(snap.Topics))
	for i := range snap.Topics {
		t := &snap.Topics[i]
		m := make(map[int32]snapPart, len(t.Partitions))
		for j := range t.Partitions {
			m[t.Partitions[j].ID] = snapPart{topic: t, part: &t.Partitions[j]}
		}
		parts[t.Name] = m
	}
	brokers := make(map[int32]bool, len(snap.Brokers))
	for _, b := range snap.Brokers {
		brokers[b.ID] = true
	}

	var ref refusals
	var raise, lead, lower []plans.Move
	var warnings []Warning
	moved := map[string]map[int32][]int32{}
	for i := range in.Reassignment.Partitions {
		kp := &in.Reassignment.Partitions[i]
		loc := fmt.Sprintf("partitions[%d] (%s)", i, kp.Name())
		topic, ok := parts[kp.Topic]
		if !ok {
			ref.add(name, loc, "topic %q is not in the snapshot", kp.Topic)
			continue
		}
		sp, ok := topic[kp.Partition]
		if !ok {
			ref.add(name, loc, "topic %q has no partition %d in the snapshot (it has %d partitions)", kp.Topic, kp.Partition, len(topic))
			continue
		}
		unknown := false
		for _, id := range kp.Replicas {
			if !brokers[id] {
				ref.add(name, loc, "broker %d is not in the snapshot's brokers", id)
				unknown = true
			}
		}
		if unknown {
			continue
		}
		from, to := sp.part.Replicas, kp.Replicas
		if slices.Equal(from, to) {
			continue
		}
		chain, err := importChain(from, to)
		if err != nil {
			ref.add(name, loc, "%v", err)
			continue
		}
		for _, mv := range chain {
			mv.Topic, mv.Partition, mv.Size = kp.Topic, kp.Partition, sp.part.Size
			switch mv.phase {
			case plans.PhaseRaiseRF:
				raise = append(raise, mv.Move)
			case plans.PhaseMoveLeader:
				lead = append(lead, mv.Move)
			case plans.PhaseLowerRF:
				lower = append(lower, mv.Move)
			}
		}
		if moved[kp.Topic] == nil {
			moved[kp.Topic] = map[int32][]int32{}
		}
		moved[kp.Topic][kp.Partition] = to
		if len(to) == 1 {
			warnings = append(warnings, Warning{Kind: WarnRFAtMinISR, Subject: kp.Name(),
				Message: "ends with 1 replica: one broker down takes it offline (no replica left to lead it) until it is back, and a lost disk loses its data"})
		} else if minISR := sp.topic.MinInsyncReplicas(); len(to) == minISR {
			warnings = append(warnings, Warning{Kind: WarnRFAtMinISR, Subject: kp.Name(),
				Message: fmt.Sprintf("ends with %d replicas, equal to min.insync.replicas %d: one replica down stops acks=all producers", len(to), minISR)})
		}
		if len(sp.part.ISR) < len(from) || sp.part.Leader < 0 {
			warnings = append(warnings, Warning{Kind: WarnUnderReplicated, Subject: kp.Name(),
				Message: fmt.Sprintf("isr %v of replicas %v in the snapshot: its steps wait until it is back in sync", sp.part.ISR, from)})
		}
	}
	if err := ref.err(); err != nil {
		return nil, err
	}

	var steps []plans.Step
	for _, ph := range []struct {
		phase plans.Phase
		moves []plans.Move
	}{{plans.PhaseRaiseRF, raise}, {plans.PhaseMoveLeader, lead}, {plans.PhaseLowerRF, lower}} {
		for _, batch := range packMoves(ph.moves, lim) {
			steps = append(steps, plans.Step{Phase: ph.phase, Throttle: throttle, Partitions: batch, Estimate: plans.EstimateStep(ph.phase, batch, throttle)})
		}
	}
	numberSteps(steps)
	plan := &plans.Plan{
		Version:        plans.FormatVersion,
		Kind:           plans.KindMigration,
		ClusterID:      snap.ClusterID,
		SnapshotSHA256: in.SnapshotSHA256,
		MappingSHA256:  in.ReassignmentSHA256,
		KshiftVersion:  version.Version,
		Strategy:       plans.StrategyPhased,
		Throttle:       throttle,
		Totals:         plans.ComputeTotals(steps),
		Steps:          steps,
	}
	if err := plans.CheckInvariants(plan, snap, plans.CheckOptions{Limits: lim}); err != nil {
		return nil, fmt.Errorf("%w:\n%w", ErrImportBreaksInvariants, err)
	}
	return &Result{Plan: plan, Warnings: warnings, Balance: importBalance(snap, moved)}, nil
}

type phasedMove struct {
	plans.Move
	phase plans.Phase
}

// importChain returns the phased moves that take a partition from from to to.
func importChain(from, to []int32) ([]phasedMove, error) {
	var added, removed []int32
	for _, id := range to {
		if !slices.Contains(from, id) {
			added = append(added, id)
		}
	}
	for _, id := range from {
		if !slices.Contains(to, id) {
			removed = append(removed, id)
		}
	}
	var chain []phasedMove
	cur := from
	if len(added) > 0 {
		next := append(slices.Clone(from), added...)
		chain = append(chain, phasedMove{plans.Move{From: cur, To: next}, plans.PhaseRaiseRF})
		cur = next
	}
	if to[0] != from[0] {
		next := append(slices.Clone(to), removed...)
		chain = append(chain, phasedMove{plans.Move{From: cur, To: next}, plans.PhaseMoveLeader})
		cur = next
	}
	if len(removed) > 0 {
		chain = append(chain, phasedMove{plans.Move{From: cur, To: slices.Clone(to)}, plans.PhaseLowerRF})
		cur = to
	}
	if !slices.Equal(cur, to) {
		return nil, fmt.Errorf("%v -> %v keeps the leader %d and only changes the order of the other replicas, which kshift's phases do not do (raise-rf appends, move-leader changes the leader, lower-rf drops): list the replicas kept in their current order, new ones after them", from, to, from[0])
	}
	return chain, nil
}

// packMoves cuts moves, in order, into steps within the limits: partitions
// per step, bytes copied per step, replicas added into one broker per step.
// A move that alone copies more than the byte limit gets a step of its own.
func packMoves(moves []plans.Move, lim plans.Limits) [][]plans.Move {
	var batches [][]plans.Move
	var cur []plans.Move
	var bytes plans.ByteSize
	into := map[int32]int{}
	flush := func() {
		if len(cur) > 0 {
			batches = append(batches, cur)
		}
		cur, bytes = nil, 0
		clear(into)
	}
	for _, mv := range moves {
		adds := mv.Adding()
		cost := mv.Size * plans.ByteSize(len(adds))
		fits := len(cur) < lim.PartitionsPerStep && bytes+cost <= lim.BytesPerStep
		for _, id := range adds {
			if into[id]+1 > lim.MovesIntoBroker {
				fits = false
			}
		}
		if !fits {
			flush()
		}
		cur = append(cur, mv)
		bytes += cost
		for _, id := range adds {
			into[id]++
		}
		if cost > lim.BytesPerStep {
			flush()
		}
	}
	flush()
	return batches
}

func withDefaultLimits(l plans.Limits) plans.Limits {
	if l.PartitionsPerStep <= 0 {
		l.PartitionsPerStep = plans.DefaultLimits.PartitionsPerStep
	}
	if l.BytesPerStep <= 0 {
		l.BytesPerStep = plans.DefaultLimits.BytesPerStep
	}
	if l.MovesIntoBroker <= 0 {
		l.MovesIntoBroker = plans.DefaultLimits.MovesIntoBroker
	}
	return l
}

// importBalance measures every broker of the snapshot after the import, for
// the summary; an import promises no balance, so the scope is unchecked.
func importBalance(snap *plans.Snapshot, moved map[string]map[int32][]int32) Balance {
	loads := make([]plans.BrokerLoad, len(snap.Brokers))
	at := make(map[int32]*plans.BrokerLoad, len(snap.Brokers))
	for i, b := range snap.Brokers {
		loads[i] = plans.BrokerLoad{Broker: b.ID, Rack: b.Rack, Capacity: b.DiskCapacity}
		at[b.ID] = &loads[i]
	}
	var largest plans.ByteSize
	for i := range snap.Topics {
		t := &snap.Topics[i]
		for _, p := range t.Partitions {
			replicas := p.Replicas
			if to, ok := moved[t.Name][p.ID]; ok {
				replicas = to
				largest = max(largest, p.Size)
			}
			for j, id := range replicas {
				if l := at[id]; l != nil {
					l.Replicas++
					l.Bytes += p.Size
					if j == 0 {
						l.Leaders++
					}
				}
			}
		}
	}
	return plans.MeasureBalance(plans.BalanceUnchecked, loads, largest)
}
