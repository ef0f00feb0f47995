package zkops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
)

// ErrManualStep marks a step kshift cannot do itself (restarting servers);
// the error carries the runbook to follow before applying it again.
var ErrManualStep = errors.New("manual action needed")

// Dialer opens a session with the ensemble at connect (host:port,...), as
// the super user when the caller has its digest; close ends it. zk-fork
// reads the source ensemble through it.
type Dialer func(ctx context.Context, connect string) (conn ZKConn, close func(), err error)

// ForkRunbook is the procedure that turns the target nodes, observers of a
// shared source ensemble, into an ensemble of their own. kshift cannot
// restart servers: it checks each stage when the step is applied.
func ForkRunbook(ch *plans.ZooKeeperChange) string {
	return fmt.Sprintf(`Fork the target ZooKeeper nodes off the shared ensemble (chroot %s):
  1. Check that every broker of the migrated cluster connects only to the target nodes
     (zookeeper.connect=%s%s); no broker of it may use a source node any more.
  2. Write each target node's fork config: kshift zk config --mapping MAPPING --kind fork
     Keep each node's data directory: it must be the dataDir the node had as an observer
     (the mapping's data_dir); an empty one starts an empty ensemble.
  3. Apply the zk-fork step (kshift apply PLAN --step N): it waits until every target
     observer has the leader's last transaction, then says to go on and watches stage 4.
  4. While kshift watches: stop the target nodes one at a time, a second or so apart
     (the brokers move to the ones still running), and install the fork configs. kshift
     names the target that stopped last: it holds the newest transactions. Start that
     one FIRST, then the others once it runs, so that it takes part in the first
     election (the server with the highest zxid wins it). A target whose newer
     transactions miss the first election has them truncated: acknowledged writes lost.
  5. The step then verifies (apply it again when you restarted without it watching). It is
     done only when the new ensemble has exactly the
     targets as members (no source server of %v), serves the chroot with the same cluster
     id, topics and configs as the source ensemble's frozen copy, has the migrated
     brokers registered, and lacks no write of that copy. It then removes the targets
     from the source ensemble, where they are still listed as observers.
`, ch.Chroot, ch.Connect, ch.Chroot, ch.Sources)
}

// forkTargets are the servers a forked ensemble must have exactly: the
// step's targets, or (a plan that does not record them) the servers of
// its connect string, compared by client address.
func forkTargetsMatch(ch *plans.ZooKeeperChange, cfg *Config) error {
	if len(ch.Targets) > 0 {
		var missing, extra []string
		for _, t := range ch.Targets {
			if m := cfg.Member(t.ID); m == nil || !sameServer(*m, t) {
				missing = append(missing, fmt.Sprintf("%d@%s", t.ID, ClientAddr(t)))
			}
		}
		for _, m := range cfg.Members {
			if !containsServer(ch.Targets, m) {
				extra = append(extra, fmt.Sprintf("%d@%s", m.ID, ClientAddr(m)))
			}
		}
		if len(missing)+len(extra) > 0 {
			return fmt.Errorf("its members are not exactly the plan's targets %s (missing %v, not targets %v)", renderAddrs(ch.Targets), missing, extra)
		}
		return nil
	}
	want := strings.Split(strings.SplitN(ch.Connect, "/", 2)[0], ",")
	var have []string
	for _, m := range cfg.Members {
		have = append(have, ClientAddr(m))
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(want, have) {
		return fmt.Errorf("its members' client addresses %v are not exactly the targets of the connect string %v", have, want)
	}
	return nil
}

// VerifyFork checks the fork of ch on the ensemble conn reaches (the
// targets). Before the fork it waits until every target observer has the
// leader's last transaction and returns ErrManualStep with the runbook.
// After it, the fork is done only when the new ensemble has exactly the
// targets as members and a healthy majority, and holds the migrated chroot
// as the source ensemble's frozen copy has it (cluster id, topics,
// configs, every write: compareFrozenCopy), with migrated brokers
// registered; anything else is ErrManualStep saying what is missing and
// how to recover. opts.Dial reaches the source ensemble (ch.SourceConnect).
func VerifyFork(ctx context.Context, conn ZKConn, ch *plans.ZooKeeperChange, opts Options) error {
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
		if err := waitTargetsSynced(ctx, conn, ch, opts); err != nil {
			return fmt.Errorf("%w: source servers %v are still members of the ensemble at %s, so the targets are not forked yet, and %w; once they are in sync:\n%s", ErrManualStep, still, ch.Connect, err, ForkRunbook(ch))
		}
		if opts.ForkWatch <= 0 || opts.Dial == nil {
			return fmt.Errorf("%w: source servers %v are still members of the ensemble at %s: the targets are not forked yet. Every target observer has the leader's last transaction now: go on with stage 4 of the runbook\n%s", ErrManualStep, still, ch.Connect, ForkRunbook(ch))
		}
		if err := watchForkRestart(ctx, ch, opts); err != nil {
			return err
		}
		fresh, closeFresh, err := opts.Dial(ctx, ch.Connect)
		if err != nil {
			return fmt.Errorf("reaching the forked ensemble at %s: %w", ch.Connect, err)
		}
		defer closeFresh()
		conn = fresh
		if st, err = readStatus(ctx, conn); err != nil {
			return err
		}
	}
	if err := forkTargetsMatch(ch, st.config); err != nil {
		return fmt.Errorf("%w: the ensemble at %s is not the plan's forked ensemble (%s): %w", ErrRefused, ch.Connect, describe(st.config), err)
	}
	if err := checkMajority(st, st.config.Voters(), 0, "the forked ensemble"); err != nil {
		return fmt.Errorf("%w: the forked ensemble at %s has no healthy majority: %w; start every target with its fork config", ErrManualStep, ch.Connect, err)
	}
	held, err := verifyForkedData(ctx, conn, st.config, ch, opts)
	if err != nil {
		return err
	}
	if err := recordVerifiedFork(ctx, conn, ch.Chroot, held); err != nil {
		return err
	}
	return removeTargetsFromSource(ctx, ch, opts)
}

// recordVerifiedFork writes, on the forked ensemble, the zxid up to which
// the fork was verified to hold the source ensemble's history (the data of
// the marks znode, which the comparison skips). A later check needs it:
// the forked ensemble shows how far its history reaches only through
// znodes not written since, and the migrated cluster goes on writing, so
// the evidence a first check saw (a counter last written just before the
// fork) is overwritten, and the same fork would read as having lost that
// write.
func recordVerifiedFork(ctx context.Context, conn ZKConn, chroot string, held int64) error {
	marks := znode(chroot, forkMarks)
	data := []byte(fmt.Sprintf("verified-through 0x%x", held))
	if _, err := call(ctx, func() (string, error) { return conn.Create(marks, data, 0, zk.WorldACL(zk.PermAll)) }); errors.Is(err, zk.ErrNodeExists) {
		_, err = call(ctx, func() (*zk.Stat, error) { return conn.Set(marks, data, -1) })
		if err != nil {
			return fmt.Errorf("recording the verified fork on %s: %w", marks, err)
		}
	} else if err != nil {
		return fmt.Errorf("recording the verified fork on %s: %w", marks, err)
	}
	return nil
}

// verifiedThrough reads what recordVerifiedFork wrote: 0 when nothing was.
func verifiedThrough(ctx context.Context, conn ZKConn, chroot string) (int64, error) {
	data, err := call(ctx, func() ([]byte, error) {
		d, _, err := conn.Get(znode(chroot, forkMarks))
		return d, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", znode(chroot, forkMarks), err)
	}
	var held int64
	if _, err := fmt.Sscanf(string(data), "verified-through 0x%x", &held); err != nil {
		return 0, nil // marks written by watchForkRestart only: no record yet
	}
	return held, nil
}

// forkMarks is the znode under the migrated chroot where zk-fork marks
// time in the source ensemble while the targets restart: sequential
// children, one every markInterval, from before the first target stops
// until after the last one did. The newest mark the forked ensemble holds,
// and the oldest it lacks, bound the last transaction of the source
// ensemble's history it took over (compareFrozenCopy).
const forkMarks = "kshift-fork-marks"

const markInterval = 5 * time.Millisecond

// watchForkRestart waits (up to opts.ForkWatch) for every target to stop
// and come back as a member of an ensemble of its own, writing marks in
// the source ensemble until every target has stopped.
func watchForkRestart(ctx context.Context, ch *plans.ZooKeeperChange, opts Options) error {
	src, closeSrc, err := opts.Dial(ctx, ch.SourceConnect)
	if err != nil {
		return fmt.Errorf("reaching the source ensemble at %s: %w", ch.SourceConnect, err)
	}
	defer closeSrc()
	marks := znode(ch.Chroot, forkMarks)
	if _, err := call(ctx, func() (string, error) { return src.Create(marks, nil, 0, zk.WorldACL(zk.PermAll)) }); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("creating %s on the source ensemble: %w", marks, err)
	}
	srcCfg, err := ReadConfig(ctx, src)
	if err != nil {
		return err
	}
	targets := forkTargetServers(ch, srcCfg)
	lastZxid := map[int]int64{}
	for _, t := range targets {
		if info, err := Srvr(ctx, ClientAddr(t)); err == nil {
			lastZxid[t.ID] = info.Zxid
		}
	}
	opts.logf("every target is in sync: stop ALL targets now, one at a time, a second or so apart, and install their fork configs (kshift zk config --kind fork); kshift says which one to start first; it waits up to %s", opts.ForkWatch)
	ctx, cancel := context.WithTimeout(ctx, opts.ForkWatch)
	defer cancel()
	stopped := map[int]bool{}
	var order []int
	marking := true
	var markErr error
	err = poll.Until(ctx, poll.Options{Interval: markInterval}, func(ctx context.Context) (bool, error) {
		if marking {
			if _, err := call(ctx, func() (string, error) { return src.Create(marks+"/m-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll)) }); err != nil {
				markErr = err
			}
			var now []int
			for _, t := range targets {
				if stopped[t.ID] {
					continue
				}
				info, err := Srvr(ctx, ClientAddr(t))
				switch {
				case err == nil:
					lastZxid[t.ID] = info.Zxid
				case Answers(ctx, ClientAddr(t)) != nil:
					stopped[t.ID] = true
					now = append(now, t.ID)
					opts.logf("target %d stopped (last zxid seen 0x%x)", t.ID, lastZxid[t.ID])
				}
			}
			// Stopped in the same look: the higher zxid counts as later.
			slices.SortStableFunc(now, func(a, b int) int { return cmp.Compare(lastZxid[a], lastZxid[b]) })
			order = append(order, now...)
			if len(stopped) < len(targets) {
				return false, nil
			}
			marking = false
			// The target stopped last holds the newest transactions.
			first := order[len(order)-1]
			opts.logf("every target has stopped: start target %d first, it stopped last with the newest transactions (zxid 0x%x), then the others once it runs: a leader elected without it would truncate them", first, lastZxid[first])
		}
		for _, t := range targets {
			own, err := Conf(ctx, ClientAddr(t))
			if err != nil || !foreign(srcCfg, own) {
				return false, nil
			}
			if info, err := Srvr(ctx, ClientAddr(t)); err != nil || !modeFitsRole(info.Mode, plans.RoleParticipant) {
				return false, nil
			}
		}
		return true, nil
	})
	switch {
	case errors.Is(err, poll.ErrTimeout) && marking:
		return fmt.Errorf("%w: targets %v did not stop within %s (stopped: %v): stop all of them together, then apply again", ErrManualStep, ids(targets), opts.ForkWatch, order)
	case errors.Is(err, poll.ErrTimeout):
		return fmt.Errorf("%w: the targets stopped but did not come back as an ensemble of their own within %s: start all of them with their fork configs, then apply again", ErrManualStep, opts.ForkWatch)
	case err != nil:
		return err
	}
	if markErr != nil {
		opts.logf("some marks could not be written in the source ensemble (%v): the check may be less tight", markErr)
	}
	// The new ensemble's first leader should be the target stopped last,
	// started first: its history then holds every transaction any target
	// had on disk. Recorded on the new ensemble (forkRecord) for whoever
	// reads it; the verification compares the data either way.
	rec := forkRecord{LastStopped: order[len(order)-1]}
	for _, t := range targets {
		if info, err := Srvr(ctx, ClientAddr(t)); err == nil && info.Mode == "leader" {
			rec.FirstLeader = t.ID
		}
	}
	if rec.FirstLeader != rec.LastStopped {
		opts.logf("the new ensemble's first leader is target %d, not target %d, which stopped last: its newest transactions may be lost; the verification says", rec.FirstLeader, rec.LastStopped)
	}
	dst, closeDst, err := opts.Dial(ctx, ch.Connect)
	if err != nil {
		return fmt.Errorf("reaching the forked ensemble at %s: %w", ch.Connect, err)
	}
	defer closeDst()
	data, _ := json.Marshal(rec)
	if _, err := call(ctx, func() (*zk.Stat, error) { return dst.Set(marks, data, -1) }); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("recording the fork on the forked ensemble (%s): %w", marks, err)
	}
	opts.logf("the targets run as an ensemble of their own: verifying it")
	return nil
}

// forkRecord is what a watched fork found, kept in the forked ensemble's
// marks znode as a record for operators.
type forkRecord struct {
	LastStopped int `json:"last_stopped"`
	FirstLeader int `json:"first_leader"`
}

func ids(ss []plans.ZKServer) []int {
	var out []int
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

// recoverFork is how to redo a fork that is not whole.
const recoverFork = "Do not prune and do not go on. To recover: stop every target, restart them with the observer configs " +
	"(kshift zk config --kind observer) and the data directory the mapping names, emptied, apply the zk-join step again " +
	"(the targets copy the source ensemble's state, which holds every write acknowledged before the fork), then do the fork again " +
	"by the runbook, with kshift watching: stop the targets one at a time and start first the one kshift names. " +
	"Writes made on the new ensemble since the fork are not on the source ensemble."

// waitTargetsSynced waits (up to opts' sync timeout) until every target
// observer of the source ensemble has the leader's last transaction.
func waitTargetsSynced(ctx context.Context, conn ZKConn, ch *plans.ZooKeeperChange, opts Options) error {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return err
	}
	var lagging []string
	for _, m := range cfg.Members {
		if slices.Contains(ch.Sources, m.ID) {
			continue
		}
		if err := waitCaughtUp(ctx, conn, m.ID, plans.RoleObserver, opts.syncTimeout()); err != nil {
			lagging = append(lagging, err.Error())
		}
	}
	if len(lagging) > 0 {
		return fmt.Errorf("not every target is in sync: %s", strings.Join(lagging, "; "))
	}
	return nil
}

// verifyForkedData compares the migrated chroot on the forked ensemble
// with the source ensemble's frozen copy. It returns the zxid up to which
// the forked ensemble is shown to hold the source ensemble's history.
func verifyForkedData(ctx context.Context, conn ZKConn, cfg *Config, ch *plans.ZooKeeperChange, opts Options) (int64, error) {
	notDone := func(format string, args ...any) error {
		return fmt.Errorf("%w: the fork is not done: %s. %s", ErrManualStep, fmt.Sprintf(format, args...), recoverFork)
	}
	if ok, err := IsKafkaChroot(ctx, conn, ch.Chroot); err != nil {
		return 0, err
	} else if !ok {
		return 0, notDone("the forked ensemble at %s (%s) does not hold the migrated chroot %s: the targets started with data directories that do not hold what they had as observers (an empty or different dataDir)", ch.Connect, describe(cfg), ch.Chroot)
	}
	if ch.SourceConnect == "" || opts.Dial == nil {
		return 0, fmt.Errorf("%w: the fork cannot be verified: the step does not record the source ensemble (zookeeper.source_connect; plans made before kshift recorded it), so the new ensemble cannot be compared with its frozen copy: make the plan again", ErrRefused)
	}
	src, closeSrc, err := opts.Dial(ctx, ch.SourceConnect)
	if err != nil {
		return 0, fmt.Errorf("reaching the source ensemble at %s to compare the fork with its frozen copy: %w", ch.SourceConnect, err)
	}
	defer closeSrc()
	srcCfg, err := ReadConfig(ctx, src)
	if err != nil {
		return 0, err
	}
	if !slices.ContainsFunc(ch.Sources, func(id int) bool { return srcCfg.Member(id) != nil }) {
		return 0, fmt.Errorf("%w: the source ensemble at %s (%s) has none of the source servers %v", ErrRefused, ch.SourceConnect, describe(srcCfg), ch.Sources)
	}
	oldKC, err := ReadKafkaCluster(ctx, src, ch.Chroot)
	if err != nil {
		return 0, fmt.Errorf("the source ensemble's copy of %s: %w", ch.Chroot, err)
	}
	newKC, err := ReadKafkaCluster(ctx, conn, ch.Chroot)
	if err != nil {
		return 0, err
	}
	if oldKC.ClusterID != newKC.ClusterID {
		return 0, notDone("the forked ensemble's %s holds cluster id %q, the source ensemble's %q", ch.Chroot, newKC.ClusterID, oldKC.ClusterID)
	}
	for _, sub := range []string{"brokers/topics", "config/topics", "config/brokers"} {
		oldKids, _, err := children(ctx, src, znode(ch.Chroot, sub))
		if err != nil {
			return 0, err
		}
		newKids, _, err := children(ctx, conn, znode(ch.Chroot, sub))
		if err != nil {
			return 0, err
		}
		var missing []string
		for _, k := range oldKids {
			if !slices.Contains(newKids, k) {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return 0, notDone("%s on the forked ensemble lacks %v, which the source ensemble's copy has", znode(ch.Chroot, sub), missing)
		}
	}
	lost, pre, boundary, held, err := compareFrozenCopy(ctx, src, conn, cfg, ch.Chroot)
	if err != nil {
		return 0, err
	}
	if len(lost) > 0 {
		shown := lost
		if len(shown) > 5 {
			shown = shown[:5]
		}
		return 0, notDone("the forked ensemble lacks %d writes the source ensemble committed to %s before the fork (%s; it took over the source ensemble's history up to zxid 0x%x, its own starts at 0x%x): a target stopped after the others, or started after the others had elected a leader, and its newer transactions were truncated", len(lost), ch.Chroot, strings.Join(shown, "; "), pre, boundary)
	}
	if len(newKC.Brokers) == 0 {
		return 0, fmt.Errorf("%w: no broker of the migrated cluster is registered on the forked ensemble yet (%s): brokers reconnect within their session timeout; check that their zookeeper.connect names the targets, then apply again", ErrManualStep, znode(ch.Chroot, "brokers/ids"))
	}
	opts.logf("the forked ensemble (%s) holds %s as the source ensemble's frozen copy has it: cluster id %s, brokers %v registered", describe(cfg), ch.Chroot, newKC.ClusterID, newKC.Brokers)
	return held, nil
}

// removeTargetsFromSource removes the targets from the source ensemble's
// config, where they stay listed as observers after the fork.
func removeTargetsFromSource(ctx context.Context, ch *plans.ZooKeeperChange, opts Options) error {
	src, closeSrc, err := opts.Dial(ctx, ch.SourceConnect)
	if err != nil {
		return fmt.Errorf("reaching the source ensemble at %s to remove the targets from it: %w", ch.SourceConnect, err)
	}
	defer closeSrc()
	cfg, err := ReadConfig(ctx, src)
	if err != nil {
		return err
	}
	for _, t := range forkTargetServers(ch, cfg) {
		if err := Retire(ctx, src, t.ID, opts); err != nil {
			return fmt.Errorf("removing target %d from the source ensemble at %s (the fork itself is verified; apply again to finish): %w", t.ID, ch.SourceConnect, err)
		}
	}
	return nil
}

// forkTargetServers are the members of the source ensemble cfg that are
// the plan's targets (same id and addresses, or the same client address
// when the plan records no targets).
func forkTargetServers(ch *plans.ZooKeeperChange, cfg *Config) []plans.ZKServer {
	var out []plans.ZKServer
	addrs := strings.Split(strings.SplitN(ch.Connect, "/", 2)[0], ",")
	for _, m := range cfg.Members {
		if slices.Contains(ch.Sources, m.ID) {
			continue
		}
		if (len(ch.Targets) > 0 && containsServer(ch.Targets, m)) || (len(ch.Targets) == 0 && slices.Contains(addrs, ClientAddr(m))) {
			out = append(out, m)
		}
	}
	return out
}

// compareFrozenCopy lists the writes the source ensemble's copy of chroot
// (src, frozen since the fork: the migrated brokers use the targets only)
// holds and the forked ensemble (dst) never had. The forked ensemble took
// over the source ensemble's transaction history up to some zxid, pre, and
// went on in epochs of its own, which start at its config version (set
// from the first zxid of its first leader's epoch when the fork configs
// name no version). A persistent znode of the frozen copy is lost when dst
// lacks it and it was created after pre, or when dst has another version
// and the copy's last write is after pre; a persistent znode dst took over
// (created before its own epochs) that the copy no longer has is a lost
// delete. Ephemeral znodes are sessions, not writes: they are skipped.
// pre is never below what an earlier verification recorded
// (recordVerifiedFork). held, when nothing is lost, is the zxid up to
// which dst is now shown to hold the source ensemble's history.
func compareFrozenCopy(ctx context.Context, src, dst ZKConn, dstCfg *Config, chroot string) (lost []string, pre, boundary, held int64, err error) {
	old, err := readStats(ctx, src, znode(chroot, ""))
	if err != nil {
		return nil, 0, 0, 0, err
	}
	cur, err := readStats(ctx, dst, znode(chroot, ""))
	if err != nil {
		return nil, 0, 0, 0, err
	}
	recorded, err := verifiedThrough(ctx, dst, chroot)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	boundary = dstCfg.Version &^ 0xffffffff
	type diff struct {
		path string
		at   int64
		why  string
	}
	var diffs []diff
	markDir := znode(chroot, forkMarks)
	isMark := func(p string) bool { return p == markDir || strings.HasPrefix(p, markDir+"/") }
	copyLast := recorded // the copy's last write, which dst holds when nothing is lost
	for p, o := range old {
		if o.EphemeralOwner != 0 || isMark(p) {
			continue
		}
		copyLast = max(copyLast, o.Czxid, o.Mzxid)
		n, ok := cur[p]
		switch {
		case !ok:
			diffs = append(diffs, diff{p, o.Czxid, fmt.Sprintf("%s created at zxid 0x%x is missing", p, o.Czxid)})
		case n.Czxid != o.Czxid:
			diffs = append(diffs, diff{p, o.Czxid, fmt.Sprintf("%s was created again (zxid 0x%x, the copy's 0x%x)", p, n.Czxid, o.Czxid)})
		case n.Mzxid != o.Mzxid:
			diffs = append(diffs, diff{p, o.Mzxid, fmt.Sprintf("%s data version %d (zxid 0x%x) where the copy has version %d (zxid 0x%x)", p, n.Version, n.Mzxid, o.Version, o.Mzxid)})
		}
	}
	for p, n := range cur {
		if _, ok := old[p]; !ok && n.EphemeralOwner == 0 && n.Czxid < boundary && !isMark(p) {
			diffs = append(diffs, diff{p, boundary, fmt.Sprintf("%s (zxid 0x%x) was deleted on the source ensemble after the fork point", p, n.Czxid)})
		}
	}
	if len(diffs) == 0 {
		return nil, recorded, boundary, copyLast, nil
	}
	if pre, err = lastTakenOver(ctx, dst, boundary); err != nil {
		return nil, 0, 0, 0, err
	}
	pre = max(pre, recorded)
	// The marks (never rewritten on the forked ensemble) keep pre within
	// one mark interval of the end of the history it took over. Even
	// when the target stopped last leads the new ensemble, a write can be
	// missing: an observer applies and acknowledges a transaction before
	// its own log on disk has it, so one acknowledged as it stopped is not
	// there when it starts again (seen on ZooKeeper 3.8). The comparison
	// decides; a write in flight as the targets stopped cannot be told
	// from a lost one, and counts as lost.
	for _, d := range diffs {
		if d.at > pre {
			lost = append(lost, d.why)
		}
	}
	slices.Sort(lost)
	if len(lost) > 0 {
		return lost, pre, boundary, 0, nil
	}
	return nil, pre, boundary, max(pre, copyLast), nil
}

// lastTakenOver is the highest zxid of the source ensemble's history the
// forked ensemble shows: the largest czxid, mzxid or pzxid below its own
// first epoch (boundary), over its whole tree.
func lastTakenOver(ctx context.Context, conn ZKConn, boundary int64) (int64, error) {
	all, err := readStats(ctx, conn, "/")
	if err != nil {
		return 0, err
	}
	var pre int64
	for _, st := range all {
		for _, z := range []int64{st.Czxid, st.Mzxid, st.Pzxid} {
			if z < boundary && z > pre {
				pre = z
			}
		}
	}
	return pre, nil
}

// readStats returns the stat of every znode under root (root included,
// /zookeeper excluded), by path.
func readStats(ctx context.Context, conn ZKConn, root string) (map[string]zk.Stat, error) {
	out := map[string]zk.Stat{}
	var walk func(p string) error
	walk = func(p string) error {
		st, err := call(ctx, func() (*zk.Stat, error) {
			_, st, err := conn.Get(p)
			return st, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			return nil // deleted meanwhile (an ephemeral expiring)
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		out[p] = *st
		kids, _, err := children(ctx, conn, p)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if p == "/" && k == "zookeeper" {
				continue
			}
			if err := walk(path.Join(p, k)); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(root)
}

// checkForkedEnsemble refuses an ensemble that is not the plan's forked
// one: a source server is a member, its members are not exactly the
// targets (ch.Targets, or the servers of ch.Connect), or the migrated
// cluster is not live on it (no broker registered under ch.Chroot, or,
// where the members answer cons, none whose session is connected to one of
// them: on the source ensemble the migrated brokers' registrations linger
// until their sessions expire, with no connection behind them).
func checkForkedEnsemble(ctx context.Context, conn ZKConn, cfg *Config, ch *plans.ZooKeeperChange) error {
	for _, id := range ch.Sources {
		if cfg.Member(id) != nil {
			return refusef("source server %d is still a member of this ensemble (%s): prune runs only on the forked ensemble, or it would delete the other clusters' live data", id, describe(cfg))
		}
	}
	if err := forkTargetsMatch(ch, cfg); err != nil {
		return refusef("the ensemble at %s (%s) is not the forked ensemble: %v; prune runs only there", ch.Connect, describe(cfg), err)
	}
	owners, err := brokerSessions(ctx, conn, ch.Chroot)
	if err != nil {
		return err
	}
	if len(owners) == 0 {
		return refusef("no broker of the migrated cluster is registered under %s on this ensemble (%s): the migrated cluster does not run on it, so it is not the forked ensemble its brokers use; prune runs only there", ch.Chroot, describe(cfg))
	}
	live, ok := connectedSessions(ctx, cfg)
	if !ok {
		return nil
	}
	for _, o := range owners {
		if live[o] {
			return nil
		}
	}
	return refusef("the migrated cluster's broker registrations under %s on this ensemble (%s) belong to sessions connected to none of its members: its brokers use another ensemble; prune runs only on the one they use", ch.Chroot, describe(cfg))
}

// brokerSessions returns the sessions owning the broker registrations
// under chroot.
func brokerSessions(ctx context.Context, conn ZKConn, chroot string) ([]int64, error) {
	ids, _, err := children(ctx, conn, znode(chroot, "brokers/ids"))
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, id := range ids {
		st, err := call(ctx, func() (*zk.Stat, error) {
			_, st, err := conn.Get(znode(chroot, "brokers/ids/"+id))
			return st, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading broker %s's registration: %w", id, err)
		}
		out = append(out, st.EphemeralOwner)
	}
	return out, nil
}

// connectedSessions asks every member with cons for the sessions connected
// to it; ok is false when a member does not answer cons (not allowed by its
// 4lw.commands.whitelist, or down): then the sessions are not known.
func connectedSessions(ctx context.Context, cfg *Config) (map[int64]bool, bool) {
	live := map[int64]bool{}
	for _, m := range cfg.Members {
		out, err := fourLetterWord(ctx, ClientAddr(m), "cons")
		if err != nil {
			return nil, false
		}
		for _, f := range strings.Split(out, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "sid=0x"); ok {
				if id, err := strconv.ParseUint(v, 16, 64); err == nil {
					live[int64(id)] = true
				}
			}
		}
	}
	return live, true
}

// PruneReport is what a prune deletes, or would delete in a dry run.
type PruneReport struct {
	DryRun bool      `json:"dry_run" yaml:"dry_run"`
	Paths  []Subtree `json:"paths" yaml:"paths"`
}

// Prune deletes the chroots ch.Prune from a forked ensemble, each subtree
// children first. It checks the ensemble itself, not only what ch says
// (checkForkedEnsemble), and refuses, changing nothing, when a chroot to
// prune holds live broker registrations, or when it would touch the
// migrated chroot, the root or /zookeeper. With dryRun it only counts what
// it would delete.
func Prune(ctx context.Context, conn ZKConn, ch *plans.ZooKeeperChange, dryRun bool, opts Options) (*PruneReport, error) {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return nil, err
	}
	if err := checkForkedEnsemble(ctx, conn, cfg, ch); err != nil {
		return nil, err
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
