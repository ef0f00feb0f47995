package zkops

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/kshift/kshift/plans"
)

// ConfigPath is the znode holding the ensemble's dynamic config (3.5+).
const ConfigPath = "/zookeeper/config"

// Config is the ensemble's membership as /zookeeper/config lists it.
type Config struct {
	// Version is the config version a conditional reconfig must name.
	Version int64            `json:"version" yaml:"version"`
	Members []plans.ZKServer `json:"members" yaml:"members"`
}

// ReadConfig syncs with the leader and reads /zookeeper/config.
func ReadConfig(ctx context.Context, conn ZKConn) (*Config, error) {
	if _, err := call(ctx, func() (string, error) { return conn.Sync(ConfigPath) }); err != nil {
		return nil, fmt.Errorf("syncing %s with the leader: %w", ConfigPath, err)
	}
	data, err := call(ctx, func() ([]byte, error) {
		b, _, err := conn.Get(ConfigPath)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w (ZooKeeper before 3.5 has no dynamic config: use the static-config rolling restart, see `kshift zk config --kind static`)", ConfigPath, err)
	}
	return ParseConfig(data)
}

// ParseConfig parses the text of /zookeeper/config (or a dynamic config
// file): server.N=host:quorum:election[:role][;[clienthost:]clientport]
// lines and version=HEX.
func ParseConfig(data []byte) (*Config, error) {
	cfg := &Config{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("zookeeper config line %q is not key=value", line)
		}
		switch {
		case key == "version":
			v, err := strconv.ParseInt(val, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("zookeeper config version %q is not hexadecimal: %w", val, err)
			}
			cfg.Version = v
		case strings.HasPrefix(key, "server."):
			id, err := strconv.Atoi(strings.TrimPrefix(key, "server."))
			if err != nil {
				return nil, fmt.Errorf("zookeeper config line %q: bad server id: %w", line, err)
			}
			s, err := parseServer(id, val)
			if err != nil {
				return nil, fmt.Errorf("zookeeper config line %q: %w", line, err)
			}
			cfg.Members = append(cfg.Members, s)
		}
	}
	sort.Slice(cfg.Members, func(i, j int) bool { return cfg.Members[i].ID < cfg.Members[j].ID })
	return cfg, nil
}

func parseServer(id int, val string) (plans.ZKServer, error) {
	s := plans.ZKServer{ID: id, Role: plans.RoleParticipant}
	quorum, client, _ := strings.Cut(val, ";")
	parts := strings.Split(quorum, ":")
	if len(parts) < 3 || len(parts) > 4 {
		return s, fmt.Errorf("want host:quorumport:electionport[:role]")
	}
	s.Host = parts[0]
	var err error
	if s.QuorumPort, err = strconv.Atoi(parts[1]); err != nil {
		return s, fmt.Errorf("quorum port: %w", err)
	}
	if s.ElectionPort, err = strconv.Atoi(parts[2]); err != nil {
		return s, fmt.Errorf("election port: %w", err)
	}
	if len(parts) == 4 {
		s.Role = parts[3]
		if s.Role != plans.RoleParticipant && s.Role != plans.RoleObserver {
			return s, fmt.Errorf("role %q is neither participant nor observer", s.Role)
		}
	}
	if client != "" {
		port := client
		if h, p, err := net.SplitHostPort(client); err == nil {
			port = p
			// A wildcard client address means "the quorum host".
			if h != "" && h != "0.0.0.0" && h != "::" {
				s.Host = h
			}
		}
		if s.ClientPort, err = strconv.Atoi(port); err != nil {
			return s, fmt.Errorf("client port: %w", err)
		}
	}
	return s, nil
}

// ServerSpec is the reconfig / dynamic-config form of s:
// server.N=host:quorum:election:role;host:client.
func ServerSpec(s plans.ZKServer) string {
	return fmt.Sprintf("server.%d=%s:%d:%d:%s;%s", s.ID, s.Host, s.QuorumPort, s.ElectionPort, s.Role, ClientAddr(s))
}

// ClientAddr is the server's client address host:port.
func ClientAddr(s plans.ZKServer) string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.ClientPort))
}

// Member returns the member with the given id, or nil.
func (c *Config) Member(id int) *plans.ZKServer {
	for i := range c.Members {
		if c.Members[i].ID == id {
			return &c.Members[i]
		}
	}
	return nil
}

// Voters returns the ids of the participants.
func (c *Config) Voters() []int {
	var ids []int
	for _, m := range c.Members {
		if m.Role == plans.RoleParticipant {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// DynamicConfig is the config as dynamic-config file lines.
func (c *Config) DynamicConfig() string {
	var b strings.Builder
	for _, m := range c.Members {
		b.WriteString(ServerSpec(m) + "\n")
	}
	return b.String()
}

// sameMembership reports whether two member lists hold the same ids with
// the same roles and addresses.
func sameMembership(a, b []plans.ZKServer) bool {
	if len(a) != len(b) {
		return false
	}
	as, bs := sortedServers(a), sortedServers(b)
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

func sortedServers(s []plans.ZKServer) []plans.ZKServer {
	out := append([]plans.ZKServer(nil), s...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
