package plans

import "time"

// The fixed-cost model: what a reassignment step costs whatever it copies.
// It is simple on purpose, and its numbers come from `kshift apply -v` on a
// real Kafka 2.4 cluster (3 source and 3 target brokers on loopback, a
// 2-core host):
//
//   - a raise-rf step copying 128–460 KiB took 1.1–2.0 s in all; one of them
//     split as reading the cluster and the gates 0.2 s, the lock 0.03 s,
//     throttle writes and their read-back 0.5 s, submitting 0.06 s, copying
//     0.1 s, verification and offsets 0.04 s, restoring the throttles 0.1 s;
//   - lower-rf steps of 4 partitions took 1.0–1.3 s, Kafka completing the RF
//     decrease inside its own call in about 0.9 s;
//   - move-leader steps of 4 partitions (one election batch) took 1.0–2.3 s;
//     a reorder completes in about 1 s, an election in about 0.5 s
//     (docs/kafka-behaviour.md 32).
//
// So every reassignment step costs StepFixedCost, and a move-leader step (or
// its undo, which elects again) adds ElectionBatchCost per batch of
// DefaultElectionBatch partitions and DefaultElectionWait between two
// batches. An apply run with other --election-batch or --election-wait
// values, or a slow cluster, takes longer. ZooKeeper steps are not
// modelled: they wait on the ensemble and, for a fork, on the operator.
const (
	// StepFixedCost is every reassignment step's own cost: reading the
	// cluster and the gates, the lock, throttle writes and their read-back,
	// verification, and Kafka completing a move that copies nothing.
	StepFixedCost = time.Second
	// ElectionBatchCost is one preferred-leader election batch.
	ElectionBatchCost = 500 * time.Millisecond
	// DefaultElectionBatch is the most partitions `kshift apply` elects at
	// once (its --election-batch default; a test in cmd/kshift keeps the
	// executor's default equal to it).
	DefaultElectionBatch = 50
	// DefaultElectionWait is the pause `kshift apply` makes between two
	// election batches (its --election-wait default).
	DefaultElectionWait = 2 * time.Second
)

// FixedCost returns the fixed cost of a step of phase ph that moves the
// given number of partitions (see the model above), rounded to whole
// seconds as a plan file writes it: a plan's totals are then the sum of
// what its steps show. A ZooKeeper step's is 0.
func FixedCost(ph Phase, partitions int) Duration {
	if !ph.IsReassignment() {
		return 0
	}
	cost := StepFixedCost
	if ph == PhaseMoveLeader && partitions > 0 {
		batches := (partitions + DefaultElectionBatch - 1) / DefaultElectionBatch
		cost += time.Duration(batches)*ElectionBatchCost + time.Duration(batches-1)*DefaultElectionWait
	}
	return Duration(cost.Round(time.Second))
}

// EstimateStep estimates a reassignment step of phase ph: its copy time
// (EstimateMoves) and its fixed cost (FixedCost).
func EstimateStep(ph Phase, moves []Move, throttle Rate) Estimate {
	e := EstimateMoves(moves, throttle)
	e.FixedCost = FixedCost(ph, len(moves))
	return e
}

// CopyTime is how long copying n bytes takes at the rate a throttle actually
// reaches (ThrottleEfficiency of throttle), rounded to whole seconds as a
// plan file writes it: a plan's totals are then the sum of what its steps
// show (summing unrounded times put a 200,000-partition plan's header 6 s
// off the sum of its steps).
func CopyTime(throttle Rate, n ByteSize) Duration {
	return Duration(Rate(float64(throttle) * ThrottleEfficiency).TimeFor(n).Round(time.Second))
}
