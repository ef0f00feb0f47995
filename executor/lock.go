package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// legacyLockTopic is the topic an older kshift created as its operator
// lock (with holder records in topics named legacyLockTopic + "_holder_...").
// A cluster where it exists has an older kshift running, or one that left
// its lock behind.
const legacyLockTopic = plans.KshiftTopicPrefix + "lock"

// run is one command's hold on the cluster: its audit trail and, once
// taken, the operator lock. Every mutating Kafka call of the run is fenced
// by the lock (the Kafka client's guard checks the lease first) and
// recorded in the audit trail.
type run struct {
	e         *Executor
	ref       PlanRef
	clusterID string
	audit     *auditor
	lease     state.Lease
	// notes are things the operator should know that are not warnings
	// about the step itself (a lock broken, records moved); warnings are
	// things about the run the operator must look at (a local audit log
	// with lines that are not records).
	notes, warnings []string
}

// begin starts a run of command e.opts.Command on ref's plan against the
// cluster clusterID, recording its start (about step, undoing undoes).
func (e *Executor) begin(ctx context.Context, ref PlanRef, clusterID string, step, undoes int) (*run, error) {
	if err := e.requireStore(); err != nil {
		return nil, err
	}
	a, err := e.startAudit(ctx, ref, clusterID, step, undoes)
	if err != nil {
		return nil, err
	}
	return &run{e: e, ref: ref, clusterID: clusterID, audit: a}, nil
}

// lock takes the cluster's operator lock for the run and fences the Kafka
// client with it. A dry run takes no real lock.
func (r *run) lock(ctx context.Context) error {
	e := r.e
	e.doing("taking the operator lock")
	legacy, err := r.legacyLock(ctx)
	if err != nil {
		return err
	}
	if len(legacy) > 0 && !e.opts.BreakLock {
		return refusal("an older kshift, which kept its operator lock in Kafka topics, holds the lock or left it behind (topics %s): if no older kshift runs against this cluster any more, run again with --break-lock to delete them and take the lock in ZooKeeper", strings.Join(legacy, ", "))
	}
	name, host := whoAmI()
	h := state.Holder{Host: host, PID: os.Getpid(), User: name, Command: e.opts.Command, Plan: filepath.Base(r.ref.Path), Step: r.audit.base.Step, Since: time.Now().UTC()}
	lease, err := e.store.Acquire(ctx, h, e.opts.BreakLock)
	if errors.Is(err, state.ErrLocked) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if err != nil {
		return fmt.Errorf("taking the operator lock: %w", err)
	}
	r.lease = lease
	e.kafka.SetHooks(func(ctx context.Context, _ string) error { return lease.Check(ctx) }, r.audit.call)
	if b := lease.Broken(); b != nil {
		r.audit.call("break-lock", b.String(), nil)
		r.notes = append(r.notes, "broke the operator lock of "+b.String())
		e.log.Warn("broke the operator lock", "holder", b.String())
	}
	if len(legacy) > 0 {
		if err := e.kafka.DeleteTopics(ctx, legacy); err != nil {
			return fmt.Errorf("deleting an older kshift's lock topics %s: %w", strings.Join(legacy, ", "), err)
		}
		r.notes = append(r.notes, "deleted an older kshift's lock topics "+strings.Join(legacy, ", "))
	}
	return nil
}

// legacyLock lists the lock topics of an older kshift, none when absent.
func (r *run) legacyLock(ctx context.Context) ([]string, error) {
	md, err := r.e.kafka.Metadata(ctx, []string{legacyLockTopic})
	if err != nil {
		return nil, err
	}
	if _, absent := md.TopicErrors[legacyLockTopic]; absent {
		return nil, nil
	}
	all, err := r.e.kafka.Metadata(ctx, kafkaapi.AllTopics)
	if err != nil {
		return nil, err
	}
	var out []string
	for key := range all.Partitions {
		if strings.HasPrefix(key.Topic, legacyLockTopic) && !containsString(out, key.Topic) {
			out = append(out, key.Topic)
		}
	}
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unlock gives the lock up (never another holder's) and unhooks the Kafka
// client: the run makes no more mutating calls.
func (r *run) unlock() error {
	if r == nil || r.lease == nil {
		return nil
	}
	r.e.doing("releasing the operator lock")
	r.e.kafka.SetHooks(nil, nil)
	err := r.lease.Release()
	r.lease = nil
	if err != nil {
		return fmt.Errorf("releasing the operator lock: %w", err)
	}
	return nil
}

// ReadLock returns the operator lock's holder and lease, nil when nobody
// holds it (or no store is configured).
func (e *Executor) ReadLock(ctx context.Context) (*state.LockInfo, error) {
	if e.store == nil {
		return nil, nil
	}
	return e.store.Lock(ctx)
}
