// Package executor applies plan steps to a live Kafka cluster: before each
// step it runs the gates, then takes the operator lock, sets and restores
// replication throttles, submits reassignments and preferred-leader
// elections, watches progress, verifies the result and records the run in
// the audit trail. It also reads the state of a plan from the cluster
// (status), reverts a step in flight (cancel) and applies a step's undo
// (rollback).
//
// It must not print: progress goes to a callback, diagnostics to a
// *slog.Logger, dry-run output to an io.Writer. Where a migration stands is
// always read from the cluster (a partition at `to` is done, at `from`
// pending), never remembered between runs.
//
// # Who owns what
//
//   - The step's own state is the executor's: whether a step is done,
//     pending, in flight or drifted, whether its undo is in flight, whether
//     the step before it is done. These need the plan's chain of moves
//     (planStates: later steps start from earlier steps' `to`), so they
//     are checked here, in gatedView.
//   - Every other check before a step is a gate of inspect.Gates, the one
//     registry `kshift check` prints: the safety gates always run, the
//     health gates unless Options.SkipHealthGates. The executor runs them
//     through its own Kafka client, and both settle by one policy
//     (inspect.SettlePolicy) for Options.SettleTimeout.
//   - Every Kafka request goes through internal/kafkaapi: typed calls, each
//     with its own timeout, free of kadm's traps (ListPartitionReassignments
//     or ElectLeaders with a nil set, Metadata answered from a cache). Its
//     write hooks fence every mutating call by the lock's lease and record
//     it in the audit trail; a dry run is its DryRun client, whose overlay
//     answers later reads (the gates' included) as if the writes had
//     happened. Kafka 2.4 is the floor (docs/kafka-behaviour.md): no
//     DescribeCluster, throttle rates hidden from DescribeConfigs (read
//     from ZooKeeper when given).
//   - kshift's own state is package state's, in the cluster's ZooKeeper
//     (docs/design.md "kshift's own state"): the operator lock with its
//     lease and fencing, the throttle records (the exact prior value of
//     every throttle key kshift changes, restored when the step ends unless
//     someone else changed it meanwhile), the operator's rate override and
//     the audit trail. Commands that change the cluster refuse without a
//     store (ErrNoState). An older kshift's topic lock and local throttle
//     records are recognised and moved.
//   - ZooKeeper steps (zk-*) are applied and undone by Options.ZooKeeperSteps
//     (package zkops through the command line), under the same cluster,
//     order and lock rules.
package executor
