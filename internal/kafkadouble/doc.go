// Package kafkadouble is kshift's Kafka test double: an in-process cluster of
// brokers listening on 127.0.0.1 that speaks the real Kafka wire protocol and
// behaves like a ZooKeeper-mode controller for everything kshift uses
// (Metadata, ApiVersions, partition reassignment, configs and throttles,
// preferred-leader election, log dirs, and enough Produce / ListOffsets to give
// partitions data and offsets). Its answers follow
// /work/shared/KAFKA-BEHAVIOUR.md item by item; the comments name the item.
//
// It owns the protocol server (framing, request and response headers), one
// shared cluster model under one mutex, and a simulated clock. It emulates
// Kafka 2.4 by default (the oldest version kshift supports) and newer 3.x
// behaviour with [V3_x].
//
// Why a standalone kmsg server and not franz-go's kfake: kfake is a fine
// Kafka for clients, but not a reassignment model (it acknowledges
// AlterPartitionAssignments without acting, invents replica lists, elects the
// next broker, never enforces throttles and reports every partition in every
// log dir), and it always advertises its own, newest API versions. A server
// built on kmsg's request and response types gives exact control of which APIs
// and versions exist (ApiVersions of Kafka 2.4, no DescribeCluster) and keeps
// every behaviour in one model we can drive with a simulated clock.
//
// It must not be used to talk to real clusters, must not print (errors are
// returned), and listens on loopback only. The kshift binary uses it for
// `sandbox`, `demo` and `rehearse`; test-only helpers live in kafkadoubletest.
package kafkadouble
