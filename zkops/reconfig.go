package zkops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
)

// Options tune the reconfig operations.
type Options struct {
	// Out receives one progress line per action; nil discards them.
	Out io.Writer
	// SyncTimeout is how long a server may take to catch up with the leader
	// before an operation that needs it in sync refuses (default 30 s).
	SyncTimeout time.Duration
	// ForkWatch is how long zk-fork, once every target observer is in
	// sync, waits for the targets to be stopped and started as an ensemble
	// of their own, marking time in the source ensemble meanwhile
	// (watchForkRestart); 0 returns the runbook instead.
	ForkWatch time.Duration
	// Dial reaches a second ensemble: zk-fork compares the forked ensemble
	// with the source ensemble's frozen copy and removes the targets from
	// it. Without it a fork cannot be verified.
	Dial Dialer
}

func (o Options) logf(format string, args ...any) {
	if o.Out != nil {
		fmt.Fprintf(o.Out, format+"\n", args...)
	}
}

func (o Options) syncTimeout() time.Duration {
	if o.SyncTimeout > 0 {
		return o.SyncTimeout
	}
	return 30 * time.Second
}

// ErrRefused marks an operation a guard refused before changing anything.
var ErrRefused = errors.New("refused")

// Errors a reconfig can end with besides ErrReconfigUnavailable.
var (
	// ErrConfigChanged: the conditional reconfig named a config version
	// that is no longer current (someone else reconfigured).
	ErrConfigChanged = errors.New("zookeeper config changed since it was read")
	// ErrNewConfigNoQuorum: the leader could not get the proposed voters to
	// acknowledge the new config (ZooKeeper error -13).
	ErrNewConfigNoQuorum = errors.New("new config has no quorum (NewConfigNoQuorum)")
	// ErrReconfigInProgress: another reconfig is still being committed (-14).
	ErrReconfigInProgress = errors.New("another reconfig is in progress")
)

func refusef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// reconfig sends one conditional incremental reconfig and classifies its error.
func reconfig(ctx context.Context, conn ZKConn, cfg *Config, joining, leaving []string) error {
	_, err := call(ctx, func() (*zk.Stat, error) { return conn.IncrementalReconfig(joining, leaving, cfg.Version) })
	what := fmt.Sprintf("reconfig (join %v, leave %v, config version %x)", joining, leaving, cfg.Version)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrReconfigDisabled), errors.Is(err, zk.ErrNoAuth):
		return fmt.Errorf("%s: %w: %w: %s", what, ErrReconfigUnavailable, err, explainReconfig(err))
	case errors.Is(err, zk.ErrBadVersion):
		return fmt.Errorf("%s: %w: another operator or tool reconfigured the ensemble; run `kshift zk status` and apply the step again", what, ErrConfigChanged)
	case strings.Contains(err.Error(), "-13"):
		return fmt.Errorf("%s: %w", what, ErrNewConfigNoQuorum)
	case strings.Contains(err.Error(), "-14"):
		return fmt.Errorf("%s: %w: wait for it and apply the step again", what, ErrReconfigInProgress)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// verify re-reads /zookeeper/config until check accepts it (a reconfig
// that lost its connection may or may not have been applied, and removing
// the leader drops every connection for a moment), then makes a committed
// write.
func verify(ctx context.Context, conn ZKConn, what string, check func(*Config) bool) (*Config, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var cfg *Config
	var last error
	err := poll.Until(ctx, poll.Options{Interval: 200 * time.Millisecond}, func(ctx context.Context) (bool, error) {
		cfg, last = ReadConfig(ctx, conn)
		if last == nil && check(cfg) {
			return true, nil
		}
		if last == nil {
			last = fmt.Errorf("/zookeeper/config (version %x) does not show it: %s", cfg.Version, strings.TrimSpace(cfg.DynamicConfig()))
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", what, last)
	}
	if err := committedWrite(ctx, conn); err != nil {
		return nil, fmt.Errorf("verifying %s: the config shows it but %w", what, err)
	}
	return cfg, nil
}

// WriteCheck creates and deletes an ephemeral znode: proof that the
// ensemble commits writes under its current config.
func WriteCheck(ctx context.Context, conn ZKConn) error { return committedWrite(ctx, conn) }

func committedWrite(ctx context.Context, conn ZKConn) error {
	// A lost connection leaves the write unknown: write again.
	err := poll.Until(ctx, poll.Options{Interval: 200 * time.Millisecond}, func(ctx context.Context) (bool, error) {
		path, err := call(ctx, func() (string, error) {
			return conn.Create("/kshift-write-check-", nil, zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
		})
		if err == nil {
			_, err = call(ctx, func() (struct{}, error) { return struct{}{}, conn.Delete(path, -1) })
			if err == nil || errors.Is(err, zk.ErrNoNode) {
				return true, nil
			}
		}
		if !isConnectionLoss(err) || ctx.Err() != nil {
			return false, err
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("a test write failed: %w", err)
	}
	return nil
}

// readStatus is ReadStatus without the reconfig probe.
func readStatus(ctx context.Context, conn ZKConn) (*EnsembleStatus, error) {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return nil, err
	}
	return statusOf(ctx, cfg), nil
}

// waitCaughtUp waits until server id answers in a mode that fits role and
// has every transaction the leader had when the wait began.
func waitCaughtUp(ctx context.Context, conn ZKConn, id int, role string, timeout time.Duration) error {
	st, err := readStatus(ctx, conn)
	if err != nil {
		return err
	}
	m := st.Member(id)
	if m == nil {
		return fmt.Errorf("server %d is not a member", id)
	}
	if st.Leader == 0 {
		return fmt.Errorf("no member reports itself leader")
	}
	target := st.Member(st.Leader).zxid
	var last string
	err = poll.Until(ctx, poll.Options{Timeout: timeout, Interval: 100 * time.Millisecond}, func(ctx context.Context) (bool, error) {
		info, err := Srvr(ctx, ClientAddr(m.ZKServer))
		switch {
		case err != nil:
			last = err.Error()
		case !modeFitsRole(info.Mode, role):
			last = fmt.Sprintf("it reports mode %s", info.Mode)
		case behind(target, info.Zxid) > 0:
			last = fmt.Sprintf("it is at zxid 0x%x, the leader was at 0x%x (%d behind)", info.Zxid, target, behind(target, info.Zxid))
		default:
			return true, nil
		}
		return false, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("server %d is not in sync after %s: %s", id, timeout, last)
	}
	return err
}

// settleTime is how long a refused majority check is retried: a voter one
// commit behind the leader at the moment it is asked is healthy, a stopped,
// paused or cut-off one stays refused.
const settleTime = 2 * time.Second

// settle re-reads the status while check refuses, for up to settleTime,
// and returns the status check last saw.
func settle(ctx context.Context, conn ZKConn, st *EnsembleStatus, check func(*EnsembleStatus) error) (*EnsembleStatus, error) {
	var refusal error
	first := true
	err := poll.Until(ctx, poll.Options{Timeout: settleTime, Interval: 100 * time.Millisecond}, func(ctx context.Context) (bool, error) {
		if !first {
			var err error
			if st, err = readStatus(ctx, conn); err != nil {
				return false, err
			}
		}
		first = false
		refusal = check(st)
		return refusal == nil || !errors.Is(refusal, ErrRefused), nil
	})
	if err != nil && !errors.Is(err, poll.ErrTimeout) {
		return nil, err
	}
	return st, refusal
}

func without(ids []int, id int) []int {
	return slices.DeleteFunc(ids, func(v int) bool { return v == id })
}

// checkMajority refuses when the voters after a change would not have a
// healthy, in-sync majority (promoting counts when it is a synced observer).
func checkMajority(st *EnsembleStatus, votersAfter []int, promoting int, change string) error {
	if len(votersAfter) == 0 {
		return refusef("%s would leave no voter", change)
	}
	healthy := healthyVoters(st, votersAfter, promoting)
	if len(healthy)*2 <= len(votersAfter) {
		var unhealthy []string
		for _, id := range votersAfter {
			if slices.Contains(healthy, id) {
				continue
			}
			m := st.Member(id)
			why := "not a member"
			if m != nil {
				why = m.Error
				if why == "" {
					why = fmt.Sprintf("mode %q, %d behind", m.Mode, m.Lag)
				}
			}
			unhealthy = append(unhealthy, fmt.Sprintf("%d (%s)", id, why))
		}
		return refusef("%s would leave voters %v with %d healthy and in sync (%v), a majority needs %d; unhealthy: %s; bring those servers back in sync first",
			change, votersAfter, len(healthy), healthy, len(votersAfter)/2+1, strings.Join(unhealthy, ", "))
	}
	return nil
}

// Join adds each server as an observer, one conditional reconfig per
// server, and waits until it is in sync. Servers already members with the
// same address are skipped. Each server must already be running (started
// with the config `kshift zk config` prints).
func Join(ctx context.Context, conn ZKConn, servers []plans.ZKServer, opts Options) error {
	for _, s := range servers {
		s.Role = plans.RoleObserver
		if err := join(ctx, conn, s, opts); err != nil {
			return err
		}
	}
	return nil
}

func join(ctx context.Context, conn ZKConn, s plans.ZKServer, opts Options) error {
	st, err := readStatus(ctx, conn)
	if err != nil {
		return err
	}
	cfg := st.config
	if m := cfg.Member(s.ID); m != nil {
		if m.Host == s.Host && m.QuorumPort == s.QuorumPort && m.ElectionPort == s.ElectionPort && m.ClientPort == s.ClientPort {
			opts.logf("server %d is already a member (%s): nothing to do", s.ID, m.Role)
			return nil
		}
		return refusef("server id %d is already used by %s in the ensemble, not %s: pick another id", s.ID, ServerSpec(*m), ServerSpec(s))
	}
	for _, m := range cfg.Members {
		if m.Host == s.Host && (m.ClientPort == s.ClientPort || m.QuorumPort == s.QuorumPort || m.ElectionPort == s.ElectionPort) {
			return refusef("server %d would share an address with member %d (%s)", s.ID, m.ID, ServerSpec(m))
		}
	}
	if err := Answers(ctx, ClientAddr(s)); err != nil {
		return refusef("server %d does not answer at %s (%v): start it first with the config `kshift zk config` prints, then apply again", s.ID, ClientAddr(s), err)
	}
	st, err = settle(ctx, conn, st, func(st *EnsembleStatus) error {
		return checkMajority(st, st.config.Voters(), 0, fmt.Sprintf("adding observer %d", s.ID))
	})
	if err != nil {
		return err
	}
	cfg = st.config
	start := time.Now()
	if err := reconfig(ctx, conn, cfg, []string{ServerSpec(s)}, nil); err != nil && !isConnectionLoss(err) {
		return err
	}
	if _, err := verify(ctx, conn, fmt.Sprintf("observer %d joined", s.ID), func(c *Config) bool {
		m := c.Member(s.ID)
		return m != nil && m.Role == plans.RoleObserver
	}); err != nil {
		return err
	}
	if err := waitCaughtUp(ctx, conn, s.ID, plans.RoleObserver, opts.syncTimeout()); err != nil {
		return fmt.Errorf("observer %d joined but %w", s.ID, err)
	}
	opts.logf("server %d joined as an observer and is in sync (%s)", s.ID, time.Since(start).Round(time.Millisecond))
	return nil
}

// Promote makes observer id a participant: one reconfig with only that
// joining participant, after checking it is in sync and that the voters
// after the change keep a healthy majority. When the direct change fails
// with NewConfigNoQuorum it removes the observer and re-adds it as a
// participant.
func Promote(ctx context.Context, conn ZKConn, id int, opts Options) error {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return err
	}
	m := cfg.Member(id)
	switch {
	case m == nil:
		return refusef("server %d is not a member of the ensemble: it must join as an observer first (zk-join)", id)
	case m.Role == plans.RoleParticipant:
		opts.logf("server %d is already a participant: nothing to do", id)
		return nil
	}
	if err := waitCaughtUp(ctx, conn, id, plans.RoleObserver, opts.syncTimeout()); err != nil {
		return refusef("promoting observer %d: %v", id, err)
	}
	st, err := readStatus(ctx, conn)
	if err != nil {
		return err
	}
	st, err = settle(ctx, conn, st, func(st *EnsembleStatus) error {
		return checkMajority(st, append(st.config.Voters(), id), id, fmt.Sprintf("promoting observer %d", id))
	})
	if err != nil {
		return err
	}
	start := time.Now()
	p := *m
	p.Role = plans.RoleParticipant
	err = reconfig(ctx, conn, st.config, []string{ServerSpec(p)}, nil)
	if errors.Is(err, ErrNewConfigNoQuorum) {
		opts.logf("promoting server %d directly failed with NewConfigNoQuorum: removing it and re-adding it as a participant", id)
		err = removeAndAdd(ctx, conn, p, opts)
	}
	if err != nil && !isConnectionLoss(err) {
		return err
	}
	if _, err := verify(ctx, conn, fmt.Sprintf("server %d promoted", id), func(c *Config) bool {
		m := c.Member(id)
		return m != nil && m.Role == plans.RoleParticipant
	}); err != nil {
		return err
	}
	if err := waitCaughtUp(ctx, conn, id, plans.RoleParticipant, opts.syncTimeout()); err != nil {
		return fmt.Errorf("server %d promoted but %w", id, err)
	}
	opts.logf("server %d is a participant and in sync (%s)", id, time.Since(start).Round(time.Millisecond))
	return nil
}

// reAddTime is how long removeAndAdd retries adding a server back: a server
// just removed restarts its connection to the leader, and until it is back
// in touch (about 1 s on loopback, seen on ZooKeeper 3.8) a reconfig that
// makes it a participant fails with NewConfigNoQuorum again.
const reAddTime = 30 * time.Second

// removeAndAdd removes s and adds it back with s.Role, two reconfigs, the
// second retried while it fails with NewConfigNoQuorum (see reAddTime).
func removeAndAdd(ctx context.Context, conn ZKConn, s plans.ZKServer, opts Options) error {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return err
	}
	// A session on the removed server loses its connection with the
	// answer: verify reads whether the removal happened.
	if err := reconfig(ctx, conn, cfg, nil, []string{strconv.Itoa(s.ID)}); err != nil && !isConnectionLoss(err) {
		return err
	}
	if cfg, err = verify(ctx, conn, fmt.Sprintf("server %d removed", s.ID), func(c *Config) bool { return c.Member(s.ID) == nil }); err != nil {
		return err
	}
	var last error
	err = poll.Until(ctx, poll.Options{Timeout: reAddTime, Interval: 500 * time.Millisecond}, func(ctx context.Context) (bool, error) {
		if last != nil {
			opts.logf("server %d is not back in touch with the leader since its removal: adding it again shortly", s.ID)
		}
		last = reconfig(ctx, conn, cfg, []string{ServerSpec(s)}, nil)
		if last != nil && !errors.Is(last, ErrNewConfigNoQuorum) {
			return false, last
		}
		return last == nil, nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, poll.ErrTimeout), last != nil && errors.Is(err, last):
		return fmt.Errorf("server %d was removed but not re-added (is it running? re-add it with reconfig -add %q): %w", s.ID, ServerSpec(s), last)
	}
	return fmt.Errorf("server %d was removed but not re-added (re-add it with reconfig -add %q): %w", s.ID, ServerSpec(s), err)
}

// Retire removes member id, one reconfig, after checking that the voters
// left keep a healthy, in-sync majority. A server that is not a member is
// skipped.
func Retire(ctx context.Context, conn ZKConn, id int, opts Options) error {
	st, err := readStatus(ctx, conn)
	if err != nil {
		return err
	}
	m := st.config.Member(id)
	if m == nil {
		opts.logf("server %d is not a member: nothing to do", id)
		return nil
	}
	if m.Role == plans.RoleParticipant {
		st, err = settle(ctx, conn, st, func(st *EnsembleStatus) error {
			return checkMajority(st, without(st.config.Voters(), id), 0, fmt.Sprintf("removing voter %d", id))
		})
		if err != nil {
			return err
		}
	}
	start := time.Now()
	if err := reconfig(ctx, conn, st.config, nil, []string{strconv.Itoa(id)}); err != nil && !isConnectionLoss(err) {
		return err
	}
	if _, err := verify(ctx, conn, fmt.Sprintf("server %d removed", id), func(c *Config) bool { return c.Member(id) == nil }); err != nil {
		return err
	}
	opts.logf("server %d removed (%s, was %s)", id, time.Since(start).Round(time.Millisecond), m.Role)
	return nil
}

// Demote makes participant id an observer, after checking that the voters
// left keep a healthy majority.
func Demote(ctx context.Context, conn ZKConn, id int, opts Options) error {
	st, err := readStatus(ctx, conn)
	if err != nil {
		return err
	}
	m := st.config.Member(id)
	switch {
	case m == nil:
		return refusef("server %d is not a member: cannot make it an observer", id)
	case m.Role == plans.RoleObserver:
		opts.logf("server %d is already an observer: nothing to do", id)
		return nil
	}
	st, err = settle(ctx, conn, st, func(st *EnsembleStatus) error {
		return checkMajority(st, without(st.config.Voters(), id), 0, fmt.Sprintf("making voter %d an observer", id))
	})
	if err != nil {
		return err
	}
	o := *m
	o.Role = plans.RoleObserver
	err = reconfig(ctx, conn, st.config, []string{ServerSpec(o)}, nil)
	if errors.Is(err, ErrNewConfigNoQuorum) {
		opts.logf("demoting server %d directly failed with NewConfigNoQuorum: removing it and re-adding it as an observer", id)
		err = removeAndAdd(ctx, conn, o, opts)
	}
	if err != nil && !isConnectionLoss(err) {
		return err
	}
	if _, err := verify(ctx, conn, fmt.Sprintf("server %d made an observer", id), func(c *Config) bool {
		m := c.Member(id)
		return m != nil && m.Role == plans.RoleObserver
	}); err != nil {
		return err
	}
	opts.logf("server %d is an observer", id)
	return nil
}

// AddParticipant adds a non-member as a participant (one joining
// participant per reconfig), after checking it answers and that the voters
// after the change keep a healthy majority.
func AddParticipant(ctx context.Context, conn ZKConn, s plans.ZKServer, opts Options) error {
	st, err := readStatus(ctx, conn)
	if err != nil {
		return err
	}
	if m := st.config.Member(s.ID); m != nil {
		if m.Role == plans.RoleParticipant {
			opts.logf("server %d is already a participant: nothing to do", s.ID)
			return nil
		}
		return Promote(ctx, conn, s.ID, opts)
	}
	if err := Answers(ctx, ClientAddr(s)); err != nil {
		return refusef("server %d does not answer at %s (%v): start it first", s.ID, ClientAddr(s), err)
	}
	// The new voter is not counted healthy: it has not synced yet.
	st, err = settle(ctx, conn, st, func(st *EnsembleStatus) error {
		return checkMajority(st, append(st.config.Voters(), s.ID), 0, fmt.Sprintf("adding voter %d", s.ID))
	})
	if err != nil {
		return err
	}
	s.Role = plans.RoleParticipant
	if err := reconfig(ctx, conn, st.config, []string{ServerSpec(s)}, nil); err != nil && !isConnectionLoss(err) {
		return err
	}
	if _, err := verify(ctx, conn, fmt.Sprintf("server %d added as a participant", s.ID), func(c *Config) bool {
		m := c.Member(s.ID)
		return m != nil && m.Role == plans.RoleParticipant
	}); err != nil {
		return err
	}
	if err := waitCaughtUp(ctx, conn, s.ID, plans.RoleParticipant, opts.syncTimeout()); err != nil {
		return fmt.Errorf("server %d added but %w", s.ID, err)
	}
	opts.logf("server %d added as a participant and in sync", s.ID)
	return nil
}

// Handover promotes each observer in promote, one at a time, then retires
// each id in retire, one at a time: followers in the given order first, the
// current leader last.
func Handover(ctx context.Context, conn ZKConn, promote, retire []int, opts Options) error {
	for _, id := range promote {
		if err := Promote(ctx, conn, id, opts); err != nil {
			return err
		}
	}
	left := slices.Clone(retire)
	for len(left) > 0 {
		st, err := readStatus(ctx, conn)
		if err != nil {
			return err
		}
		next := 0
		for i, id := range left {
			if id != st.Leader || len(left) == 1 {
				next = i
				break
			}
		}
		id := left[next]
		left = slices.Delete(left, next, next+1)
		if err := Retire(ctx, conn, id, opts); err != nil {
			return err
		}
	}
	if len(retire) > 0 {
		opts.logf("stop servers %v once nothing connects to them: removed servers keep following the leader, without a vote, until stopped", retire)
	}
	return nil
}

// Restore changes the ensemble back to the membership before, one server at
// a time: missing voters are added first (one joining participant per
// reconfig), then voters that were observers are demoted, missing observers
// added, and servers that were not members removed (followers before the
// leader). Every change passes the same guards as the forward operations.
func Restore(ctx context.Context, conn ZKConn, before []plans.ZKServer, opts Options) error {
	cfg, err := ReadConfig(ctx, conn)
	if err != nil {
		return err
	}
	want := &Config{Members: before}
	for _, s := range before {
		if m := cfg.Member(s.ID); s.Role == plans.RoleParticipant && (m == nil || m.Role != plans.RoleParticipant) {
			if err := AddParticipant(ctx, conn, s, opts); err != nil {
				return err
			}
		}
	}
	for _, s := range before {
		if m := cfg.Member(s.ID); s.Role == plans.RoleObserver && m != nil && m.Role == plans.RoleParticipant {
			if err := Demote(ctx, conn, s.ID, opts); err != nil {
				return err
			}
		}
	}
	for _, s := range before {
		if s.Role == plans.RoleObserver && cfg.Member(s.ID) == nil {
			if err := Join(ctx, conn, []plans.ZKServer{s}, opts); err != nil {
				return err
			}
		}
	}
	var extra []int
	for _, m := range cfg.Members {
		if want.Member(m.ID) == nil {
			extra = append(extra, m.ID)
		}
	}
	return Handover(ctx, conn, nil, extra, opts)
}
