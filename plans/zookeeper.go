package plans

import (
	"fmt"
	"slices"
	"strings"
)

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
	ID           int    `yaml:"id" json:"id"`
	Host         string `yaml:"host" json:"host"`
	QuorumPort   int    `yaml:"quorum_port" json:"quorum_port"`
	ElectionPort int    `yaml:"election_port" json:"election_port"`
	ClientPort   int    `yaml:"client_port" json:"client_port"`
	// Role is "participant" or "observer".
	Role string `yaml:"role" json:"role"`
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
	// Chroot is the migrating cluster's chroot: what a forked ensemble must
	// serve and a prune must never delete (zk-fork, zk-prune).
	Chroot string `yaml:"chroot,omitempty"`
	// Sources are the source server ids a forked ensemble must no longer
	// contain (zk-fork, zk-prune).
	Sources []int `yaml:"sources,omitempty,flow"`
	// Before is the membership the step expects to find: its undo restores
	// it and its status compares the live ensemble with it (zk-join, zk-handover).
	Before []ZKServer `yaml:"before,omitempty"`
	// Mode is the plan's zookeeper mode (handover or fork): after a fork the
	// source and the target servers belong to two ensembles, and a zk-join
	// acts on the source one only. Empty in plans made before kshift
	// recorded it.
	Mode ZooKeeperMode `yaml:"mode,omitempty"`
	// Targets are the target servers as the forked ensemble's voters: the
	// members a forked ensemble must have, exactly (zk-fork, zk-prune).
	Targets []ZKServer `yaml:"targets,omitempty"`
	// SourceConnect reaches the source ensemble, whose frozen copy of the
	// migrated chroot a fork is checked against (zk-fork).
	SourceConnect string `yaml:"source_connect,omitempty"`
}

// Summary says in a few words what the change does: "join [4 5 6]",
// "promote [4 5 6], retire [1 2 3]", "prune [/other]".
func (z *ZooKeeperChange) Summary() string {
	var parts []string
	if len(z.Join) > 0 {
		ids := make([]int, len(z.Join))
		for i, s := range z.Join {
			ids[i] = s.ID
		}
		parts = append(parts, fmt.Sprintf("join %v", ids))
	}
	if len(z.Promote) > 0 {
		parts = append(parts, fmt.Sprintf("promote %v", z.Promote))
	}
	if len(z.Retire) > 0 {
		parts = append(parts, fmt.Sprintf("retire %v", z.Retire))
	}
	if len(z.Prune) > 0 {
		parts = append(parts, fmt.Sprintf("prune %v", z.Prune))
	}
	if len(parts) == 0 {
		return "zookeeper"
	}
	return strings.Join(parts, ", ")
}

// String is the summary and the ensemble it applies to, as dry runs print it.
func (z *ZooKeeperChange) String() string { return z.Summary() + " on " + z.Connect }

// ZooKeeperMode says how the ensemble is handed to the target nodes.
type ZooKeeperMode string

const (
	// ZKModeHandover promotes the target nodes and retires the source voters:
	// for an ensemble only the migrating cluster uses.
	ZKModeHandover ZooKeeperMode = "handover"
	// ZKModeFork restarts the target nodes as an ensemble of their own and
	// prunes the other clusters' chroots from it: for a shared ensemble.
	ZKModeFork ZooKeeperMode = "fork"
)

// AllZooKeeperModes lists every zookeeper.mode of a mapping.
var AllZooKeeperModes = []ZooKeeperMode{ZKModeHandover, ZKModeFork}

// ZooKeeperMapping is the mapping's `zookeeper:` section: the target nodes
// that join the source ensemble as observers and take it over at the end.
type ZooKeeperMapping struct {
	// Mode is handover or fork; left out, the planner picks fork when the
	// snapshot shows other Kafka chroots on the ensemble, handover otherwise.
	Mode    ZooKeeperMode  `yaml:"mode,omitempty"`
	Targets []ZKTargetNode `yaml:"targets"`
	// TickTime, InitLimit and SyncLimit go into the target nodes' zoo.cfg
	// (ZooKeeper's defaults 2000 ms, 10, 5 when left out).
	TickTime  int `yaml:"tick_time,omitempty"`
	InitLimit int `yaml:"init_limit,omitempty"`
	SyncLimit int `yaml:"sync_limit,omitempty"`
}

// ZKTargetNode is one new ZooKeeper server.
type ZKTargetNode struct {
	ID           int    `yaml:"id"`
	Host         string `yaml:"host"`
	ClientPort   int    `yaml:"client_port,omitempty"`
	QuorumPort   int    `yaml:"quorum_port,omitempty"`
	ElectionPort int    `yaml:"election_port,omitempty"`
	// DataDir is the node's dataDir; ConfDir where its zoo.cfg and dynamic
	// config go (defaults /var/lib/zookeeper and /etc/zookeeper/conf).
	DataDir string `yaml:"data_dir,omitempty"`
	ConfDir string `yaml:"conf_dir,omitempty"`
}

// Server returns the node as a dynamic-config member with the given role,
// ZooKeeper's default ports filled in.
func (n ZKTargetNode) Server(role string) ZKServer {
	s := ZKServer{ID: n.ID, Host: n.Host, ClientPort: n.ClientPort, QuorumPort: n.QuorumPort, ElectionPort: n.ElectionPort, Role: role}
	if s.ClientPort == 0 {
		s.ClientPort = 2181
	}
	if s.QuorumPort == 0 {
		s.QuorumPort = 2888
	}
	if s.ElectionPort == 0 {
		s.ElectionPort = 3888
	}
	return s
}

// ZooKeeper server roles as `/zookeeper/config` writes them.
const (
	RoleParticipant = "participant"
	RoleObserver    = "observer"
)

func (z *ZooKeeperMapping) validate(p *problems) {
	if z.Mode != "" && !slices.Contains(AllZooKeeperModes, z.Mode) {
		p.add("zookeeper.mode", "%q is not one of %v", z.Mode, AllZooKeeperModes)
	}
	if len(z.Targets) == 0 {
		p.add("zookeeper.targets", "empty: list the new ZooKeeper nodes")
	}
	if len(z.Targets)%2 == 0 && len(z.Targets) > 0 {
		p.add("zookeeper.targets", "%d nodes: an even number of voters tolerates no more failures than one fewer; use an odd number", len(z.Targets))
	}
	seen := map[int]bool{}
	for i, n := range z.Targets {
		loc := fmt.Sprintf("zookeeper.targets[%d]", i)
		if n.ID < 1 || n.ID > 255 {
			p.add(loc, "id %d is not in 1..255", n.ID)
		}
		if seen[n.ID] {
			p.add(loc, "id %d is listed twice", n.ID)
		}
		seen[n.ID] = true
		if n.Host == "" {
			p.add(loc, "host is empty")
		}
		for _, port := range []int{n.ClientPort, n.QuorumPort, n.ElectionPort} {
			if port < 0 || port > 65535 {
				p.add(loc, "port %d is not in 1..65535", port)
			}
		}
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"tick_time", z.TickTime}, {"init_limit", z.InitLimit}, {"sync_limit", z.SyncLimit}} {
		if v.n < 0 {
			p.add("zookeeper."+v.name, "is negative")
		}
	}
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
	seen := map[int]bool{}
	for _, s := range z.Join {
		if seen[s.ID] {
			p.add(loc, "zookeeper.join lists server %d twice", s.ID)
		}
		seen[s.ID] = true
	}
	for _, id := range z.Promote {
		if slices.Contains(z.Retire, id) {
			p.add(loc, "server %d is both promoted and retired", id)
		}
	}
	for _, s := range z.Before {
		if s.Role != RoleParticipant && s.Role != RoleObserver {
			p.add(loc, "zookeeper.before server %d has role %q, not participant or observer", s.ID, s.Role)
		}
	}
	for _, c := range z.Prune {
		if !strings.HasPrefix(c, "/") || c == "/" || c == "/zookeeper" || strings.HasPrefix(c, "/zookeeper/") {
			p.add(loc, "zookeeper.prune %q is not a chroot that may be pruned (an absolute path other than / and /zookeeper)", c)
		}
		if z.Chroot != "" && c == z.Chroot {
			p.add(loc, "zookeeper.prune lists the migrated chroot %s", c)
		}
	}
}
