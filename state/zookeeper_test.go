package state_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/state"
)

// sessionTimeout is the lease of the test stores: the test server's
// tickTime of 200 ms allows 0.4 s to 4 s.
const sessionTimeout = 2 * time.Second

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// dial opens a session with addr with the given timeout; the session ends
// at cleanup.
func dial(t *testing.T, addr string, timeout time.Duration) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{addr}, timeout, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	t.Cleanup(conn.Close)
	waitSession(t, conn, 0)
	return conn
}

// waitSession waits until conn has a session other than not.
func waitSession(t *testing.T, conn *zk.Conn, not int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for conn.State() != zk.StateHasSession || conn.SessionID() == not {
		if time.Now().After(deadline) {
			t.Fatalf("no new ZooKeeper session within 30s (state %s)", conn.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var chroots atomic.Int64

// kafkaChroot makes a fresh chroot holding what marks a Kafka cluster.
func kafkaChroot(t *testing.T, admin *zk.Conn, acl []zk.ACL) string {
	t.Helper()
	ch := fmt.Sprintf("/cluster-%d", chroots.Add(1))
	for _, p := range []string{ch, ch + "/cluster"} {
		if _, err := admin.Create(p, nil, 0, acl); err != nil {
			t.Fatalf("creating %s: %v", p, err)
		}
	}
	if _, err := admin.Create(ch+"/cluster/id", []byte(`{"version":"1","id":"test"}`), 0, acl); err != nil {
		t.Fatalf("creating %s/cluster/id: %v", ch, err)
	}
	return ch
}

func newStore(t *testing.T, conn state.ZooKeeper, chroot string, opts state.Options) state.Store {
	t.Helper()
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = sessionTimeout
	}
	s, err := state.NewZooKeeper(conn, chroot, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestZooKeeperStore runs the store on a real one-node ensemble, each
// subtest in a fresh chroot.
func TestZooKeeperStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ZooKeeper server")
	}
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1})
	addr := e.Connect()
	admin := zktest.Dial(t, addr, true)
	open := zk.WorldACL(zk.PermAll)

	t.Run("conformance", func(t *testing.T) {
		runConformance(t, func(t *testing.T) pair {
			ch := kafkaChroot(t, admin, open)
			return pair{
				a:     newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{}),
				b:     newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{}),
				lease: sessionTimeout,
			}
		})
	})
	t.Run("layout", func(t *testing.T) { testLayout(t, admin, addr) })
	t.Run("a killed holder's lock frees after its lease", func(t *testing.T) { testKilledHolder(t, admin, addr) })
	t.Run("a frozen holder is fenced", func(t *testing.T) { testFrozenHolder(t, admin, addr) })
	t.Run("a lock deleted by hand is lost", func(t *testing.T) { testDeletedByHand(t, admin, addr) })
	t.Run("audit rollover and unreadable records", func(t *testing.T) { testAuditRollover(t, admin, addr) })
	t.Run("state survives sessions", func(t *testing.T) { testSurvivesSessions(t, admin, addr) })
	t.Run("no rights", func(t *testing.T) { testNoRights(t, admin, addr) })
	t.Run("chroot without Kafka refused", func(t *testing.T) { testNotKafka(t, admin, addr) })
	t.Run("dry run writes nothing", func(t *testing.T) { testDryRunOnZooKeeper(t, admin, addr) })
	// Last: it makes the root a Kafka chroot.
	t.Run("root chroot", func(t *testing.T) { testRootChroot(t, admin, addr) })
}

func testLayout(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	ch := kafkaChroot(t, admin, open())
	conn := dial(t, addr, sessionTimeout)
	s := newStore(t, conn, ch, state.Options{})
	if _, err := s.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := admin.Exists(ch + "/kshift"); ok {
		t.Fatalf("a read created %s/kshift", ch)
	}
	l := acquire(t, s, holder("host-a", 1), false)
	data, _, err := admin.Get(ch + "/kshift")
	if err != nil || string(data) != `{"version":1}` {
		t.Fatalf("%s/kshift = %q, %v", ch, data, err)
	}
	data, st, err := admin.Get(ch + "/kshift/lock")
	if err != nil || st.EphemeralOwner != conn.SessionID() {
		t.Fatalf("lock znode: %+v, %v; want ephemeral of session %x", st, err, conn.SessionID())
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil || doc["host"] != "host-a" || doc["lease_ms"] != float64(2000) || doc["session"] != fmt.Sprintf("0x%x", conn.SessionID()) || doc["epoch"] != float64(1) {
		t.Fatalf("lock holder record %s, %v", data, err)
	}
	for want := int32(1); want <= 3; want++ {
		if _, st, err := admin.Get(ch + "/kshift/lock-epoch"); err != nil || st.Version != want {
			t.Fatalf("lock-epoch version %v, %v; want %d", st, err, want)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		l = acquire(t, s, holder("host-a", 1), false)
	}
	if err := l.PutThrottleRecord(ctx, record("r1", "orders", "0:1")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "/lock", "/lock-epoch", "/throttles", "/throttles/r1", "/audit"} {
		acl, _, err := admin.GetACL(ch + "/kshift" + p)
		if err != nil || !reflect.DeepEqual(acl, open()) {
			t.Errorf("ACL of %s/kshift%s: %v, %v; want the chroot's %v", ch, p, acl, err, open())
		}
	}
}

func open() []zk.ACL { return zk.WorldACL(zk.PermAll) }

// TestHelperHoldLock is not a test: testKilledHolder runs the test binary
// as a holder process that takes the lock, says so and waits to be killed.
func TestHelperHoldLock(t *testing.T) {
	spec := os.Getenv("KSHIFT_STATE_TEST_HOLDER")
	if spec == "" {
		return
	}
	addr, chroot, _ := strings.Cut(spec, " ")
	conn, _, err := zk.Connect([]string{addr}, sessionTimeout, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, conn, chroot, state.Options{})
	if _, err := s.Acquire(context.Background(), holder("doomed", os.Getpid()), false); err != nil {
		t.Fatal(err)
	}
	fmt.Println("held")
	time.Sleep(time.Minute)
}

func testKilledHolder(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	ch := kafkaChroot(t, admin, open())
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "KSHIFT_STATE_TEST_HOLDER="+addr+" "+ch)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "held\n" {
		t.Fatalf("holder process said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()

	s := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{})
	_, err = s.Acquire(ctx, holder("host-b", 2), false)
	var locked *state.LockedError
	if !errors.As(err, &locked) || locked.Holder.Host != "doomed" || locked.Holder.PID != cmd.Process.Pid {
		t.Fatalf("acquire right after the kill: %v, want refused naming pid %d", err, cmd.Process.Pid)
	}
	for {
		l, err := s.Acquire(ctx, holder("host-b", 2), false)
		if err == nil {
			t.Logf("lock taken without --break-lock %s after the holder was killed (lease %s)", time.Since(killed).Round(10*time.Millisecond), locked.Holder.Lease)
			if err := l.Check(ctx); err != nil {
				t.Fatal(err)
			}
			return
		}
		if !errors.Is(err, state.ErrLocked) {
			t.Fatal(err)
		}
		if time.Since(killed) > 10*sessionTimeout {
			t.Fatalf("the killed holder's lock still stands %s later: %v", time.Since(killed), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testFrozenHolder(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	ch := kafkaChroot(t, admin, open())
	px := startProxy(t, addr)
	connA := dial(t, px.Addr(), sessionTimeout)
	a := newStore(t, connA, ch, state.Options{CallTimeout: 3 * time.Second})
	b := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{})
	la := acquire(t, a, holder("host-a", 1), false)
	if err := la.PutThrottleRecord(ctx, record("r1", "orders", "0:1")); err != nil {
		t.Fatal(err)
	}
	sessionA := connA.SessionID()

	px.Freeze()
	frozen := time.Now()
	var lb state.Lease
	for {
		var err error
		if lb, err = b.Acquire(ctx, holder("host-b", 2), false); err == nil {
			break
		}
		if !errors.Is(err, state.ErrLocked) {
			t.Fatal(err)
		}
		if time.Since(frozen) > 10*sessionTimeout {
			t.Fatalf("the frozen holder's lock still stands %s later", time.Since(frozen))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("b took the lock %s after a froze", time.Since(frozen).Round(10*time.Millisecond))

	// A wakes: whatever its client knows yet, it may not write.
	px.Thaw()
	if err := la.Check(ctx); err == nil {
		t.Fatalf("a's check passed right after waking")
	}
	if err := la.PutThrottleRecord(ctx, record("late", "orders", "0:9")); err == nil {
		t.Fatalf("a's put passed right after waking")
	}
	// Once its client is back, in a new session: the lock is lost, for sure.
	waitSession(t, connA, sessionA)
	err := la.Check(ctx)
	var lost *state.LockLostError
	if expired := fmt.Sprintf("session 0x%x that held it expired", sessionA); !errors.As(err, &lost) || lost.Now == nil || lost.Now.Host != "host-b" || !strings.Contains(err.Error(), expired) {
		t.Fatalf("a's check: %v, want a *LockLostError saying %q and naming host-b", err, expired)
	}
	if err := la.PutThrottleRecord(ctx, record("late", "orders", "0:9")); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("a's put: %v, want ErrLockLost", err)
	}
	if err := la.DeleteThrottleRecord(ctx, "r1"); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("a's delete: %v, want ErrLockLost", err)
	}
	if got := ids(records(t, b)); !reflect.DeepEqual(got, []string{"r1"}) {
		t.Fatalf("records after a's writes: %v, want [r1]", got)
	}
	if err := la.Release(); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("a's release: %v, want ErrLockLost", err)
	}
	if l := lockOf(t, b); l == nil || l.Host != "host-b" {
		t.Fatalf("lock after a's release: %+v, want b's", l)
	}
	if err := lb.Check(ctx); err != nil {
		t.Fatalf("b's check: %v", err)
	}
}

func testAuditRollover(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	ch := kafkaChroot(t, admin, open())
	s := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{AuditNodeBytes: 700})
	other := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{AuditNodeBytes: 700})
	rec := func(run string, i int) state.AuditRecord {
		return state.AuditRecord{Time: time.Date(2025, 3, 1, 10, 0, i, 0, time.UTC), Event: state.AuditCall, Call: run, Request: strings.Repeat("x", 100)}
	}
	ra, err := s.StartRun(ctx, rec("a", 0))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := other.StartRun(ctx, rec("b", 0))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 12; i++ {
		for _, r := range []state.AuditRun{ra, rb} {
			if err := r.Append(ctx, rec(map[state.AuditRun]string{ra: "a", rb: "b"}[r], i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	nodes, _, err := admin.Children(ch + "/kshift/audit")
	if err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, n := range nodes {
		if strings.Contains(n, "-part-") {
			parts++
		}
		data, _, _ := admin.Get(ch + "/kshift/audit/" + n)
		if len(data) > 700 {
			t.Errorf("audit node %s holds %d bytes, over the 700 asked", n, len(data))
		}
	}
	if parts < 4 {
		t.Fatalf("audit nodes %v: want the runs rolled over into parts", nodes)
	}
	all, err := other.Audit(ctx, state.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, r := range all {
		got = append(got, fmt.Sprintf("%s:%s%d", r.Run, r.Call, r.Time.Second()))
	}
	for _, r := range []struct{ id, call string }{{ra.ID(), "a"}, {rb.ID(), "b"}} {
		for i := 0; i < 12; i++ {
			want = append(want, fmt.Sprintf("%s:%s%d", r.id, r.call, i))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("audit read back\n%v\nwant\n%v", got, want)
	}

	// A torn or foreign line is reported, and the rest still read.
	first := ch + "/kshift/audit/" + ra.ID()
	data, st, err := admin.Get(first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Set(first, append(data, []byte("{\"time\":\"2025-03-01T10:0\n")...), st.Version); err != nil {
		t.Fatal(err)
	}
	all, err = other.Audit(ctx, state.AuditFilter{})
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), first) || len(all) != len(want) {
		t.Fatalf("audit with a torn line: %d records, %v; want all %d and ErrCorrupt naming %s", len(all), err, len(want), first)
	}
	// The same for a throttle record.
	lease := acquire(t, s, holder("host-a", 1), false)
	if err := lease.PutThrottleRecord(ctx, record("good", "orders", "0:1")); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(ch+"/kshift/throttles/bad", []byte(`{"id":"bad","topics":`), 0, open()); err != nil {
		t.Fatal(err)
	}
	recs, err := other.ThrottleRecords(ctx)
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), ch+"/kshift/throttles/bad") || !reflect.DeepEqual(ids(recs), []string{"good"}) {
		t.Fatalf("records with an unreadable one: %v, %v; want [good] and ErrCorrupt naming bad", ids(recs), err)
	}
}

func testSurvivesSessions(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	ch := kafkaChroot(t, admin, open())
	connA := dial(t, addr, sessionTimeout)
	a := newStore(t, connA, ch, state.Options{})
	la := acquire(t, a, holder("host-a", 1), false)
	want := record("r1", "orders", "0:1", "1:1")
	if err := la.PutThrottleRecord(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRate(ctx, state.RateOverride{Rate: 1 << 20, User: "ops"}); err != nil {
		t.Fatal(err)
	}
	run, err := a.StartRun(ctx, state.AuditRecord{Event: state.AuditStart, Host: "host-a"})
	if err != nil {
		t.Fatal(err)
	}
	_ = run
	// Host A exits without releasing: a clean close ends its session, and
	// with it the lock, at once; the rest stays.
	connA.Close()
	b := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{})
	if l := lockOf(t, b); l != nil {
		t.Fatalf("lock after a's session closed: %v", l)
	}
	if got := records(t, b); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("records from another session: %v", ids(got))
	}
	if r, err := b.Rate(ctx); err != nil || r == nil || r.Rate != 1<<20 {
		t.Fatalf("rate from another session: %+v, %v", r, err)
	}
	if recs, err := b.Audit(ctx, state.AuditFilter{}); err != nil || len(recs) != 1 || recs[0].Host != "host-a" {
		t.Fatalf("audit from another session: %+v, %v", recs, err)
	}
}

func testNoRights(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	secured := append(zk.DigestACL(zk.PermAll, "kafka", "kafka-secret"), zk.WorldACL(zk.PermRead)...)
	ch := kafkaChroot(t, admin, secured)
	anon := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{})
	_, err := anon.Acquire(ctx, holder("host-a", 1), false)
	if !errors.Is(err, state.ErrNoRights) || !strings.Contains(err.Error(), "--zookeeper-digest-env") || !strings.Contains(err.Error(), "create and write rights on "+ch) {
		t.Fatalf("acquire without rights: %v, want ErrNoRights saying which rights and how to give credentials", err)
	}
	if err := anon.SetRate(ctx, state.RateOverride{Rate: 1}); !errors.Is(err, state.ErrNoRights) {
		t.Fatalf("rate without rights: %v", err)
	}
	conn := dial(t, addr, sessionTimeout)
	if err := conn.AddAuth("digest", []byte("kafka:kafka-secret")); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, conn, ch, state.Options{})
	l := acquire(t, s, holder("host-a", 1), false)
	if err := l.PutThrottleRecord(ctx, record("r1", "orders", "0:1")); err != nil {
		t.Fatal(err)
	}
	acl, _, err := admin.GetACL(ch + "/kshift/throttles/r1")
	if err != nil || !reflect.DeepEqual(acl, secured) {
		t.Fatalf("ACL of a record: %v, %v; want the chroot's %v", acl, err, secured)
	}
	// Others still read it, as they read Kafka's own znodes.
	if got := lockOf(t, anon); got == nil || got.Host != "host-a" {
		t.Fatalf("lock read without credentials: %+v", got)
	}
}

func testNotKafka(t *testing.T, admin *zk.Conn, addr string) {
	ch := fmt.Sprintf("/not-kafka-%d", chroots.Add(1))
	if _, err := admin.Create(ch, nil, 0, open()); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{})
	_, err := s.Acquire(testCtx(t), holder("host-a", 1), false)
	if err == nil || !strings.Contains(err.Error(), "holds no Kafka cluster") {
		t.Fatalf("acquire in a chroot without Kafka: %v", err)
	}
	if ok, _, _ := admin.Exists(ch + "/kshift"); ok {
		t.Fatalf("%s/kshift was created", ch)
	}
	for _, bad := range []string{"kafka", "/kafka/", "/a/../b"} {
		if _, err := state.NewZooKeeper(admin, bad, state.Options{SessionTimeout: time.Second}); err == nil {
			t.Errorf("chroot %q accepted", bad)
		}
	}
	if _, err := state.NewZooKeeper(admin, "/kafka", state.Options{}); err == nil {
		t.Errorf("a store without its session timeout (the lease) accepted")
	}
}

func testDryRunOnZooKeeper(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	ch := kafkaChroot(t, admin, open())
	d := state.DryRun(newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{}))
	l := acquire(t, d, holder("host-a", 1), false)
	if err := l.PutThrottleRecord(ctx, record("r1", "orders", "0:1")); err != nil {
		t.Fatal(err)
	}
	if err := d.SetRate(ctx, state.RateOverride{Rate: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartRun(ctx, state.AuditRecord{Event: state.AuditStart}); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if got := ids(records(t, d)); !reflect.DeepEqual(got, []string{"r1"}) {
		t.Fatalf("dry run reads its own records: %v", got)
	}
	if ok, _, _ := admin.Exists(ch + "/kshift"); ok {
		t.Fatalf("a dry run created %s/kshift", ch)
	}
}

func testRootChroot(t *testing.T, admin *zk.Conn, addr string) {
	for _, p := range []string{"/cluster", "/cluster/id"} {
		if _, err := admin.Create(p, nil, 0, open()); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatal(err)
		}
	}
	s := newStore(t, dial(t, addr, sessionTimeout), "/", state.Options{})
	acquire(t, s, holder("host-a", 1), false)
	if _, st, err := admin.Get("/kshift/lock"); err != nil || st.EphemeralOwner == 0 {
		t.Fatalf("/kshift/lock of a cluster at the root: %v, %v", st, err)
	}
}

// testDeletedByHand: the holder's session lives on, nobody took the lock
// after it, but the lock znode is gone (deleted with zkCli): the lease must
// not write on.
func testDeletedByHand(t *testing.T, admin *zk.Conn, addr string) {
	ctx := testCtx(t)
	ch := kafkaChroot(t, admin, open())
	s := newStore(t, dial(t, addr, sessionTimeout), ch, state.Options{})
	l := acquire(t, s, holder("host-a", 1), false)
	if err := admin.Delete(ch+"/kshift/lock", -1); err != nil {
		t.Fatal(err)
	}
	if err := l.PutThrottleRecord(ctx, record("r1", "orders", "0:1")); !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "nobody holds it now") {
		t.Fatalf("put after the lock was deleted: %v, want ErrLockLost", err)
	}
	if got := records(t, s); len(got) != 0 {
		t.Fatalf("records written without the lock: %v", ids(got))
	}
	if err := l.Check(ctx); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("check after the lock was deleted: %v", err)
	}
}
