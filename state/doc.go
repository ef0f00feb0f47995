// Package state owns kshift's own state in the cluster: the operator lock
// (with a lease and fencing), the throttle records (what kshift set and the
// values from before), the operator's rate override, and the audit trail.
// Every operator on every host sees the same state, so no local file is
// needed for correctness (docs/design.md, "kshift's own state").
//
// It must not talk to Kafka, print, or decide anything about a plan: it
// stores and fences, and the executor decides. It talks to ZooKeeper only
// through the ZooKeeper interface (satisfied by *zk.Conn), every call
// bounded in time, and never changes anything outside <chroot>/kshift.
//
// # Stores
//
// Store is small so that another store (a Kafka topic, for clusters
// without ZooKeeper) can implement it; the conformance tests run every
// store through the same table. NewZooKeeper is the real store,
// NewMemory the in-process one (kshift demo, rehearse, fast tests), and
// DryRun wraps either for a dry run: reads pass through, writes stay in
// memory.
//
// # ZooKeeper layout
//
// Under the cluster's chroot C ("/" when zookeeper.connect has none, and
// then /kshift sits at the top level, owned by that cluster):
//
//	C/kshift                         {"version":1}; created with the first write, with C's ACL
//	C/kshift/lock                    ephemeral: the holder (host, pid, user, command, plan, step,
//	                                 since, session, lease, epoch)
//	C/kshift/lock-epoch              its version counts acquisitions; its data is the last holder
//	C/kshift/throttles/<record id>   a ThrottleRecord (JSON), until the run that cleans up deletes it
//	C/kshift/rate                    the operator's rate override (JSON), until the step ends
//	C/kshift/audit/run-<seq>         one run's audit records, JSON lines, appended with versioned
//	C/kshift/audit/run-<seq>-part-<seq2>   sets; a run goes on in a part near 512 KiB, below
//	                                 ZooKeeper's 1 MB znode limit
//
// The store refuses to create C/kshift when C holds no Kafka cluster, so a
// --zookeeper that misses the chroot cannot scatter state over a shared
// ensemble. A chrooted cluster's state travels with its chroot through a
// ZooKeeper hand-over or fork; zkops never prunes a /kshift that belongs to
// a cluster at the root.
//
// # Lease
//
// The lock is an ephemeral znode of the holder's ZooKeeper session: a
// holder that dies (SIGKILL), stops (SIGSTOP) or is cut off loses the lock
// when its session expires, one session timeout after its last contact with
// the ensemble (the lease, shown in LockInfo), and the next run takes it
// without --break-lock. A clean exit releases it at once.
//
// # Fencing
//
// Taking the lock creates the lock znode and bumps lock-epoch's version in
// one multi; breaking it (--break-lock) deletes the old lock in the same
// multi. So while lock-epoch is at the version a lease saw and the lock
// exists, the lock is that lease's. Every write of a lease (throttle
// records, clearing the rate override, Release) is one multi that checks
// both first: a holder that lost the lock, however long it slept, cannot
// write, even racing the new holder, and its late Release never deletes
// another holder's lock. Check costs one round trip and also notices, with
// no round trip, that the client silently opened a new session after the
// old one expired.
//
// # What they do not guarantee
//
// The lock is advisory: it stops kshift, not kafka-reassign-partitions,
// kafka-configs or another tool. Fencing covers kshift's state; the Kafka
// calls the executor makes cannot be fenced by ZooKeeper: between a Check
// and the Kafka call it guards there is a window (a pause of the process
// right there longer than the lease lets a second holder in before the
// first one's call lands). The executor keeps that window short by
// checking before every mutating call, and Kafka's own compare-and-set
// (reassignment state, read-back of configs) catches most of what slips
// through. The audit trail is not fenced: a run records its start before it
// takes the lock.
package state
