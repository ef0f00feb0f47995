package executor

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Lock topic names (see the package doc for the design).
const (
	LockTopic         = plans.KshiftTopicPrefix + "lock"
	lockHolderPrefix  = plans.KshiftTopicPrefix + "lock_holder_"
	maxTopicNameBytes = 249
)

var holderEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// LockHolder says who holds the operator lock.
type LockHolder struct {
	Host    string    `json:"host" yaml:"host"`
	PID     int       `json:"pid" yaml:"pid"`
	User    string    `json:"user" yaml:"user"`
	Command string    `json:"command" yaml:"command"`
	Plan    string    `json:"plan" yaml:"plan"`
	Step    int       `json:"step" yaml:"step"`
	Since   time.Time `json:"since" yaml:"since"`
	// Unknown is set when the lock exists without a readable holder record.
	Unknown bool `json:"unknown,omitempty" yaml:"unknown,omitempty"`
}

func (h LockHolder) String() string {
	if h.Unknown {
		return "an unknown holder (the lock topic exists without a holder record: a run killed while taking it?)"
	}
	return fmt.Sprintf("%s on host %s (pid %d, user %s), plan %s step %d, since %s", h.Command, h.Host, h.PID, h.User, h.Plan, h.Step, h.Since.Format(time.RFC3339))
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (h LockHolder) topicName() string {
	fields := []string{clip(h.Host, 40), strconv.Itoa(h.PID), clip(h.User, 20), clip(h.Command, 10), strconv.Itoa(h.Step), strconv.FormatInt(h.Since.Unix(), 10), clip(h.Plan, 60)}
	raw := strings.Join(fields, "|")
	room := (maxTopicNameBytes - len(lockHolderPrefix)) * 5 / 8
	if len(raw) > room {
		raw = raw[:room]
	}
	return lockHolderPrefix + strings.ToLower(holderEncoding.EncodeToString([]byte(raw)))
}

func parseHolder(topic string) (LockHolder, bool) {
	raw, err := holderEncoding.DecodeString(strings.ToUpper(strings.TrimPrefix(topic, lockHolderPrefix)))
	if err != nil {
		return LockHolder{}, false
	}
	f := strings.SplitN(string(raw), "|", 7)
	if len(f) != 7 {
		return LockHolder{}, false
	}
	pid, _ := strconv.Atoi(f[1])
	step, _ := strconv.Atoi(f[4])
	since, _ := strconv.ParseInt(f[5], 10, 64)
	return LockHolder{Host: f[0], PID: pid, User: f[2], Command: f[3], Step: step, Since: time.Unix(since, 0).UTC(), Plan: f[6]}, true
}

// Lock is a held operator lock.
type Lock struct {
	e      *Executor
	holder string
}

// ErrLocked refuses a run because another kshift holds the cluster's lock.
var ErrLocked = errors.New("another kshift holds the cluster's operator lock")

// LockedError names the holder of the lock.
type LockedError struct{ Holder LockHolder }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: %s; wait for it to finish, or if that process is gone, run again with --break-lock", ErrLocked, e.Holder)
}

// Unwrap makes a LockedError both ErrLocked and ErrRefused.
func (e *LockedError) Unwrap() []error { return []error{ErrLocked, ErrRefused} }

// ReadLock returns the lock's holder, or nil when nobody holds it.
func (e *Executor) ReadLock(ctx context.Context) (*LockHolder, error) {
	req := kmsg.NewPtrMetadataRequest() // nil topics: every topic
	resp, err := request[*kmsg.MetadataResponse](ctx, e, req)
	if err != nil {
		return nil, fmt.Errorf("reading the operator lock: %w", err)
	}
	locked := false
	var holder *LockHolder
	for _, t := range resp.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			continue
		}
		switch name := *t.Topic; {
		case name == LockTopic:
			locked = true
		case strings.HasPrefix(name, lockHolderPrefix):
			if h, ok := parseHolder(name); ok {
				holder = &h
			}
		}
	}
	if !locked {
		return nil, nil
	}
	if holder == nil {
		holder = &LockHolder{Unknown: true}
	}
	return holder, nil
}

// lockHolderTopics lists the holder record topics (there may be a stale one).
func (e *Executor) lockTopics(ctx context.Context) ([]string, error) {
	resp, err := request[*kmsg.MetadataResponse](ctx, e, kmsg.NewPtrMetadataRequest())
	if err != nil {
		return nil, fmt.Errorf("reading the operator lock: %w", err)
	}
	var out []string
	for _, t := range resp.Topics {
		if t.Topic != nil && (strings.HasPrefix(*t.Topic, lockHolderPrefix) || *t.Topic == LockTopic) {
			out = append(out, *t.Topic)
		}
	}
	return out, nil
}

// createTopic creates a one-partition topic of the lock (why says which
// step of locking it is) and records the call and its result in the audit
// log, refusals included: every mutating call is audited.
func (e *Executor) createTopic(ctx context.Context, name, why string) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(e.opts.CallTimeout.Milliseconds())
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = name, 1, 1
	req.Topics = append(req.Topics, t)
	resp, err := request[*kmsg.CreateTopicsResponse](ctx, e, req)
	if err == nil {
		var errs []error
		for _, r := range resp.Topics {
			errs = append(errs, codeErr(r.ErrorCode, r.ErrorMessage))
		}
		err = errors.Join(errs...)
	}
	e.auditCall("CreateTopics", lockCallRequest([]string{name}, why), err)
	return err
}

// deleteTopics deletes topics of the lock (a topic already gone counts as
// deleted) and records the call and its result in the audit log.
func (e *Executor) deleteTopics(ctx context.Context, names []string, why string) error {
	if len(names) == 0 {
		return nil
	}
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = int32(e.opts.CallTimeout.Milliseconds())
	req.TopicNames = names
	for _, n := range names {
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	resp, err := request[*kmsg.DeleteTopicsResponse](ctx, e, req)
	if err == nil {
		var errs []error
		for _, r := range resp.Topics {
			if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
				errs = append(errs, err)
			}
		}
		err = errors.Join(errs...)
	}
	e.auditCall("DeleteTopics", lockCallRequest(names, why), err)
	return err
}

// lockCallRequest is the audit log's request of a lock call: the topics and
// what the call is for.
func lockCallRequest(topics []string, why string) string {
	return strings.Join(topics, ", ") + " (" + why + ")"
}

// AcquireLock takes the cluster's operator lock for the current run. A dry
// run takes no lock.
func (e *Executor) AcquireLock(ctx context.Context) (*Lock, error) {
	if e.opts.DryRun {
		return &Lock{e: e}, nil
	}
	name, host := whoAmI()
	h := LockHolder{Host: host, PID: os.Getpid(), User: name, Command: e.opts.Command, Plan: filepath.Base(e.planPath), Step: e.step, Since: time.Now().UTC()}
	broke := false
	deadline := time.Now().Add(e.opts.SettleTimeout)
	for {
		err := e.createTopic(ctx, LockTopic, "take the operator lock")
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.TopicAlreadyExists) {
			return nil, fmt.Errorf("taking the operator lock (creating topic %s): %w", LockTopic, err)
		}
		if !e.opts.BreakLock {
			holder, rerr := e.ReadLock(ctx)
			if rerr != nil {
				return nil, rerr
			}
			if holder == nil {
				holder = &LockHolder{Unknown: true}
			}
			return nil, &LockedError{Holder: *holder}
		}
		if !broke {
			holder, _ := e.ReadLock(ctx)
			topics, lerr := e.lockTopics(ctx)
			if lerr != nil {
				return nil, lerr
			}
			if derr := e.deleteTopics(ctx, topics, "break the operator lock"); derr != nil {
				return nil, fmt.Errorf("breaking the operator lock: %w", derr)
			}
			r := e.auditRecord(AuditCall)
			r.Call, r.Result = "break-lock", "ok"
			if holder != nil {
				r.Request = holder.String()
			}
			e.audit(r)
			e.log.Warn("broke the operator lock", "holder", holder)
			broke = true
		}
		// Topic deletion completes asynchronously: retry the creation.
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("breaking the operator lock: topic %s still exists after deleting it; retry", LockTopic)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	l := &Lock{e: e, holder: h.topicName()}
	if err := e.createTopic(ctx, l.holder, "record the operator lock's holder"); err != nil {
		e.log.Warn("the operator lock is held, but its holder record could not be written", "err", err)
	}
	return l, nil
}

// Release gives the lock up. It uses its own context so that it runs after
// an interrupt.
func (l *Lock) Release() error {
	if l == nil || l.e.opts.DryRun {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*l.e.opts.CallTimeout)
	defer cancel()
	if err := l.e.deleteTopics(ctx, []string{l.holder}, "release the operator lock: its holder record"); err != nil {
		return fmt.Errorf("releasing the operator lock: %w", err)
	}
	if err := l.e.deleteTopics(ctx, []string{LockTopic}, "release the operator lock"); err != nil {
		return fmt.Errorf("releasing the operator lock (delete topic %s by hand if it stays): %w", LockTopic, err)
	}
	return nil
}
