package zkops

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/plans"
)

// ErrManualStep marks a step kshift cannot do itself (restarting servers);
// the error carries the runbook to follow before applying it again.
var ErrManualStep = errors.New("manual action needed")

// ForkRunbook is the procedure that turns the target nodes, observers of a
// shared source ensemble, into an ensemble of their own.
func ForkRunbook(ch *plans.ZooKeeperChange) string {
	return fmt.Sprintf(`Fork the target ZooKeeper nodes off the shared ensemble (chroot %s):
  1. Check that every broker of the migrated cluster connects only to the target nodes
     (zookeeper.connect=%s%s); no broker of it may use a source node any more.
  2. Write each target node's fork config: kshift zk config --mapping MAPPING --kind fork
  3. Stop all target nodes, install the fork configs (keep their data directories), start them.
     Brokers reconnect within their session timeout and keep their sessions.
  4. Remove the target nodes from the source ensemble, where they are still listed as
     observers (kshift zk status --zookeeper SOURCE shows them): in zkCli.sh connected to a
     source node, "addauth digest super:PASSWORD", then "reconfig -remove ID" for each target.
  5. kshift apply PLAN --step N checks the new ensemble: no source server (%v) is a member,
     it serves the chroot; kshift zk status --zookeeper %s shows it.
`, ch.Chroot, ch.Connect, ch.Chroot, ch.Sources, ch.Connect)
}

// VerifyFork checks that the ensemble conn reaches contains none of the
// source servers, has a healthy majority and serves the migrated chroot.
func VerifyFork(ctx context.Context, conn ZKConn, ch *plans.ZooKeeperChange) error {
	st, err := readStatus(ctx, conn)
	if err != nil {
		return err
	}
	var still []int
	for _, id := range ch.Sources {
		if st.config.Member(id) != nil {
			still = append(still, id)
		}
	}
	if len(still) > 0 {
		return fmt.Errorf("%w: source servers %v are still members of the ensemble at %s: the target nodes have not been forked yet\n%s", ErrManualStep, still, ch.Connect, ForkRunbook(ch))
	}
	if err := checkMajority(st, st.config.Voters(), 0, "the forked ensemble"); err != nil {
		return err
	}
	if ok, err := IsKafkaChroot(ctx, conn, ch.Chroot); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: the forked ensemble at %s does not hold the Kafka chroot %s", ErrRefused, ch.Connect, ch.Chroot)
	}
	return nil
}

// PruneReport is what a prune deletes, or would delete in a dry run.
type PruneReport struct {
	DryRun bool      `json:"dry_run" yaml:"dry_run"`
	Paths  []Subtree `json:"paths" yaml:"paths"`
}

// Prune deletes the chroots ch.Prune from a forked ensemble, each subtree
// children first. It refuses, changing nothing, while any source server is
// still a member, when a chroot to prune holds live broker registrations,
// or when it would touch the migrated chroot, the root or /zookeeper. With
// dryRun it only counts what it would delete.
func Prune(ctx context.Context, conn ZKConn, ch *plans.ZooKeeperChange, dryRun bool, opts Options) (*PruneReport, error) {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, id := range ch.Sources {
		if cfg.Member(id) != nil {
			return nil, refusef("source server %d is still a member of this ensemble: prune runs only on a forked ensemble without source servers, or it would delete the other clusters' live data", id)
		}
	}
	rep := &PruneReport{DryRun: dryRun}
	for _, p := range ch.Prune {
		p = path.Clean("/" + p)
		if err := checkPrunable(p, ch.Chroot); err != nil {
			return nil, err
		}
		if err := checkWholeChroot(ctx, conn, p); err != nil {
			return nil, err
		}
		live, err := liveBrokersUnder(ctx, conn, p)
		if err != nil {
			return nil, err
		}
		if len(live) > 0 {
			return nil, refusef("%s has live broker registrations (%s): a cluster still uses it on this ensemble", p, strings.Join(live, "; "))
		}
		n, err := CountZNodes(ctx, conn, p)
		if err != nil {
			return nil, err
		}
		rep.Paths = append(rep.Paths, Subtree{Path: p, ZNodes: n})
	}
	if dryRun {
		return rep, nil
	}
	for _, sub := range rep.Paths {
		err := walkTree(ctx, conn, sub.Path, func(z string) error {
			_, err := call(ctx, func() (struct{}, error) { return struct{}{}, conn.Delete(z, -1) })
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				return fmt.Errorf("deleting %s: %w (apply the step again to continue)", z, err)
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		opts.logf("deleted %s (%d znodes)", sub.Path, sub.ZNodes)
	}
	return rep, nil
}

func checkPrunable(p, chroot string) error {
	chroot = path.Clean("/" + chroot)
	switch {
	case p == "/" || p == "/zookeeper" || strings.HasPrefix(p, "/zookeeper/"):
		return refusef("%s is ZooKeeper's own or the root: never pruned", p)
	case p == chroot || strings.HasPrefix(chroot, p+"/") || strings.HasPrefix(p, chroot+"/") || chroot == "/":
		return refusef("%s overlaps the migrated chroot %s", p, chroot)
	case path.Base(p) == "kshift":
		// A cluster at the root keeps its kshift state in /kshift, beside
		// the other clusters' chroots.
		return refusef("%s is kshift's own state (operator lock, throttle records, audit trail) of the cluster at %s: it goes with that cluster's chroot, never on its own", p, path.Dir(p))
	}
	return nil
}

// checkWholeChroot refuses p when it is a piece of a Kafka cluster's data
// (a Kafka chroot above it, and p no chroot of its own): prune deletes
// whole chroots, never /brokers or /config of a cluster at the root.
func checkWholeChroot(ctx context.Context, conn ZKConn, p string) error {
	for a := path.Dir(p); ; a = path.Dir(a) {
		owner, err := IsKafkaChroot(ctx, conn, a)
		if err != nil {
			return err
		}
		if owner {
			own, err := IsKafkaChroot(ctx, conn, p)
			if err != nil {
				return err
			}
			if !own {
				return refusef("%s is part of the Kafka cluster at %s, not a chroot of its own: prune deletes whole chroots only", p, a)
			}
			return nil
		}
		if a == "/" {
			return nil
		}
	}
}

// liveBrokersUnder lists "chroot: ids" for every Kafka cluster under p that
// has registered brokers.
func liveBrokersUnder(ctx context.Context, conn ZKConn, p string) ([]string, error) {
	l := &Layout{}
	if _, err := l.walk(ctx, conn, p, strings.Count(strings.Trim(p, "/"), "/")+1); err != nil {
		return nil, err
	}
	var live []string
	for _, c := range l.Clusters {
		if len(c.Brokers) > 0 {
			live = append(live, fmt.Sprintf("%s: brokers %v", c.Chroot, c.Brokers))
		}
	}
	return live, nil
}

// ChrootRemoval says whether the migrated chroot on the old ensemble may be
// removed: once no broker of the cluster is registered there.
type ChrootRemoval struct {
	Chroot  string  `json:"chroot" yaml:"chroot"`
	Brokers []int32 `json:"brokers" yaml:"brokers,flow"`
	ZNodes  int     `json:"znodes" yaml:"znodes"`
	Ready   bool    `json:"ready" yaml:"ready"`
}

// OldChrootRemoval reads the migrated chroot on the old ensemble.
func OldChrootRemoval(ctx context.Context, conn ZKConn, chroot string) (*ChrootRemoval, error) {
	kc, err := ReadKafkaCluster(ctx, conn, chroot)
	if err != nil {
		return nil, err
	}
	n, err := CountZNodes(ctx, conn, kc.Chroot)
	if err != nil {
		return nil, err
	}
	return &ChrootRemoval{Chroot: kc.Chroot, Brokers: kc.Brokers, ZNodes: n, Ready: len(kc.Brokers) == 0}, nil
}
