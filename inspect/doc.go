// Package inspect reads a live cluster: `kshift snapshot` (the cluster as a
// plans.Snapshot), the gate registry (Gates), and the server.properties
// fragments that join target brokers, derived from a snapshot (`kshift join
// config`).
//
// # Who owns what
//
// The gate registry is the one place a check of the cluster before a step
// lives: each gate is one entry (id, what it checks, its kind, whether it
// settles, its function), and Registry.Run reads the cluster and evaluates
// them with one settle policy (SettlePolicy: a gate that can fail from a
// trailing read is read again for a bounded time). `kshift check` runs every
// gate and prints the report; the executor runs the safety gates, and the
// health gates unless told to skip them, before every step, through its own
// Kafka client. What needs a plan's chain of steps (is the step done, is
// its undo in flight, has it drifted, is the previous step done) is the
// executor's: it is about the step, not the cluster.
//
// Every Kafka request goes through internal/kafkaapi, whose
// ConfigEntry.SetOn alone decides whether a config is set on a broker or
// topic. ZooKeeper is read, when given, for the throttle rates Kafka 2.4
// hides and to confirm the chroot holds this cluster.
//
// It only reads: it must never change cluster state (kafkaapi's write
// calls are the executor's), and it prints nothing (callers render what it
// returns).
package inspect
