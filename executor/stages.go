package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
)

// submit sends the step's pending partitions, in chunks. Moves with nothing
// to copy complete inside the call (docs/kafka-behaviour.md 2).
func (r *stepRun) submit(ctx context.Context) error {
	var pending []plans.Move
	for i, p := range r.states {
		if p.State == StatePending {
			pending = append(pending, r.step.Partitions[i])
		}
	}
	r.submitted = true
	r.e.doing("submitting %d partition(s)", len(pending))
	if err := r.e.submit(ctx, pending); err != nil {
		return err
	}
	if r.e.opts.DryRun {
		r.res.WouldSubmit = len(pending)
	} else {
		r.res.Submitted = len(pending)
	}
	return nil
}

// submit sends moves' `to` in chunks of ChunkSize.
func (e *Executor) submit(ctx context.Context, moves []plans.Move) error {
	return e.alterAssignments(ctx, moves, false)
}

// alterAssignments sends each move's `to`, or with cancel a null target
// (KIP-455 cancel), in chunks of ChunkSize.
func (e *Executor) alterAssignments(ctx context.Context, moves []plans.Move, cancel bool) error {
	for start := 0; start < len(moves); start += e.opts.ChunkSize {
		chunk := moves[start:min(start+e.opts.ChunkSize, len(moves))]
		as := make([]kafkaapi.Assignment, len(chunk))
		for i, m := range chunk {
			as[i] = kafkaapi.Assignment{TP: tp{Topic: m.Topic, Partition: m.Partition}, Replicas: slices.Clone(m.To)}
			if cancel {
				as[i].Replicas = nil
			}
		}
		if _, err := e.kafka.AlterAssignments(ctx, as); err != nil {
			return err
		}
	}
	return nil
}

// watch polls until every partition of the step is at `to` (move-leader:
// reordered), reporting progress and stalls. A partition read at neither
// end of its move, nor moving towards `to`, is normal for a moment right
// after a submission: a move that completes inside the call (a reorder, an
// RF decrease) still reads as `from` on a broker whose Metadata has not
// caught up (docs/kafka-behaviour.md 24). Only a state that lasts
// SettleTimeout is drift.
func (r *stepRun) watch(ctx context.Context) error {
	e, s := r.e, r.step
	topics := stepTopics(s.Partitions)
	var (
		bestLag      int64 = -1
		lastProgress       = time.Now()
		copiedAtBest int64
		firstCopied  int64 = -1
	)
	unsettled := map[tp]time.Time{}
	var lastCopied map[int32]int64
	var lastRead time.Time
	err := poll.Until(ctx, poll.Options{First: settlePause, Interval: e.opts.PollInterval}, func(ctx context.Context) (bool, error) {
		// A run that lost the lock (its session expired, or someone broke
		// it) stops watching at once: the run that holds it now owns the
		// step.
		if err := r.lease.Check(ctx); err != nil {
			return false, err
		}
		v, err := e.readView(ctx, topics)
		if err != nil {
			return false, err
		}
		st := classifyStep(s, v)
		states := map[tp]PartitionState{}
		var inflight []tp
		var drifted []string
		pr := Progress{Step: s.Number, Undoes: s.Undoes, Phase: s.Phase, Partitions: len(st), Elapsed: time.Since(r.start), BusiestBroker: -1, Throttle: r.res.Rate}
		moving, settling := false, false
		for _, p := range st {
			key := tp{Topic: p.Topic, Partition: p.Partition}
			states[key] = p.State
			if p.State != StatePending && p.State != StateDrifted {
				delete(unsettled, key)
			}
			switch p.State {
			case StateDone:
				pr.Done++
			case StateInFlight:
				pr.InFlight++
				if v.InFlight[key] != nil {
					moving = true
					inflight = append(inflight, key)
				}
			case StateDrifted, StatePending:
				first, seen := unsettled[key]
				if !seen {
					first = time.Now()
					unsettled[key] = first
				}
				if time.Since(first) < e.opts.SettleTimeout {
					pr.InFlight++
					settling = true
					continue
				}
				if p.State == StatePending {
					drifted = append(drifted, fmt.Sprintf("%s: back at from for %s while the step runs (cancelled by someone?)", p.Name(), e.opts.SettleTimeout))
				} else {
					drifted = append(drifted, fmt.Sprintf("%s: %s (for %s)", p.Name(), p.Detail, e.opts.SettleTimeout))
				}
			}
		}
		if len(drifted) > 0 {
			return false, fmt.Errorf("%s: partitions changed while the step ran: %s", s.Label(), nameList(drifted))
		}
		sizes := e.kafka.LogDirSizes(ctx, inflight)
		pr.BytesTotal, pr.BytesCopied = copyProgress(s.Partitions, states, v, sizes)
		pr.Replicas = addingReplicas(s.Partitions, states, v, sizes)
		copied := brokerCopied(s.Partitions, states, v, sizes)
		if lastCopied != nil {
			pr.BusiestBroker, pr.BusiestRate = busiestSince(lastCopied, copied, time.Since(lastRead))
			pr.Idle = pr.BusiestBroker < 0
		}
		lastCopied, lastRead = copied, time.Now()
		if firstCopied < 0 {
			firstCopied = pr.BytesCopied
		}
		if el := time.Since(r.start).Seconds(); el > 0 && pr.BytesCopied > firstCopied {
			pr.Rate = float64(pr.BytesCopied-firstCopied) / el
			pr.ETA = time.Duration(float64(pr.BytesTotal-pr.BytesCopied) / pr.Rate * float64(time.Second))
		}
		lag := pr.BytesTotal - pr.BytesCopied + int64(pr.InFlight)
		if bestLag < 0 || lag < bestLag {
			bestLag, lastProgress, copiedAtBest = lag, time.Now(), pr.BytesCopied
		}
		// What the step needs that is down is named at once, whatever its
		// role: a reassignment ends only when every replica of its target is
		// in sync, so a kept broker that died holds it at "100% copied".
		faults := brokerFaults(s.Partitions, v, true)
		switch {
		case faults != "":
			pr.Stalled = true
			pr.StallReason = faults + ": the step waits and resumes once they return (kshift cancel reverts it; a broker lost for good: docs/operating.md, \"A broker lost mid-migration\")"
		case time.Since(lastProgress) > e.opts.StallAfter && pr.BytesCopied > copiedAtBest:
			pr.Stalled = true
			pr.StallReason = fmt.Sprintf("replicas copy but fall no closer to their leaders for %s: inbound traffic is at or above the throttle; raise it with kshift throttle set", time.Since(lastProgress).Round(time.Second))
		case time.Since(lastProgress) > e.opts.StallAfter:
			pr.Stalled = true
			pr.StallReason = fmt.Sprintf("no progress for %s: check the target brokers' logs, the throttle (kshift throttle set) or cancel (kshift cancel)", time.Since(lastProgress).Round(time.Second))
		}
		if s.Phase == plans.PhaseMoveLeader && !moving && pr.InFlight > 0 && !settling {
			pr.Note = "replicas reordered; electing leaders"
		}
		if e.opts.Progress != nil {
			e.opts.Progress(pr)
		}
		e.doing("waiting for %d of %d partition(s) of %s to reach their new replicas", pr.Partitions-pr.Done, pr.Partitions, s.Label())
		return pr.Done == pr.Partitions || (s.Phase == plans.PhaseMoveLeader && !moving && !settling), nil
	})
	return err
}

// elect runs preferred-leader elections for the step's partitions whose
// leader is not yet their first replica, in paced batches, and only for
// partitions whose first replica is in the ISR (docs/design.md invariant 5).
// It polls: the ISR and leaders in Metadata trail the truth (item 21, 24).
func (r *stepRun) elect(ctx context.Context) error {
	e, s := r.e, r.step
	topics := stepTopics(s.Partitions)
	var waiting []string
	var eligible []plans.Move
	elected := map[tp]bool{}
	defer func() { r.res.Elected = len(elected) }()
	err := poll.Until(ctx, poll.Options{Timeout: 4 * e.opts.SettleTimeout, First: settlePause, Interval: e.opts.PollInterval}, func(ctx context.Context) (bool, error) {
		// Fresh: an election must not name a partition whose first replica
		// left the ISR since a stale broker last heard (invariant 5).
		v, err := e.readFreshView(ctx, topics)
		if err != nil {
			return false, err
		}
		eligible, waiting = nil, nil
		for _, m := range s.Partitions {
			lp := v.Partitions[tp{Topic: m.Topic, Partition: m.Partition}]
			if lp == nil || lp.Leader == m.To[0] {
				continue
			}
			if !slices.Contains(lp.ISR, m.To[0]) {
				waiting = append(waiting, fmt.Sprintf("%s: broker %d not in isr %v", m.Name(), m.To[0], lp.ISR))
				continue
			}
			eligible = append(eligible, m)
		}
		if len(eligible) == 0 && len(waiting) == 0 {
			return true, nil
		}
		e.doing("electing the preferred leaders of %d partition(s), %d per batch, %s apart", len(eligible), e.opts.ElectionBatch, e.opts.ElectionWait)
		for i := 0; i < len(eligible); i += e.opts.ElectionBatch {
			batch := eligible[i:min(i+e.opts.ElectionBatch, len(eligible))]
			err := e.electBatch(ctx, batch, elected)
			if err != nil {
				return false, err
			}
			if i+e.opts.ElectionBatch < len(eligible) {
				if err := poll.Sleep(ctx, e.opts.ElectionWait); err != nil {
					return false, err
				}
			}
		}
		if e.opts.Progress != nil {
			e.opts.Progress(Progress{Step: s.Number, Undoes: s.Undoes, Phase: s.Phase, Partitions: len(s.Partitions), Done: len(s.Partitions) - len(eligible) - len(waiting), InFlight: len(eligible) + len(waiting), Note: fmt.Sprintf("electing leaders: %d elected", len(elected))})
		}
		return false, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("%s: leaders did not move to the first replica: %s; run apply again once the replicas are in sync", s.Label(), nameList(append(waiting, movesNames(eligible)...)))
	}
	return err
}

func movesNames(moves []plans.Move) []string {
	out := make([]string, len(moves))
	for i := range moves {
		out[i] = moves[i].Name()
	}
	return out
}

// electBatch sends one preferred election for exactly these partitions and
// adds those led by their preferred replica now to elected (a partition
// elected again, because Metadata still showed its old leader, counts
// once). PREFERRED_LEADER_NOT_AVAILABLE is retried by the caller's next
// round.
func (e *Executor) electBatch(ctx context.Context, batch []plans.Move, elected map[tp]bool) error {
	parts := make([]tp, len(batch))
	for i, m := range batch {
		parts[i] = tp{Topic: m.Topic, Partition: m.Partition}
	}
	res, err := e.kafka.ElectPreferred(ctx, parts)
	for key, perr := range res {
		if perr == nil {
			elected[key] = true
		}
	}
	return err
}

// offsetPair is a partition's log start and end offsets.
type offsetPair = kafkaapi.Offsets

// offsetsUnreadableError names the partitions whose log offsets could not be
// read, with why.
type offsetsUnreadableError struct {
	failed map[tp]string
	after  time.Duration
}

// keys returns the unread partitions in name order.
func (e *offsetsUnreadableError) keys() []tp { return kafkaapi.SortedTPs(e.failed) }

func (e *offsetsUnreadableError) names() []string {
	var out []string
	for _, key := range e.keys() {
		out = append(out, fmt.Sprintf("%s: %s", key, e.failed[key]))
	}
	return out
}

func (e *offsetsUnreadableError) Error() string {
	return fmt.Sprintf("could not read the log start and end offsets of %d partition(s), retried for %s: %s; "+
		"kshift compares them before and after a step and does not pass a partition it could not read: "+
		"find why their leaders do not answer ListOffsets (kshift check, the brokers' logs) and run the command again",
		len(e.failed), e.after, nameList(e.names()))
}

// offsets reads the log start and end offsets of every move's partition.
// Partitions whose leader answers with an error (a leader elected a moment
// ago answers OFFSET_NOT_AVAILABLE until its high watermark is known) or
// whose request fails are read again until SettleTimeout; any still unread
// then make an *offsetsUnreadableError: no partition is left out.
func (e *Executor) offsets(ctx context.Context, moves []plans.Move) (map[tp]offsetPair, error) {
	e.doing("reading the log offsets of %d partition(s)", len(moves))
	out := map[tp]offsetPair{}
	todo := make([]tp, len(moves))
	for i, m := range moves {
		todo[i] = tp{Topic: m.Topic, Partition: m.Partition}
	}
	var failed map[tp]string
	err := poll.Until(ctx, poll.Options{Timeout: e.opts.SettleTimeout, First: settlePause, Interval: e.opts.PollInterval}, func(ctx context.Context) (bool, error) {
		var got map[tp]offsetPair
		got, failed = e.kafka.Offsets(ctx, todo)
		for key, o := range got {
			out[key] = o
		}
		todo = slices.DeleteFunc(todo, func(key tp) bool { return failed[key] == "" })
		return len(failed) == 0, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return nil, &offsetsUnreadableError{failed: failed, after: e.opts.SettleTimeout}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// verify checks the step's end state: every partition at `to` with its full
// replica set in the ISR (and, for move-leader, led by its first replica),
// polled until consistent; and no log start or end offset went backwards.
func (r *stepRun) verify(ctx context.Context) error {
	e, s := r.e, r.step
	e.doing("verifying %s", s.Label())
	topics := stepTopics(s.Partitions)
	var bad []string
	err := poll.Until(ctx, poll.Options{Timeout: e.opts.SettleTimeout, First: settlePause, Interval: e.opts.PollInterval}, func(ctx context.Context) (bool, error) {
		v, err := e.readView(ctx, topics)
		if err != nil {
			return false, err
		}
		bad = nil
		for _, m := range s.Partitions {
			lp := v.Partitions[tp{Topic: m.Topic, Partition: m.Partition}]
			switch {
			case lp == nil:
				bad = append(bad, m.Name()+": missing")
			case lp.Reassigning || !slices.Equal(lp.Replicas, m.To):
				bad = append(bad, fmt.Sprintf("%s: replicas %v, want %v", m.Name(), lp.Replicas, m.To))
			case !plans.SameMembers(lp.ISR, m.To):
				bad = append(bad, fmt.Sprintf("%s: isr %v, want all of %v", m.Name(), lp.ISR, m.To))
			case s.Phase == plans.PhaseMoveLeader && lp.Leader != m.To[0]:
				bad = append(bad, fmt.Sprintf("%s: leader %d, want %d", m.Name(), lp.Leader, m.To[0]))
			}
		}
		return len(bad) == 0, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return fmt.Errorf("%s: verification failed after %s: %s", s.Label(), e.opts.SettleTimeout, nameList(bad))
	}
	if err != nil {
		return err
	}
	after, err := e.offsets(ctx, s.Partitions)
	var unreadable *offsetsUnreadableError
	if errors.As(err, &unreadable) {
		var was []string
		for _, key := range unreadable.keys() {
			b := r.before[key]
			was = append(was, fmt.Sprintf("%s: start %d, end %d", key, b.Start, b.End))
		}
		return fmt.Errorf("%s: verification failed: the partitions are at `to` but the log offsets of %d partition(s) could not be read after the step, so kshift cannot show that no data was lost: %s. "+
			"Read them by hand (kafka-run-class.sh kafka.tools.GetOffsetShell --topic T --partitions N --time -2, then -1) and compare with those before the step (%s): a start or end lower than before means lost data",
			s.Label(), len(unreadable.failed), nameList(unreadable.names()), nameList(was))
	}
	if err != nil {
		return err
	}
	var back []string
	for _, m := range s.Partitions {
		key := tp{Topic: m.Topic, Partition: m.Partition}
		b, okBefore := r.before[key]
		a, okAfter := after[key]
		switch {
		case !okBefore || !okAfter:
			// offsets never returns a partial map; a gap here is a bug
			// and must not pass as continuity.
			back = append(back, fmt.Sprintf("%s: offsets not read (before %v, after %v)", key, okBefore, okAfter))
		case a.Start < b.Start || a.End < b.End:
			back = append(back, fmt.Sprintf("%s: start %d->%d, end %d->%d", key, b.Start, a.Start, b.End, a.End))
		}
	}
	if len(back) > 0 {
		return fmt.Errorf("%s: verification failed: log offsets went backwards (data lost, e.g. by an unclean leader election; check the brokers' logs): %s", s.Label(), nameList(back))
	}
	return nil
}
