package rehearsal

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
)

// simulator drives the double's manual clock at Speed times real time and
// watches the partitions of the step running on the double itself (in
// process, not over the protocol): when each reaches its `to`, and how many
// replicas and bytes every broker holds meanwhile. The clock moves only here,
// so between two ticks the double does no work however often it is asked,
// and only while a step's reassignment runs (from its submission until its
// last partition is at `to`): the executor's gates, locking and verifying
// take no simulated time, so a rehearsal does not depend on how busy the
// machine is (or on whether the controller's periodic leader rebalance
// happened to run between two steps).
type simulator struct {
	d     *kafkasim.Cluster
	clock *kafkasim.Clock
	speed float64
	tick  time.Duration

	mu        sync.Mutex
	parts     map[string]partState // last seen state of every partition
	counts    map[int32]int        // replicas per broker now
	bytes     int64                // bytes on every broker's disk now
	baseBytes int64                // bytes before the first step
	peaks     map[int32]int        // most replicas per broker so far
	w         *watch
}

// partState is what a partition contributes to the brokers' load.
type partState struct {
	replicas []int32
	bytes    int64
}

// watch follows one step.
type watch struct {
	step        *plans.Step
	outstanding []int // indexes into step.Partitions not yet at `to`
	// started is when the step's reassignment was first submitted, lastDone
	// when its last partition reached `to` (both simulated).
	started, lastDone time.Time
	peakReplicas      int
	peakBroker        int32
	peakExtra         int64
	// limit is how long the reassignment may run before cancel gives up on
	// the step; gaveUp records that it did.
	limit  time.Duration
	cancel context.CancelFunc
	gaveUp bool
}

func newSimulator(d *kafkasim.Cluster, clock *kafkasim.Clock, speed float64, tick time.Duration) *simulator {
	return &simulator{d: d, clock: clock, speed: speed, tick: tick,
		parts: map[string]partState{}, counts: map[int32]int{}, peaks: map[int32]int{}}
}

func partKey(topic string, p int32) string { return fmt.Sprintf("%s-%d", topic, p) }

// load records every partition of the snapshot as the double holds it.
func (s *simulator) load(snap *plans.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range snap.Topics {
		for _, p := range t.Partitions {
			st, ok := s.d.Partition(t.Name, p.ID)
			if !ok {
				return fmt.Errorf("rehearse: the double lacks %s-%d of the snapshot", t.Name, p.ID)
			}
			s.updateLocked(partKey(t.Name, p.ID), st)
		}
	}
	s.baseBytes = s.bytes
	return nil
}

// updateLocked replaces a partition's contribution by its state st.
func (s *simulator) updateLocked(key string, st kafkasim.PartitionState) {
	old := s.parts[key]
	for _, r := range old.replicas {
		s.counts[r]--
	}
	next := partState{replicas: st.Replicas}
	for _, r := range st.Replicas {
		s.counts[r]++
		next.bytes += st.ReplicaSizes[r]
		s.peaks[r] = max(s.peaks[r], s.counts[r])
	}
	s.bytes += next.bytes - old.bytes
	s.parts[key] = next
}

// run advances the clock every tick by the real time passed times speed
// (at most two ticks' worth) while a reassignment runs, and observes the
// step, until ctx ends.
func (s *simulator) run(ctx context.Context) {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			// A tick late because the machine is busy advances no more than
			// two ticks: the simulation slows down rather than losing
			// precision.
			if s.running() {
				s.clock.Advance(time.Duration(float64(min(now.Sub(last), 2*s.tick)) * s.speed))
			}
			last = now
			s.observe()
		}
	}
}

// running reports whether a step's reassignment is submitted and not done.
func (s *simulator) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w != nil && !s.w.started.IsZero() && len(s.w.outstanding) > 0
}

// begin starts watching step st, calling cancel once its reassignment has
// run longer than limit.
func (s *simulator) begin(st *plans.Step, limit time.Duration, cancel context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &watch{step: st, peakExtra: s.bytes - s.baseBytes, limit: limit, cancel: cancel}
	for i := range st.Partitions {
		w.outstanding = append(w.outstanding, i)
	}
	s.w = w
	s.peakLocked()
}

// submitted notes the first reassignment request of the step.
func (s *simulator) submitted() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil && s.w.started.IsZero() {
		s.w.started = s.clock.Now()
	}
}

// observe reads the step's partitions not yet at `to`.
func (s *simulator) observe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.w
	if w == nil {
		return
	}
	now := s.clock.Now()
	left := w.outstanding[:0]
	for _, i := range w.outstanding {
		m := &w.step.Partitions[i]
		st, ok := s.d.Partition(m.Topic, m.Partition)
		if !ok {
			left = append(left, i)
			continue
		}
		s.updateLocked(partKey(m.Topic, m.Partition), st)
		if atTo(w.step.Phase, m, st) {
			w.lastDone = now
			continue
		}
		left = append(left, i)
	}
	w.outstanding = left
	s.peakLocked()
	if !w.gaveUp && len(left) > 0 && !w.started.IsZero() && now.Sub(w.started) > w.limit {
		w.gaveUp = true
		w.cancel()
	}
}

// atTo reports whether a partition has finished its move: at `to`, no
// reassignment in flight, and after a move-leader step led by its new
// preferred replica.
func atTo(phase plans.Phase, m *plans.Move, st kafkasim.PartitionState) bool {
	if st.Reassigning || !slices.Equal(st.Replicas, m.To) {
		return false
	}
	return phase != plans.PhaseMoveLeader || st.Leader == m.To[0]
}

func (s *simulator) peakLocked() {
	w := s.w
	for b, n := range s.counts {
		if n > w.peakReplicas || (n == w.peakReplicas && b < w.peakBroker) {
			w.peakReplicas, w.peakBroker = n, b
		}
	}
	w.peakExtra = max(w.peakExtra, s.bytes-s.baseBytes)
}

// end stops watching and returns the step's watch.
func (s *simulator) end() *watch {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.w
	s.w = nil
	return w
}

// result is the step's simulated duration and peaks.
func (w *watch) result() (time.Duration, int, int32, int64) {
	var d time.Duration
	if !w.started.IsZero() && w.lastDone.After(w.started) {
		d = w.lastDone.Sub(w.started)
	}
	return d, w.peakReplicas, w.peakBroker, w.peakExtra
}

// peakReplicas returns the most replicas each broker held so far.
func (s *simulator) peakReplicas() map[int32]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int32]int, len(s.peaks))
	for b, n := range s.peaks {
		out[b] = n
	}
	return out
}
