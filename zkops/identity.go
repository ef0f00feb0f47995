package zkops

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kshift/kshift/plans"
)

// An ensemble is known by its members (ids with their addresses) and its
// config version. A zk step knows which ensemble it acts on: zk-join and
// zk-handover the source ensemble (the one holding the servers the step
// found, zookeeper.before), zk-fork and zk-prune the forked one (exactly
// the plan's targets, no source server). After a fork the targets and the
// sources serve two ensembles; no step or undo adds a server of one to the
// other (checkServerHome).

// sameServer reports whether a and b are the same server: same id and
// addresses (the role may differ).
func sameServer(a, b plans.ZKServer) bool {
	return a.ID == b.ID && a.Host == b.Host && a.ClientPort == b.ClientPort && a.QuorumPort == b.QuorumPort && a.ElectionPort == b.ElectionPort
}

func containsServer(list []plans.ZKServer, s plans.ZKServer) bool {
	return slices.ContainsFunc(list, func(m plans.ZKServer) bool { return sameServer(m, s) })
}

// describe names the ensemble conn reached by its members and config version.
func describe(cfg *Config) string {
	return fmt.Sprintf("members %s, config version %x", renderAddrs(cfg.Members), cfg.Version)
}

func renderAddrs(ms []plans.ZKServer) string {
	var parts []string
	for _, m := range sortedServers(ms) {
		parts = append(parts, fmt.Sprintf("%d:%s@%s", m.ID, m.Role, ClientAddr(m)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// stepSources are the source servers of a zk-join or zk-handover step: the
// members it found, less the targets it promotes.
func stepSources(step *plans.Step) []plans.ZKServer {
	var out []plans.ZKServer
	for _, s := range step.ZooKeeper.Before {
		if !slices.Contains(step.ZooKeeper.Promote, s.ID) {
			out = append(out, s)
		}
	}
	return out
}

// stepTargets are the target servers a zk-join or zk-handover step adds or
// promotes.
func stepTargets(step *plans.Step) []plans.ZKServer {
	out := slices.Clone(step.ZooKeeper.Join)
	for _, s := range step.ZooKeeper.Before {
		if slices.Contains(step.ZooKeeper.Promote, s.ID) {
			out = append(out, s)
		}
	}
	return out
}

// StepConnect is the connect string a zk step dials. A zk-join of a fork
// plan dials the source servers only: once forked, the targets serve
// another ensemble, which the join must never act on.
func StepConnect(step *plans.Step) string {
	ch := step.ZooKeeper
	if step.Phase == plans.PhaseZKJoin && ch.Mode == plans.ZKModeFork && len(ch.Before) > 0 {
		addrs := make([]string, len(ch.Before))
		for i, s := range sortedServers(ch.Before) {
			addrs[i] = ClientAddr(s)
		}
		return strings.Join(addrs, ",")
	}
	return ch.Connect
}

// checkSourceEnsemble refuses a zk-join or zk-handover (or its undo) on an
// ensemble that is not the step's: one that holds none of its source
// servers, unless (a hand-over plan) every member is one of its sources or
// targets, as after the hand-over itself.
func checkSourceEnsemble(step *plans.Step, cfg *Config, connect string) error {
	sources, targets := stepSources(step), stepTargets(step)
	if len(sources) == 0 {
		return nil // a plan that records no membership: nothing to compare
	}
	known := true
	for _, m := range cfg.Members {
		if containsServer(sources, m) {
			return nil
		}
		if !containsServer(targets, m) {
			known = false
		}
	}
	if known && step.ZooKeeper.Mode != plans.ZKModeFork {
		return nil
	}
	why := "none of its source servers is a member"
	if known {
		why = "it is the forked ensemble of the targets: after a fork, the join, the hand-over and their undo act on the source ensemble only, and never add a source server to the forked one"
	}
	return refusef("%s acts on the source ensemble (servers %s); the ensemble reached at %s is another one (%s): %s",
		step.Label(), renderAddrs(sources), connect, describe(cfg), why)
}

// checkServerHome refuses to add server s to the ensemble cfg when s serves
// another ensemble: its own config (the conf four-letter word) lists voters
// none of which is a voter of cfg, or it leads while not a member of cfg.
// A server that does not say (conf not allowed) and does not lead passes.
func checkServerHome(ctx context.Context, cfg *Config, s plans.ZKServer, what string) error {
	own, err := Conf(ctx, ClientAddr(s))
	if err == nil {
		if foreign(cfg, own) {
			return refusef("%s server %d: it serves another ensemble (%s), not this one (%s): a server is never moved between the source and the forked ensemble; after a fork, the join and the hand-over and their undo cannot be applied",
				what, s.ID, describe(own), describe(cfg))
		}
		return nil
	}
	info, serr := Srvr(ctx, ClientAddr(s))
	if serr == nil && info.Mode == "leader" && cfg.Member(s.ID) == nil {
		return refusef("%s server %d: it leads another ensemble (at zxid 0x%x), of which this one (%s) has no record: a server is never moved between ensembles", what, s.ID, info.Zxid, describe(cfg))
	}
	return nil
}

// foreign reports whether a server whose own config is own serves another
// ensemble than cfg: none of its voters is a voter of cfg.
func foreign(cfg, own *Config) bool {
	var ours []plans.ZKServer
	for _, m := range cfg.Members {
		if m.Role == plans.RoleParticipant {
			ours = append(ours, m)
		}
	}
	voters := 0
	for _, m := range own.Members {
		if m.Role == plans.RoleParticipant {
			voters++
			if containsServer(ours, m) {
				return false
			}
		}
	}
	return voters > 0
}

// Conf asks the server at addr for its own view of the membership (the
// conf four-letter word: its "membership:" lines and version).
func Conf(ctx context.Context, addr string) (*Config, error) {
	out, err := fourLetterWord(ctx, addr, "conf")
	if err != nil {
		return nil, err
	}
	_, members, ok := strings.Cut(out, "membership:")
	if !ok {
		return nil, fmt.Errorf("conf from %s: no membership in the answer", addr)
	}
	return ParseConfig([]byte(members))
}
