package state_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kshift/kshift/state"
)

// TestDryRunKeepsWritesInMemory: a dry run reads the real state with its
// own writes on top, and the real state never changes.
func TestDryRunKeepsWritesInMemory(t *testing.T) {
	ctx := testCtx(t)
	real := state.NewMemory()
	// The real state: a live holder, two open records, an override, a run.
	holderLease := acquire(t, real, holder("live", 1), false)
	for _, id := range []string{"old1", "old2"} {
		if err := holderLease.PutThrottleRecord(ctx, record(id, "orders", "0:1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := real.SetRate(ctx, state.RateOverride{Rate: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := real.StartRun(ctx, state.AuditRecord{Event: state.AuditStart, Plan: "real"}); err != nil {
		t.Fatal(err)
	}
	snapshot := func() any {
		recs, _ := real.ThrottleRecords(ctx)
		rate, _ := real.Rate(ctx)
		audit, _ := real.Audit(ctx, state.AuditFilter{})
		lock, _ := real.Lock(ctx)
		return []any{recs, rate, audit, lock}
	}
	before := snapshot()

	d := state.DryRun(real)
	// A dry run takes no lock: it never refuses, and the real lock stays.
	l, err := d.Acquire(ctx, holder("dry", 2), false)
	if err != nil {
		t.Fatalf("dry acquire beside a live holder: %v", err)
	}
	if got := lockOf(t, d); got == nil || got.Host != "live" {
		t.Fatalf("dry run's Lock() = %+v, want the real holder", got)
	}
	changed := record("old2", "orders", "0:1", "5:5")
	for _, step := range []func() error{
		func() error { return l.PutThrottleRecord(ctx, record("new", "orders", "0:1")) },
		func() error { return l.PutThrottleRecord(ctx, changed) },
		func() error { return l.DeleteThrottleRecord(ctx, "old1") },
		func() error { return l.ClearRate(ctx) },
		func() error {
			_, err := d.StartRun(ctx, state.AuditRecord{Event: state.AuditStart, Plan: "dry"})
			return err
		},
		func() error { return l.Check(ctx) },
		l.Release,
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if got := records(t, d); !reflect.DeepEqual(got, []*state.ThrottleRecord{changed, record("new", "orders", "0:1")}) {
		t.Fatalf("dry run reads records %v, want old2 (changed) then new", ids(got))
	}
	if r, err := d.Rate(ctx); err != nil || r != nil {
		t.Fatalf("dry run reads rate %+v, %v after clearing it", r, err)
	}
	if err := d.SetRate(ctx, state.RateOverride{Rate: 9}); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Rate(ctx); err != nil || r == nil || r.Rate != 9 {
		t.Fatalf("dry run reads rate %+v, %v after setting it", r, err)
	}
	audit, err := d.Audit(ctx, state.AuditFilter{})
	if err != nil || len(audit) != 2 || audit[0].Plan != "real" || audit[1].Plan != "dry" {
		t.Fatalf("dry run reads audit %+v, %v; want the real run then its own", audit, err)
	}
	if after := snapshot(); !reflect.DeepEqual(after, before) {
		t.Fatalf("the dry run changed the real state:\n%+v\nwas\n%+v", after, before)
	}
	// The real holder was never disturbed.
	if err := holderLease.Check(ctx); err != nil {
		t.Fatalf("real holder after the dry run: %v", err)
	}
	if err := l.PutThrottleRecord(ctx, record("a/b", "orders")); err == nil || errors.Is(err, state.ErrLockLost) {
		t.Fatalf("dry put of an invalid id: %v", err)
	}
}
