package zkops_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
)

// TestStaticConfigRollingRestart: on an ensemble without reconfig, the
// static config `kshift zk config --kind static` prints starts the target as
// an observer once the sources were restarted one at a time, followers
// first, with the target in their server list.
func TestStaticConfigRollingRestart(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	src := zktest.StartEnsemble(t, zktest.Options{Voters: 3, ReconfigDisabled: true})
	admin := src.Client(1, 2, 3)
	cfg, err := zkops.ReadConfig(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	n := src.NewNode()
	m := &plans.ZooKeeperMapping{TickTime: 200, InitLimit: 20, SyncLimit: 10, Targets: []plans.ZKTargetNode{{
		ID: n.ID, Host: "127.0.0.1", ClientPort: n.ClientPort, QuorumPort: n.QuorumPort, ElectionPort: n.ElectionPort,
		DataDir: n.DataDir(), ConfDir: filepath.Dir(n.DynamicConfigPath()),
	}}}
	ncs, err := zkops.NodeConfigs(m, cfg.Members, zkops.ConfigStatic)
	if err != nil {
		t.Fatal(err)
	}
	n.StartWithConfig(ncs[0].ZooCfg, "")

	// The rolling restart: every source gets the target in its server list.
	withTarget := cfg.DynamicConfig() + n.ServerLine(zktest.Observer) + "\n"
	leader := src.Leader()
	order := []int{}
	for _, id := range []int{1, 2, 3} {
		if id != leader {
			order = append(order, id)
		}
	}
	for _, id := range append(order, leader) {
		s := src.Node(id)
		s.Stop()
		s.StartWithConfig(s.ZooCfg(), withTarget)
		src.WaitServing(60 * time.Second)
	}
	n.WaitServing(60 * time.Second)
	if mode, err := n.Mode(time.Second); err != nil || mode != "observer" {
		t.Fatalf("target mode %q, %v; want observer", mode, err)
	}
	if err := zkops.WriteCheck(ctx, admin); err != nil {
		t.Fatal(err)
	}
	// Static server lines carry no client port (ZooKeeper 3.4 has no such
	// field), so the config read through the target shows the role only.
	got, err := zkops.ReadConfig(ctx, zktest.Dial(t, n.Addr(), false))
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Member(n.ID); m == nil || m.Role != plans.RoleObserver || len(got.Voters()) != 3 {
		t.Fatalf("ensemble config read through the target: %s", got.DynamicConfig())
	}
}
