package zkops_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
)

func TestPromotionRefusedWhileObserverLags(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 3, Observers: 1})
	conn := e.Client(1, 2, 3)
	e.Node(4).Pause()
	// Writes the paused observer cannot see.
	for i := 0; i < 5; i++ {
		if err := zkops.WriteCheck(ctx, conn); err != nil {
			t.Fatal(err)
		}
	}
	err := zkops.Promote(ctx, conn, 4, zkops.Options{SyncTimeout: 2 * time.Second})
	if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), "not in sync") {
		t.Fatalf("promoting a paused observer: err = %v, want a refusal saying it is not in sync", err)
	}
	if got, want := membership(t, ctx, conn), "1:participant 2:participant 3:participant 4:observer"; got != want {
		t.Fatalf("after the refusal: %s, want %s unchanged", got, want)
	}
	e.Node(4).Resume()
	if err := zkops.Promote(ctx, conn, 4, zkops.Options{}); err != nil {
		t.Fatalf("promoting the resumed observer: %v", err)
	}
	if got, want := membership(t, ctx, conn), "1:participant 2:participant 3:participant 4:participant"; got != want {
		t.Fatalf("after promotion: %s, want %s", got, want)
	}
}

func TestRemovalBreakingMajorityRefused(t *testing.T) {
	// Small and independent: runs beside the other small tests, at most
	// -parallel (GOMAXPROCS) at once, after the heavy serial ones.
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 3})
	leader := e.Leader()
	var followers []int
	for _, id := range e.IDs() {
		if id != leader {
			followers = append(followers, id)
		}
	}
	conn := e.Client(leader)
	e.Node(followers[0]).Stop()
	// Voters left would be the leader and the stopped follower: 1 of 2 healthy.
	err := zkops.Retire(ctx, conn, followers[1], zkops.Options{})
	if !errors.Is(err, zkops.ErrRefused) || !strings.Contains(err.Error(), "a majority needs 2") {
		t.Fatalf("removing the last healthy follower: err = %v, want a majority refusal", err)
	}
	if got, want := membership(t, ctx, conn), "1:participant 2:participant 3:participant"; got != want {
		t.Fatalf("after the refusal: %s, want %s unchanged", got, want)
	}
	// Removing the stopped follower keeps 2 of 2 healthy: allowed.
	if err := zkops.Retire(ctx, conn, followers[0], zkops.Options{}); err != nil {
		t.Fatalf("removing the stopped follower: %v", err)
	}
}

func TestReconfigWithoutAuthorisationExplainsAlternative(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 3})
	n := e.AddNode("")
	conn := zktest.Dial(t, e.Connect(1, 2, 3), false)
	if acc := zkops.ProbeReconfig(ctx, conn); !acc.Enabled || acc.Authorised {
		t.Errorf("probe without auth = %+v, want enabled, not authorised", acc)
	}
	err := zkops.Join(ctx, conn, []plans.ZKServer{server(n, plans.RoleObserver)}, zkops.Options{})
	if !errors.Is(err, zkops.ErrReconfigUnavailable) {
		t.Fatalf("join without auth: err = %v, want ErrReconfigUnavailable", err)
	}
	// The real fix, with the real names: the credentials kshift reads and
	// the servers' JVM option; no static restart, no flags that do not exist.
	for _, want := range []string{"super digest", "KSHIFT_ZK_DIGEST=super:PASSWORD", "--zookeeper-digest-env", "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:DIGEST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	for _, wrong := range []string{"--zk-user", "--zk-password", "static-config rolling restart"} {
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("error %q advises %q", err, wrong)
		}
	}
	if got, want := membership(t, ctx, conn), "1:participant 2:participant 3:participant"; got != want {
		t.Fatalf("after the refusal: %s, want %s unchanged", got, want)
	}
}

func TestReconfigDisabledExplainsAlternative(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1, ReconfigDisabled: true})
	conn := e.Client()
	if acc := zkops.ProbeReconfig(ctx, conn); acc.Enabled {
		t.Errorf("probe = %+v, want disabled", acc)
	}
	err := zkops.Retire(ctx, conn, 1, zkops.Options{})
	if err == nil {
		t.Fatal("retiring the only voter succeeded")
	}
	n := e.AddNode("")
	err = zkops.Join(ctx, conn, []plans.ZKServer{server(n, plans.RoleObserver)}, zkops.Options{})
	if !errors.Is(err, zkops.ErrReconfigUnavailable) || !strings.Contains(err.Error(), "reconfigEnabled=false") || !strings.Contains(err.Error(), "static-config rolling restart") {
		t.Fatalf("join with reconfig disabled: err = %v, want ErrReconfigUnavailable explaining the static alternative", err)
	}
}
