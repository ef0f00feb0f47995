package planner

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
)

// Summary limits: a pull request description stays readable for a
// 200,000-partition plan.
const (
	summaryLargestSteps    = 10
	summaryWarningsPerKind = 20
)

// WriteSummary writes the Markdown summary of a plan for its pull request:
// the header, totals, a table per phase and a timeline chart, the balance
// reached with charts of the load before and after, the warnings,
// the largest steps and how to apply it. The output is deterministic: the
// same result always gives the same bytes.
func WriteSummary(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	s := summary{w: bw, r: r, p: r.Plan}
	s.header()
	s.totals()
	s.phases()
	s.timelineChart()
	s.balance()
	s.loadCharts()
	s.warnings()
	s.largestSteps()
	s.howToApply()
	return bw.Flush()
}

type summary struct {
	w *bufio.Writer
	r *Result
	p *plans.Plan
}

func (s *summary) printf(format string, args ...any) { fmt.Fprintf(s.w, format, args...) }

func (s *summary) header() {
	p := s.p
	title := "Migration plan"
	if p.Kind == plans.KindRollback {
		title = "Rollback plan"
	}
	s.printf("# %s for cluster `%s`\n\n", title, p.ClusterID)
	s.printf("| | |\n|---|---|\n")
	s.printf("| cluster id | `%s` |\n", p.ClusterID)
	s.printf("| kind | %s |\n", p.Kind)
	s.printf("| strategy | %s |\n", p.Strategy)
	s.printf("| throttle | %s per broker (%d bytes/s) |\n", p.Throttle, int64(p.Throttle))
	if len(p.SourceBrokers) > 0 || len(p.TargetBrokers) > 0 {
		s.printf("| source brokers | %s |\n", idList(p.SourceBrokers))
		s.printf("| target brokers | %s |\n", idList(p.TargetBrokers))
	}
	s.printf("| snapshot sha256 | %s |\n", hashCell(p.SnapshotSHA256))
	s.printf("| mapping sha256 | %s |\n", hashCell(p.MappingSHA256))
	s.printf("| kshift version | %s |\n\n", p.KshiftVersion)
}

func (s *summary) totals() {
	t := s.p.Totals
	s.printf("## Totals\n\n")
	s.printf("**%d steps** touching **%d partitions**, copying **%s** (%d bytes); about **%s** in all: **%s** copying at the throttle and **%s** of fixed costs.\n\n",
		t.Steps, t.Partitions, t.BytesToCopy, int64(t.BytesToCopy), t.TotalDuration, t.Duration, t.FixedCost)
	s.printf("%s", estimateIncludes())
	if slices.ContainsFunc(s.p.Steps, func(st plans.Step) bool { return st.Phase.IsZooKeeper() }) {
		s.printf(" ZooKeeper steps are not estimated: they wait on the ensemble, and a fork on you.")
	}
	s.printf("\n\n")
	s.retire()
}

// estimateIncludes says what a step's estimate is made of, from the model's
// own constants (plans.FixedCost).
func estimateIncludes() string {
	secs := func(d time.Duration) string { return fmt.Sprintf("%gs", d.Seconds()) }
	return fmt.Sprintf("Each step's estimate is its copy time, the bytes its busiest broker receives or sends at %.0f%% of the throttle, "+
		"plus a fixed cost per step of %s (the gates, the lock, throttle writes and their read-back, verification, Kafka completing a move that copies nothing) "+
		"and, for move-leader, %s per election batch and %s between batches (paced elections at `--election-batch %d` / `--election-wait %s`, apply's defaults). "+
		"Fixed costs are written rounded to whole seconds.",
		100*plans.ThrottleEfficiency, secs(plans.StepFixedCost), secs(plans.ElectionBatchCost), secs(plans.DefaultElectionWait), plans.DefaultElectionBatch, plans.DefaultElectionWait)
}

// retire says what the retire-sources step asks of the operator: it is
// not estimated, since it waits for people.
func (s *summary) retire() {
	for _, st := range s.p.Steps {
		if st.Phase != plans.PhaseRetireSources || st.Retire == nil {
			continue
		}
		r := st.Retire
		if r.Restart {
			s.printf("Step %d (retire-sources) has nothing to undo but restarting source brokers %s; the undo of the steps before it needs them.\n\n", st.Number, idList(r.Sources))
			continue
		}
		s.printf("Step %d (retire-sources) is not estimated: it checks that source brokers %s hold nothing, moves the controller off them, and waits for you to stop them", st.Number, idList(r.Sources))
		if r.Bootstrap != "" {
			s.printf("; clients then bootstrap from `%s`", r.Bootstrap)
		}
		s.printf(".\n\n")
	}
}

type phaseTotals struct {
	steps, partitions int
	first, last       int
	bytes             plans.ByteSize
	copy, fixed       plans.Duration
}

func (s *summary) phases() {
	byPhase := map[plans.Phase]*phaseTotals{}
	for i := range s.p.Steps {
		st := &s.p.Steps[i]
		pt := byPhase[st.Phase]
		if pt == nil {
			pt = &phaseTotals{first: st.Number}
			byPhase[st.Phase] = pt
		}
		pt.steps++
		pt.last = st.Number
		pt.partitions += len(st.Partitions)
		pt.bytes += st.Estimate.BytesToCopy
		pt.copy += st.Estimate.Duration
		pt.fixed += st.Estimate.FixedCost
	}
	s.printf("## Phases\n\n")
	if len(byPhase) == 0 {
		s.printf("The plan has no steps: nothing to move.\n\n")
		return
	}
	s.printf("| phase | steps | step numbers | partition moves | bytes to copy | copy time | fixed costs | estimated duration |\n")
	s.printf("|---|---:|---|---:|---:|---:|---:|---:|\n")
	for _, ph := range plans.AllPhases {
		pt := byPhase[ph]
		if pt == nil {
			continue
		}
		numbers := fmt.Sprintf("%d–%d", pt.first, pt.last)
		if pt.first == pt.last {
			numbers = fmt.Sprint(pt.first)
		}
		if pt.last-pt.first+1 != pt.steps {
			numbers += " (interleaved)"
		}
		s.printf("| %s | %d | %s | %d | %s | %s | %s | %s |\n", ph, pt.steps, numbers, pt.partitions, pt.bytes, pt.copy, pt.fixed, pt.copy+pt.fixed)
	}
	s.printf("\n")
}

func (s *summary) balance() {
	b := s.r.Balance
	s.printf("## Balance reached\n\n")
	if len(b.Brokers) == 0 {
		s.printf("Not measured for this plan.\n\n")
		return
	}
	switch b.Scope {
	case plans.BalanceAllTargets:
		s.printf("Every target broker is compared with the mean of all target brokers.\n\n")
	case plans.BalanceByRack:
		decides := "rack spread decides how much each rack receives: each partition has replicas in as many racks as its replication factor allows"
		if s.r.RackMapped {
			decides = "the rack_map decides how much each rack receives"
		}
		s.printf("Each target broker is compared with the mean of the target brokers in its own rack (%s).\n\n", decides)
	default:
		s.printf("Not bounded by the planner (a broker_map keeps the source layout 1:1, or the plan was imported); the spread is shown for information.\n\n")
	}
	replicaBound := fmt.Sprintf("%.0f", plans.MaxReplicaDeviation)
	leaderBound := fmt.Sprintf("%.0f", plans.MaxLeaderDeviation)
	bytesBound := fmt.Sprintf("%.0f%% or one largest partition (%s)", 100*plans.MaxBytesDeviation, b.LargestPartition)
	if b.Scope == plans.BalanceUnchecked {
		replicaBound, leaderBound, bytesBound = "none", "none", "none"
	}
	s.printf("| spread (largest distance from the peers' mean) | reached | bound |\n|---|---:|---:|\n")
	s.printf("| replicas per broker | %.1f | %s |\n", b.ReplicaDeviation, replicaBound)
	s.printf("| leaders per broker | %.1f | %s |\n", b.LeaderDeviation, leaderBound)
	s.printf("| bytes per broker | %.1f%% | %s |\n\n", 100*b.BytesDeviation, bytesBound)
	brokers := append([]plans.BrokerLoad(nil), b.Brokers...)
	sort.Slice(brokers, func(i, j int) bool { return brokers[i].Broker < brokers[j].Broker })
	s.printf("| broker | rack | replicas | leaders | bytes | capacity |\n|---:|---|---:|---:|---:|---:|\n")
	for _, l := range brokers {
		capacity := "unknown"
		if l.Capacity > 0 {
			capacity = l.Capacity.String()
		}
		s.printf("| %d | %s | %d | %d | %s | %s |\n", l.Broker, plans.MarkdownCell(l.Rack), l.Replicas, l.Leaders, l.Bytes, capacity)
	}
	s.printf("\n")
}

func (s *summary) warnings() {
	s.printf("## Warnings\n\n")
	if len(s.r.Warnings) == 0 {
		s.printf("None.\n\n")
		return
	}
	byKind := map[WarningKind][]Warning{}
	var kinds []WarningKind
	for _, w := range s.r.Warnings {
		if _, ok := byKind[w.Kind]; !ok {
			kinds = append(kinds, w.Kind)
		}
		byKind[w.Kind] = append(byKind[w.Kind], w)
	}
	rank := map[WarningKind]int{}
	for i, k := range AllWarningKinds {
		rank[k] = i
	}
	rankOf := func(k WarningKind) int {
		if r, ok := rank[k]; ok {
			return r
		}
		return len(AllWarningKinds)
	}
	sort.SliceStable(kinds, func(i, j int) bool {
		if ri, rj := rankOf(kinds[i]), rankOf(kinds[j]); ri != rj {
			return ri < rj
		}
		return kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		ws := byKind[k]
		s.printf("**%s** (%d)\n\n", k, len(ws))
		for i, w := range ws {
			if i == summaryWarningsPerKind {
				s.printf("- … and %d more of this kind\n", len(ws)-i)
				break
			}
			s.printf("- `%s`: %s\n", w.Subject, mdText(w.Message))
		}
		s.printf("\n")
	}
}

func (s *summary) largestSteps() {
	var steps []*plans.Step
	for i := range s.p.Steps {
		if s.p.Steps[i].Phase.IsReassignment() {
			steps = append(steps, &s.p.Steps[i])
		}
	}
	if len(steps) == 0 {
		return
	}
	sort.SliceStable(steps, func(i, j int) bool {
		a, b := steps[i].Estimate, steps[j].Estimate
		if a.Total() != b.Total() {
			return a.Total() > b.Total()
		}
		if a.BytesToCopy != b.BytesToCopy {
			return a.BytesToCopy > b.BytesToCopy
		}
		return steps[i].Number < steps[j].Number
	})
	n := min(len(steps), summaryLargestSteps)
	s.printf("## Largest steps\n\n")
	s.printf("The %d longest steps by estimated duration:\n\n", n)
	s.printf("| step | phase | partitions | bytes to copy | busiest broker | its bytes | copy time | fixed cost | estimated duration |\n")
	s.printf("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, st := range steps[:n] {
		busiest := "–"
		if st.Estimate.BusiestBrokerBytes > 0 {
			busiest = fmt.Sprint(st.Estimate.BusiestBroker)
		}
		e := st.Estimate
		s.printf("| %d | %s | %d | %s | %s | %s | %s | %s | %s |\n", st.Number, st.Phase, len(st.Partitions), e.BytesToCopy, busiest, e.BusiestBrokerBytes, e.Duration, e.FixedCost, e.Total())
	}
	s.printf("\n")
}

func (s *summary) howToApply() {
	s.printf("## How to apply\n\n")
	if s.p.Kind == plans.KindRollback {
		s.printf("This is the rollback plan: step N undoes the forward step it names (`undoes`). Apply undos with `kshift rollback plan.yaml --step N` (or `--to-step N` to unwind several in reverse order).\n")
		return
	}
	s.printf("Review `plan.yaml` (one line per partition move) and this summary, then, one step at a time:\n\n")
	s.printf("```sh\n")
	s.printf("kshift plan validate plan.yaml --snapshot snapshot.yaml --mapping mapping.yaml  # the CI gate: every invariant\n")
	s.printf("kshift apply plan.yaml --step 1       # apply step 1 under its throttle, verify it, clear the throttles\n")
	s.printf("kshift status plan.yaml               # each step done / in flight / pending / drifted, from the live cluster\n")
	s.printf("kshift apply plan.yaml --through %d   # or apply several steps in order\n", max(len(s.p.Steps), 1))
	s.printf("kshift rollback plan.yaml --step N    # undo step N (rollback.yaml holds every undo and its cost)\n")
	s.printf("kshift plan export plan.yaml --step N --format kafka-json  # fall back on kafka-reassign-partitions\n")
	s.printf("```\n\n")
	s.printf("Each step is checked against the live cluster before it starts: its partitions must be at `from` (or already at `to`), fully in sync, with no other reassignment in flight.\n")
}

func idList(ids []int32) string {
	if len(ids) == 0 {
		return "–"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ", ")
}

func hashCell(h string) string {
	if h == "" {
		return "not recorded"
	}
	return "`" + h + "`"
}

// mdText keeps a free-text message on one Markdown list line.
func mdText(s string) string { return strings.ReplaceAll(s, "\n", " ") }
