package planner

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
)

// Chart limits: a chart stays readable, and cheap for the forge to draw,
// for a plan of thousands of steps on hundreds of brokers.
const (
	// chartStepBars is the most steps drawn one bar each; beyond it, a bar
	// stands for a run of consecutive steps of one phase.
	chartStepBars = 40
	// chartRunBars is the most runs drawn; beyond it, a bar spans each
	// phase from its first step to its last.
	chartRunBars = 40
	// chartBrokers is the most target brokers the load charts draw.
	chartBrokers = 100
)

// chartEpoch is where the timeline starts. Mermaid reads a date without a
// zone in the reader's own zone, so a timeline that starts at a local
// midnight shows elapsed time on its axis wherever it is read.
var chartEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const chartDateFormat = "2006-01-02 15:04:05"

// timelineChart writes the steps as a Mermaid gantt chart: one section per
// phase, one bar per step (or run of steps) as long as its estimate, laid
// end to end as `apply --through` would run them. ZooKeeper steps are not
// estimated: they show as milestones.
func (s *summary) timelineChart() {
	steps := s.p.Steps
	if len(steps) == 0 {
		return
	}
	type bar struct {
		phase      plans.Phase
		label      string
		start, end time.Duration
	}
	var bars []bar
	var at time.Duration
	starts := make([]time.Duration, len(steps))
	for i := range steps {
		starts[i] = at
		at += chartDuration(&steps[i])
	}
	total := at
	end := func(i int) time.Duration { return starts[i] + chartDuration(&steps[i]) }
	label := func(first, last int) string {
		if first == last {
			return fmt.Sprintf("step %d", steps[first].Number)
		}
		return fmt.Sprintf("steps %d–%d", steps[first].Number, steps[last].Number)
	}
	// Runs of consecutive steps of one phase.
	type run struct{ first, last int }
	var runs []run
	for i := range steps {
		if n := len(runs); n > 0 && steps[runs[n-1].last].Phase == steps[i].Phase {
			runs[n-1].last = i
		} else {
			runs = append(runs, run{i, i})
		}
	}
	note := "One bar per step"
	switch {
	case len(steps) <= chartStepBars:
		for i := range steps {
			bars = append(bars, bar{steps[i].Phase, label(i, i), starts[i], end(i)})
		}
	case len(runs) <= chartRunBars:
		note = "One bar per run of consecutive steps of a phase"
		for _, r := range runs {
			bars = append(bars, bar{steps[r.first].Phase, label(r.first, r.last), starts[r.first], end(r.last)})
		}
	default:
		note = "One bar per phase, from its first step to its last (steps of other phases run in between)"
		for _, ph := range plans.AllPhases {
			first, last := -1, -1
			for i := range steps {
				if steps[i].Phase == ph {
					if first < 0 {
						first = i
					}
					last = i
				}
			}
			if first >= 0 {
				bars = append(bars, bar{ph, label(first, last), starts[first], end(last)})
			}
		}
	}
	axis := "%H:%M"
	switch {
	case total >= 24*time.Hour:
		axis = "day %-d %H:%M"
	case total < 10*time.Minute:
		axis = "%M:%S"
	}
	s.printf("### Timeline\n\n")
	s.printf("%s, as long as its estimate, laid end to end in the order `kshift apply --through` runs them; the axis is the time elapsed from the start (about %s in all).", note, plans.Duration(total))
	if slices.ContainsFunc(steps, func(st plans.Step) bool { return st.Phase.IsZooKeeper() }) {
		s.printf(" ZooKeeper steps are not estimated and show as milestones.")
	}
	s.printf("\n\n```mermaid\ngantt\n")
	s.printf("    title Estimated timeline of %s\n", chartText(s.p.ClusterID))
	s.printf("    dateFormat YYYY-MM-DD HH:mm:ss\n    axisFormat %s\n", axis)
	// One section per phase, in the order phases run; bars keep their order within it.
	for _, ph := range plans.AllPhases {
		first := true
		for i, b := range bars {
			if b.phase != ph {
				continue
			}
			if first {
				s.printf("    section %s\n", ph)
				first = false
			}
			start := chartEpoch.Add(b.start).Format(chartDateFormat)
			if b.end == b.start {
				s.printf("    %s :milestone, b%d, %s, 0s\n", b.label, i+1, start)
				continue
			}
			s.printf("    %s :b%d, %s, %s\n", b.label, i+1, start, chartEpoch.Add(b.end).Format(chartDateFormat))
		}
	}
	s.printf("```\n\n")
}

// chartDuration is a step's estimate in whole seconds, as the summary's
// tables write it: the timeline's dates have no fractions of a second.
func chartDuration(st *plans.Step) time.Duration {
	return time.Duration(st.Estimate.Total()).Round(time.Second)
}

// loadCharts writes the replicas and bytes on each target broker before and
// after the plan as Mermaid xy charts. After is the balance the planner
// measured; before is after less what the plan moves there
// (plans.BrokerChanges) plus what it moves away.
func (s *summary) loadCharts() {
	loads := s.r.Balance.Brokers
	if len(s.p.TargetBrokers) > 0 {
		loads = slices.DeleteFunc(slices.Clone(loads), func(l plans.BrokerLoad) bool { return !slices.Contains(s.p.TargetBrokers, l.Broker) })
	}
	if len(loads) == 0 {
		return
	}
	slices.SortFunc(loads, func(a, b plans.BrokerLoad) int { return int(a.Broker) - int(b.Broker) })
	s.printf("### Load on the target brokers, before and after\n\n")
	if len(loads) > chartBrokers {
		s.printf("%d target brokers are too many to chart; the table above lists each.\n\n", len(loads))
		return
	}
	changes := map[int32]plans.BrokerChange{}
	for _, c := range plans.BrokerChanges(s.p) {
		changes[c.Broker] = c
	}
	names := make([]string, len(loads))
	var beforeBytes, afterBytes, beforeReplicas, afterReplicas []float64
	for i, l := range loads {
		c := changes[l.Broker]
		names[i] = fmt.Sprintf("%q", fmt.Sprint(l.Broker))
		afterBytes = append(afterBytes, float64(l.Bytes))
		beforeBytes = append(beforeBytes, float64(l.Bytes-c.NetBytes()))
		afterReplicas = append(afterReplicas, float64(l.Replicas))
		beforeReplicas = append(beforeReplicas, float64(l.Replicas-c.NetReplicas()))
	}
	s.printf("Bars: after the plan; line: before it.\n\n")
	unit, scale := chartByteUnit(slices.Max(append(slices.Clone(afterBytes), beforeBytes...)))
	s.xyChart(fmt.Sprintf("Bytes per target broker (%s)", unit), unit, names, scaled(afterBytes, scale), scaled(beforeBytes, scale))
	s.xyChart("Replicas per target broker", "replicas", names, afterReplicas, beforeReplicas)
}

func (s *summary) xyChart(title, yTitle string, names []string, bars, line []float64) {
	top := slices.Max(append(slices.Clone(bars), line...))
	if top <= 0 {
		top = 1
	}
	// The default theme draws the bars a pale lavender: a palette that
	// tells the bars (after) from the line (before) at a glance.
	s.printf("```mermaid\n%%%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#4c78a8, #f58518\"}}}}%%%%\nxychart-beta\n")
	s.printf("    title %q\n", title)
	s.printf("    x-axis \"target broker\" [%s]\n", strings.Join(names, ", "))
	s.printf("    y-axis %q 0 --> %s\n", yTitle, chartNumber(top))
	s.printf("    bar [%s]\n", chartNumbers(bars))
	s.printf("    line [%s]\n", chartNumbers(line))
	s.printf("```\n\n")
}

// chartByteUnit picks the binary unit that keeps the largest value readable.
func chartByteUnit(largest float64) (string, float64) {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for scale := 1.0; i < len(units)-1 && largest >= 1024*scale; i++ {
		scale *= 1024
	}
	return units[i], math.Pow(1024, float64(i))
}

func scaled(values []float64, scale float64) []float64 {
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = v / scale
	}
	return out
}

func chartNumbers(values []float64) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = chartNumber(v)
	}
	return strings.Join(parts, ", ")
}

// chartNumber writes v with at most two decimals and no exponent.
func chartNumber(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// chartText keeps a cluster id from ending a chart line or a task name.
func chartText(s string) string {
	return strings.NewReplacer(":", " ", ";", " ", "#", " ", "\n", " ").Replace(s)
}
