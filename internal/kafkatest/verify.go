package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Problem is a kind of broken promise Verify and Check find.
type Problem string

const (
	// ProblemLost is an acknowledged record missing from the log: its
	// offset is past the partition's end, before its start, or was not read.
	ProblemLost Problem = "lost"
	// ProblemMisplaced is an acknowledged offset holding another record.
	ProblemMisplaced Problem = "misplaced"
	// ProblemDuplicated is a record found at more than one offset.
	ProblemDuplicated Problem = "duplicated"
	// ProblemOutOfOrder is a partition whose records are not in the order
	// they were produced.
	ProblemOutOfOrder Problem = "out of order"
	// ProblemForeign is a record the workload did not produce (another run,
	// not a workload record, or a sequence number never handed out).
	ProblemForeign Problem = "foreign"
	// ProblemNotConsumed is an acknowledged record the consumer group was
	// never handed.
	ProblemNotConsumed Problem = "not consumed"
	// ProblemNotCommitted is a partition whose committed group offset is
	// not its end once the consumer caught up.
	ProblemNotCommitted Problem = "not committed"
)

// allProblems orders the kinds in reports.
var allProblems = []Problem{ProblemLost, ProblemMisplaced, ProblemDuplicated, ProblemOutOfOrder, ProblemForeign, ProblemNotConsumed, ProblemNotCommitted}

// Report is what a workload did and what Verify or Check found.
type Report struct {
	// Produced records were handed to the producer; Acked were
	// acknowledged; Failed finally failed or were unanswered at Stop (not
	// acknowledged).
	Produced, Acked, Failed int64
	// Consumed records were handed to the consumer group (repeats after a
	// rebalance included); ConsumedDistinct counts each offset once.
	Consumed, ConsumedDistinct int64
	// ReadBack records were read from the start of every partition;
	// UnackedPresent of them were not acknowledged (allowed, once: a
	// produce can fail after the leader appended it).
	ReadBack, UnackedPresent int64
	// Retried counts the produce errors kgo retried, by Kafka error name
	// (NOT_ENOUGH_REPLICAS, NOT_LEADER_FOR_PARTITION...): unavailability,
	// not loss. Best effort (read from kgo's log).
	Retried map[string]int
	// Failures counts why records failed.
	Failures map[string]int
	// ConsumerErrors counts the errors the consumer's polls returned.
	ConsumerErrors map[string]int
	// ProblemCounts counts each kind of problem; Problems describes them,
	// one line per kind with a few examples. Both are empty when every
	// promise was kept.
	ProblemCounts map[Problem]int
	Problems      []string
}

// Err is nil when no problem was found, else an error listing them.
func (r Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return errors.New("records not as acknowledged:\n  " + strings.Join(r.Problems, "\n  "))
}

// String summarises the report on a few lines, for t.Log.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "produced %d, acked %d, failed %d%s; consumed %d (%d distinct)%s; read back %d (%d not acknowledged); retried%s",
		r.Produced, r.Acked, r.Failed, formatCounts(r.Failures), r.Consumed, r.ConsumedDistinct, formatCounts(r.ConsumerErrors),
		r.ReadBack, r.UnackedPresent, formatCounts(r.Retried))
	if len(r.Retried) == 0 {
		b.WriteString(" nothing")
	}
	if len(r.Problems) == 0 {
		b.WriteString("; no problem")
	} else {
		b.WriteString("; problems:\n  " + strings.Join(r.Problems, "\n  "))
	}
	return b.String()
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// problems collects problems into a Report, keeping a few examples of each.
type problems struct {
	rep      *Report
	examples map[Problem][]string
}

const examplesPerProblem = 5

func newProblems(rep *Report) *problems {
	if rep.ProblemCounts == nil {
		rep.ProblemCounts = map[Problem]int{}
	}
	return &problems{rep: rep, examples: map[Problem][]string{}}
}

func (p *problems) add(kind Problem, format string, args ...any) {
	p.rep.ProblemCounts[kind]++
	if len(p.examples[kind]) < examplesPerProblem {
		p.examples[kind] = append(p.examples[kind], fmt.Sprintf(format, args...))
	}
}

// finish writes one line per kind found since newProblems.
func (p *problems) finish() {
	for _, kind := range allProblems {
		ex := p.examples[kind]
		if len(ex) == 0 {
			continue
		}
		line := fmt.Sprintf("%s: %d: %s", kind, p.rep.ProblemCounts[kind], strings.Join(ex, "; "))
		if n := p.rep.ProblemCounts[kind]; n > len(ex) {
			line += fmt.Sprintf("; and %d more", n-len(ex))
		}
		p.rep.Problems = append(p.rep.Problems, line)
	}
}

// Expectation is what the log of a workload's topics must hold.
type Expectation struct {
	// Run is the run id every record of the workload carries.
	Run string
	// Topics hold the workload's records and nothing else.
	Topics []string
	// Acked are the acknowledged records: each must be at its offset.
	Acked []Ack
	// Attempted is how many records were handed to the producer: sequence
	// numbers 0 to Attempted-1 may be in the log, each at most once.
	Attempted int64
}

// Check reads every partition of exp.Topics from its start to its end
// (high watermark) and checks the promises of an idempotent acks=all
// producer: every acknowledged record is at the offset its ack named
// (none lost, none misplaced), no record is there twice, each partition
// holds its records in produce order, and nothing else is there. Records
// that were produced but not acknowledged may be there, once. It returns
// an error only when it cannot read; broken promises are in the report.
func (c *Cluster) Check(ctx context.Context, exp Expectation) (Report, error) {
	rep := Report{ProblemCounts: map[Problem]int{}}
	cl, err := kgo.NewClient(c.ClientOpts()...)
	if err != nil {
		return rep, fmt.Errorf("making a client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := listOffsets(ctx, adm.ListStartOffsets, exp.Topics)
	if err != nil {
		return rep, err
	}
	ends, err := listOffsets(ctx, adm.ListEndOffsets, exp.Topics)
	if err != nil {
		return rep, err
	}
	logs, err := c.readBack(ctx, starts, ends)
	if err != nil {
		return rep, err
	}
	p := newProblems(&rep)
	at := map[topicPartition]map[int64]int64{} // offset -> seq of the run's records
	where := map[int64][]place{}
	tps := make([]topicPartition, 0, len(ends))
	for tp := range ends {
		tps = append(tps, tp)
	}
	sortTPs(tps)
	for _, tp := range tps {
		at[tp] = map[int64]int64{}
		prev, prevOffset := int64(-1), int64(-1)
		for _, r := range logs[tp] {
			rep.ReadBack++
			run, seq, ok := parseRecordValue(r.Value)
			if !ok || run != exp.Run || seq < 0 || seq >= exp.Attempted {
				p.add(ProblemForeign, "%s@%d holds %.40q", tp, r.Offset, r.Value)
				continue
			}
			at[tp][r.Offset] = seq
			where[seq] = append(where[seq], place{tp, r.Offset})
			if seq <= prev {
				p.add(ProblemOutOfOrder, "%s: seq %d at %d after seq %d at %d", tp, seq, r.Offset, prev, prevOffset)
			}
			prev, prevOffset = seq, r.Offset
		}
	}
	acked := map[int64]bool{}
	for _, a := range exp.Acked {
		acked[a.Seq] = true
		tp := topicPartition{a.Topic, a.Partition}
		seq, ok := at[tp][a.Offset]
		switch {
		case ok && seq == a.Seq:
		case ok:
			p.add(ProblemMisplaced, "seq %d acknowledged at %s@%d, which holds seq %d%s", a.Seq, tp, a.Offset, seq, foundAt(where[a.Seq]))
		case a.Offset < starts[tp]:
			p.add(ProblemLost, "seq %d acknowledged at %s@%d, before the log start %d", a.Seq, tp, a.Offset, starts[tp])
		case a.Offset >= ends[tp]:
			p.add(ProblemLost, "seq %d acknowledged at %s@%d, past the end %d%s", a.Seq, tp, a.Offset, ends[tp], foundAt(where[a.Seq]))
		default:
			p.add(ProblemLost, "seq %d acknowledged at %s@%d, which holds no record of the run%s", a.Seq, tp, a.Offset, foundAt(where[a.Seq]))
		}
	}
	seqs := make([]int64, 0, len(where))
	for seq := range where {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, seq := range seqs {
		places := where[seq]
		if len(places) > 1 {
			p.add(ProblemDuplicated, "seq %d at %v", seq, places)
		}
		if !acked[seq] {
			rep.UnackedPresent++
		}
	}
	p.finish()
	return rep, nil
}

// place is where a record was read.
type place struct {
	tp     topicPartition
	offset int64
}

func (p place) String() string { return fmt.Sprintf("%s@%d", p.tp, p.offset) }

// foundAt says where a record was found, for problem lines.
func foundAt(places []place) string {
	if len(places) == 0 {
		return " (not found anywhere)"
	}
	return fmt.Sprintf(" (found at %v)", places)
}

// readBack reads each partition from starts to ends.
func (c *Cluster) readBack(ctx context.Context, starts, ends map[topicPartition]int64) (map[topicPartition][]*kgo.Record, error) {
	want := map[string]map[int32]kgo.Offset{}
	next := map[topicPartition]int64{}
	for tp, end := range ends {
		if end <= starts[tp] {
			continue
		}
		if want[tp.topic] == nil {
			want[tp.topic] = map[int32]kgo.Offset{}
		}
		want[tp.topic][tp.partition] = kgo.NewOffset().At(starts[tp])
		next[tp] = starts[tp]
	}
	out := map[topicPartition][]*kgo.Record{}
	if len(next) == 0 {
		return out, nil
	}
	cl, err := kgo.NewClient(append(c.ClientOpts(), kgo.ConsumePartitions(want), kgo.FetchMaxWait(200*time.Millisecond))...)
	if err != nil {
		return nil, fmt.Errorf("making a client to read back: %w", err)
	}
	defer cl.Close()
	behind := func() []string {
		var s []string
		for tp, n := range next {
			if n < ends[tp] {
				s = append(s, fmt.Sprintf("%s at %d of %d", tp, n, ends[tp]))
			}
		}
		sort.Strings(s)
		return s
	}
	var fetchErrs []error
	for len(behind()) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			err := fmt.Errorf("reading back: %w: %s", context.Cause(ctx), strings.Join(behind(), ", "))
			return nil, errors.Join(append([]error{err}, fetchErrs...)...)
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if len(fetchErrs) < 5 {
				fetchErrs = append(fetchErrs, fmt.Errorf("%s-%d: %w", topic, p, err))
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			tp := topicPartition{r.Topic, r.Partition}
			if r.Offset >= ends[tp] {
				return // written after the end was listed: not this check's
			}
			out[tp] = append(out[tp], r)
			next[tp] = r.Offset + 1
		})
	}
	return out, nil
}

func sortTPs(tps []topicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
}
