package inspect

import (
	"strings"
	"testing"

	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kadm"
)

// sharedCluster starts sources 1-3 (racks r1-r3) holding topic "orders"
// (RF 3, 1 MiB per partition) and targets 4-6 joined and empty.
func sharedCluster(t *testing.T, cfg kafkasim.Config) (*kafkasim.Cluster, *kafkaconn.Clients) {
	t.Helper()
	if cfg.Brokers == nil {
		cfg.Brokers = brokers(1, 2, 3, 4, 5, 6)
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = "c-check"
	}
	d, cl := startDouble(t, cfg)
	if err := d.CreateTopic("orders", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 3; p++ {
		if err := d.SetPartitionSize("orders", p, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	return d, cl
}

// raisePlan is a one-step plan adding targets 4,5,6 to every orders partition.
func raisePlan() *plans.Plan {
	return &plans.Plan{Version: 1, Kind: plans.KindMigration, ClusterID: "c-check", Strategy: plans.StrategyPhased,
		Throttle: 10 << 20, SourceBrokers: []int32{1, 2, 3}, TargetBrokers: []int32{4, 5, 6},
		Steps: []plans.Step{{Number: 1, Phase: plans.PhaseRaiseRF, Partitions: []plans.Move{
			{Topic: "orders", Partition: 0, From: []int32{1, 2, 3}, To: []int32{1, 2, 3, 4, 5, 6}, Size: 1 << 20},
			{Topic: "orders", Partition: 1, From: []int32{2, 3, 1}, To: []int32{2, 3, 1, 5, 6, 4}, Size: 1 << 20},
			{Topic: "orders", Partition: 2, From: []int32{3, 1, 2}, To: []int32{3, 1, 2, 6, 4, 5}, Size: 1 << 20},
		}}}}
}

func runCheck(t *testing.T, cl *kafkaconn.Clients, scope CheckScope) *CheckReport {
	t.Helper()
	rep, err := Check(ctxT(t), api(cl), scope)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return rep
}

// wantGate fails t unless gate g has status want and, when it is not a
// pass, a finding whose text contains every word given.
func wantGate(t *testing.T, rep *CheckReport, g Gate, want Status, words ...string) {
	t.Helper()
	r := rep.Gate(g)
	if r == nil {
		t.Fatalf("gate %s not in the report", g)
	}
	if r.Status != want {
		t.Fatalf("gate %s = %s (%s), want %s; findings %+v", g, r.Status, r.Summary, want, r.Findings)
	}
	var all []string
	for _, f := range r.Findings {
		all = append(all, f.Subject+" "+f.Detail+" "+f.Owner)
	}
	text := strings.Join(all, "\n")
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("gate %s findings lack %q:\n%s", g, w, text)
		}
	}
	if want == StatusFail && !strings.Contains(rep.Err().Error(), string(g)) {
		t.Errorf("report error %q does not name gate %s", rep.Err(), g)
	}
}

func TestCheckHealthyClusterPasses(t *testing.T) {
	for _, v := range []kafkasim.Version{kafkasim.V2_4, kafkasim.V3_x} {
		t.Run(v.String(), func(t *testing.T) {
			bs := brokers(1, 2, 3, 4, 5, 6)
			for i := range bs {
				bs[i].DiskCapacity = 100 << 30
			}
			_, cl := sharedCluster(t, kafkasim.Config{Version: v, Brokers: bs})
			rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1, TargetCapacity: 100 << 30})
			if err := rep.Err(); err != nil {
				t.Fatalf("healthy cluster: %v\n%+v", err, rep.Gates)
			}
			wantGate(t, rep, GateDiskHeadroom, StatusPass)
			wantGate(t, rep, GateTargetBrokers, StatusPass)
			if len(rep.Gates) != len(AllGates) {
				t.Errorf("%d gates reported, want %d", len(rep.Gates), len(AllGates))
			}
		})
	}
}

func TestCheckFailsOnStoppedTargetBroker(t *testing.T) {
	d, cl := sharedCluster(t, kafkasim.Config{})
	if err := d.StopBroker(5); err != nil {
		t.Fatal(err)
	}
	rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1})
	wantGate(t, rep, GateTargetBrokers, StatusFail, "broker 5", "not registered")
}

func TestCheckFailsUnderMinISR(t *testing.T) {
	d, cl := sharedCluster(t, kafkasim.Config{})
	if err := d.CreateTopic("payments", [][]int32{{1, 2, 3}}, map[string]string{"min.insync.replicas": "3"}); err != nil {
		t.Fatal(err)
	}
	if err := d.StopBroker(3); err != nil {
		t.Fatal(err)
	}
	rep := runCheck(t, cl, CheckScope{Brokers: []int32{4, 5, 6}})
	wantGate(t, rep, GateUnderMinISR, StatusFail, "payments-0", "min.insync.replicas is 3")
	wantGate(t, rep, GateUnderReplicated, StatusFail, "payments-0", "[3] not in sync")
	// orders has min.insync.replicas 2: two of three in sync is at the minimum.
	wantGate(t, rep, GateAtMinISR, StatusWarn, "orders-0")
}

func TestCheckFailsOnOfflinePartition(t *testing.T) {
	d, cl := sharedCluster(t, kafkasim.Config{})
	if err := d.CreateTopic("single", [][]int32{{2}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.StopBroker(2); err != nil {
		t.Fatal(err)
	}
	rep := runCheck(t, cl, CheckScope{})
	wantGate(t, rep, GateOffline, StatusFail, "single-0", "no leader")
}

func TestCheckFailsOnForeignReassignment(t *testing.T) {
	d, cl := sharedCluster(t, kafkasim.Config{})
	// Another operator moves orders-0 onto 4: 1 MiB to copy, and the manual
	// clock never advances, so it stays in flight.
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("orders", 0, []int32{1, 2, 4})
	res, err := cl.Admin.AlterPartitionAssignments(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Sorted() {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if ps, _ := d.Partition("orders", 0); !ps.Reassigning {
		t.Fatalf("orders-0 is not reassigning: %+v", ps)
	}
	rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1})
	wantGate(t, rep, GateReassignments, StatusFail, "orders-0", "adding [4]", "not kshift")
	// The replica being added is not counted as out of sync.
	wantGate(t, rep, GateUnderReplicated, StatusPass)

	// The same move, declared as kshift's own, passes.
	own := []plans.Move{{Topic: "orders", Partition: 0, From: []int32{1, 2, 3}, To: []int32{1, 2, 4}}}
	rep = runCheck(t, cl, CheckScope{OwnMoves: own})
	wantGate(t, rep, GateReassignments, StatusPass)
}

func TestCheckFailsOnLeftoverThrottle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(t *testing.T, cl *kafkaconn.Clients)
		words []string
	}{
		{"topic list", func(t *testing.T, cl *kafkaconn.Clients) {
			setTopicConfig(t, cl, "orders", KeyFollowerThrottledReplicas, "0:4,1:5")
		}, []string{"topic orders " + KeyFollowerThrottledReplicas, "0:4,1:5", "likely kshift"}},
		{"foreign topic list", func(t *testing.T, cl *kafkaconn.Clients) {
			setTopicConfig(t, cl, "orders", KeyLeaderThrottledReplicas, "*")
		}, []string{"topic orders " + KeyLeaderThrottledReplicas, "not kshift"}},
		{"hidden broker rate", func(t *testing.T, cl *kafkaconn.Clients) {
			setBrokerConfig(t, cl, 2, KeyLeaderRate, "5000")
		}, []string{"broker 2 " + KeyLeaderRate, "set to unknown", "--zookeeper"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cl := sharedCluster(t, kafkasim.Config{})
			tc.set(t, cl)
			rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1})
			wantGate(t, rep, GateThrottles, StatusFail, tc.words...)
		})
	}
}

func TestCheckThrottleRatesReadableOn3x(t *testing.T) {
	_, cl := sharedCluster(t, kafkasim.Config{Version: kafkasim.V3_x})
	setBrokerConfig(t, cl, 4, KeyFollowerRate, "10485760")
	rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1})
	wantGate(t, rep, GateThrottles, StatusFail, "broker 4 "+KeyFollowerRate, "set to 10485760", "likely kshift")
	// While a step runs, kshift's own throttles are expected.
	rep = runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1, AllowOwnThrottles: true})
	wantGate(t, rep, GateThrottles, StatusPass)
}

func TestCheckFailsOnConfigMismatch(t *testing.T) {
	bs := brokers(1, 2, 3, 4, 5, 6)
	bs[3].Configs = map[string]string{KeyIBP: "2.8-IV1", KeyReplicaFetchMaxBytes: "524288"}
	bs[5].Rack = ""
	_, cl := sharedCluster(t, kafkasim.Config{Brokers: bs})
	rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1})
	wantGate(t, rep, GateBrokerConfigs, StatusFail,
		KeyIBP, "2.4-IV1 on [1 2 3 5 6]; 2.8-IV1 on [4]",
		KeyReplicaFetchMaxBytes, "524288 on [4]",
		"brokers [6] have none")
}

func TestCheckFailsOnFullDisk(t *testing.T) {
	bs := brokers(1, 2, 3, 4, 5, 6)
	for i := range bs {
		bs[i].DiskCapacity = 100 << 30
	}
	bs[4].DiskCapacity = 1 << 20 // broker 5 cannot take three 1 MiB replicas
	_, cl := sharedCluster(t, kafkasim.Config{Version: kafkasim.V3_x, Brokers: bs})
	rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1})
	wantGate(t, rep, GateDiskHeadroom, StatusFail, "broker 5", "receives 3.0 MiB")

	// On 2.4 the capacity comes from the mapping's target_capacity.
	_, cl24 := sharedCluster(t, kafkasim.Config{})
	rep = runCheck(t, cl24, CheckScope{Plan: raisePlan(), Step: 1})
	wantGate(t, rep, GateDiskHeadroom, StatusSkip)
	rep = runCheck(t, cl24, CheckScope{Plan: raisePlan(), Step: 1, TargetCapacity: 2 << 20})
	wantGate(t, rep, GateDiskHeadroom, StatusFail, "broker 4", "receives 3.0 MiB")
}

func TestCheckFailsOnOtherClustersPlan(t *testing.T) {
	_, cl := sharedCluster(t, kafkasim.Config{ClusterID: "prod-east"})
	rep := runCheck(t, cl, CheckScope{Plan: raisePlan(), Step: 1})
	wantGate(t, rep, GateClusterID, StatusFail, `plan is for cluster "c-check"`, `"prod-east"`)
}

func TestCheckStepNotInPlan(t *testing.T) {
	_, cl := sharedCluster(t, kafkasim.Config{})
	if _, err := Check(ctxT(t), api(cl), CheckScope{Plan: raisePlan(), Step: 9}); err == nil || !strings.Contains(err.Error(), "step 9") {
		t.Errorf("step 9 of a one-step plan: %v", err)
	}
}

// setTopicConfig sets one topic config with IncrementalAlterConfigs.
func setTopicConfig(t testing.TB, cl *kafkaconn.Clients, topic, key, value string) {
	t.Helper()
	res, err := cl.Admin.AlterTopicConfigs(ctxT(t), []kadm.AlterConfig{{Name: key, Value: &value}}, topic)
	if err == nil {
		for _, r := range res {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		t.Fatalf("set %s=%s on topic %s: %v", key, value, topic, err)
	}
}
