// Package executor applies plan steps to a live Kafka cluster: it checks each
// step against the cluster (safety gates), takes the cluster's operator lock,
// sets and restores replication throttles, submits reassignments and
// preferred-leader elections, watches progress, verifies the result and
// writes an audit log. It also reads the state of a plan from the cluster
// (status), reverts a step in flight (cancel) and applies a step's undo
// (rollback).
//
// It must not print: progress goes to a callback, diagnostics to a
// *slog.Logger, dry-run output to an io.Writer. It holds no state between
// runs except the audit log: where a migration stands is always read from the
// cluster (a partition at `to` is done, at `from` pending).
//
// # Kafka calls
//
// Every call is a raw kmsg request through the Kafka interface (which
// *kgo.Client satisfies), with its own timeout, because kadm's helpers trap:
// ListPartitionReassignments with a nil set sends nothing, ElectLeaders with a
// nil set elects every partition, Metadata answers from a cache. Kafka 2.4 is
// the floor (docs/kafka-behaviour.md): no DescribeCluster (the cluster id comes from
// Metadata), throttle rates hidden from DescribeConfigs.
//
// # The operator lock
//
// One mutating kshift per cluster. Operators work from different hosts, so the
// lock lives in the cluster. An admin client's only compare-and-set on Kafka is
// topic creation (CreateTopics fails with TOPIC_ALREADY_EXISTS), so the lock is
// the topic __kshift_lock (1 partition, RF 1): whoever creates it holds it.
// The holder (host, pid, user, plan, step, start time) must be readable by
// anyone refused, on every version, with admin requests only: topic configs
// reject unknown keys and 2.4 hides unknown broker config values, so the
// holder record is written as the name of a second topic,
// __kshift_lock_holder.<base32 of a small JSON document>, created right after
// the lock and read back through Metadata. Releasing deletes the holder topic,
// then the lock topic.
//
// A ZooKeeper ephemeral znode would be the other choice: it expires with a
// crashed holder's session, so no --break-lock is needed. It was not taken
// because it works only when every operator gives --zookeeper, and kshift
// must refuse a second run whether or not ZooKeeper is configured; the topic
// lock needs Kafka access alone, which every command has.
//
// Limits: the lock is advisory (it stops kshift, not kafka-reassign-partitions);
// it has no lease, so a kshift killed with SIGKILL leaves it behind, and the
// next run is refused until an operator who has checked that the holder is
// gone passes --break-lock; a holder killed between the two creations leaves a
// lock without holder record, shown as such. The topics need CreateTopics and
// DeleteTopics rights and one live broker (topic deletion must be enabled,
// Kafka's default).
//
// # What kshift set: the throttle record
//
// Throttle configs are shared with other tools, and nobody else clears them
// (docs/kafka-behaviour.md 17). Before kshift changes any throttle config it
// appends a throttle record to the audit log: the exact prior value of every
// key it will touch (or that it was absent) and the entries it adds. Cleanup
// restores those prior values byte for byte when nothing else changed the key
// meanwhile, and otherwise removes exactly kshift's entries. A run that could
// not clean up (SIGKILL, or Ctrl-C leaving a copy in flight) leaves the record
// open; the next apply, cancel or `throttle clear` using the same audit log
// finishes it. The record is local to the audit log file: keep the audit log
// beside the plan in the shared place operators use (the default), or pass the
// same --audit-log on every host.
package executor
