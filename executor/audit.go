package executor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// AuditEvent says what an audit record is about.
type AuditEvent string

const (
	// AuditStart opens a command's run on a step.
	AuditStart AuditEvent = "start"
	// AuditCall is one mutating Kafka call and its result.
	AuditCall AuditEvent = "call"
	// AuditThrottles records the throttle record: prior values and what kshift
	// added (written before the configs are changed).
	AuditThrottles AuditEvent = "throttles"
	// AuditThrottlesCleared closes a throttle record: everything it added is gone.
	AuditThrottlesCleared AuditEvent = "throttles-cleared"
	// AuditEnd closes a run with its outcome.
	AuditEnd AuditEvent = "end"
)

// AllAuditEvents lists every audit event.
var AllAuditEvents = []AuditEvent{AuditStart, AuditCall, AuditThrottles, AuditThrottlesCleared, AuditEnd}

// AuditRecord is one line of the audit log (JSON lines).
type AuditRecord struct {
	Time       time.Time `json:"time"`
	User       string    `json:"user"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	ClusterID  string    `json:"cluster_id"`
	Plan       string    `json:"plan,omitempty"`
	PlanSHA256 string    `json:"plan_sha256,omitempty"`
	Command    string    `json:"command"`
	Step       int       `json:"step,omitempty"`
	// Undoes is the forward step whose undo the record is about: kshift
	// rollback and a cancel of its undo number the undo as that step
	// (step = undoes), a step of rollback.yaml applied keeps its own number.
	// Without it, the record is about step Step itself.
	Undoes    int             `json:"undoes,omitempty"`
	Event     AuditEvent      `json:"event"`
	Call      string          `json:"call,omitempty"`
	Request   any             `json:"request,omitempty"`
	Result    string          `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	Throttles *ThrottleRecord `json:"throttles,omitempty"`
}

// Audit appends records to a JSON-lines file. Each record is written and
// synced on its own, so a run killed at any moment leaves every record it
// finished.
type Audit struct {
	mu   sync.Mutex
	path string
}

// OpenAudit returns an audit log appending to path (created on first write).
func OpenAudit(path string) *Audit { return &Audit{path: path} }

// Path is the file the audit log appends to.
func (a *Audit) Path() string { return a.path }

// Append writes one record.
func (a *Audit) Append(r AuditRecord) error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening audit log: %w (pass --audit-log with a writable path)", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing audit log %s: %w", a.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing audit log %s: %w", a.path, err)
	}
	return f.Close()
}

// ReadAudit reads every record of an audit log. A missing file has no
// records; a torn last line (a run killed mid-write) is skipped.
func ReadAudit(path string) ([]AuditRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	defer f.Close()
	var out []AuditRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var r AuditRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading audit log %s: %w", path, err)
	}
	return out, nil
}

// openThrottleRecords returns the throttle records of cluster that were
// written and never cleared, the latest version of each.
func openThrottleRecords(path, clusterID string) ([]*ThrottleRecord, error) {
	recs, err := ReadAudit(path)
	if err != nil {
		return nil, err
	}
	latest := map[string]*ThrottleRecord{}
	var order []string
	for _, r := range recs {
		if r.ClusterID != clusterID || r.Throttles == nil {
			continue
		}
		id := r.Throttles.ID
		switch r.Event {
		case AuditThrottles:
			if _, ok := latest[id]; !ok {
				order = append(order, id)
			}
			latest[id] = r.Throttles
		case AuditThrottlesCleared:
			latest[id] = nil
		}
	}
	var out []*ThrottleRecord
	for _, id := range order {
		if latest[id] != nil {
			out = append(out, latest[id])
		}
	}
	return out, nil
}
