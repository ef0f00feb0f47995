package inspect

import (
	"strings"
	"testing"

	"github.com/kshift/kshift/plans"
)

func joinSnapshot() *plans.Snapshot {
	src := func(id int32, rack string) plans.Broker {
		return plans.Broker{ID: id, Rack: rack, Configs: map[string]string{
			KeyIBP: "2.4-IV1", KeyLogMessageFormat: "2.4-IV1",
			KeyListeners:           "INTERNAL://:9091,CLIENT://:9092",
			KeyListenerProtocolMap: "INTERNAL:PLAINTEXT,CLIENT:SSL", KeyInterBrokerListener: "INTERNAL",
			KeyZooKeeperConnect: "zk1:2181,zk2:2181/kafka/prod",
		}}
	}
	return &plans.Snapshot{Version: 1, ClusterID: "c1", Brokers: []plans.Broker{src(1, "r1"), src(2, "r2"), {ID: 102, Rack: "z2"}}}
}

func joinMapping() *plans.Mapping {
	return &plans.Mapping{Version: 1, SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{101, 102},
		ZooKeeper: &plans.ZooKeeperMapping{Targets: []plans.ZKTargetNode{{ID: 11, Host: "zk-new-1"}, {ID: 12, Host: "zk-new-2", ClientPort: 2182}}},
		Listeners: &plans.Listeners{Ports: map[string]int{"INTERNAL": 19091, "CLIENT": 19092},
			AdvertisedHosts: map[int32]string{101: "k101.example.com", 102: "k102.example.com"},
			Racks:           map[int32]string{101: "z1"}}}
}

func TestBuildJoinConfigs(t *testing.T) {
	got, err := BuildJoinConfigs(joinSnapshot(), joinMapping(), JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want101 := `# kshift join config: target broker 101 of cluster c1
# Merge into the broker's server.properties (log.dirs, security settings
# and JVM options are yours to set).
broker.id=101
broker.rack=z1
zookeeper.connect=zk-new-1:2181,zk-new-2:2182/kafka/prod
listeners=CLIENT://:19092,INTERNAL://:19091
advertised.listeners=CLIENT://k101.example.com:19092,INTERNAL://k101.example.com:19091
inter.broker.protocol.version=2.4-IV1
log.message.format.version=2.4-IV1
listener.security.protocol.map=INTERNAL:PLAINTEXT,CLIENT:SSL
inter.broker.listener.name=INTERNAL
`
	if len(got) != 2 {
		t.Fatalf("%d fragments, want 2", len(got))
	}
	if txt := got[0].Text("c1"); txt != want101 {
		t.Errorf("broker 101:\n%s\nwant:\n%s", txt, want101)
	}
	// 102 is already registered: its rack comes from the snapshot.
	if txt := got[1].Text("c1"); !strings.Contains(txt, "broker.rack=z2\n") || !strings.Contains(txt, "k102.example.com:19091") {
		t.Errorf("broker 102:\n%s", txt)
	}
	// Flags replace the mapping's ZooKeeper nodes and the chroot.
	got, err = BuildJoinConfigs(joinSnapshot(), joinMapping(), JoinOptions{ZooKeeperHosts: []string{"zk9:2181"}, Chroot: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if txt := got[0].Text("c1"); !strings.Contains(txt, "zookeeper.connect=zk9:2181\n") {
		t.Errorf("with --zookeeper-hosts and --chroot /:\n%s", txt)
	}
}

// Without a ZooKeeper migration the targets join the cluster's own
// ensemble: the snapshot's, else the one the sources name (issue 11).
func TestBuildJoinConfigsDefaultsToTheClusterZooKeeper(t *testing.T) {
	s, m := joinSnapshot(), joinMapping()
	m.ZooKeeper = nil
	got, err := BuildJoinConfigs(s, m, JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if txt := got[0].Text("c1"); !strings.Contains(txt, "zookeeper.connect=zk1:2181,zk2:2181/kafka/prod\n") {
		t.Errorf("from the sources' zookeeper.connect:\n%s", txt)
	}
	s.ZooKeeper = &plans.Ensemble{Connect: "zk7:2181,zk8:2181/kafka/prod", Chroot: "/kafka/prod"}
	if got, err = BuildJoinConfigs(s, m, JoinOptions{}); err != nil {
		t.Fatal(err)
	}
	if txt := got[0].Text("c1"); !strings.Contains(txt, "zookeeper.connect=zk7:2181,zk8:2181/kafka/prod\n") {
		t.Errorf("from the snapshot's ensemble:\n%s", txt)
	}
}

// Targets sharing a host each listen on their own ports (issue 11).
func TestBuildJoinConfigsPerBrokerPorts(t *testing.T) {
	s, m := joinSnapshot(), joinMapping()
	m.Listeners.AdvertisedHosts[102] = "k101.example.com"
	m.Listeners.BrokerPorts = map[int32]map[string]int{102: {"INTERNAL": 29091, "CLIENT": 29092}}
	got, err := BuildJoinConfigs(s, m, JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		"advertised.listeners=CLIENT://k101.example.com:19092,INTERNAL://k101.example.com:19091\n",
		"listeners=CLIENT://:29092,INTERNAL://:29091\nadvertised.listeners=CLIENT://k101.example.com:29092,INTERNAL://k101.example.com:29091\n",
	} {
		if txt := got[i].Text("c1"); !strings.Contains(txt, want) {
			t.Errorf("broker %d lacks %q:\n%s", got[i].BrokerID, want, txt)
		}
	}
}

func TestBuildJoinConfigsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*plans.Snapshot, *plans.Mapping)
		want string
	}{
		{"sources disagree on IBP", func(s *plans.Snapshot, _ *plans.Mapping) { s.Brokers[1].Configs[KeyIBP] = "2.8-IV1" },
			"disagree on inter.broker.protocol.version (2.4-IV1 on [1]; 2.8-IV1 on [2])"},
		{"listener names differ", func(_ *plans.Snapshot, m *plans.Mapping) { m.Listeners.Ports = map[string]int{"PLAINTEXT": 9092} },
			"listeners [PLAINTEXT] are not the source brokers' [CLIENT INTERNAL]"},
		{"no rack", func(_ *plans.Snapshot, m *plans.Mapping) { m.Listeners.Racks = nil },
			"target broker 101 has no rack"},
		{"no zookeeper", func(s *plans.Snapshot, m *plans.Mapping) {
			m.ZooKeeper = nil
			for _, b := range s.Brokers {
				delete(b.Configs, KeyZooKeeperConnect)
			}
		}, "--zookeeper-hosts"},
		{"no chroot", func(s *plans.Snapshot, _ *plans.Mapping) {
			for _, b := range s.Brokers {
				delete(b.Configs, KeyZooKeeperConnect)
			}
		}, "chroot is unknown"},
		{"no listeners", func(_ *plans.Snapshot, m *plans.Mapping) { m.Listeners = nil }, "no listeners section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, m := joinSnapshot(), joinMapping()
			tc.edit(s, m)
			_, err := BuildJoinConfigs(s, m, JoinOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
