package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Store is where kshift keeps its own state for one cluster. The
// ZooKeeper store is the real one; the memory store serves in-process
// simulator runs and tests; DryRun wraps either so that nothing is written.
// Another store (a Kafka topic, for clusters without ZooKeeper) implements
// the same interface and passes the same conformance tests.
type Store interface {
	// Acquire takes the operator lock for holder. When someone else holds
	// it, it fails with a *LockedError (errors.Is ErrLocked) naming them,
	// unless breakLock, which takes the lock from them in one atomic step
	// (Lease.Broken names whom).
	Acquire(ctx context.Context, holder Holder, breakLock bool) (Lease, error)
	// Lock returns the lock's holder and lease, nil when nobody holds it.
	Lock(ctx context.Context) (*LockInfo, error)
	// ThrottleRecords returns the open throttle records, oldest first.
	// Records that cannot be read are reported in an error wrapping
	// ErrCorrupt, returned together with every record that could be read.
	ThrottleRecords(ctx context.Context) ([]*ThrottleRecord, error)
	// Rate returns the operator's rate override, nil when none is set.
	Rate(ctx context.Context) (*RateOverride, error)
	// SetRate records the operator's rate override. It is not fenced:
	// `kshift throttle set` runs beside the run that holds the lock.
	SetRate(ctx context.Context, r RateOverride) error
	// StartRun opens a run's audit trail with its first record. It is not
	// fenced: the start is recorded before the lock is taken.
	StartRun(ctx context.Context, first AuditRecord) (AuditRun, error)
	// Audit returns the records f selects, run after run in the order the
	// runs started, each run's records in the order they were appended.
	// Records that cannot be read are reported in an error wrapping
	// ErrCorrupt, returned together with every record that could be read.
	Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
}

// Lease is a held operator lock. Every mutating call is fenced: it is made
// only if the lock is still this lease's, checked atomically with the
// write, so a holder that lost the lock (its session expired, or someone
// broke it) cannot change kshift's state however long it slept.
type Lease interface {
	// Info is the lock as this lease took it.
	Info() LockInfo
	// Broken is the holder whose lock Acquire broke, nil when it broke none.
	Broken() *LockInfo
	// Check returns nil while the lock is held, else a *LockLostError
	// (errors.Is ErrLockLost) saying why and who holds it now. The caller
	// checks before every mutating call it makes outside the store.
	Check(ctx context.Context) error
	// PutThrottleRecord creates or replaces the record with rec's ID.
	PutThrottleRecord(ctx context.Context, rec *ThrottleRecord) error
	// DeleteThrottleRecord deletes the record id (none is no error).
	DeleteThrottleRecord(ctx context.Context, id string) error
	// ClearRate removes the operator's rate override (none is no error):
	// the holder does it when the step it applied to ends.
	ClearRate(ctx context.Context) error
	// Release gives the lock up if it is still this lease's, and never
	// frees another holder's lock. It bounds itself in time (it runs after
	// an interrupt, without the caller's context) and is safe to call
	// again. It returns a *LockLostError when the lock was lost before.
	Release() error
}

// AuditRun appends to one run's audit trail.
type AuditRun interface {
	// ID names the run; AuditRecord.Run holds it when read back.
	ID() string
	// Append adds a record to the run.
	Append(ctx context.Context, r AuditRecord) error
}

// Errors of the store.
var (
	// ErrLocked refuses to take the lock someone else holds (*LockedError).
	ErrLocked = errors.New("another kshift holds the cluster's operator lock")
	// ErrLockLost says a lease no longer holds the lock (*LockLostError).
	ErrLockLost = errors.New("the operator lock was lost")
	// ErrCorrupt marks state that exists but cannot be read.
	ErrCorrupt = errors.New("kshift's state cannot be read")
	// ErrNoRights says the ZooKeeper session may not write kshift's znodes.
	ErrNoRights = errors.New("no rights to write kshift's state in ZooKeeper")
)

// LockedError names the holder of the lock.
type LockedError struct{ Holder LockInfo }

func (e *LockedError) Error() string {
	s := fmt.Sprintf("%v: %s; wait for it to finish", ErrLocked, e.Holder)
	if e.Holder.Lease > 0 {
		s += fmt.Sprintf(" (a holder that died frees the lock by itself within its lease, %s)", e.Holder.Lease)
	}
	return s + ", or pass --break-lock to take it from a holder that is alive and must be stopped"
}

// Unwrap makes a LockedError ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// LockLostError says why a lease lost the lock and who holds it now.
type LockLostError struct {
	// Why is what happened: "session expired", "lock broken", ...
	Why string
	// Now is the lock's holder now, nil when free or unreadable.
	Now *LockInfo
}

func (e *LockLostError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s", ErrLockLost, e.Why)
	if e.Now != nil {
		fmt.Fprintf(&b, "; it is now held by %s", e.Now)
	} else {
		b.WriteString("; nobody holds it now")
	}
	b.WriteString("; this run must stop: run the command again to take the lock and check where the plan stands")
	return b.String()
}

// Unwrap makes a LockLostError ErrLockLost.
func (e *LockLostError) Unwrap() error { return ErrLockLost }
