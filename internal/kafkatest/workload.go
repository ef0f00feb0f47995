package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// WorkloadOptions shape StartWorkload.
type WorkloadOptions struct {
	// Topics are written in turn, each record to the next partition of its
	// topic (round robin). They must exist and hold nothing else.
	Topics []string
	// Rate is records per second over all topics (default 50).
	Rate int
	// RecordBytes pads each record to about this size (default 100).
	RecordBytes int
	// Group, when set, runs a consumer group member reading every topic
	// from the start and committing its offsets (every second, and at Stop).
	Group string
	// MaxRecords and MaxDuration stop the producer by themselves (defaults
	// 1,000,000 records and 30 min), so that a test that forgets Stop
	// cannot write forever.
	MaxRecords  int64
	MaxDuration time.Duration
}

// stopWait bounds each phase of Workload.Stop: the producer's flush and
// the consumer's catching up.
const stopWait = 60 * time.Second

// Workload is a producer, and optionally a consumer group member, running
// against a cluster in goroutines, for tests that check a migration loses
// nothing a client was promised.
//
// The producer is idempotent with acks=all (kgo's defaults): a record is
// acknowledged when the leader has it in every in-sync replica and
// answered with its offset. Errors kgo retries are expected and counted in
// Report.Retried, not failures. In particular NOT_ENOUGH_REPLICAS (the
// ISR is smaller than the topic's min.insync.replicas, so the leader
// appended nothing) and NOT_ENOUGH_REPLICAS_AFTER_APPEND (appended, but
// the ISR shrank before enough replicas had it) are retriable: during a
// broker stop, or a move whose ISR dips below min.insync.replicas, they
// mean the partition refused writes for a while, not that a record was
// lost. kgo retries with the same producer id and sequence number, so the
// leader answers a retry of an appended batch with its first offset
// instead of writing it twice. A record whose produce finally failed (or
// was still unanswered when Stop gave up) is not acknowledged: it may or
// may not be in the log, and Verify accepts either, once.
type Workload struct {
	c    *Cluster
	opts WorkloadOptions
	run  string
	log  *produceLog

	producer      *kgo.Client
	consumer      *kgo.Client
	stopProducing context.CancelFunc // ends the producer loop
	stopConsuming context.CancelFunc // ends the consumer loop
	produced      chan struct{}      // closed when the producer loop ends
	consumed      chan struct{}      // closed when the consumer loop ends

	mu        sync.Mutex
	attempted int64
	acks      []Ack
	failed    int64
	failures  map[string]int
	delivered int64
	seen      map[topicPartition]map[int64]bool
	next      map[topicPartition]int64 // the consumer's position: last offset seen + 1
	consErrs  map[string]int

	stopOnce sync.Once
	stopErr  error
}

// Ack is one acknowledged record: where the producer was told it is, and
// the sequence number it carries.
type Ack struct {
	Topic     string
	Partition int32
	Offset    int64
	Seq       int64
}

type topicPartition struct {
	topic     string
	partition int32
}

func (tp topicPartition) String() string { return fmt.Sprintf("%s-%d", tp.topic, tp.partition) }

// StartWorkload starts producing (and consuming, with opts.Group) at once.
// The test must call Stop or Verify; a cleanup stops it otherwise.
func (c *Cluster) StartWorkload(t testing.TB, opts WorkloadOptions) *Workload {
	t.Helper()
	if len(opts.Topics) == 0 {
		t.Fatal("kafkatest: a workload needs at least one topic")
	}
	if opts.Rate <= 0 {
		opts.Rate = 50
	}
	if opts.RecordBytes <= 0 {
		opts.RecordBytes = 100
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = 1_000_000
	}
	if opts.MaxDuration <= 0 {
		opts.MaxDuration = 30 * time.Minute
	}
	w := &Workload{
		c: c, opts: opts, run: randomHex(4), log: &produceLog{retried: map[string]int{}},
		produced: make(chan struct{}), consumed: make(chan struct{}),
		failures: map[string]int{}, seen: map[topicPartition]map[int64]bool{},
		next: map[topicPartition]int64{}, consErrs: map[string]int{},
	}
	var err error
	w.producer, err = kgo.NewClient(append(c.ClientOpts(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.WithLogger(w.log),
	)...)
	if err != nil {
		t.Fatalf("kafkatest: making the workload's producer: %v", err)
	}
	pctx, stopProducing := context.WithCancel(context.Background())
	cctx, stopConsuming := context.WithCancel(context.Background())
	w.stopProducing, w.stopConsuming = stopProducing, stopConsuming
	if opts.Group != "" {
		w.consumer, err = kgo.NewClient(append(c.ClientOpts(),
			kgo.ConsumerGroup(opts.Group),
			kgo.ConsumeTopics(opts.Topics...),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(500*time.Millisecond),
			kgo.AutoCommitInterval(time.Second),
		)...)
		if err != nil {
			stopProducing()
			stopConsuming()
			w.producer.Close()
			t.Fatalf("kafkatest: making the workload's consumer: %v", err)
		}
		go w.consume(cctx)
	} else {
		close(w.consumed)
	}
	go w.produce(pctx)
	t.Cleanup(func() {
		if err := w.stop(); err != nil {
			t.Errorf("kafkatest: %v", err)
		}
	})
	return w
}

// Run is the workload's run id, written in every record it produces.
func (w *Workload) Run() string { return w.run }

// produce hands records to the producer at opts.Rate until ctx ends or a
// limit is reached.
func (w *Workload) produce(ctx context.Context) {
	defer close(w.produced)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var seq int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		elapsed := time.Since(start)
		due := min(int64(elapsed.Seconds()*float64(w.opts.Rate)), w.opts.MaxRecords)
		for ; seq < due; seq++ {
			rec := &kgo.Record{
				Topic: w.opts.Topics[seq%int64(len(w.opts.Topics))],
				Value: recordValue(w.run, seq, w.opts.RecordBytes),
			}
			w.mu.Lock()
			w.attempted = seq + 1
			w.mu.Unlock()
			// TryProduce never blocks: with the buffer full (the cluster
			// refusing writes for minutes) the record fails at once and
			// the loop keeps its pace and still sees ctx end.
			w.producer.TryProduce(context.Background(), rec, w.onAck)
		}
		if seq >= w.opts.MaxRecords || elapsed >= w.opts.MaxDuration {
			return
		}
	}
}

func (w *Workload) onAck(r *kgo.Record, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.failed++
		w.failures[errorName(err)]++
		return
	}
	_, seq, ok := parseRecordValue(r.Value)
	if !ok {
		w.failed++
		w.failures["acknowledged a record it cannot parse"]++
		return
	}
	w.acks = append(w.acks, Ack{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Seq: seq})
}

// consume polls until ctx ends, noting every record the group hands it.
func (w *Workload) consume(ctx context.Context) {
	defer close(w.consumed)
	for {
		fetches := w.consumer.PollFetches(ctx)
		w.mu.Lock()
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, kgo.ErrClientClosed) {
				w.consErrs[errorName(err)]++
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			tp := topicPartition{r.Topic, r.Partition}
			if w.seen[tp] == nil {
				w.seen[tp] = map[int64]bool{}
			}
			w.seen[tp][r.Offset] = true
			w.delivered++
			if r.Offset+1 > w.next[tp] {
				w.next[tp] = r.Offset + 1
			}
		})
		w.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

// Stop stops producing, waits up to 60 s for the records in flight to be
// answered (those still unanswered then fail: not acknowledged), lets the
// consumer catch up with the end of every partition (60 s), commits its
// offsets and closes both clients. It fails t when the flush, the catching
// up or the commit did not finish. Calling it again does nothing.
func (w *Workload) Stop(t testing.TB) {
	t.Helper()
	if err := w.stop(); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}

func (w *Workload) stop() error {
	w.stopOnce.Do(func() {
		var errs []error
		// Stop handing out records, then wait for the ones in flight.
		w.stopProducing()
		<-w.produced
		ctx, cancel := context.WithTimeout(context.Background(), stopWait)
		if err := w.producer.Flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("workload: records unanswered %s after the producer stopped (they count as not acknowledged): %w", stopWait, err))
		}
		cancel()
		w.producer.Close()
		if w.consumer != nil {
			errs = append(errs, w.stopConsumer())
		}
		w.stopConsuming()
		<-w.consumed
		w.stopErr = errors.Join(errs...)
	})
	return w.stopErr
}

// stopConsumer waits until the consumer has read to the end of every
// partition, commits and closes it.
func (w *Workload) stopConsumer() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	cl, err := kgo.NewClient(w.c.ClientOpts()...)
	if err != nil {
		return fmt.Errorf("workload: making a client: %w", err)
	}
	adm := kadm.NewClient(cl)
	err = Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		ends, err := listOffsets(ctx, adm.ListEndOffsets, w.opts.Topics)
		if err != nil {
			return err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		var behind []string
		for tp, end := range ends {
			if w.next[tp] < end {
				behind = append(behind, fmt.Sprintf("%s at %d of %d", tp, w.next[tp], end))
			}
		}
		if len(behind) > 0 {
			sort.Strings(behind)
			return fmt.Errorf("consumer behind: %s", strings.Join(behind, ", "))
		}
		return nil
	})
	adm.Close()
	if err != nil {
		errs = append(errs, fmt.Errorf("workload: the consumer group did not catch up within %s: %w", stopWait, err))
	}
	if err := w.consumer.CommitUncommittedOffsets(ctx); err != nil {
		errs = append(errs, fmt.Errorf("workload: committing the consumer's offsets: %w", err))
	}
	w.stopConsuming()
	<-w.consumed
	w.consumer.Close()
	return errors.Join(errs...)
}

// Acks are the records acknowledged so far, in the order the acks came.
func (w *Workload) Acks() []Ack {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Ack(nil), w.acks...)
}

// Expectation is what Check holds the log to after the workload so far.
func (w *Workload) Expectation() Expectation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Expectation{Run: w.run, Topics: w.opts.Topics, Acked: append([]Ack(nil), w.acks...), Attempted: w.attempted}
}

// Counts are the workload's counters so far (Report without the read-back).
func (w *Workload) Counts() Report {
	w.mu.Lock()
	defer w.mu.Unlock()
	distinct := 0
	for _, offs := range w.seen {
		distinct += len(offs)
	}
	return Report{
		Produced: w.attempted, Acked: int64(len(w.acks)), Failed: w.failed,
		Consumed: w.delivered, ConsumedDistinct: int64(distinct),
		Retried: w.log.counts(), Failures: cloneCounts(w.failures), ConsumerErrors: cloneCounts(w.consErrs),
		ProblemCounts: map[Problem]int{},
	}
}

// Verify stops the workload (as Stop) and checks the log and the group:
// Check's read-back of every partition from its start, then that the
// consumer was handed every acknowledged record and that the group's
// committed offset is the end of every partition. It fails t (without
// stopping it) with every problem found, and returns the report for the
// test to log.
func (w *Workload) Verify(t testing.TB) Report {
	t.Helper()
	if err := w.stop(); err != nil {
		t.Errorf("kafkatest: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := w.c.Check(ctx, w.Expectation())
	if err != nil {
		t.Fatalf("kafkatest: verifying the workload: %v", err)
	}
	counts := w.Counts()
	rep.Produced, rep.Acked, rep.Failed = counts.Produced, counts.Acked, counts.Failed
	rep.Consumed, rep.ConsumedDistinct = counts.Consumed, counts.ConsumedDistinct
	rep.Retried, rep.Failures, rep.ConsumerErrors = counts.Retried, counts.Failures, counts.ConsumerErrors
	if w.consumer != nil {
		w.checkGroup(ctx, &rep)
	}
	if rep.Err() != nil {
		t.Errorf("kafkatest: workload %s broke its promises: %s", w.run, rep)
	}
	return rep
}

// checkGroup adds the consumer's problems to rep: acknowledged records it
// was never handed, and committed offsets short of the partition's end.
func (w *Workload) checkGroup(ctx context.Context, rep *Report) {
	p := newProblems(rep)
	w.mu.Lock()
	for _, a := range w.acks {
		tp := topicPartition{a.Topic, a.Partition}
		if !w.seen[tp][a.Offset] {
			p.add(ProblemNotConsumed, "%s@%d seq %d", tp, a.Offset, a.Seq)
		}
	}
	w.mu.Unlock()
	cl, err := kgo.NewClient(w.c.ClientOpts()...)
	if err != nil {
		p.add(ProblemNotCommitted, "cannot make a client: %v", err)
		p.finish()
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := listOffsets(ctx, adm.ListEndOffsets, w.opts.Topics)
	if err != nil {
		p.add(ProblemNotCommitted, "cannot read the end offsets: %v", err)
		p.finish()
		return
	}
	committed, err := adm.FetchOffsets(ctx, w.opts.Group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		p.add(ProblemNotCommitted, "cannot read group %s's offsets: %v", w.opts.Group, err)
		p.finish()
		return
	}
	tps := make([]topicPartition, 0, len(ends))
	for tp := range ends {
		tps = append(tps, tp)
	}
	sortTPs(tps)
	for _, tp := range tps {
		o, ok := committed.Lookup(tp.topic, tp.partition)
		switch {
		case ends[tp] == 0:
		case !ok:
			p.add(ProblemNotCommitted, "%s: no committed offset, end %d", tp, ends[tp])
		case o.At != ends[tp]:
			p.add(ProblemNotCommitted, "%s: committed %d, end %d", tp, o.At, ends[tp])
		}
	}
	p.finish()
}

// listOffsets turns a kadm offset listing into a map, failing on any
// partition's error.
func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topics []string) (map[topicPartition]int64, error) {
	listed, err := list(ctx, topics...)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %v: %w", topics, err)
	}
	out := map[topicPartition]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[topicPartition{o.Topic, o.Partition}] = o.Offset })
	return out, nil
}

// recordValue is a workload record: "kafkatest RUN SEQ " padded with dots.
func recordValue(run string, seq int64, size int) []byte {
	v := fmt.Sprintf("kafkatest %s %d ", run, seq)
	if len(v) < size {
		v += strings.Repeat(".", size-len(v))
	}
	return []byte(v)
}

// parseRecordValue reads a workload record's run and sequence number.
func parseRecordValue(v []byte) (run string, seq int64, ok bool) {
	f := strings.Fields(string(v))
	if len(f) < 3 || f[0] != "kafkatest" {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return f[1], seq, true
}

// errorName names err for counting: its Kafka error name
// (NOT_ENOUGH_REPLICAS), a network failure's kind, or else its text.
func errorName(err error) string {
	var ke *kerr.Error
	var ne net.Error
	switch {
	case errors.As(err, &ke):
		return ke.Message
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF):
		return "connection closed"
	case errors.As(err, &ne):
		return "network error"
	}
	s := err.Error()
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// produceLog counts the produce errors kgo retries, which it reports only
// in its log: a partition's error in a produce response appears as
// "retrying@OFFSET,N(ERROR_NAME: ...)" in the debug line "produced", and a
// whole failed request as "produce request failed...". Best effort: a kgo
// that words these differently leaves the counts at zero.
type produceLog struct {
	mu      sync.Mutex
	retried map[string]int
}

var retryingRE = regexp.MustCompile(`retrying@-?\d+,\d+\(([A-Z_]+)`)

func (l *produceLog) Level() kgo.LogLevel { return kgo.LogLevelDebug }

func (l *produceLog) Log(_ kgo.LogLevel, msg string, keyvals ...any) {
	switch {
	case msg == "produced":
		for i := 0; i+1 < len(keyvals); i += 2 {
			if keyvals[i] != "to" {
				continue
			}
			s, _ := keyvals[i+1].(string)
			for _, m := range retryingRE.FindAllStringSubmatch(s, -1) {
				l.add(m[1])
			}
		}
	case strings.HasPrefix(msg, "produce request failed"):
		for i := 0; i+1 < len(keyvals); i += 2 {
			if err, ok := keyvals[i+1].(error); ok && keyvals[i] == "err" {
				l.add(errorName(err))
			}
		}
	}
}

func (l *produceLog) add(name string) {
	l.mu.Lock()
	l.retried[name]++
	l.mu.Unlock()
}

func (l *produceLog) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return cloneCounts(l.retried)
}
