package plans

import "fmt"

// Ensemble is a ZooKeeper ensemble as a snapshot records it.
type Ensemble struct {
	// Connect is the connect string the cluster uses, with its chroot.
	Connect string `yaml:"connect"`
	// Chroot is the migrating cluster's chroot ("/" when none).
	Chroot        string     `yaml:"chroot,omitempty"`
	ConfigVersion string     `yaml:"config_version,omitempty"`
	Members       []ZKServer `yaml:"members,omitempty"`
	// OtherChroots are chroots on the same ensemble that hold other Kafka clusters.
	OtherChroots []string `yaml:"other_chroots,omitempty"`
}

// ZKServer is one ZooKeeper server as `/zookeeper/config` lists it.
type ZKServer struct {
	ID           int    `yaml:"id"`
	Host         string `yaml:"host"`
	QuorumPort   int    `yaml:"quorum_port"`
	ElectionPort int    `yaml:"election_port"`
	ClientPort   int    `yaml:"client_port"`
	// Role is "participant" or "observer".
	Role string `yaml:"role"`
}

// ZooKeeperChange is what a zk-* step does to the ensemble.
type ZooKeeperChange struct {
	// Connect reaches the ensemble the step changes.
	Connect string `yaml:"connect"`
	// Join are servers added as observers (zk-join).
	Join []ZKServer `yaml:"join,omitempty"`
	// Promote are observer ids made participants, one reconfig each (zk-handover).
	Promote []int `yaml:"promote,omitempty,flow"`
	// Retire are participant ids removed, one reconfig each, leader last (zk-handover).
	Retire []int `yaml:"retire,omitempty,flow"`
	// Prune are chroots deleted from a forked ensemble (zk-prune).
	Prune []string `yaml:"prune,omitempty"`
}

func (e *Ensemble) validate(p *problems) {
	if e.Connect == "" {
		p.add("zookeeper.connect", "is empty")
	}
	seen := map[int]bool{}
	for _, m := range e.Members {
		if seen[m.ID] {
			p.add(fmt.Sprintf("zookeeper.members (id %d)", m.ID), "server is listed twice")
		}
		seen[m.ID] = true
	}
}

func (z *ZooKeeperChange) validate(p *problems, loc string) {
	if z.Connect == "" {
		p.add(loc, "zookeeper.connect is empty")
	}
}
