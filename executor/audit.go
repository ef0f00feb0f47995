package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kshift/kshift/state"
)

// Audit appends records to a local JSON-lines copy of the audit trail, for
// people to read; the trail kshift relies on is in the cluster (Store).
// Each record is written and synced on its own, so a run killed at any
// moment leaves every record it finished.
type Audit struct {
	mu   sync.Mutex
	path string
}

// OpenAudit returns a local audit copy appending to path (created on first
// write).
func OpenAudit(path string) *Audit { return &Audit{path: path} }

// Path is the file the audit copy appends to.
func (a *Audit) Path() string { return a.path }

// Append writes one record.
func (a *Audit) Append(r state.AuditRecord) error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	// A last line torn by a run killed mid-write has no newline: the record
	// starts a line of its own, or it would be torn too.
	if endsTorn(a.path) {
		line = append([]byte{'\n'}, line...)
	}
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening the local audit log %s: %w (pass --audit-log with a writable file path)", a.path, err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing the local audit log %s: %w", a.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing the local audit log %s: %w", a.path, err)
	}
	return f.Close()
}

// endsTorn reports whether the file at path is not empty and does not end
// with a newline (false when it cannot be read: the write then says why).
func endsTorn(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return false
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], st.Size()-1); err != nil {
		return false
	}
	return last[0] != '\n'
}

// ErrAuditTorn marks lines of a local audit log that are not records: a
// line torn by a run killed mid-write, or an edit by hand.
var ErrAuditTorn = errors.New("audit log lines that are not records")

// ReadAudit reads every record of a local audit log. A missing file has no
// records. Lines that do not parse are reported in an error wrapping
// ErrAuditTorn (with their line numbers), returned with every record read.
func ReadAudit(path string) ([]state.AuditRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the local audit log: %w", err)
	}
	defer f.Close()
	var out []state.AuditRecord
	var torn []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var r state.AuditRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			torn = append(torn, line)
			continue
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading the local audit log %s: %w", path, err)
	}
	if len(torn) > 0 {
		return out, fmt.Errorf("%w in %s: line(s) %v (a run killed while writing, or an edit by hand); the other records were read", ErrAuditTorn, path, torn)
	}
	return out, nil
}

// auditor records one command's run: in the cluster's audit trail (the
// store) and in the local copy. A dry run records nothing.
type auditor struct {
	e    *Executor
	run  state.AuditRun
	base state.AuditRecord
}

// startAudit opens the run's audit trail with its start record, before
// anything changes: a run whose start cannot be recorded is refused
// (ErrAuditUnwritable), nothing changed.
func (e *Executor) startAudit(ctx context.Context, ref PlanRef, clusterID string, step, undoes int) (*auditor, error) {
	name, host := whoAmI()
	a := &auditor{e: e, base: state.AuditRecord{
		User: name, Host: host, PID: os.Getpid(), ClusterID: clusterID,
		Plan: ref.Path, PlanSHA256: ref.SHA256, Command: e.opts.Command, Step: step, Undoes: undoes,
	}}
	if e.opts.DryRun || e.store == nil {
		return a, nil
	}
	start := a.record(state.AuditStart)
	run, err := e.store.StartRun(ctx, start)
	if err != nil {
		return nil, fmt.Errorf("%w: recording the start of %s in the cluster's audit trail: %w; nothing was changed", ErrAuditUnwritable, e.opts.Command, err)
	}
	a.run = run
	start.Run = run.ID()
	if err := e.opts.Audit.Append(start); err != nil {
		return nil, fmt.Errorf("%w: %w; nothing was changed", ErrAuditUnwritable, err)
	}
	return a, nil
}

// at makes the records that follow about step (undoes: the forward step
// whose undo it is, else 0).
func (a *auditor) at(step, undoes int) { a.base.Step, a.base.Undoes = step, undoes }

func (a *auditor) record(ev state.AuditEvent) state.AuditRecord {
	r := a.base
	r.Time, r.Event = time.Now().UTC(), ev
	return r
}

// append writes r; failing to write it once the cluster may have changed
// is logged, not fatal (the change happened either way).
func (a *auditor) append(r state.AuditRecord) {
	if a == nil || a.run == nil {
		return
	}
	ctx, cancel := a.e.cleanupContext()
	if ctx.Err() != nil {
		// The cleanup was abandoned (a second Ctrl-C): the trail still
		// records how the run ended, on a short bound of its own.
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), leftBehindRead)
	}
	defer cancel()
	if err := a.run.Append(ctx, r); err != nil {
		a.e.log.Error("cluster audit trail", "err", err)
	}
	// The local copy names the run, as the cluster's trail does: a record
	// without one was written by an older kshift (legacyOpenRecords).
	r.Run = a.run.ID()
	if err := a.e.opts.Audit.Append(r); err != nil {
		a.e.log.Error("local audit log", "err", err)
	}
}

// call records one mutating call and its result.
func (a *auditor) call(call string, req any, err error) {
	if a == nil {
		return
	}
	r := a.record(state.AuditCall)
	r.Call, r.Request, r.Result = call, req, "ok"
	if err != nil {
		r.Result, r.Error = "error", err.Error()
	}
	a.append(r)
}

// startStep records the start of one more step in this run (a cancel
// reverting several), numbered as step, undoing undoes.
func (a *auditor) startStep(step, undoes int) {
	if a == nil {
		return
	}
	a.at(step, undoes)
	a.append(a.record(state.AuditStart))
}

// end closes the run (or the step of it) with its outcome.
func (a *auditor) end(result string, err error) {
	if a == nil {
		return
	}
	r := a.record(state.AuditEnd)
	r.Result = result
	if err != nil {
		r.Result, r.Error = "error", err.Error()
	}
	a.append(r)
}

// throttles records the throttle record as it now stands (the record
// itself is in the store; the trail keeps its history).
func (a *auditor) throttles(rec *state.ThrottleRecord) {
	if a == nil {
		return
	}
	r := a.record(state.AuditThrottles)
	if rec.Empty() {
		r.Event = state.AuditThrottlesCleared
	}
	r.Throttles = rec
	a.append(r)
}

// legacyOpenRecords returns the throttle records of cluster that an older
// kshift (which kept them in the local audit log) wrote and never cleared,
// the latest version of each. This kshift's own records in the local copy
// name their run and are left out: the cluster's store holds those. Lines
// of the log that are not records are reported in an error wrapping
// ErrAuditTorn, returned with the records read from the others.
func legacyOpenRecords(path, clusterID string) ([]*state.ThrottleRecord, error) {
	recs, err := ReadAudit(path)
	if err != nil && !errors.Is(err, ErrAuditTorn) {
		return nil, err
	}
	latest := map[string]*state.ThrottleRecord{}
	var order []string
	for _, r := range recs {
		if r.ClusterID != clusterID || r.Throttles == nil || r.Run != "" {
			continue
		}
		id := r.Throttles.ID
		switch r.Event {
		case state.AuditThrottles:
			if _, ok := latest[id]; !ok {
				order = append(order, id)
			}
			latest[id] = r.Throttles
		case state.AuditThrottlesCleared:
			latest[id] = nil
		}
	}
	var out []*state.ThrottleRecord
	for _, id := range order {
		if latest[id] != nil && !latest[id].Empty() {
			out = append(out, latest[id])
		}
	}
	return out, err
}

// adoptLegacyRecords moves the throttle records an older kshift left open
// in the local audit log into the cluster's store, so that this cleanup
// (and any later one, on any host) restores them, and closes them in the
// local log so that they are moved once. It returns a note for the
// operator, "" when there was nothing to move.
//
// Records that cannot be read are never passed over in silence. Where
// what is moved depends on them it refuses, before anything changed: a
// line of the local log that is not a record may be the one that closed
// or changed an open record (moving it would restore stale values), and
// an unreadable record of the cluster's trail may be the one that says
// another host moved it already. Elsewhere they are a warning of the run.
func (r *stepRun) adoptLegacyRecords(ctx context.Context) (string, error) {
	e := r.e
	if e.opts.Audit == nil || e.opts.DryRun {
		return "", nil
	}
	path := e.opts.Audit.Path()
	legacy, err := legacyOpenRecords(path, r.clusterID)
	tornErr := err
	if errors.Is(err, ErrAuditTorn) {
		err = nil
	}
	if err != nil {
		return "", err
	}
	var toMove []*state.ThrottleRecord
	var trailErr error
	if len(legacy) > 0 {
		known, err := e.store.ThrottleRecords(ctx)
		if err != nil {
			return "", err
		}
		// A record another host moved already is in the cluster's trail:
		// moving it again after it was cleared would restore stale values.
		var trail []state.AuditRecord
		trail, trailErr = e.store.Audit(ctx, state.AuditFilter{})
		if trailErr != nil && !errors.Is(trailErr, state.ErrCorrupt) {
			return "", trailErr
		}
		for _, rec := range legacy {
			inTrail := slices.ContainsFunc(trail, func(a state.AuditRecord) bool { return a.Throttles != nil && a.Throttles.ID == rec.ID })
			if !containsRecord(known, rec.ID) && !inTrail {
				toMove = append(toMove, rec)
			}
		}
	}
	switch {
	case tornErr != nil && len(toMove) > 0:
		return "", fmt.Errorf("%w: %w. An older kshift left throttle records open in it (%s) for kshift to move into the cluster's state store, and a line that is not a record may be one that closed or changed them, so kshift cannot tell which of their prior values still hold: "+
			"look at those lines, repair or delete them (after noting what they held), then run again", ErrRefused, tornErr, recordIDs(toMove))
	case tornErr != nil:
		r.warnings = append(r.warnings, fmt.Sprintf("%v. kshift keeps its own records in the cluster, not in this copy; but if such a line was a throttle record of an older kshift (which kept them in this file), its throttles were not moved into the cluster's state store: look at those lines", tornErr))
	}
	switch {
	case trailErr != nil && len(toMove) > 0:
		return "", fmt.Errorf("%w: the local audit log %s holds throttle records an older kshift left open (%s) for kshift to move into the cluster's state store, but the cluster's audit trail, which says whether another host moved them already (moving one again would restore stale values), cannot be read whole: %w",
			ErrRefused, path, recordIDs(toMove), trailErr)
	case trailErr != nil:
		r.warnings = append(r.warnings, fmt.Sprintf("reading the cluster's audit trail: %v", trailErr))
	}
	var moved []string
	for _, rec := range legacy {
		if slices.Contains(toMove, rec) {
			if err := r.lease.PutThrottleRecord(ctx, rec); err != nil {
				return "", fmt.Errorf("moving throttle record %s from the local audit log %s into the cluster: %w", rec.ID, path, err)
			}
			r.audit.throttles(rec) // the cluster's trail now knows it was moved
			moved = append(moved, rec.ID)
		}
		// Closed in the local log either way, so that it is looked at once.
		closed := r.audit.record(state.AuditThrottlesCleared)
		closed.Result = "moved to the cluster's state store"
		closed.Throttles = rec
		if err := e.opts.Audit.Append(closed); err != nil {
			return "", err
		}
	}
	if len(moved) == 0 {
		return "", nil
	}
	return fmt.Sprintf("moved %d throttle record(s) an older kshift left open in the local audit log %s into the cluster's state store (%v): this run restores them as its own", len(moved), filepath.Base(path), moved), nil
}

// recordIDs names throttle records, for people.
func recordIDs(recs []*state.ThrottleRecord) string {
	ids := make([]string, len(recs))
	for i, rec := range recs {
		ids[i] = rec.ID
	}
	return strings.Join(ids, ", ")
}

func containsRecord(recs []*state.ThrottleRecord, id string) bool {
	for _, r := range recs {
		if r.ID == id {
			return true
		}
	}
	return false
}
