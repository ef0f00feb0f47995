package planner

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/kshift/kshift/plans"
)

// zooKeeperSteps returns the zk steps that go before the reassignment steps
// (zk-join) and after them (zk-handover, or zk-fork and zk-prune on a
// shared ensemble), or none when the mapping has no zookeeper section.
func zooKeeperSteps(snap *plans.Snapshot, m *plans.Mapping) (before, after []plans.Step, err error) {
	zm := m.ZooKeeper
	if zm == nil {
		return nil, nil, nil
	}
	ens := snap.ZooKeeper
	if ens == nil || len(ens.Members) == 0 {
		return nil, nil, &plans.InputError{File: "snapshot", Err: errors.New("zookeeper: the snapshot records no ensemble members, which the mapping's zookeeper section needs: take the snapshot with a ZooKeeper connection")}
	}
	var r refusals
	sources := sortedMembers(ens.Members)
	var sourceIDs []int
	for _, s := range sources {
		sourceIDs = append(sourceIDs, s.ID)
	}
	var joins []plans.ZKServer
	for i, t := range zm.Targets {
		s := t.Server(plans.RoleObserver)
		loc := fmt.Sprintf("zookeeper.targets[%d]", i)
		for _, src := range sources {
			if src.ID == s.ID {
				r.add("mapping", loc, "id %d is already a member of the source ensemble (%s:%d): pick an unused id", s.ID, src.Host, src.ClientPort)
			}
			if src.Host == s.Host && (src.ClientPort == s.ClientPort || src.QuorumPort == s.QuorumPort || src.ElectionPort == s.ElectionPort) {
				r.add("mapping", loc, "server %d shares %s and a port with source server %d", s.ID, s.Host, src.ID)
			}
		}
		joins = append(joins, s)
	}
	joins = sortedMembers(joins)
	mode := zm.Mode
	if mode == "" {
		mode = plans.ZKModeHandover
		if len(ens.OtherChroots) > 0 {
			mode = plans.ZKModeFork
		}
	}
	if mode == plans.ZKModeHandover && len(ens.OtherChroots) > 0 {
		r.add("mapping", "zookeeper.mode", "handover would take the ensemble away from the other Kafka clusters on it (%s): use mode fork", strings.Join(ens.OtherChroots, ", "))
	}
	if err := r.err(); err != nil {
		return nil, nil, err
	}

	targetConnect := connectOf(joins)
	// Sources and targets: the step's status stays readable once the
	// sources are retired and stopped.
	bothConnect := connectOf(append(slices.Clone(sources), joins...))
	join := plans.Step{Phase: plans.PhaseZKJoin, ZooKeeper: &plans.ZooKeeperChange{
		Connect: bothConnect,
		Join:    joins,
		Before:  sources,
		Mode:    mode,
	}}
	before = []plans.Step{join}
	chroot := ens.Chroot
	if chroot == "" {
		chroot = "/"
	}
	switch mode {
	case plans.ZKModeHandover:
		var promote []int
		for _, j := range joins {
			promote = append(promote, j.ID)
		}
		after = []plans.Step{{Phase: plans.PhaseZKHandover, ZooKeeper: &plans.ZooKeeperChange{
			Connect: bothConnect,
			Promote: promote,
			Retire:  sourceIDs,
			Before:  sortedMembers(append(slices.Clone(sources), joins...)),
			Mode:    mode,
		}}}
	case plans.ZKModeFork:
		var voters []plans.ZKServer
		for _, j := range joins {
			j.Role = plans.RoleParticipant
			voters = append(voters, j)
		}
		sourceConnect := connectOf(sources)
		after = []plans.Step{{Phase: plans.PhaseZKFork, ZooKeeper: &plans.ZooKeeperChange{Connect: targetConnect, Chroot: chroot, Sources: sourceIDs,
			Mode: mode, Targets: voters, SourceConnect: sourceConnect}}}
		// Nothing to prune when the snapshot saw no other Kafka cluster.
		if len(ens.OtherChroots) > 0 {
			after = append(after, plans.Step{Phase: plans.PhaseZKPrune, ZooKeeper: &plans.ZooKeeperChange{Connect: targetConnect, Chroot: chroot, Sources: sourceIDs, Prune: sortedChroots(ens.OtherChroots),
				Mode: mode, Targets: voters, SourceConnect: sourceConnect}})
		}
	}
	return before, after, nil
}

func sortedMembers(ms []plans.ZKServer) []plans.ZKServer {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b plans.ZKServer) int { return a.ID - b.ID })
	return out
}

func sortedChroots(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// connectOf is the client connect string of servers, in id order.
func connectOf(servers []plans.ZKServer) string {
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = net.JoinHostPort(s.Host, strconv.Itoa(s.ClientPort))
	}
	return strings.Join(addrs, ",")
}
