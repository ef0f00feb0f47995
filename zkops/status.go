package zkops

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/plans"
)

// MemberStatus is one member of the ensemble as it answers right now.
type MemberStatus struct {
	plans.ZKServer `yaml:",inline"`
	// Mode is what the server says it is (leader, follower, observer); empty
	// when it does not answer.
	Mode string `json:"mode" yaml:"mode"`
	Zxid string `json:"zxid,omitempty" yaml:"zxid,omitempty"`
	// Lag is how many transactions the server is behind the leader, -1 when unknown.
	Lag int64 `json:"lag" yaml:"lag"`
	// InSync is true when the server answers in the mode its role implies
	// and has every transaction the leader had when it was asked.
	InSync bool   `json:"in_sync" yaml:"in_sync"`
	Error  string `json:"error,omitempty" yaml:"error,omitempty"`

	zxid int64
}

// ReconfigAccess says whether this connection may reconfigure the ensemble.
type ReconfigAccess struct {
	Enabled    bool `json:"enabled" yaml:"enabled"`
	Authorised bool `json:"authorised" yaml:"authorised"`
	// Detail explains a refusal and what to do instead.
	Detail string `json:"detail,omitempty" yaml:"detail,omitempty"`
}

// EnsembleStatus is the live state of an ensemble.
type EnsembleStatus struct {
	ConfigVersion string         `json:"config_version" yaml:"config_version"`
	Leader        int            `json:"leader" yaml:"leader"`
	Members       []MemberStatus `json:"members" yaml:"members"`
	// QuorumSize, SyncedFollowers (voting), SyncedNonVoting and
	// SyncedObservers come from the leader's mntr. Non-voting followers are
	// running servers that are not members, such as retired voters not yet
	// stopped: they still receive every write.
	QuorumSize      int            `json:"quorum_size" yaml:"quorum_size"`
	SyncedFollowers int            `json:"synced_followers" yaml:"synced_followers"`
	SyncedNonVoting int            `json:"synced_non_voting" yaml:"synced_non_voting"`
	SyncedObservers int            `json:"synced_observers" yaml:"synced_observers"`
	Reconfig        ReconfigAccess `json:"reconfig" yaml:"reconfig"`

	config *Config
}

// Member returns the status of member id, or nil.
func (s *EnsembleStatus) Member(id int) *MemberStatus {
	for i := range s.Members {
		if s.Members[i].ID == id {
			return &s.Members[i]
		}
	}
	return nil
}

// ReadStatus reads the membership from /zookeeper/config and asks every
// member with srvr (and the leader with mntr) how it is doing. Members that
// do not answer are reported, not an error. It also probes whether this
// connection may reconfigure (a conditional reconfig with a version that
// cannot match changes nothing).
func ReadStatus(ctx context.Context, conn ZKConn) (*EnsembleStatus, error) {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return nil, err
	}
	st := statusOf(ctx, cfg)
	st.Reconfig = ProbeReconfig(ctx, conn)
	return st, nil
}

// statusOf asks every member of cfg with srvr, and the leader with mntr.
func statusOf(ctx context.Context, cfg *Config) *EnsembleStatus {
	st := &EnsembleStatus{ConfigVersion: fmt.Sprintf("%x", cfg.Version), config: cfg}
	infos := make([]*ServerInfo, len(cfg.Members))
	errs := make([]error, len(cfg.Members))
	// A member listed here that serves another ensemble (a target forked
	// off, still listed) answers with a zxid of another history, and may
	// lead that ensemble: it is neither this ensemble's leader nor behind it.
	others := make([]*Config, len(cfg.Members))
	var leaderZxid int64 = -1
	for i, m := range cfg.Members {
		infos[i], errs[i] = Srvr(ctx, ClientAddr(m))
		if errs[i] != nil {
			continue
		}
		if own, err := Conf(ctx, ClientAddr(m)); err == nil && foreign(cfg, own) {
			others[i] = own
			continue
		}
		if infos[i].Mode == "leader" {
			st.Leader, leaderZxid = m.ID, infos[i].Zxid
		}
	}
	for i, m := range cfg.Members {
		// A member read before the leader may look behind only because of
		// writes in between: ask it once more, now after the leader.
		if errs[i] == nil && others[i] == nil && behind(leaderZxid, infos[i].Zxid) > 0 {
			if info, err := Srvr(ctx, ClientAddr(m)); err == nil {
				infos[i] = info
			}
		}
		ms := MemberStatus{ZKServer: m, Lag: -1}
		switch {
		case errs[i] != nil:
			ms.Error = errs[i].Error()
		case others[i] != nil:
			ms.Mode = infos[i].Mode
			ms.Zxid = fmt.Sprintf("0x%x", infos[i].Zxid)
			ms.Error = "serves another ensemble: " + describe(others[i])
		default:
			ms.Mode, ms.zxid = infos[i].Mode, infos[i].Zxid
			ms.Zxid = fmt.Sprintf("0x%x", infos[i].Zxid)
			if leaderZxid >= 0 {
				ms.Lag = behind(leaderZxid, infos[i].Zxid)
			}
			ms.InSync = modeFitsRole(ms.Mode, m.Role) && ms.Lag == 0
		}
		st.Members = append(st.Members, ms)
	}
	if st.Leader != 0 {
		if vars, err := Mntr(ctx, ClientAddr(*cfg.Member(st.Leader))); err == nil {
			st.QuorumSize, _ = strconv.Atoi(vars["zk_quorum_size"])
			// zk_synced_followers counts the non-voting followers too.
			st.SyncedFollowers, _ = strconv.Atoi(vars["zk_synced_followers"])
			st.SyncedNonVoting, _ = strconv.Atoi(vars["zk_synced_non_voting_followers"])
			st.SyncedFollowers -= st.SyncedNonVoting
			st.SyncedObservers, _ = strconv.Atoi(vars["zk_synced_observers"])
		}
	}
	return st
}

// behind is how many transactions a server at zxid member lacks compared
// with a leader at zxid leader. A zxid is epoch<<32 | counter; a new leader
// starts its epoch at counter 0, so a server still at the previous epoch's
// last zxid lacks only the new epoch's transactions.
func behind(leader, member int64) int64 {
	if leader>>32 != member>>32 && member < leader {
		return leader & 0xffffffff
	}
	return max(0, leader-member)
}

func modeFitsRole(mode, role string) bool {
	if role == plans.RoleObserver {
		return mode == "observer"
	}
	return mode == "leader" || mode == "follower"
}

// ProbeReconfig finds out whether reconfig is enabled and authorised for
// this connection without changing anything: a conditional reconfig and a
// conditional write of /zookeeper/config, both naming a version that cannot
// exist. ZooKeeper checks reconfigEnabled before the version of a reconfig,
// and the write permission before the version of a write.
func ProbeReconfig(ctx context.Context, conn ZKConn) ReconfigAccess {
	_, err := call(ctx, func() (*zk.Stat, error) { return conn.IncrementalReconfig(nil, nil, math.MaxInt64) })
	switch {
	case errors.Is(err, zk.ErrReconfigDisabled):
		return ReconfigAccess{Detail: explainReconfig(err)}
	case !errors.Is(err, zk.ErrBadVersion):
		return ReconfigAccess{Detail: fmt.Sprintf("reconfig probe: unexpected answer %v", err)}
	}
	_, err = call(ctx, func() (*zk.Stat, error) { return conn.Set(ConfigPath, nil, math.MaxInt32) })
	switch {
	case errors.Is(err, zk.ErrBadVersion):
		return ReconfigAccess{Enabled: true, Authorised: true}
	case errors.Is(err, zk.ErrNoAuth):
		return ReconfigAccess{Enabled: true, Detail: explainReconfig(err)}
	default:
		return ReconfigAccess{Enabled: true, Detail: fmt.Sprintf("permission probe on %s: unexpected answer %v", ConfigPath, err)}
	}
}

// ErrReconfigUnavailable marks a reconfig refused because the ensemble does
// not allow it (disabled, or this session lacks the permission).
var ErrReconfigUnavailable = errors.New("zookeeper reconfig unavailable")

const staticAlternative = "without dynamic reconfig, change the ensemble by a static-config rolling restart: " +
	"`kshift zk config --kind static` prints each node's zoo.cfg with the full server list; " +
	"start the new nodes with it, then restart the existing nodes one at a time (followers first, the leader last), " +
	"waiting for each to rejoin in sync (`kshift zk status`) before the next"

func explainReconfig(err error) string {
	switch {
	case errors.Is(err, zk.ErrReconfigDisabled):
		return "reconfig is disabled on this ensemble (reconfigEnabled=false, or ZooKeeper before 3.5): set reconfigEnabled=true in every zoo.cfg with a rolling restart, or " + staticAlternative
	case errors.Is(err, zk.ErrNoAuth):
		return "this session may not write /zookeeper/config: reconfig needs ZooKeeper's super user (the super digest). Give its credentials in the environment, " +
			"KSHIFT_ZK_DIGEST=super:PASSWORD (or the variable --zookeeper-digest-env names), and make sure every server, " +
			"the targets included, runs with the JVM option -D" + SuperDigestProperty + "=super:DIGEST (in SERVER_JVMFLAGS, conf/java.env; " +
			"`kshift zk config` prints it for the targets): a server without it refuses the super user, so a reconfig would be " +
			"authorised on some servers and not others. A server lacking it needs the option and a restart, one server at a time"
	}
	return err.Error()
}

// healthyVoters returns the voters that answer in sync; promoting counts
// when it is a synced observer.
func healthyVoters(st *EnsembleStatus, voters []int, promoting int) (healthy []int) {
	for _, id := range voters {
		m := st.Member(id)
		if m == nil {
			continue
		}
		ok := m.InSync
		if id == promoting {
			// A node being promoted is healthy when it is a synced observer.
			ok = m.Mode == "observer" && m.Lag == 0
		}
		if ok {
			healthy = append(healthy, id)
		}
	}
	return healthy
}
