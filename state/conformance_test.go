package state_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/state"
)

// pair is two parties on the same state: two hosts, each with its own
// client (its own ZooKeeper session for the ZooKeeper store).
type pair struct {
	a, b state.Store
	// lease is the lease a lock of this store reports (0: none).
	lease time.Duration
}

// conformance is what every Store must do; each store runs the whole table.
var conformance = []struct {
	name string
	run  func(t *testing.T, p pair)
}{
	{"a second Acquire is refused naming the holder", testRefusedNamingHolder},
	{"release frees the lock and is safe to repeat", testReleaseFrees},
	{"breaking the lock fences the old holder", testBreakFences},
	{"throttle records oldest first, replaced in place, deleted", testThrottleRecords},
	{"state outlives the run and is read by another party", testOutlivesRun},
	{"rate override set unfenced, cleared fenced", testRateOverride},
	{"audit runs read back in order", testAuditOrder},
	{"invalid record ids are refused", testInvalidIDs},
}

func runConformance(t *testing.T, newPair func(t *testing.T) pair) {
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) { c.run(t, newPair(t)) })
	}
}

func TestMemoryConformance(t *testing.T) {
	runConformance(t, func(*testing.T) pair {
		m := state.NewMemory()
		return pair{a: m, b: m}
	})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func holder(host string, pid int) state.Holder {
	return state.Holder{Host: host, PID: pid, User: "ops", Command: "apply", Plan: "plan.yaml", Step: 3, Since: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func acquire(t *testing.T, s state.Store, h state.Holder, breakLock bool) state.Lease {
	t.Helper()
	l, err := s.Acquire(testCtx(t), h, breakLock)
	if err != nil {
		t.Fatalf("acquire by %s: %v", h.Host, err)
	}
	return l
}

func record(id string, topic string, entries ...string) *state.ThrottleRecord {
	r := state.NewThrottleRecord(id, 50<<20)
	r.Topics[topic] = &state.TopicThrottle{PriorLeader: state.PriorValue{Present: true, Known: true, Value: "0:1"}, Leader: entries}
	r.Brokers[1] = &state.BrokerThrottle{PriorLeaderRate: state.PriorValue{Present: true, Known: true, Value: "31457280"}}
	r.Plan, r.Step = "plan.yaml", 3
	return r
}

func ids(recs []*state.ThrottleRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func records(t *testing.T, s state.Store) []*state.ThrottleRecord {
	t.Helper()
	recs, err := s.ThrottleRecords(testCtx(t))
	if err != nil {
		t.Fatalf("reading throttle records: %v", err)
	}
	return recs
}

func lockOf(t *testing.T, s state.Store) *state.LockInfo {
	t.Helper()
	l, err := s.Lock(testCtx(t))
	if err != nil {
		t.Fatalf("reading the lock: %v", err)
	}
	return l
}

func testRefusedNamingHolder(t *testing.T, p pair) {
	ctx := testCtx(t)
	if l := lockOf(t, p.b); l != nil {
		t.Fatalf("a fresh store has a lock: %v", l)
	}
	la := acquire(t, p.a, holder("host-a", 101), false)
	_, err := p.b.Acquire(ctx, holder("host-b", 202), false)
	var locked *state.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second acquire: %v, want a *LockedError", err)
	}
	if locked.Holder.Holder != holder("host-a", 101) || locked.Holder.Epoch != la.Info().Epoch {
		t.Errorf("refusal names %+v, want host-a's holder at epoch %d", locked.Holder, la.Info().Epoch)
	}
	if !strings.Contains(err.Error(), "host-a") || !strings.Contains(err.Error(), "--break-lock") {
		t.Errorf("refusal does not name the holder and the way out: %v", err)
	}
	got := lockOf(t, p.b)
	if got == nil || got.Holder != holder("host-a", 101) || got.Lease != p.lease || got.Session != la.Info().Session {
		t.Fatalf("Lock() = %+v, want host-a with lease %s, session %x", got, p.lease, la.Info().Session)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatalf("holder's check: %v", err)
	}
}

func testReleaseFrees(t *testing.T, p pair) {
	la := acquire(t, p.a, holder("host-a", 1), false)
	if err := la.Release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := la.Release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if l := lockOf(t, p.b); l != nil {
		t.Fatalf("lock after release: %v", l)
	}
	if err := la.Check(testCtx(t)); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("check after release: %v, want ErrLockLost", err)
	}
	lb := acquire(t, p.b, holder("host-b", 2), false)
	if err := la.Release(); err != nil {
		t.Fatalf("a late release: %v", err)
	}
	if l := lockOf(t, p.a); l == nil || l.Host != "host-b" || l.Epoch != lb.Info().Epoch || lb.Info().Epoch <= la.Info().Epoch {
		t.Fatalf("lock after a's late release: %+v, want host-b's at a later epoch than %d", l, la.Info().Epoch)
	}
}

func testBreakFences(t *testing.T, p pair) {
	ctx := testCtx(t)
	la := acquire(t, p.a, holder("host-a", 1), false)
	if err := la.PutThrottleRecord(ctx, record("r1", "orders", "0:1")); err != nil {
		t.Fatal(err)
	}
	if err := p.b.SetRate(ctx, state.RateOverride{Rate: 1000, User: "ops"}); err != nil {
		t.Fatal(err)
	}
	lb := acquire(t, p.b, holder("host-b", 2), true)
	if br := lb.Broken(); br == nil || br.Holder != holder("host-a", 1) {
		t.Fatalf("Broken() = %+v, want host-a's holder", br)
	}
	err := la.Check(ctx)
	var lost *state.LockLostError
	if !errors.As(err, &lost) || lost.Now == nil || lost.Now.Host != "host-b" {
		t.Fatalf("old holder's check: %v, want a *LockLostError naming host-b", err)
	}
	if err := la.PutThrottleRecord(ctx, record("r2", "orders", "0:2")); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("old holder's put: %v, want ErrLockLost", err)
	}
	if err := la.PutThrottleRecord(ctx, record("r1", "changed", "9:9")); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("old holder's overwrite: %v, want ErrLockLost", err)
	}
	if err := la.DeleteThrottleRecord(ctx, "r1"); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("old holder's delete: %v, want ErrLockLost", err)
	}
	if err := la.ClearRate(ctx); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("old holder's rate clear: %v, want ErrLockLost", err)
	}
	if err := la.Release(); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("old holder's release: %v, want ErrLockLost", err)
	}
	recs := records(t, p.b)
	if len(recs) != 1 || !reflect.DeepEqual(recs[0], record("r1", "orders", "0:1")) {
		t.Errorf("records after the old holder's writes: %v, want r1 untouched", ids(recs))
	}
	if r, err := p.b.Rate(ctx); err != nil || r == nil || r.Rate != 1000 {
		t.Errorf("rate after the old holder's clear: %+v, %v", r, err)
	}
	if l := lockOf(t, p.a); l == nil || l.Host != "host-b" {
		t.Fatalf("lock after the old holder's release: %+v, want host-b's", l)
	}
	if err := lb.Check(ctx); err != nil {
		t.Fatalf("new holder's check: %v", err)
	}
	if err := lb.PutThrottleRecord(ctx, record("r2", "orders", "0:2")); err != nil {
		t.Fatalf("new holder's put: %v", err)
	}
}

func testThrottleRecords(t *testing.T, p pair) {
	ctx := testCtx(t)
	if got := records(t, p.a); len(got) != 0 {
		t.Fatalf("fresh store has records %v", ids(got))
	}
	la := acquire(t, p.a, holder("host-a", 1), false)
	for _, id := range []string{"r3", "r1", "r2"} {
		if err := la.PutThrottleRecord(ctx, record(id, "orders", "0:1")); err != nil {
			t.Fatal(err)
		}
	}
	r3 := record("r3", "orders", "0:1", "1:1")
	r3.Brokers[2] = &state.BrokerThrottle{}
	if err := la.PutThrottleRecord(ctx, r3); err != nil {
		t.Fatal(err)
	}
	if err := la.DeleteThrottleRecord(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := la.DeleteThrottleRecord(ctx, "never-written"); err != nil {
		t.Fatalf("deleting a missing record: %v", err)
	}
	got := records(t, p.b)
	if !reflect.DeepEqual(got, []*state.ThrottleRecord{r3, record("r2", "orders", "0:1")}) {
		t.Fatalf("records = %v, want r3 (replaced, first) and r2", ids(got))
	}
	got[0].Topics["orders"].Leader[0] = "mutated"
	if again := records(t, p.b); again[0].Topics["orders"].Leader[0] != "0:1" {
		t.Fatalf("a caller's change to a record read back reached the store")
	}
}

func testOutlivesRun(t *testing.T, p pair) {
	ctx := testCtx(t)
	la := acquire(t, p.a, holder("host-a", 1), false)
	want := record("kept", "orders", "0:1", "0:2")
	if err := la.PutThrottleRecord(ctx, want); err != nil {
		t.Fatal(err)
	}
	run, err := p.a.StartRun(ctx, state.AuditRecord{Event: state.AuditStart, Host: "host-a", Plan: "plan.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Append(ctx, state.AuditRecord{Event: state.AuditThrottles, Host: "host-a", Throttles: want}); err != nil {
		t.Fatal(err)
	}
	if err := la.Release(); err != nil {
		t.Fatal(err)
	}
	if got := records(t, p.b); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("other party reads %v, want the record kept", ids(got))
	}
	audit, err := p.b.Audit(ctx, state.AuditFilter{})
	if err != nil || len(audit) != 2 || !reflect.DeepEqual(audit[1].Throttles, want) {
		t.Fatalf("other party's audit: %+v, %v", audit, err)
	}
	// The other party cleans up what the first left.
	lb := acquire(t, p.b, holder("host-b", 2), false)
	if err := lb.DeleteThrottleRecord(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if got := records(t, p.a); len(got) != 0 {
		t.Fatalf("records after the cleanup: %v", ids(got))
	}
}

func testRateOverride(t *testing.T, p pair) {
	ctx := testCtx(t)
	if r, err := p.a.Rate(ctx); err != nil || r != nil {
		t.Fatalf("fresh rate: %+v, %v", r, err)
	}
	la := acquire(t, p.a, holder("host-a", 1), false)
	want := state.RateOverride{Rate: 30 << 20, User: "ops", Host: "host-b", Command: "throttle set", Time: time.Date(2025, 3, 1, 10, 5, 0, 0, time.UTC)}
	// Set beside the run holding the lock.
	if err := p.b.SetRate(ctx, want); err != nil {
		t.Fatalf("set beside a holder: %v", err)
	}
	want.Rate = 40 << 20
	if err := p.b.SetRate(ctx, want); err != nil {
		t.Fatalf("set again: %v", err)
	}
	if r, err := p.a.Rate(ctx); err != nil || r == nil || *r != want {
		t.Fatalf("rate = %+v, %v; want %+v", r, err, want)
	}
	if err := p.b.SetRate(ctx, state.RateOverride{Rate: 0}); err == nil {
		t.Fatalf("a zero rate override was accepted")
	}
	if err := la.ClearRate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := la.ClearRate(ctx); err != nil {
		t.Fatalf("clearing no override: %v", err)
	}
	if r, err := p.b.Rate(ctx); err != nil || r != nil {
		t.Fatalf("rate after clear: %+v, %v", r, err)
	}
}

func testAuditOrder(t *testing.T, p pair) {
	ctx := testCtx(t)
	at := func(min int) time.Time { return time.Date(2025, 3, 1, 10, min, 0, 0, time.UTC) }
	ra, err := p.a.StartRun(ctx, state.AuditRecord{Time: at(0), Event: state.AuditStart, Plan: "a.yaml", Step: 1})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := p.b.StartRun(ctx, state.AuditRecord{Time: at(1), Event: state.AuditStart, Plan: "b.yaml", Step: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ra.ID() == rb.ID() {
		t.Fatalf("two runs share the id %s", ra.ID())
	}
	// Interleaved appends: each run's records stay together and in order.
	for i, r := range []state.AuditRun{ra, rb, ra, rb} {
		plan := map[state.AuditRun]string{ra: "a.yaml", rb: "b.yaml"}[r]
		if err := r.Append(ctx, state.AuditRecord{Time: at(2 + i), Event: state.AuditCall, Call: "call", Plan: plan, Request: []any{"x", float64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ra.Append(ctx, state.AuditRecord{Time: at(6), Event: state.AuditEnd, Plan: "a.yaml", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	all, err := p.a.Audit(ctx, state.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range all {
		got = append(got, r.Run+"/"+r.Time.Format("04"))
	}
	want := []string{ra.ID() + "/00", ra.ID() + "/02", ra.ID() + "/04", ra.ID() + "/06", rb.ID() + "/01", rb.ID() + "/03", rb.ID() + "/05"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("audit order %v, want %v", got, want)
	}
	if !reflect.DeepEqual(all[1].Request, []any{"x", float64(0)}) {
		t.Errorf("request read back as %#v", all[1].Request)
	}
	some, err := p.b.Audit(ctx, state.AuditFilter{Plan: "b.yaml", Since: at(3)})
	if err != nil || len(some) != 2 || some[0].Time != at(3) || some[1].Time != at(5) {
		t.Fatalf("filtered audit: %+v, %v; want b's records of 10:03 and 10:05", some, err)
	}
}

func testInvalidIDs(t *testing.T, p pair) {
	ctx := testCtx(t)
	la := acquire(t, p.a, holder("host-a", 1), false)
	for _, id := range []string{"", "a/b", "..", strings.Repeat("x", 201), "a\nb"} {
		if err := la.PutThrottleRecord(ctx, record(id, "orders", "0:1")); err == nil {
			t.Errorf("record id %q accepted", id)
		}
	}
}
