package zkops_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
)

// TestJoinAndHandoverUnderWrites: 3 source voters, 3 target nodes join as
// observers, get in sync, are promoted, and the sources are retired, while a
// client writes continuously through all six servers.
func TestJoinAndHandoverUnderWrites(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	src := zktest.StartEnsemble(t, zktest.Options{Voters: 3})
	var targets []plans.ZKServer
	for i := 0; i < 3; i++ {
		targets = append(targets, server(src.AddNode(""), plans.RoleObserver))
	}
	conn := src.Client()
	w := startWriter(t, src.Connect())
	var log bytes.Buffer
	opts := zkops.Options{Out: &log}

	// Let the writer get going before the first reconfig.
	for w.count() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	before := w.count()
	start := time.Now()
	if err := zkops.Join(ctx, conn, targets, opts); err != nil {
		t.Fatalf("join: %v\n%s", err, log.String())
	}
	t.Logf("join of 3 observers took %s", time.Since(start).Round(time.Millisecond))
	if got, want := membership(t, ctx, conn), "1:participant 2:participant 3:participant 4:observer 5:observer 6:observer"; got != want {
		t.Fatalf("after join: %s, want %s", got, want)
	}
	st, err := zkops.ReadStatus(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if st.SyncedObservers != 3 {
		t.Errorf("leader's mntr counts %d synced observers, want 3", st.SyncedObservers)
	}
	if !st.Reconfig.Enabled || !st.Reconfig.Authorised {
		t.Errorf("reconfig access = %+v, want enabled and authorised", st.Reconfig)
	}

	w.busy(t, before, "the join")
	before = w.count()
	start = time.Now()
	if err := zkops.Handover(ctx, conn, []int{4, 5, 6}, []int{1, 2, 3}, opts); err != nil {
		t.Fatalf("handover: %v\n%s", err, log.String())
	}
	t.Logf("handover (3 promotions, 3 retirements) took %s", time.Since(start).Round(time.Millisecond))
	w.busy(t, before, "the handover")
	if got, want := membership(t, ctx, conn), "4:participant 5:participant 6:participant"; got != want {
		t.Fatalf("after handover: %s, want %s", got, want)
	}
	if st, err = zkops.ReadStatus(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if st.Leader < 4 || st.QuorumSize != 3 || st.SyncedFollowers != 2 {
		t.Errorf("after handover: leader %d, quorum size %d, synced followers %d; want a target leading 3 voters", st.Leader, st.QuorumSize, st.SyncedFollowers)
	}
	// The retired sources still run: they follow the new leader without a vote until stopped.
	t.Logf("after handover: %d non-voting followers (the retired sources, still running)", st.SyncedNonVoting)
	for _, m := range st.Members {
		if !m.InSync {
			t.Errorf("after handover: member %d not in sync: %+v", m.ID, m)
		}
	}
	t.Logf("progress:\n%s", log.String())
	w.check(t, zktest.Dial(t, src.Connect(4, 5, 6), false))
}
