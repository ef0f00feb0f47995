package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/nettest"
	"github.com/kshift/kshift/internal/rehearsal"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
	"gopkg.in/yaml.v3"
)

// fleetExample is the example migrations repository.
var fleetExample = filepath.Join("..", "..", "examples", "migrations")

// startFromSnapshot runs a simulated cluster shaped as snapshot path (as
// kshift sandbox --from-snapshot does), registered in the shared ZooKeeper.
func startFromSnapshot(t *testing.T, path string, speed float64) (*kafkasim.Cluster, *clusterZK) {
	t.Helper()
	s, _, err := plans.LoadFile[plans.Snapshot](path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := kafkasim.Config{ClusterID: s.ClusterID, Controller: s.Controller,
		Clock: kafkasim.NewScaledClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), speed)}
	if speed == 0 {
		heldClock(&cfg)
	}
	for _, b := range s.Brokers {
		cfg.Brokers = append(cfg.Brokers, kafkasim.BrokerConfig{ID: b.ID, Rack: b.Rack})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kafkasim.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if speed == 0 {
		c.Clock().SetFactor(0)
	}
	if err := c.LoadSnapshot(rehearsal.Loadable(s)); err != nil {
		t.Fatal(err)
	}
	return c, registerZooKeeper(t, c)
}

// copyCluster copies cluster from of the example (its profile and plan) to
// dir/name, with the profile pointed at bootstrap and zkConnect.
func copyCluster(t *testing.T, dir, name, from string, bootstrap []string, zkConnect string, dialTimeout time.Duration) string {
	t.Helper()
	src, dst := filepath.Join(fleetExample, from), filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(dst, "plan"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{fleetPlanPath, "plan/rollback.yaml"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o, err := kafkaconn.LoadProfile(filepath.Join(src, fleetProfileName))
	if err != nil {
		t.Fatalf("the example's profile: %v", err)
	}
	o.Bootstrap, o.ZooKeeper.Connect, o.DialTimeout = bootstrap, zkConnect, dialTimeout
	data, err := yaml.Marshal(kafkaconn.Profile{Version: kafkaconn.ProfileVersion, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, fleetProfileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// runFleetStatus runs kshift status --fleet in process.
func runFleetStatus(t *testing.T, args ...string) (string, string, int, time.Duration) {
	t.Helper()
	var out, errOut syncBuffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err := app.RunContext(ctx, append([]string{"kshift", "status"}, args...))
	took := time.Since(start)
	if err != nil {
		errOut.Write([]byte(err.Error()))
	}
	return out.String(), errOut.String(), exitCode(err), took
}

// TestStatusFleet pins kshift status --fleet over the example migrations
// repository against two simulated clusters shaped as its snapshots, each
// registered in ZooKeeper and reached through its own profile: cluster
// east with step 1 in flight under a running apply (the clock held, so
// nothing copies: the ETA is the step's whole estimate), cluster west with
// step 1 applied; and two clusters that cannot be read, one refusing
// connections, one that accepts and never answers (cut by
// --cluster-timeout, not its 60 s dial timeout). Each is one row; the
// command prints them all and exits 1; after the apply is interrupted,
// east's throttles show as leftover.
func TestStatusFleet(t *testing.T) {
	east, eastZK := startFromSnapshot(t, filepath.Join(fleetExample, "east", "snapshot.yaml"), 0)
	west, westZK := startFromSnapshot(t, filepath.Join(fleetExample, "west", "snapshot.yaml"), 1000)
	dir := t.TempDir()
	eastDir := copyCluster(t, dir, "east", "east", east.Bootstrap(), eastZK.Connect, 0)
	westDir := copyCluster(t, dir, "west", "west", west.Bootstrap(), westZK.Connect, 0)

	// north accepts connections and never answers; south refuses them.
	hungAddr, closedAddr := nettest.SilentAddr(t), nettest.RefusedAddr(t)
	copyCluster(t, dir, "north", "east", []string{hungAddr}, "", time.Minute)
	copyCluster(t, dir, "south", "west", []string{closedAddr}, "", 0)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a cluster\n"), 0o644)
	if err := os.Mkdir(filepath.Join(dir, "ci"), 0o755); err != nil {
		t.Fatal(err)
	}

	// west: step 1 applied.
	apply := func(ctx context.Context, clusterDir string) error {
		app := newApp()
		var out syncBuffer
		app.Writer, app.ErrWriter = &out, &out
		err := app.RunContext(ctx, []string{"kshift", "apply", filepath.Join(clusterDir, fleetPlanPath), "--step", "1",
			"--profile", filepath.Join(clusterDir, fleetProfileName), "--poll-interval", "20ms", "--audit-log", filepath.Join(clusterDir, "audit.jsonl")})
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out.String())
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := apply(ctx, westDir); err != nil {
		t.Fatalf("apply west step 1: %v", err)
	}
	// east: step 1 in flight under a running apply, which holds the lock.
	eastCtx, stopEast := context.WithCancel(ctx)
	defer stopEast()
	eastDone := make(chan error, 1)
	go func() { eastDone <- apply(eastCtx, eastDir) }()
	eastPlan, _, err := plans.LoadFile[plans.Plan](filepath.Join(eastDir, fleetPlanPath))
	if err != nil {
		t.Fatal(err)
	}
	first := eastPlan.Steps[0].Partitions[0]
	for {
		if ps, _ := east.Partition(first.Topic, first.Partition); ps.Reassigning {
			break
		}
		select {
		case err := <-eastDone:
			t.Fatalf("apply east step 1 ended: %v", err)
		case <-ctx.Done():
			t.Fatal("apply east step 1 never submitted its reassignment")
		case <-time.After(20 * time.Millisecond):
		}
	}

	fleet := func() (map[string]fleetRow, string, int) {
		stdout, stderr, code, took := runFleetStatus(t, "--fleet", dir, "--cluster-timeout", "3s", "-o", "json")
		if took > 20*time.Second {
			t.Errorf("status --fleet took %s: the hung cluster was not cut at --cluster-timeout 3s", took)
		}
		var rows []fleetRow
		if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
			t.Fatalf("status --fleet -o json: %v\n%s\n%s", err, stdout, stderr)
		}
		byName := map[string]fleetRow{}
		for _, r := range rows {
			byName[r.Cluster] = r
		}
		if len(rows) != 4 || len(byName) != 4 {
			t.Fatalf("want the 4 clusters east, north, south, west, got %d rows:\n%s", len(rows), stdout)
		}
		return byName, stderr, code
	}
	rows, stderr, code := fleet()
	if code != exitFailure || !strings.Contains(stderr, "2 of 4 clusters could not be read (north, south)") {
		t.Errorf("exit %d, stderr %q: want exit 1 naming north and south", code, stderr)
	}
	e := rows["east"]
	if e.Error != "" || e.ClusterID != eastPlan.ClusterID || e.Steps != len(eastPlan.Steps) || e.InFlight != 1 || len(e.InFlightSteps) != 1 || e.InFlightSteps[0] != 1 ||
		e.Done != 0 || e.Pending != len(eastPlan.Steps)-1 || e.Drifted != 0 {
		t.Errorf("east: %+v; want step 1 in flight, the others pending", e)
	}
	if e.Lock == nil || e.Lock.Command != "apply" || e.Lock.Step != 1 || len(e.Throttles) != 1 || e.Throttles[0].Step != 1 || e.LeftoverThrottles {
		t.Errorf("east: lock %+v throttles %+v leftover %v; want apply of step 1 holding the lock and its throttle record", e.Lock, e.Throttles, e.LeftoverThrottles)
	}
	// Nothing copied (the clock is held): the whole step's estimate is left.
	if want := time.Duration(eastPlan.Steps[0].Estimate.Duration).Seconds(); e.BytesCopied != 0 || math.Abs(e.ETASeconds-want) > 0.5 {
		t.Errorf("east: copied %d, eta %.1fs; want 0 copied and step 1's estimate %.0fs left", e.BytesCopied, e.ETASeconds, want)
	}
	w := rows["west"]
	westPlan, _, err := plans.LoadFile[plans.Plan](filepath.Join(westDir, fleetPlanPath))
	if err != nil {
		t.Fatal(err)
	}
	if w.Error != "" || w.Done != 1 || w.InFlight != 0 || w.Pending != len(westPlan.Steps)-1 || w.Lock != nil || len(w.Throttles) != 0 ||
		w.BytesCopied != int64(westPlan.Steps[0].Estimate.BytesToCopy) || w.BytesTotal != int64(westPlan.Totals.BytesToCopy) || w.ETASeconds != 0 {
		t.Errorf("west: %+v; want step 1 done and its bytes copied, the others pending, no lock, no throttles", w)
	}
	if n := rows["north"]; !strings.Contains(n.Error, "--cluster-timeout 3s") {
		t.Errorf("north (never answers): error %q, want it cut by --cluster-timeout", n.Error)
	}
	if s := rows["south"]; !strings.Contains(s.Error, "cannot connect") {
		t.Errorf("south (refuses connections): error %q", s.Error)
	}

	// Table and Markdown show the same rows.
	md, _, _, _ := runFleetStatus(t, "--fleet", dir, "--cluster-timeout", "3s", "-o", "markdown")
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "| cluster | done | in flight |") || !strings.HasPrefix(lines[1], "| --- |") {
		t.Errorf("markdown: want a header, a separator and 4 rows:\n%s", md)
	}
	for _, want := range []string{"| east | 0/8 | 1 (step 1) | 7 | 0 |", "apply on ", "1 record(s) of step 1 |", "| west | 1/8 | 0 | 7 | 0 |", "| nobody | none |", "| north |", "| south |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	table, _, _, _ := runFleetStatus(t, "--fleet", dir, "--cluster-timeout", "3s")
	for _, want := range []string{"4 clusters", "east", "1 (step 1)", "west", "1/8", "cluster-timeout"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	// Interrupted, the apply leaves the step in flight under its
	// throttles and releases the lock: the throttles are leftovers now.
	stopEast()
	if err := <-eastDone; exitCode(err) != exitInterrupted {
		t.Fatalf("apply east interrupted: exit %d: %v", exitCode(err), err)
	}
	rows, _, _ = fleet()
	if e := rows["east"]; e.Lock != nil || len(e.Throttles) != 1 || !e.LeftoverThrottles || e.InFlight != 1 {
		t.Errorf("east after the interrupted apply: %+v; want no lock and its throttles shown as leftover", e)
	}
}

// TestFleetRowOf pins how a plan's status folds into a fleet row: steps
// counted by state, bytes of the done steps and of the step in flight, and
// the ETA scaled from the step's estimate to the rate in force (a rate set
// with kshift throttle set over the step's throttle record, over the plan).
func TestFleetRowOf(t *testing.T) {
	p := &plans.Plan{Throttle: 10 << 20, Totals: plans.Totals{BytesToCopy: 1000}, Steps: []plans.Step{
		{Number: 1, Estimate: plans.Estimate{BytesToCopy: 300, Duration: plans.Duration(100 * time.Second)}},
		{Number: 2, Estimate: plans.Estimate{BytesToCopy: 400, Duration: plans.Duration(200 * time.Second)}},
		{Number: 3, Throttle: 20 << 20},
		{Number: 4},
		{Number: 5},
	}}
	st := &executor.PlanStatus{ClusterID: "c", Steps: []executor.StepStatus{
		{Number: 1, State: executor.StepDone},
		{Number: 2, State: executor.StepInFlight, BytesTotal: 400, BytesCopied: 100},
		{Number: 3, State: executor.StepPartial},
		{Number: 4, State: executor.StepPending},
		{Number: 5, State: executor.StepDrifted},
	}}
	r := fleetRowOf(p, st)
	if r.Steps != 5 || r.Done != 1 || r.InFlight != 1 || r.Partial != 1 || r.Pending != 1 || r.Drifted != 1 || r.BytesCopied != 400 || r.BytesTotal != 1000 {
		t.Errorf("row %+v", r)
	}
	for _, tc := range []struct {
		name      string
		records   []*state.ThrottleRecord
		override  *state.RateOverride
		lock      *state.LockInfo
		eta       float64
		leftovers bool
	}{
		{name: "at the plan's rate", eta: 150},
		{name: "at the rate of the step's record", records: []*state.ThrottleRecord{{ID: "r", Step: 2, Rate: 20 << 20}}, eta: 75, leftovers: true},
		{name: "a record of another step does not count", records: []*state.ThrottleRecord{{ID: "r", Step: 9, Rate: 20 << 20}}, lock: &state.LockInfo{}, eta: 150},
		{name: "at the rate set with throttle set", records: []*state.ThrottleRecord{{ID: "r", Step: 2, Rate: 20 << 20}}, override: &state.RateOverride{Rate: 5 << 20}, lock: &state.LockInfo{}, eta: 300},
	} {
		st.Throttles, st.RateOverride, st.Lock = tc.records, tc.override, tc.lock
		r := fleetRowOf(p, st)
		if math.Abs(r.ETASeconds-tc.eta) > 1e-6 || r.LeftoverThrottles != tc.leftovers {
			t.Errorf("%s: eta %.1f leftover %v, want %.1f %v", tc.name, r.ETASeconds, r.LeftoverThrottles, tc.eta, tc.leftovers)
		}
	}
}

// TestFleetLayout pins which directories --fleet takes as clusters, and
// that the example's profiles are valid.
func TestFleetLayout(t *testing.T) {
	got, err := findFleet([]string{fleetExample})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "east" || got[1].Name != "west" {
		t.Fatalf("example clusters: %+v, want east and west", got)
	}
	for _, fc := range got {
		if _, err := kafkaconn.LoadProfile(fc.profile()); err != nil {
			t.Errorf("%s: %v", fc.Name, err)
		}
	}
	// One cluster directory given directly is that cluster.
	if one, err := findFleet([]string{filepath.Join(fleetExample, "west")}); err != nil || len(one) != 1 || one[0].Name != "west" {
		t.Errorf("--fleet examples/migrations/west: %+v %v", one, err)
	}
	// A directory without clusters is bad input.
	if _, err := findFleet([]string{t.TempDir()}); exitCode(err) != exitBadInput {
		t.Errorf("an empty directory: %v, want exit 2", err)
	}
	// --fleet takes no PLAN and no connection flag.
	for _, args := range [][]string{{"--fleet", fleetExample, "plan.yaml"}, {"--fleet", fleetExample, "--bootstrap", "127.0.0.1:9"}} {
		if _, _, code, _ := runFleetStatus(t, args...); code != exitBadInput {
			t.Errorf("status %v: exit %d, want 2", args, code)
		}
	}
}
