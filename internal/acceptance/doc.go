// Package acceptance holds kshift's acceptance suite on a real Apache Kafka
// 2.4 cluster: the kshift binary, built from this checkout, run as an
// operator runs it (snapshot, plan, apply, status, cancel, rollback,
// throttle set, check) against ZooKeeper and six real brokers started by
// internal/kafkatest, while a producer (acks=all, idempotent) and a consumer
// group run through every migration. What it proves is what the README
// claims kshift is proven on.
//
// It has no code besides its tests and is never imported. Without
// KSHIFT_KAFKA_HOME its tests skip (with KSHIFT_REQUIRE_KAFKA=1 they fail);
// under -short they skip. KSHIFT_ACCEPTANCE_MIGRATIONS sets how many
// migrations TestMigrationsConverge runs back and forth (CI runs a few; the
// README's figure comes from 10).
package acceptance
