package acceptance

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kshift/kshift/plans"
)

// BenchmarkStepOverhead measures kshift's own time per step on the real
// cluster: each op is one whole migration (apply --all --verbose), and the
// timeline --verbose prints splits every step into Kafka's part (from the
// submission until every partition reads at its target, elections
// included) and kshift's (reading and gating, the lock, the throttle
// writes, the offsets, verification, restoring the throttles). It reports
// kshift's seconds per step, overall and per phase. Run it with
//
//	KSHIFT_KAFKA_HOME=../shared/kafka-2.4 go test ./internal/acceptance -run '^$' -bench StepOverhead -benchtime 2x
func BenchmarkStepOverhead(b *testing.B) {
	f := sharedCluster(b)
	var own, kafka map[plans.Phase][]float64
	for b.Loop() {
		from, to := f.side()
		planPath, p := f.plan(mapping{from: from, to: to, strategy: plans.StrategyPhased, throttle: "50MiB/s", perStep: 8})
		out, code := f.kshift("apply", planPath, "--all", "--auto-continue", "--verbose")
		if code != 0 {
			b.Fatalf("apply --all: exit %d\n%s", code, out)
		}
		o, k := splitTimeline(out, p)
		own, kafka = merge(own, o), merge(kafka, k)
	}
	var all []float64
	for phase, xs := range own {
		all = append(all, xs...)
		b.ReportMetric(mean(xs), "kshift-s/"+string(phase)+"-step")
		b.ReportMetric(mean(kafka[phase]), "kafka-s/"+string(phase)+"-step")
	}
	b.ReportMetric(mean(all), "kshift-s/step")
}

var timelineLine = regexp.MustCompile(`^\s*\[\s*([0-9.]+)s\] (.*)$`)

// splitTimeline returns, per phase, kshift's own seconds and Kafka's
// seconds of each step of an `apply --verbose` output: a step runs from its
// first line to the next step's first line (or the last line); Kafka's
// part runs from "submitting" until "verifying".
func splitTimeline(out string, p *plans.Plan) (own, kafka map[plans.Phase][]float64) {
	own, kafka = map[plans.Phase][]float64{}, map[plans.Phase][]float64{}
	type mark struct {
		at   float64
		what string
	}
	var marks []mark
	for _, l := range strings.Split(out, "\n") {
		if m := timelineLine.FindStringSubmatch(l); m != nil {
			at, _ := strconv.ParseFloat(m[1], 64)
			marks = append(marks, mark{at, m[2]})
		}
	}
	step, start, submit := 0, 0.0, -1.0
	flush := func(end float64) {
		if step == 0 || submit < 0 {
			return
		}
		s := p.Step(step)
		total := end - start
		k := 0.0
		for _, m := range marks {
			if m.at >= submit && strings.HasPrefix(m.what, "verifying step "+strconv.Itoa(step)) {
				k = m.at - submit
				break
			}
		}
		own[s.Phase] = append(own[s.Phase], total-k)
		kafka[s.Phase] = append(kafka[s.Phase], k)
	}
	for _, m := range marks {
		if n, ok := strings.CutPrefix(m.what, "reading the cluster and checking step "); ok {
			if num, err := strconv.Atoi(n); err == nil && num != step {
				flush(m.at)
				step, start, submit = num, m.at, -1
			}
		}
		if strings.HasPrefix(m.what, "submitting ") && submit < 0 {
			submit = m.at
		}
	}
	if len(marks) > 0 {
		flush(marks[len(marks)-1].at)
	}
	return own, kafka
}

func merge(a, b map[plans.Phase][]float64) map[plans.Phase][]float64 {
	if a == nil {
		a = map[plans.Phase][]float64{}
	}
	for k, v := range b {
		a[k] = append(a[k], v...)
	}
	return a
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
