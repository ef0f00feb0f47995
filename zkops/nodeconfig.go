package zkops

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kshift/kshift/plans"
)

// NodeConfig is what one target server needs on disk to start: its
// zoo.cfg, its dynamic config (empty for a static config) and its myid.
type NodeConfig struct {
	ID      int    `json:"id" yaml:"id"`
	Host    string `json:"host" yaml:"host"`
	ConfDir string `json:"conf_dir" yaml:"conf_dir"`
	DataDir string `json:"data_dir" yaml:"data_dir"`
	// ZooCfg goes to ConfDir/zoo.cfg, DynamicConfig to ConfDir/zoo.cfg.dynamic,
	// and the id to DataDir/myid.
	ZooCfg        string `json:"zoo_cfg" yaml:"zoo_cfg"`
	DynamicConfig string `json:"dynamic_config,omitempty" yaml:"dynamic_config,omitempty"`
	// JavaEnv goes to ConfDir/java.env: the JVM option with the super
	// digest, which every server of the ensemble needs for kshift's
	// reconfigs (SetSuperDigest fills in the digest).
	JavaEnv string `json:"java_env" yaml:"java_env"`
}

// SuperDigestProperty is the Java system property that gives ZooKeeper's
// super user its digest.
const SuperDigestProperty = "zookeeper.DigestAuthenticationProvider.superDigest"

// SuperDigest is the value of SuperDigestProperty for credentials
// user:password: user:base64(sha1("user:password")), the digest
// ZooKeeper's DigestAuthenticationProvider computes.
func SuperDigest(userPassword string) string {
	user, _, _ := strings.Cut(userPassword, ":")
	sum := sha1.Sum([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

const javaEnvUnknown = "# the super user's digest: kshift prints it when KSHIFT_ZK_DIGEST=super:PASSWORD is set;\n" +
	"# it must be the same on every server of the ensemble (the source servers' value)\n" +
	"SERVER_JVMFLAGS=\"$SERVER_JVMFLAGS -D" + SuperDigestProperty + "=super:DIGEST\"\n"

// SetSuperDigest writes the JVM option for the credentials userPassword
// into each node's JavaEnv.
func SetSuperDigest(ncs []NodeConfig, userPassword string) {
	for i := range ncs {
		ncs[i].JavaEnv = fmt.Sprintf("# the super user's digest, the same on every server of the ensemble\nSERVER_JVMFLAGS=\"$SERVER_JVMFLAGS -D%s=%s\"\n", SuperDigestProperty, SuperDigest(userPassword))
	}
}

// Default directories of a target node (Debian's package layout).
const (
	DefaultDataDir = "/var/lib/zookeeper"
	DefaultConfDir = "/etc/zookeeper/conf"
)

// ConfigKind says which configs NodeConfigs writes.
type ConfigKind string

const (
	// ConfigObserver starts each target as an observer of the source
	// ensemble (dynamic reconfig adds it: zk-join).
	ConfigObserver ConfigKind = "observer"
	// ConfigFork restarts the targets as an ensemble of their own (zk-fork).
	ConfigFork ConfigKind = "fork"
	// ConfigStatic is for ensembles without dynamic reconfig: a zoo.cfg with
	// the whole server list (members and targets as observers), for every
	// member and target, applied by a rolling restart.
	ConfigStatic ConfigKind = "static"
)

// AllConfigKinds lists every ConfigKind.
var AllConfigKinds = []ConfigKind{ConfigObserver, ConfigFork, ConfigStatic}

// NodeConfigs returns the files of every target node of m. members is the
// source ensemble's current membership (ignored for ConfigFork).
func NodeConfigs(m *plans.ZooKeeperMapping, members []plans.ZKServer, kind ConfigKind) ([]NodeConfig, error) {
	if !slices.Contains(AllConfigKinds, kind) {
		return nil, fmt.Errorf("config kind %q is not one of %v", kind, AllConfigKinds)
	}
	var servers []plans.ZKServer
	switch kind {
	case ConfigObserver, ConfigStatic:
		servers = append(servers, members...)
		for _, t := range m.Targets {
			if c := (&Config{Members: members}).Member(t.ID); c != nil {
				return nil, fmt.Errorf("target id %d is already used by member %s: pick another id in the mapping", t.ID, ServerSpec(*c))
			}
			servers = append(servers, t.Server(plans.RoleObserver))
		}
	case ConfigFork:
		for _, t := range m.Targets {
			servers = append(servers, t.Server(plans.RoleParticipant))
		}
	}
	var lines strings.Builder
	for _, s := range sortedServers(servers) {
		lines.WriteString(ServerSpec(s) + "\n")
	}
	var out []NodeConfig
	for _, t := range m.Targets {
		nc := NodeConfig{ID: t.ID, Host: t.Host, ConfDir: orDefault(t.ConfDir, DefaultConfDir), DataDir: orDefault(t.DataDir, DefaultDataDir)}
		var b strings.Builder
		fmt.Fprintf(&b, "# kshift zk config: server %d (%s), %s config\n", t.ID, t.Host, kind)
		fmt.Fprintf(&b, "tickTime=%d\ninitLimit=%d\nsyncLimit=%d\n", orDefaultInt(m.TickTime, 2000), orDefaultInt(m.InitLimit, 10), orDefaultInt(m.SyncLimit, 5))
		fmt.Fprintf(&b, "dataDir=%s\n", nc.DataDir)
		b.WriteString("4lw.commands.whitelist=srvr,mntr,ruok,conf,cons\nadmin.enableServer=false\n")
		if kind == ConfigStatic {
			b.WriteString("reconfigEnabled=false\n")
			fmt.Fprintf(&b, "clientPort=%d\n", t.Server("").ClientPort)
			// A static observer must say so itself as well as in its server line.
			b.WriteString("peerType=observer\n")
			for _, s := range sortedServers(servers) {
				fmt.Fprintf(&b, "server.%d=%s:%d:%d%s\n", s.ID, s.Host, s.QuorumPort, s.ElectionPort, map[string]string{plans.RoleObserver: ":observer"}[s.Role])
			}
		} else {
			b.WriteString("reconfigEnabled=true\nstandaloneEnabled=false\n")
			fmt.Fprintf(&b, "dynamicConfigFile=%s\n", path.Join(nc.ConfDir, "zoo.cfg.dynamic"))
			nc.DynamicConfig = lines.String()
		}
		nc.ZooCfg = b.String()
		nc.JavaEnv = javaEnvUnknown
		out = append(out, nc)
	}
	return out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orDefaultInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}
