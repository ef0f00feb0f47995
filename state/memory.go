package state

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// memStore keeps the state in process memory, encoded as the ZooKeeper
// store encodes it (so callers never share a value with the store), with
// the same lock, fencing and ordering rules. It has no sessions: a lease
// ends only by Release or by being broken.
type memStore struct {
	mu      sync.Mutex
	lock    *LockInfo
	epoch   int64
	records map[string]memRecord
	seq     int64
	rate    []byte
	runs    []*memRun
}

type memRecord struct {
	data []byte
	seq  int64
}

// NewMemory returns an empty store in process memory, for the in-process
// simulator runs (kshift demo, rehearse) and tests. Its lease has no
// timeout (LockInfo.Lease is zero): nothing outlives the process anyway.
func NewMemory() Store {
	return &memStore{records: map[string]memRecord{}}
}

func (m *memStore) Acquire(_ context.Context, h Holder, breakLock bool) (Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var broken *LockInfo
	if m.lock != nil {
		cur := *m.lock
		if !breakLock {
			return nil, &LockedError{Holder: cur}
		}
		broken = &cur
	}
	m.epoch++
	info := LockInfo{Holder: h, Epoch: m.epoch}
	m.lock = &info
	return &memLease{m: m, info: info, broken: broken}, nil
}

func (m *memStore) Lock(context.Context) (*LockInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lockCopy(), nil
}

func (m *memStore) lockCopy() *LockInfo {
	if m.lock == nil {
		return nil
	}
	l := *m.lock
	return &l
}

func (m *memStore) ThrottleRecords(context.Context) ([]*ThrottleRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return decodeRecords(m.records)
}

// decodeRecords decodes records in the order they were created.
func decodeRecords(records map[string]memRecord) ([]*ThrottleRecord, error) {
	ids := make([]string, 0, len(records))
	for id := range records {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(records[a].seq, records[b].seq) })
	out := make([]*ThrottleRecord, 0, len(ids))
	for _, id := range ids {
		var r ThrottleRecord
		if err := json.Unmarshal(records[id].data, &r); err != nil {
			return nil, fmt.Errorf("decoding throttle record %s: %w", id, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

func (m *memStore) Rate(context.Context) (*RateOverride, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return decodeRate(m.rate)
}

func decodeRate(data []byte) (*RateOverride, error) {
	if data == nil {
		return nil, nil
	}
	var r RateOverride
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding the rate override: %w", err)
	}
	return &r, nil
}

func (m *memStore) SetRate(_ context.Context, r RateOverride) error {
	if r.Rate <= 0 {
		return fmt.Errorf("a rate override must be positive, not %d", r.Rate)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding the rate override: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rate = data
	return nil
}

func (m *memStore) StartRun(_ context.Context, first AuditRecord) (AuditRun, error) {
	line, err := auditLine(first)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &memRun{id: fmt.Sprintf("%s%0*d", runPrefix, seqDigits, len(m.runs)), lines: [][]byte{line}}
	m.runs = append(m.runs, r)
	return r, nil
}

func (m *memStore) Audit(_ context.Context, f AuditFilter) ([]AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return auditOf(m.runs, f)
}

// auditOf decodes runs' records in order.
func auditOf(runs []*memRun, f AuditFilter) ([]AuditRecord, error) {
	var out []AuditRecord
	for _, r := range runs {
		r.mu.Lock()
		lines := slices.Clone(r.lines)
		r.mu.Unlock()
		for _, line := range lines {
			var rec AuditRecord
			if err := json.Unmarshal(line, &rec); err != nil {
				return nil, fmt.Errorf("decoding audit record of %s: %w", r.id, err)
			}
			rec.Run = r.id
			if f.keep(&rec) {
				out = append(out, rec)
			}
		}
	}
	return out, nil
}

type memRun struct {
	mu    sync.Mutex
	id    string
	lines [][]byte
}

func (r *memRun) ID() string { return r.id }

func (r *memRun) Append(_ context.Context, rec AuditRecord) error {
	line, err := auditLine(rec)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	return nil
}

type memLease struct {
	m        *memStore
	info     LockInfo
	broken   *LockInfo
	released bool
}

func (l *memLease) Info() LockInfo    { return l.info }
func (l *memLease) Broken() *LockInfo { return l.broken }

// held fails unless the lock is this lease's; the caller holds m.mu.
func (l *memLease) held() error {
	switch {
	case l.released:
		return &LockLostError{Why: "this run released it", Now: l.m.lockCopy()}
	case l.m.lock == nil:
		return &LockLostError{Why: "the lock is gone"}
	case l.m.lock.Epoch != l.info.Epoch:
		return &LockLostError{Why: fmt.Sprintf("it was taken over (epoch %d, this run held epoch %d)", l.m.lock.Epoch, l.info.Epoch), Now: l.m.lockCopy()}
	}
	return nil
}

func (l *memLease) Check(context.Context) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	return l.held()
}

func (l *memLease) PutThrottleRecord(_ context.Context, rec *ThrottleRecord) error {
	if err := ValidRecordID(rec.ID); err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding throttle record %s: %w", rec.ID, err)
	}
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if err := l.held(); err != nil {
		return err
	}
	r, ok := l.m.records[rec.ID]
	if !ok {
		l.m.seq++
		r.seq = l.m.seq
	}
	r.data = data
	l.m.records[rec.ID] = r
	return nil
}

func (l *memLease) DeleteThrottleRecord(_ context.Context, id string) error {
	if err := ValidRecordID(id); err != nil {
		return err
	}
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if err := l.held(); err != nil {
		return err
	}
	delete(l.m.records, id)
	return nil
}

func (l *memLease) ClearRate(context.Context) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if err := l.held(); err != nil {
		return err
	}
	l.m.rate = nil
	return nil
}

func (l *memLease) Release() error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.released {
		return nil
	}
	err := l.held()
	if err == nil {
		l.m.lock = nil
	}
	l.released = true
	return err
}
