// Package difftest is the differential suite of kshift's Kafka simulator:
// one table of behaviours, each row pinning an item of
// docs/kafka-behaviour.md, run through the Kafka protocol against the
// simulator (kafkasim) and against a real Kafka 2.4 cluster (started by
// internal/kafkatest), as the subtests ROW/sim and ROW/real. A row that
// passes on one backend and fails on the other is a difference between
// the simulator and Kafka; the real broker is right (CONTRIBUTING.md,
// "The simulator and real Kafka").
//
// The package holds tests only: nothing may import it, and it must not
// be compiled into the kshift binary. Its rows send requests the way a
// client would and look only at the answers: they never read the
// simulator's model directly, except the few rows marked simulator-only,
// whose timing a real cluster cannot be made to show on demand.
package difftest
