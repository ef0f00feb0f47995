// Package kafkasim is kshift's Kafka simulator: an in-process cluster of
// brokers listening on 127.0.0.1 that speaks the real Kafka wire protocol and
// behaves like a ZooKeeper-mode controller for everything kshift uses
// (Metadata, ApiVersions, partition reassignment, configs and throttles,
// preferred-leader election, log dirs, topic creation and deletion, and
// enough Produce / ListOffsets to give partitions data and offsets), on a
// clock a test can stop, step or speed up.
//
// The kshift binary ships it on purpose: `kshift demo`, `kshift sandbox` and
// `kshift rehearse` run against it, and fast tests use it where starting real
// brokers would cost too much. Its answers follow the observations of a real
// Kafka 2.4 controller in docs/kafka-behaviour.md item by item; comments and
// tests name the item. Where it and a real broker disagree, the real broker is
// right: the differential tests run the same table against both.
//
// Some of what a real cluster does takes time or arrives late, and code
// that talks to Kafka must cope with it. Config switches each such behaviour:
//   - on by default: a move that completes inside AlterPartitionReassignments
//     makes the call take ~0.9 s, an election ~0.5 s (NoCopyCallTime,
//     ElectionCallTime, item 32; on a running clock only);
//   - on by default on a clock that runs (a manual clock moves only when a
//     test moves it, so there only when asked for): Metadata lagging the
//     controller by up to ~0.5 s per broker (MetadataLag, item 24), a
//     deleted topic's name staying taken for up to ~0.5 s
//     (TopicDeletionTime, item 25), a change of a broker's dynamic configs
//     reaching its DescribeConfigs ~0.1 s late (ConfigChangeLag, item 26);
//   - off by default: ISR changes shown late (ISRLag, item 21), removed
//     logs listed for a while (LogDeleteDelay, item 20).
//
// The Real... constants hold the real timings. Every delay drawn at random
// comes from Config.Seed, so a run is repeatable.
//
// It owns the protocol server (framing, request and response headers), one
// shared cluster model under one mutex, and the clock. It emulates Kafka 2.4
// by default (the oldest version kshift supports) and newer 3.x behaviour
// with [V3_x].
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
// returned), and listens on loopback only.
package kafkasim
