package inspect

import (
	"slices"
	"strings"
	"testing"

	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/internal/synth"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
)

func TestReadSmallClusterBothVersions(t *testing.T) {
	for _, v := range []kafkasim.Version{kafkasim.V2_4, kafkasim.V3_x} {
		t.Run(v.String(), func(t *testing.T) {
			bs := brokers(1, 2, 3)
			for i := range bs {
				bs[i].DiskCapacity = 100 << 30
			}
			d, cl := startDouble(t, kafkasim.Config{ClusterID: "c-small", Version: v, Brokers: bs})
			if err := d.CreateTopic("orders", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, map[string]string{"min.insync.replicas": "2"}); err != nil {
				t.Fatal(err)
			}
			if err := d.CreateTopic("logs", [][]int32{{2, 1}}, nil); err != nil {
				t.Fatal(err)
			}
			for p, size := range []int64{1000, 2000, 3000} {
				if err := d.SetPartitionSize("orders", int32(p), size); err != nil {
					t.Fatal(err)
				}
			}
			st, err := Read(ctxT(t), api(cl), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := st.Snapshot
			if s.ClusterID != "c-small" || s.Controller != d.Controller() {
				t.Errorf("cluster id %q controller %d, want c-small %d", s.ClusterID, s.Controller, d.Controller())
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("snapshot does not validate: %v", err)
			}
			if got := len(s.Brokers); got != 3 || s.Brokers[1].Rack != "r2" || s.Brokers[0].Host != "127.0.0.1" || s.Brokers[0].Port == 0 {
				t.Errorf("brokers = %+v", s.Brokers)
			}
			if s.Topics[1].Name != "orders" || s.Topics[1].Configs["min.insync.replicas"] != "2" || s.Topics[0].Configs["min.insync.replicas"] != "1" {
				t.Errorf("topic configs: %v %v", s.Topics[0].Configs, s.Topics[1].Configs)
			}
			want := []plans.Partition{
				{ID: 0, Replicas: []int32{1, 2, 3}, Leader: 1, ISR: []int32{1, 2, 3}, Size: 1000},
				{ID: 1, Replicas: []int32{2, 3, 1}, Leader: 2, ISR: []int32{2, 3, 1}, Size: 2000},
				{ID: 2, Replicas: []int32{3, 1, 2}, Leader: 3, ISR: []int32{3, 1, 2}, Size: 3000},
			}
			for i, p := range s.Topics[1].Partitions {
				w := want[i]
				slices.Sort(p.ISR)
				slices.Sort(w.ISR)
				if p.ID != w.ID || !slices.Equal(p.Replicas, w.Replicas) || p.Leader != w.Leader || !slices.Equal(p.ISR, w.ISR) || p.Size != w.Size {
					t.Errorf("orders-%d = %+v, want %+v", i, p, w)
				}
			}
			// Broker 1 holds every replica of orders (6000 bytes) and one of logs.
			if st.UsedBytes[1] != 6000 {
				t.Errorf("bytes used on broker 1 = %d, want 6000", st.UsedBytes[1])
			}
			b := s.Broker(1)
			if b.Configs[KeyIBP] == "" || b.Configs[KeyListeners] == "" || b.KafkaVersion == "" {
				t.Errorf("broker 1 configs %v version %q", b.Configs, b.KafkaVersion)
			}
			switch v {
			case kafkasim.V2_4:
				if st.HasDescribeCluster || b.DiskCapacity != 0 {
					t.Errorf("2.4: DescribeCluster %v, disk capacity %d; want neither", st.HasDescribeCluster, b.DiskCapacity)
				}
			case kafkasim.V3_x:
				if !st.HasDescribeCluster || b.DiskCapacity != 100<<30 || st.BrokerClusterIDs[2] != "c-small" {
					t.Errorf("3.x: DescribeCluster %v ids %v, disk capacity %d", st.HasDescribeCluster, st.BrokerClusterIDs, b.DiskCapacity)
				}
			}
		})
	}
}

// A snapshot read from a double seeded with a synthetic cluster holds the
// double's replica lists and sizes, and plans cleanly.
func TestSnapshotFromDoubleMatchesAndPlans(t *testing.T) {
	want, mapping := synth.Generate(synth.Options{SourceBrokers: 6, TargetBrokers: 6, Topics: 12, Partitions: 120, Seed: 7})
	d, cl := startDouble(t, kafkasim.Config{ClusterID: want.ClusterID, Brokers: doubleBrokers(want)})
	if err := d.LoadSnapshot(want); err != nil {
		t.Fatal(err)
	}
	st, err := Read(ctxT(t), api(cl), ReadOptions{TopicConfigBatch: 5})
	if err != nil {
		t.Fatal(err)
	}
	got := st.Snapshot
	if len(got.Topics) != len(want.Topics) || got.PartitionCount() != want.PartitionCount() {
		t.Fatalf("read %d topics / %d partitions, double holds %d / %d", len(got.Topics), got.PartitionCount(), len(want.Topics), want.PartitionCount())
	}
	for ti, t2 := range got.Topics {
		for _, p := range t2.Partitions {
			ds, ok := d.Partition(t2.Name, p.ID)
			if !ok {
				t.Fatalf("%s-%d not in the double", t2.Name, p.ID)
			}
			if !slices.Equal(p.Replicas, ds.Replicas) || p.Leader != ds.Leader || int64(p.Size) != ds.Size {
				t.Errorf("%s-%d: read replicas %v leader %d size %d; double has %v %d %d", t2.Name, p.ID, p.Replicas, p.Leader, p.Size, ds.Replicas, ds.Leader, ds.Size)
			}
			if w := want.Topics[ti].Partitions[p.ID]; !slices.Equal(w.Replicas, p.Replicas) || w.Size != p.Size {
				t.Errorf("%s-%d: snapshot differs from the synthetic input", t2.Name, p.ID)
			}
		}
		if w := want.Topics[ti].Configs[KeyMinInsyncReplicas]; w != "" && w != t2.Configs[KeyMinInsyncReplicas] {
			t.Errorf("topic %s min.insync.replicas %q, want %q", t2.Name, t2.Configs[KeyMinInsyncReplicas], w)
		}
	}
	res, err := planner.Build(planner.Input{Snapshot: got, Mapping: mapping})
	if err != nil {
		t.Fatalf("the snapshot does not plan: %v", err)
	}
	if len(res.Plan.Steps) == 0 || res.Plan.ClusterID != want.ClusterID {
		t.Errorf("plan has %d steps for cluster %q", len(res.Plan.Steps), res.Plan.ClusterID)
	}
	out, err := plans.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plans.Decode[plans.Snapshot](out, "snapshot"); err != nil {
		t.Errorf("written snapshot does not load back: %v", err)
	}
}

// doubleBrokers returns the brokers of a snapshot as double broker configs.
func doubleBrokers(s *plans.Snapshot) []kafkasim.BrokerConfig {
	var out []kafkasim.BrokerConfig
	for _, b := range s.Brokers {
		out = append(out, kafkasim.BrokerConfig{ID: b.ID, Rack: b.Rack})
	}
	return out
}

func TestReadHiddenRatesRecordedUnknown(t *testing.T) {
	d, cl := startDouble(t, kafkasim.Config{Brokers: brokers(1, 2, 3)})
	_ = d
	setBrokerConfig(t, cl, 2, KeyLeaderRate, "1000000")
	st, err := Read(ctxT(t), api(cl), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Snapshot.Broker(2).Configs[KeyLeaderRate]; got != UnknownValue {
		t.Errorf("2.4 hidden rate recorded as %q, want %q", got, UnknownValue)
	}
	if _, ok := st.Snapshot.Broker(1).Configs[KeyLeaderRate]; ok {
		t.Errorf("broker 1 has no rate but one was recorded")
	}
	if !strings.Contains(strings.Join(st.Notes, "\n"), "2:"+KeyLeaderRate) {
		t.Errorf("notes do not name the hidden rate: %v", st.Notes)
	}
}

// Secrets never reach a file kshift writes: the snapshot records an allowlist
// of configs, and the plan made from it carries none of the connection.
func TestSnapshotAndPlanNeverContainSecrets(t *testing.T) {
	const password = "Sup3r-Secret-PW"
	want, mapping := synth.Generate(synth.Options{SourceBrokers: 3, TargetBrokers: 3, Topics: 4, Partitions: 12, Seed: 3})
	d, err := kafkasim.Start(ctxT(t), kafkasim.Config{ClusterID: want.ClusterID, Version: kafkasim.V3_x, Brokers: doubleBrokers(want),
		SASLMechanism: "SCRAM-SHA-512", SASLUsers: []kafkasim.SASLUser{{User: "admin", Password: password}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.LoadSnapshot(want); err != nil {
		t.Fatal(err)
	}
	cl, err := kafkaconn.Connect(ctxT(t), kafkaconn.Options{Bootstrap: d.Bootstrap(),
		SASL: kafkaconn.SASLOptions{Mechanism: kafkaconn.SASLScramSHA512, User: "admin", Password: password}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// A broker config that holds the password, as a JAAS config would.
	setBrokerConfig(t, cl, 1, "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
		`org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="`+password+`";`)
	st, err := Read(ctxT(t), api(cl), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := plans.Marshal(st.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	res, err := planner.Build(planner.Input{Snapshot: st.Snapshot, Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := plans.Marshal(res.Plan)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"snapshot": snap, "plan": plan} {
		if strings.Contains(string(out), password) {
			t.Errorf("the %s contains the SASL password", name)
		}
	}
	if !strings.Contains(string(snap), "synth-3") {
		t.Errorf("the snapshot was not read: %.200s", snap)
	}
}

// A snapshot taken while a kshift holds the operator lock leaves the lock's
// topics out: they are kshift's, not the cluster's data, and must never be planned.
func TestReadLeavesOutKshiftTopics(t *testing.T) {
	d, cl := startDouble(t, kafkasim.Config{Brokers: brokers(1, 2, 3)})
	for _, name := range []string{"orders", plans.KshiftTopicPrefix + "lock", plans.KshiftTopicPrefix + "lock_holder_abc"} {
		if err := d.CreateTopic(name, [][]int32{{1, 2}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	st, err := Read(ctxT(t), api(cl), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tp := range st.Snapshot.Topics {
		names = append(names, tp.Name)
	}
	if !slices.Equal(names, []string{"orders"}) {
		t.Errorf("snapshot topics %v, want only [orders]", names)
	}
}
