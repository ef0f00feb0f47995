// Package zkops owns kshift's changes to ZooKeeper ensembles and its reads of
// Kafka's znodes. It reads an ensemble from /zookeeper/config and the
// four-letter words srvr and mntr; adds observers, promotes them and retires
// voters with conditional incremental reconfigs, one server per reconfig,
// each behind guards and verified afterwards; forks a shared ensemble (node
// configs and a runbook) and prunes the other clusters' chroots, each whole
// (kshift's own state, <chroot>/kshift, goes with its chroot; a cluster at
// the root keeps it in /kshift, which is never pruned); and reads the Kafka
// clusters kept under chroots.
//
// It talks to ZooKeeper only through ZKConn (satisfied by *zk.Conn) and the
// four-letter words, prints nothing (progress goes to an io.Writer), and
// never changes an ensemble outside a guarded operation.
//
// # For the executor and the CLI
//
//	c, err := zkdial.Parse(zkops.StepConnect(step))          // the ensemble the step acts on; the one parser and dialer
//	conn, err := zkdial.Dial(ctx, c, zkdial.Options{Digest: "super:" + pw})
//	opts := zkops.Options{Out: out, Dial: dial}              // Dial reaches the source ensemble (zk-fork)
//	err = zkops.ApplyStep(ctx, conn, step, opts)             // apply a zk-* step; done steps are no-ops
//	err = zkops.UndoStep(ctx, conn, step, opts)              // restore step.ZooKeeper.Before (zk-join, zk-handover)
//	state, why, err := zkops.StepStatus(ctx, conn, step, opts) // done / pending / partial / drifted, from the live ensemble
//	rep, err := zkops.Prune(ctx, conn, step.ZooKeeper, true, opts) // dry run: what a zk-prune step deletes, with znode counts
//
// and for Kafka's znodes of the migrating cluster (chroot from the connect string):
//
//	kc, err := zkops.ReadKafkaCluster(ctx, conn, chroot)      // cluster id, live brokers, controller, legacy reassignment
//	cfg, err := zkops.BrokerConfigs(ctx, conn, chroot, id)   // /config/brokers/ID, where Kafka 2.4 keeps throttle rates
//	layout, err := zkops.ReadLayout(ctx, conn)               // every Kafka chroot and the other data on the ensemble
//	st, err := zkops.ReadStatus(ctx, conn)                   // members, leader, zxid lag, sync, reconfig access
//
// Every step knows the ensemble it acts on (identity.go): zk-join and
// zk-handover the source ensemble, zk-fork and zk-prune the forked one
// (exactly the plan's targets); a server that serves another ensemble is
// never added. A fork is done only once verified against the source
// ensemble's frozen copy of the migrated chroot (fork.go).
//
// Errors: ErrRefused (a guard refused; nothing changed, unless the error
// says the step stopped half way and which servers changed), ErrReconfigUnavailable
// (reconfig disabled or not authorised; the message explains the static-config
// rolling restart), ErrConfigChanged (someone else reconfigured), ErrManualStep
// (zk-fork: follow the runbook in the message first, or the fork is not
// done and the message says what is missing and how to recover).
//
// # Guards
//
// Before every reconfig: the voters after the change keep a healthy, in-sync
// majority (each answers srvr in the mode its role implies and is caught up
// with the leader); an observer is promoted only when it has every
// transaction the leader had; a server is added only when it answers; at most
// one participant joins per reconfig; the reconfig names the config version
// it read. After: /zookeeper/config is read again until it shows the change
// and a write commits. Voters are retired followers first, the leader last.
package zkops
