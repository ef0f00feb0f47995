package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kshift/kshift/internal/zkdial"

	"github.com/go-zookeeper/zk"
)

// ZooKeeper is the part of a ZooKeeper client the store uses; *zk.Conn
// satisfies it.
type ZooKeeper interface {
	Get(path string) ([]byte, *zk.Stat, error)
	Children(path string) ([]string, *zk.Stat, error)
	Exists(path string) (bool, *zk.Stat, error)
	GetACL(path string) ([]zk.ACL, *zk.Stat, error)
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Multi(ops ...any) ([]zk.MultiResponse, error)
	// SessionID is the client's current session; the client opens a new
	// one, silently, after the old one expired.
	SessionID() int64
}

var _ ZooKeeper = (*zk.Conn)(nil)

// Sizes of the ZooKeeper layout.
const (
	// DefaultAuditNodeBytes is where a run's audit trail moves on to a new
	// znode: well below ZooKeeper's default 1 MB limit on a znode
	// (jute.maxbuffer), which also bounds a whole request.
	DefaultAuditNodeBytes = 512 << 10
	// MaxZNodeBytes is the most kshift writes into one znode.
	MaxZNodeBytes = 900 << 10
	// DefaultCallTimeout bounds one ZooKeeper request.
	DefaultCallTimeout = 15 * time.Second
	// layoutVersion is the version of the layout under <chroot>/kshift.
	layoutVersion = 1
)

// Options tune the ZooKeeper store.
type Options struct {
	// SessionTimeout is the session timeout the connection was opened with:
	// the lease, recorded with the lock for others to read. Required.
	SessionTimeout time.Duration
	// CallTimeout bounds each request (DefaultCallTimeout when zero).
	CallTimeout time.Duration
	// AuditNodeBytes is the size at which a run's audit trail moves on to
	// a new znode (DefaultAuditNodeBytes when zero).
	AuditNodeBytes int
}

type zkStore struct {
	conn   ZooKeeper
	chroot string
	root   string
	opts   Options

	mu    sync.Mutex
	ready bool
	acl   []zk.ACL
}

// NewZooKeeper returns the store kept in conn's ensemble under the
// cluster's chroot ("/" when the cluster has none), in <chroot>/kshift. It
// creates nothing until the first write.
func NewZooKeeper(conn ZooKeeper, chroot string, opts Options) (Store, error) {
	if chroot == "" {
		chroot = "/"
	}
	if !strings.HasPrefix(chroot, "/") || path.Clean(chroot) != chroot {
		return nil, fmt.Errorf("zookeeper chroot %q is not a clean absolute path like /kafka", chroot)
	}
	if opts.SessionTimeout <= 0 {
		return nil, fmt.Errorf("the ZooKeeper session timeout (the lock's lease) is not set")
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.AuditNodeBytes <= 0 {
		opts.AuditNodeBytes = DefaultAuditNodeBytes
	}
	return &zkStore{conn: conn, chroot: chroot, root: path.Join(chroot, "kshift"), opts: opts}, nil
}

func (s *zkStore) lockPath() string            { return s.root + "/lock" }
func (s *zkStore) epochPath() string           { return s.root + "/lock-epoch" }
func (s *zkStore) throttlesPath() string       { return s.root + "/throttles" }
func (s *zkStore) recordPath(id string) string { return s.root + "/throttles/" + id }
func (s *zkStore) ratePath() string            { return s.root + "/rate" }
func (s *zkStore) auditPath() string           { return s.root + "/audit" }

// call runs one blocking client request under ctx and the call timeout
// (zkdial.Call).
func call[T any](ctx context.Context, s *zkStore, f func() (T, error)) (T, error) {
	return zkdial.Call(ctx, s.opts.CallTimeout, f)
}

func (s *zkStore) get(ctx context.Context, p string) ([]byte, *zk.Stat, error) {
	type got struct {
		data []byte
		stat *zk.Stat
	}
	g, err := call(ctx, s, func() (got, error) {
		d, st, err := s.conn.Get(p)
		return got{d, st}, err
	})
	return g.data, g.stat, err
}

func (s *zkStore) children(ctx context.Context, p string) ([]string, error) {
	return call(ctx, s, func() ([]string, error) {
		c, _, err := s.conn.Children(p)
		return c, err
	})
}

func (s *zkStore) exists(ctx context.Context, p string) (*zk.Stat, error) {
	return call(ctx, s, func() (*zk.Stat, error) {
		ok, st, err := s.conn.Exists(p)
		if !ok {
			st = nil
		}
		return st, err
	})
}

func (s *zkStore) multi(ctx context.Context, ops ...any) ([]zk.MultiResponse, error) {
	return call(ctx, s, func() ([]zk.MultiResponse, error) { return s.conn.Multi(ops...) })
}

// rightsError explains a refusal to write: the rights kshift needs and how
// to give credentials.
func (s *zkStore) rightsError(what string, err error) error {
	return fmt.Errorf("%w: %s: %w: kshift needs create and write rights on %s (the rights kafka-configs --zookeeper needs on the cluster's chroot); give digest credentials user:password in an environment variable named by --zookeeper-digest-env", ErrNoRights, what, err, s.chroot)
}

// layoutDoc is the data of <chroot>/kshift.
type layoutDoc struct {
	Version int `json:"version"`
}

// ensure creates <chroot>/kshift and its fixed children, in one multi, on
// the first write, and checks that an existing layout is one this kshift
// reads.
func (s *zkStore) ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	for range 3 {
		data, _, err := s.get(ctx, s.root)
		if err == nil {
			var d layoutDoc
			if jerr := json.Unmarshal(data, &d); jerr != nil {
				return fmt.Errorf("%w: %s holds %q, not kshift's layout document: %w", ErrCorrupt, s.root, clipData(data), jerr)
			}
			if d.Version != layoutVersion {
				return fmt.Errorf("%s has layout version %d; this kshift reads version %d: use a kshift of the version that wrote it", s.root, d.Version, layoutVersion)
			}
			acl, err := call(ctx, s, func() ([]zk.ACL, error) {
				a, _, err := s.conn.GetACL(s.root)
				return a, err
			})
			if errors.Is(err, zk.ErrNoAuth) {
				return s.rightsError("reading the ACL of "+s.root, err)
			}
			if err != nil {
				return fmt.Errorf("reading the ACL of %s: %w", s.root, err)
			}
			s.acl, s.ready = acl, true
			return nil
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return s.readError(s.root, err)
		}
		if err := s.create(ctx); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return fmt.Errorf("%s keeps appearing and disappearing: is another tool deleting it?", s.root)
}

// create lays out <chroot>/kshift with the chroot's ACL, after checking
// that the chroot holds a Kafka cluster: kshift must not scatter its state
// on an ensemble through a connect string that misses the chroot.
func (s *zkStore) create(ctx context.Context) error {
	kafka := false
	for _, p := range []string{"cluster/id", "brokers/ids"} {
		st, err := s.exists(ctx, path.Join(s.chroot, p))
		if err != nil {
			return s.readError(path.Join(s.chroot, p), err)
		}
		kafka = kafka || st != nil
	}
	if !kafka {
		return fmt.Errorf("zookeeper chroot %s holds no Kafka cluster (no cluster/id or brokers/ids znode): give --zookeeper exactly the brokers' zookeeper.connect, chroot included", s.chroot)
	}
	acl, err := call(ctx, s, func() ([]zk.ACL, error) {
		a, _, err := s.conn.GetACL(s.chroot)
		return a, err
	})
	if errors.Is(err, zk.ErrNoAuth) {
		return s.rightsError("reading the ACL of "+s.chroot, err)
	}
	if err != nil {
		return fmt.Errorf("reading the ACL of %s: %w", s.chroot, err)
	}
	if len(acl) == 0 {
		acl = zk.WorldACL(zk.PermAll)
	}
	doc, _ := json.Marshal(layoutDoc{Version: layoutVersion})
	_, err = s.multi(ctx,
		&zk.CreateRequest{Path: s.root, Data: doc, Acl: acl},
		&zk.CreateRequest{Path: s.epochPath(), Acl: acl},
		&zk.CreateRequest{Path: s.throttlesPath(), Acl: acl},
		&zk.CreateRequest{Path: s.auditPath(), Acl: acl},
	)
	if errors.Is(err, zk.ErrNoAuth) {
		return s.rightsError("creating "+s.root, err)
	}
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("creating %s: %w", s.root, err)
	}
	return err
}

func (s *zkStore) readError(p string, err error) error {
	if errors.Is(err, zk.ErrNoAuth) {
		return fmt.Errorf("%w: reading %s: %w: kshift needs read rights on %s; give digest credentials with --zookeeper-digest-env", ErrNoRights, p, err, s.chroot)
	}
	return fmt.Errorf("reading %s: %w", p, err)
}

// writeError explains a failed write of p.
func (s *zkStore) writeError(what string, err error) error {
	if errors.Is(err, zk.ErrNoAuth) {
		return s.rightsError(what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func clipData(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// lockDoc is the data of the lock znode (and of lock-epoch: the last
// acquisition).
type lockDoc struct {
	Version int       `json:"version"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	User    string    `json:"user"`
	Command string    `json:"command"`
	Plan    string    `json:"plan"`
	Step    int       `json:"step"`
	Since   time.Time `json:"since"`
	Session string    `json:"session"`
	LeaseMS int64     `json:"lease_ms"`
	Epoch   int64     `json:"epoch"`
}

func encodeLock(l LockInfo) []byte {
	b, _ := json.Marshal(lockDoc{Version: 1, Host: l.Host, PID: l.PID, User: l.User, Command: l.Command, Plan: l.Plan, Step: l.Step, Since: l.Since,
		Session: fmt.Sprintf("0x%x", l.Session), LeaseMS: l.Lease.Milliseconds(), Epoch: l.Epoch})
	return b
}

// decodeLock reads a lock znode; a lock that cannot be read is still a
// lock, with a Problem.
func decodeLock(data []byte, st *zk.Stat) *LockInfo {
	var d lockDoc
	info := &LockInfo{Session: st.EphemeralOwner}
	if err := json.Unmarshal(data, &d); err != nil {
		info.Problem = fmt.Sprintf("the lock znode holds %q, not a holder record: %v", clipData(data), err)
		return info
	}
	info.Holder = Holder{Host: d.Host, PID: d.PID, User: d.User, Command: d.Command, Plan: d.Plan, Step: d.Step, Since: d.Since}
	info.Lease = time.Duration(d.LeaseMS) * time.Millisecond
	info.Epoch = d.Epoch
	return info
}

func (s *zkStore) readLock(ctx context.Context) (*LockInfo, *zk.Stat, error) {
	data, st, err := s.get(ctx, s.lockPath())
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, s.readError(s.lockPath(), err)
	}
	return decodeLock(data, st), st, nil
}

func (s *zkStore) Lock(ctx context.Context) (*LockInfo, error) {
	info, _, err := s.readLock(ctx)
	return info, err
}

// acquireAttempts bounds how often Acquire retries when the lock changes
// hands while it takes it.
const acquireAttempts = 5

func (s *zkStore) Acquire(ctx context.Context, h Holder, breakLock bool) (Lease, error) {
	if err := s.ensure(ctx); err != nil {
		return nil, err
	}
	sid := s.conn.SessionID()
	if sid == 0 {
		return nil, fmt.Errorf("taking the operator lock: no ZooKeeper session (the ensemble is unreachable); try again when it answers")
	}
	for range acquireAttempts {
		_, est, err := s.get(ctx, s.epochPath())
		if err != nil {
			return nil, s.readError(s.epochPath(), err)
		}
		info := LockInfo{Holder: h, Session: sid, Lease: s.opts.SessionTimeout, Epoch: int64(est.Version) + 1}
		data := encodeLock(info)
		fence := &zk.CheckVersionRequest{Path: s.epochPath(), Version: est.Version}
		take := []any{
			&zk.CreateRequest{Path: s.lockPath(), Data: data, Acl: s.acl, Flags: zk.FlagEphemeral},
			&zk.SetDataRequest{Path: s.epochPath(), Data: data, Version: est.Version},
		}
		_, err = s.multi(ctx, append([]any{fence}, take...)...)
		switch {
		case err == nil:
			return s.taken(ctx, info, est.Version+1, nil)
		case errors.Is(err, zk.ErrBadVersion):
			continue // taken or released meanwhile: look again
		case !errors.Is(err, zk.ErrNodeExists):
			return nil, s.writeError("taking the operator lock", err)
		}
		cur, lst, err := s.readLock(ctx)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			continue // released meanwhile
		}
		if !breakLock {
			return nil, &LockedError{Holder: *cur}
		}
		ops := append([]any{fence, &zk.DeleteRequest{Path: s.lockPath(), Version: lst.Version}}, take...)
		_, err = s.multi(ctx, ops...)
		switch {
		case err == nil:
			return s.taken(ctx, info, est.Version+1, cur)
		case errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNoNode):
			continue
		default:
			return nil, s.writeError("breaking the operator lock", err)
		}
	}
	return nil, fmt.Errorf("taking the operator lock: it changed hands %d times while kshift tried to take it; another kshift is competing for it: check with kshift status", acquireAttempts)
}

// taken returns the lease of a lock just taken. A request queued while the
// client was disconnected runs in whatever session the client has when it
// is sent: if that is not the session the holder record names, the lock is
// given back and Acquire fails rather than hand out a lease that cannot
// tell its own lock.
func (s *zkStore) taken(ctx context.Context, info LockInfo, epochVersion int32, broken *LockInfo) (Lease, error) {
	l := &zkLease{s: s, info: info, epochVersion: epochVersion, broken: broken}
	if sid := s.conn.SessionID(); sid != info.Session {
		_, _ = s.multi(ctx, append(l.fence(), &zk.DeleteRequest{Path: s.lockPath(), Version: 0})...)
		msg := fmt.Sprintf("taking the operator lock: the ZooKeeper session changed from 0x%x to 0x%x while taking it (the old one expired); try again", info.Session, sid)
		if broken != nil {
			msg += fmt.Sprintf(" (the lock of %s was broken on the way)", broken)
		}
		return nil, errors.New(msg)
	}
	return l, nil
}

// zkLease is a lock held through a ZooKeeper session: the lock znode is
// ephemeral, created together with a bump of lock-epoch's version. While
// lock-epoch is at epochVersion and the lock exists, the lock is this
// lease's; every fenced write checks both in the same multi.
type zkLease struct {
	s            *zkStore
	info         LockInfo
	epochVersion int32
	broken       *LockInfo

	mu       sync.Mutex
	lost     error // sticky: once lost, always lost
	released bool
}

func (l *zkLease) Info() LockInfo    { return l.info }
func (l *zkLease) Broken() *LockInfo { return l.broken }

// fence are the multi ops that pass only while the lock is this lease's.
func (l *zkLease) fence() []any {
	return []any{
		&zk.CheckVersionRequest{Path: l.s.epochPath(), Version: l.epochVersion},
		&zk.CheckVersionRequest{Path: l.s.lockPath(), Version: 0},
	}
}

// precheck fails without a round trip when the lease is known lost: released,
// lost before, or the client's session is no longer the one that took it.
func (l *zkLease) precheck(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if l.released {
		return &LockLostError{Why: "this run released it"}
	}
	if sid := l.s.conn.SessionID(); sid != l.info.Session {
		now, _ := l.s.Lock(ctx)
		l.lost = &LockLostError{Why: fmt.Sprintf("the ZooKeeper session 0x%x that held it expired (the client is now in session 0x%x)", l.info.Session, sid), Now: now}
		return l.lost
	}
	return nil
}

// fenced runs ops after the fence in one multi. A failure of the fence
// becomes a *LockLostError; the failure of an op (the fence passed) is
// returned as ZooKeeper gave it.
func (l *zkLease) fenced(ctx context.Context, ops ...any) error {
	if err := l.precheck(ctx); err != nil {
		return err
	}
	fence := l.fence()
	res, err := l.s.multi(ctx, append(fence, ops...)...)
	if err == nil {
		return nil
	}
	// ZooKeeper reports the first op that failed; the ops after it only
	// say they were not run.
	for i, r := range res {
		if r.Error == nil {
			continue
		}
		if i < len(fence) {
			return l.lose(ctx, r.Error)
		}
		return r.Error
	}
	if errors.Is(err, zk.ErrSessionExpired) {
		return l.lose(ctx, err)
	}
	return err
}

// lose records why the lease lost the lock and who holds it now.
func (l *zkLease) lose(ctx context.Context, cause error) error {
	now, _ := l.s.Lock(ctx)
	why := "the lock is gone: this run's ZooKeeper session expired, or someone deleted it"
	switch {
	case errors.Is(cause, zk.ErrSessionExpired):
		why = fmt.Sprintf("the ZooKeeper session 0x%x that held it expired", l.info.Session)
	case now != nil && now.Session != l.info.Session:
		why = fmt.Sprintf("it was taken over (epoch %d, this run held epoch %d): broken with --break-lock, or taken after this run's session expired", now.Epoch, l.info.Epoch)
	case now != nil:
		why = fmt.Sprintf("it was taken again by the same session (epoch %d, this lease held epoch %d)", now.Epoch, l.info.Epoch)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = &LockLostError{Why: why, Now: now}
	}
	return l.lost
}

func (l *zkLease) Check(ctx context.Context) error {
	if err := l.fenced(ctx); err != nil {
		if errors.Is(err, ErrLockLost) {
			return err
		}
		return fmt.Errorf("checking the operator lock: %w; kshift cannot tell whether it still holds it, so it stops", err)
	}
	return nil
}

func (l *zkLease) PutThrottleRecord(ctx context.Context, rec *ThrottleRecord) error {
	if err := ValidRecordID(rec.ID); err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding throttle record %s: %w", rec.ID, err)
	}
	if len(data) > MaxZNodeBytes {
		return fmt.Errorf("throttle record %s is %d bytes, more than kshift writes into one znode (%d, below ZooKeeper's 1 MB limit): split the step into smaller ones", rec.ID, len(data), MaxZNodeBytes)
	}
	p := l.s.recordPath(rec.ID)
	for range 3 {
		st, err := l.s.exists(ctx, p)
		if err != nil {
			return l.s.readError(p, err)
		}
		var op any = &zk.CreateRequest{Path: p, Data: data, Acl: l.s.acl}
		if st != nil {
			op = &zk.SetDataRequest{Path: p, Data: data, Version: st.Version}
		}
		err = l.fenced(ctx, op)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrLockLost):
			return err
		case errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion):
			continue // changed between the read and the write: read again
		default:
			return l.s.writeError("writing throttle record "+p, err)
		}
	}
	return fmt.Errorf("writing throttle record %s: it keeps changing under kshift: is another tool writing it?", p)
}

func (l *zkLease) DeleteThrottleRecord(ctx context.Context, id string) error {
	if err := ValidRecordID(id); err != nil {
		return err
	}
	return l.deleteFenced(ctx, l.s.recordPath(id), "deleting throttle record")
}

func (l *zkLease) ClearRate(ctx context.Context) error {
	return l.deleteFenced(ctx, l.s.ratePath(), "clearing the operator's rate override")
}

// deleteFenced deletes p under the fence; p missing is no error, once the
// fence has passed.
func (l *zkLease) deleteFenced(ctx context.Context, p, what string) error {
	err := l.fenced(ctx, &zk.DeleteRequest{Path: p, Version: -1})
	if errors.Is(err, zk.ErrNoNode) {
		return nil // the fence passed in the same multi: held, and nothing to delete
	}
	if err != nil && !errors.Is(err, ErrLockLost) {
		return l.s.writeError(what+" "+p, err)
	}
	return err
}

func (l *zkLease) Release() error {
	l.mu.Lock()
	released := l.released
	l.mu.Unlock()
	if released {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*l.s.opts.CallTimeout)
	defer cancel()
	err := l.fenced(ctx, &zk.DeleteRequest{Path: l.s.lockPath(), Version: 0})
	if err != nil && !errors.Is(err, ErrLockLost) {
		return l.s.writeError("releasing the operator lock (it frees by itself when this process's ZooKeeper session ends)", err)
	}
	l.mu.Lock()
	l.released = true
	l.mu.Unlock()
	return err
}

func (s *zkStore) ThrottleRecords(ctx context.Context) ([]*ThrottleRecord, error) {
	names, err := s.children(ctx, s.throttlesPath())
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, s.readError(s.throttlesPath(), err)
	}
	type read struct {
		rec   *ThrottleRecord
		czxid int64
	}
	var recs []read
	var bad []error
	for _, n := range names {
		data, st, err := s.get(ctx, s.recordPath(n))
		if errors.Is(err, zk.ErrNoNode) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, s.readError(s.recordPath(n), err)
		}
		var r ThrottleRecord
		if err := json.Unmarshal(data, &r); err != nil {
			bad = append(bad, fmt.Errorf("%s: %w", s.recordPath(n), err))
			continue
		}
		if r.ID != n {
			bad = append(bad, fmt.Errorf("%s holds the record of id %q", s.recordPath(n), r.ID))
			continue
		}
		recs = append(recs, read{&r, st.Czxid})
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].czxid < recs[j].czxid })
	out := make([]*ThrottleRecord, len(recs))
	for i, r := range recs {
		out[i] = r.rec
	}
	if len(bad) > 0 {
		return out, corrupt("throttle records", bad)
	}
	return out, nil
}

// corrupt reports unreadable state: what kshift cannot restore by itself.
func corrupt(what string, bad []error) error {
	return fmt.Errorf("%w: %d %s cannot be read (written by another tool or by hand?); repair or delete them after checking by hand what they held: %w", ErrCorrupt, len(bad), what, errors.Join(bad...))
}

func (s *zkStore) Rate(ctx context.Context) (*RateOverride, error) {
	data, _, err := s.get(ctx, s.ratePath())
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, s.readError(s.ratePath(), err)
	}
	var r RateOverride
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %s holds %q: %w", ErrCorrupt, s.ratePath(), clipData(data), err)
	}
	return &r, nil
}

func (s *zkStore) SetRate(ctx context.Context, r RateOverride) error {
	if r.Rate <= 0 {
		return fmt.Errorf("a rate override must be positive, not %d", r.Rate)
	}
	if err := s.ensure(ctx); err != nil {
		return err
	}
	data, _ := json.Marshal(r)
	for range 3 {
		_, err := call(ctx, s, func() (*zk.Stat, error) { return s.conn.Set(s.ratePath(), data, -1) })
		if errors.Is(err, zk.ErrNoNode) {
			_, err = call(ctx, s, func() (string, error) { return s.conn.Create(s.ratePath(), data, 0, s.acl) })
			if errors.Is(err, zk.ErrNodeExists) {
				continue
			}
		}
		if err != nil {
			return s.writeError("setting the operator's rate override "+s.ratePath(), err)
		}
		return nil
	}
	return fmt.Errorf("setting the operator's rate override %s: it keeps being created and deleted under kshift; try again", s.ratePath())
}

// Audit nodes: a run starts with <audit>/run-<seq>; when it outgrows
// AuditNodeBytes it goes on in <audit>/run-<seq>-part-<seq2>. ZooKeeper's
// sequence numbers order the runs and each run's parts.
const (
	runPrefix = "run-"
	partInfix = "-part-"
	seqDigits = 10
)

func (s *zkStore) StartRun(ctx context.Context, first AuditRecord) (AuditRun, error) {
	if err := s.ensure(ctx); err != nil {
		return nil, err
	}
	line, err := auditLine(first)
	if err != nil {
		return nil, err
	}
	name, err := call(ctx, s, func() (string, error) {
		return s.conn.Create(s.auditPath()+"/"+runPrefix, line, zk.FlagSequence, s.acl)
	})
	if err != nil {
		return nil, s.writeError("opening the run's audit trail in "+s.auditPath(), err)
	}
	return &zkRun{s: s, id: path.Base(name), node: name, data: line}, nil
}

// auditLine encodes one record as a JSON line; its run is not stored but
// read from the node that holds it.
func auditLine(r AuditRecord) ([]byte, error) {
	r.Run = ""
	line, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding audit record: %w", err)
	}
	if len(line) >= MaxZNodeBytes {
		return nil, fmt.Errorf("audit record of %s is %d bytes, more than one znode holds (%d)", r.Event, len(line), MaxZNodeBytes)
	}
	return append(line, '\n'), nil
}

type zkRun struct {
	s  *zkStore
	id string

	mu      sync.Mutex
	node    string
	data    []byte
	version int32
}

func (r *zkRun) ID() string { return r.id }

func (r *zkRun) Append(ctx context.Context, rec AuditRecord) error {
	line, err := auditLine(rec)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.data)+len(line) > r.s.opts.AuditNodeBytes {
		name, err := call(ctx, r.s, func() (string, error) {
			return r.s.conn.Create(r.s.auditPath()+"/"+r.id+partInfix, line, zk.FlagSequence, r.s.acl)
		})
		if err != nil {
			return r.s.writeError("continuing the run's audit trail in a new znode", err)
		}
		r.node, r.data, r.version = name, line, 0
		return nil
	}
	data := append(bytes.Clone(r.data), line...)
	st, err := call(ctx, r.s, func() (*zk.Stat, error) { return r.s.conn.Set(r.node, data, r.version) })
	if errors.Is(err, zk.ErrBadVersion) {
		return fmt.Errorf("appending to audit trail %s: someone else changed it (version conflict); its records stay as they are", r.node)
	}
	if err != nil {
		return r.s.writeError("appending to audit trail "+r.node, err)
	}
	r.data, r.version = data, st.Version
	return nil
}

// auditNode is one znode of the audit trail, by its place in the order.
type auditNode struct {
	name     string
	run, seq int64
}

func parseAuditNode(name string) (auditNode, bool) {
	rest, ok := strings.CutPrefix(name, runPrefix)
	if !ok {
		return auditNode{}, false
	}
	runPart, partPart, isPart := strings.Cut(rest, partInfix)
	run, err := strconv.ParseInt(runPart, 10, 64)
	if err != nil || len(runPart) != seqDigits {
		return auditNode{}, false
	}
	n := auditNode{name: name, run: run, seq: run}
	if isPart {
		if n.seq, err = strconv.ParseInt(partPart, 10, 64); err != nil || len(partPart) != seqDigits {
			return auditNode{}, false
		}
	}
	return n, true
}

func (s *zkStore) Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	names, err := s.children(ctx, s.auditPath())
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, s.readError(s.auditPath(), err)
	}
	var nodes []auditNode
	var bad []error
	for _, n := range names {
		an, ok := parseAuditNode(n)
		if !ok {
			bad = append(bad, fmt.Errorf("%s/%s is not an audit node kshift writes", s.auditPath(), n))
			continue
		}
		nodes = append(nodes, an)
	}
	sort.Slice(nodes, func(i, j int) bool {
		if nodes[i].run != nodes[j].run {
			return nodes[i].run < nodes[j].run
		}
		return nodes[i].seq < nodes[j].seq
	})
	var out []AuditRecord
	for _, n := range nodes {
		p := s.auditPath() + "/" + n.name
		data, _, err := s.get(ctx, p)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, s.readError(p, err)
		}
		recs, errs := parseAuditLines(p, data)
		bad = append(bad, errs...)
		for i := range recs {
			recs[i].Run = fmt.Sprintf("%s%0*d", runPrefix, seqDigits, n.run)
			if f.keep(&recs[i]) {
				out = append(out, recs[i])
			}
		}
	}
	if len(bad) > 0 {
		return out, corrupt("audit records", bad)
	}
	return out, nil
}

// parseAuditLines reads the JSON lines of an audit node, reporting each
// line that does not parse.
func parseAuditLines(p string, data []byte) ([]AuditRecord, []error) {
	var out []AuditRecord
	var bad []error
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r AuditRecord
		if err := json.Unmarshal(line, &r); err != nil {
			bad = append(bad, fmt.Errorf("%s line %d: %q: %w", p, i+1, clipData(line), err))
			continue
		}
		out = append(out, r)
	}
	return out, bad
}
