package state

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// dryStore reads through to the wrapped store and keeps every write in
// memory: a dry run sees its own writes on top of the real state, and the
// real state never changes.
type dryStore struct {
	real Store

	mu      sync.Mutex
	puts    map[string][]byte // throttle records written
	order   []string          // ids of puts not in the real store, in put order
	deleted map[string]bool   // throttle records deleted
	rate    []byte            // rate override set
	cleared bool              // rate override cleared (after any set)
	runs    []*memRun
	epoch   int64
}

// DryRun wraps s for a dry run: reads pass through to s, writes are kept
// in memory and never reach it. Acquire never refuses (a dry run takes no
// lock: call Lock to tell what a real run would meet) and returns a lease
// that holds nothing real; its fenced writes land in the dry run's memory.
// Lock shows the real lock only.
func DryRun(s Store) Store {
	return &dryStore{real: s, puts: map[string][]byte{}, deleted: map[string]bool{}}
}

func (d *dryStore) Acquire(_ context.Context, h Holder, _ bool) (Lease, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.epoch++
	return &dryLease{d: d, info: LockInfo{Holder: h, Epoch: d.epoch}}, nil
}

func (d *dryStore) Lock(ctx context.Context) (*LockInfo, error) { return d.real.Lock(ctx) }

func (d *dryStore) ThrottleRecords(ctx context.Context) ([]*ThrottleRecord, error) {
	real, err := d.real.ThrottleRecords(ctx)
	if real == nil && err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*ThrottleRecord
	seen := map[string]bool{}
	for _, r := range real {
		seen[r.ID] = true
		if d.deleted[r.ID] {
			continue
		}
		if data, ok := d.puts[r.ID]; ok {
			if r, err = decodeRecord(data); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	for _, id := range d.order {
		if seen[id] || d.deleted[id] {
			continue
		}
		r, derr := decodeRecord(d.puts[id])
		if derr != nil {
			return nil, derr
		}
		out = append(out, r)
	}
	return out, err // the real store's report of unreadable records stays
}

func decodeRecord(data []byte) (*ThrottleRecord, error) {
	var r ThrottleRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding throttle record: %w", err)
	}
	return &r, nil
}

func (d *dryStore) Rate(ctx context.Context) (*RateOverride, error) {
	d.mu.Lock()
	rate, cleared := d.rate, d.cleared
	d.mu.Unlock()
	switch {
	case cleared:
		return nil, nil
	case rate != nil:
		return decodeRate(rate)
	}
	return d.real.Rate(ctx)
}

func (d *dryStore) SetRate(_ context.Context, r RateOverride) error {
	if r.Rate <= 0 {
		return fmt.Errorf("a rate override must be positive, not %d", r.Rate)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding the rate override: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rate, d.cleared = data, false
	return nil
}

func (d *dryStore) StartRun(_ context.Context, first AuditRecord) (AuditRun, error) {
	line, err := auditLine(first)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &memRun{id: fmt.Sprintf("dry-run-%d", len(d.runs)+1), lines: [][]byte{line}}
	d.runs = append(d.runs, r)
	return r, nil
}

// Audit returns the real records, then the dry run's own.
func (d *dryStore) Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	real, err := d.real.Audit(ctx, f)
	if real == nil && err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	own, oerr := auditOf(d.runs, f)
	if oerr != nil {
		return nil, oerr
	}
	return append(slices.Clone(real), own...), err
}

// dryLease holds nothing: it is never lost, and its writes go to the dry
// run's memory.
type dryLease struct {
	d    *dryStore
	info LockInfo
}

func (l *dryLease) Info() LockInfo              { return l.info }
func (l *dryLease) Broken() *LockInfo           { return nil }
func (l *dryLease) Check(context.Context) error { return nil }
func (l *dryLease) Release() error              { return nil }

func (l *dryLease) PutThrottleRecord(_ context.Context, rec *ThrottleRecord) error {
	if err := ValidRecordID(rec.ID); err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding throttle record %s: %w", rec.ID, err)
	}
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	if _, ok := l.d.puts[rec.ID]; !ok || l.d.deleted[rec.ID] {
		l.d.order = slices.DeleteFunc(l.d.order, func(id string) bool { return id == rec.ID })
		l.d.order = append(l.d.order, rec.ID)
	}
	l.d.puts[rec.ID] = data
	delete(l.d.deleted, rec.ID)
	return nil
}

func (l *dryLease) DeleteThrottleRecord(_ context.Context, id string) error {
	if err := ValidRecordID(id); err != nil {
		return err
	}
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	l.d.deleted[id] = true
	delete(l.d.puts, id)
	return nil
}

func (l *dryLease) ClearRate(context.Context) error {
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	l.d.rate, l.d.cleared = nil, true
	return nil
}
