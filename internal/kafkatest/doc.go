// Package kafkatest runs real Apache Kafka 2.4.0 clusters for kshift's
// tests: one ZooKeeper server (started through zktest) and N brokers, each
// with its own broker.id, broker.rack, free 127.0.0.1 port, data and log
// directories, all under one ZooKeeper chroot. It owns their whole life:
// start (at once or later, so that targets join after the data is
// written), clean stop, kill, restart on the same port and data, and the
// teardown that kills the brokers, then stops ZooKeeper, even when a test
// fails or panics. It also gives tests what they need around such a cluster: kgo
// clients with a short metadata cache, topic creation with explicit replica
// assignments, waits built on one poll loop (Poll), the brokers' log files
// and their tails on failure, and a producer/consumer workload whose Verify
// proves that no acknowledged record was lost, duplicated or reordered.
//
// It is a test helper only: it must never be imported by production code
// (only by _test.go files and other ...test packages), and it knows nothing
// about kshift's plans, executor or CLI.
//
// # Environment
//
//   - KSHIFT_KAFKA_HOME: a Kafka 2.4 folder laid out like the one kshift's CI
//     uses (bin/kafka-broker.sh, config/server.properties, lib/). A relative
//     path is relative to the repository root (the folder holding go.mod),
//     not to the test's package folder. Without it the tests that need Kafka
//     skip, saying how to run them.
//   - KSHIFT_REQUIRE_KAFKA=1: a missing or unusable Kafka (folder, java,
//     ZooKeeper) fails those tests instead of skipping them.
//   - KAFKA_HEAP_OPTS: the brokers' heap (default -Xmx384m -Xms64m, from
//     bin/kafka-broker.sh); Options.Heap overrides it per cluster.
//
// Under `go test -short` every test that would start a JVM skips: these
// are the slow tier. CI runs `go test ./...` with
// KSHIFT_KAFKA_HOME=../shared/kafka-2.4 and KSHIFT_REQUIRE_KAFKA=1, so
// they run there and cannot silently skip. By hand:
//
//	KSHIFT_KAFKA_HOME=../shared/kafka-2.4 go test ./internal/kafkatest -run TestCluster -v
//
// # One cluster per package
//
// Starting ZooKeeper and three brokers takes about 9 s on a busy 2-core
// machine (three more: 7-11 s; six at once: 20-40 s), so a package shares
// one: its TestMain calls Main, and each test calls Shared, which starts the
// cluster on first use and lets Main stop it after the last test. Tests on
// a shared cluster isolate themselves with TopicName and GroupName, and put
// back any broker they stop. Tests that need a cluster of their own (a
// fresh controller, brokers joining later, kills) call Start, which stops
// it at the test's cleanup.
//
// Every process it starts runs in its own process group with a parent-death
// signal (zktest.ChildProcAttr), so a test binary that is killed leaves no
// JVM behind; temporary folders of a shared cluster whose test binary died
// are removed by the next Shared.
package kafkatest
