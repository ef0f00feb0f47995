package plandiff

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
)

// MarkdownRows bounds the step and partition tables of the Markdown diff, so
// that a pull request comment stays readable (and under the forges' comment
// size limits) for a plan of 200,000 partitions; the JSON output lists all.
const MarkdownRows = 50

// WriteMarkdown writes the diff as Markdown for a pull request comment:
// totals, estimate and balance side by side, then the steps and partitions
// that changed and the load placed on each broker. The same diff always
// gives the same bytes.
func WriteMarkdown(w io.Writer, d *Diff) error {
	bw := bufio.NewWriter(w)
	m := mdWriter{w: bw, d: d}
	m.header()
	m.steps()
	m.partitions()
	m.brokers()
	return bw.Flush()
}

type mdWriter struct {
	w *bufio.Writer
	d *Diff
}

func (m *mdWriter) printf(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }

func (m *mdWriter) header() {
	d := m.d
	m.printf("### Plan diff for cluster `%s` (%s plan)\n\n", d.ClusterID, d.Kind)
	if !d.Changed() {
		m.printf("No change: the plans make the same moves in the same steps with the same estimates.\n\n")
	}
	o, n := d.Old, d.New
	m.printf("| | old | new | change |\n|---|---:|---:|---:|\n")
	row := func(name, old, new, delta string) { m.printf("| %s | %s | %s | %s |\n", name, old, new, delta) }
	if o.Strategy != n.Strategy {
		row("strategy", string(o.Strategy), string(n.Strategy), "")
	}
	if o.Throttle != n.Throttle {
		row("throttle per broker", o.Throttle.String(), n.Throttle.String(), signedBytes(plans.ByteSize(n.Throttle-o.Throttle))+"/s")
	}
	if !slices.Equal(o.SourceBrokers, n.SourceBrokers) {
		row("source brokers", ids(o.SourceBrokers), ids(n.SourceBrokers), "")
	}
	if !slices.Equal(o.TargetBrokers, n.TargetBrokers) {
		row("target brokers", ids(o.TargetBrokers), ids(n.TargetBrokers), "")
	}
	ot, nt := o.Totals, n.Totals
	row("steps", fmt.Sprint(ot.Steps), fmt.Sprint(nt.Steps), signedInt(nt.Steps-ot.Steps))
	row("partitions moved", fmt.Sprint(ot.Partitions), fmt.Sprint(nt.Partitions), signedInt(nt.Partitions-ot.Partitions))
	row("bytes to copy", ot.BytesToCopy.String(), nt.BytesToCopy.String(), signedBytes(nt.BytesToCopy-ot.BytesToCopy))
	row("estimated duration", dur(ot.TotalDurationSeconds), dur(nt.TotalDurationSeconds), signedDur(nt.TotalDurationSeconds-ot.TotalDurationSeconds))
	row("&nbsp;&nbsp;copying at the throttle", dur(ot.CopySeconds), dur(nt.CopySeconds), signedDur(nt.CopySeconds-ot.CopySeconds))
	row("&nbsp;&nbsp;fixed costs", dur(ot.FixedCostSeconds), dur(nt.FixedCostSeconds), signedDur(nt.FixedCostSeconds-ot.FixedCostSeconds))
	ob, nb := o.Balance, n.Balance
	row("replica spread on the targets", fmt.Sprintf("%.1f", ob.ReplicaDeviation), fmt.Sprintf("%.1f", nb.ReplicaDeviation), signedFloat(nb.ReplicaDeviation-ob.ReplicaDeviation, "%+.1f"))
	row("leader spread on the targets", fmt.Sprintf("%.1f", ob.LeaderDeviation), fmt.Sprintf("%.1f", nb.LeaderDeviation), signedFloat(nb.LeaderDeviation-ob.LeaderDeviation, "%+.1f"))
	row("bytes spread on the targets", fmt.Sprintf("%.1f%%", 100*ob.BytesDeviation), fmt.Sprintf("%.1f%%", 100*nb.BytesDeviation), signedFloat(100*(nb.BytesDeviation-ob.BytesDeviation), "%+.1f pt"))
	if o.SnapshotSHA256 != n.SnapshotSHA256 {
		row("snapshot sha256", short(o.SnapshotSHA256), short(n.SnapshotSHA256), "")
	}
	if o.MappingSHA256 != n.MappingSHA256 {
		row("mapping sha256", short(o.MappingSHA256), short(n.MappingSHA256), "")
	}
	if o.KshiftVersion != n.KshiftVersion {
		row("kshift version", plans.MarkdownCell(o.KshiftVersion), plans.MarkdownCell(n.KshiftVersion), "")
	}
	m.printf("\nA spread is the largest distance of one target broker from the targets' mean, over the replicas, leaders and bytes each plan places there.\n\n")
}

func (m *mdWriter) steps() {
	d := m.d
	m.printf("#### Steps\n\n")
	counts := map[StepChangeKind]int{}
	for _, s := range d.Steps {
		counts[s.Change]++
	}
	var parts []string
	for _, k := range AllStepChangeKinds {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	parts = append(parts, fmt.Sprintf("%d unchanged", d.UnchangedSteps))
	m.printf("%s.\n\n", capitalise(strings.Join(parts, ", ")))
	if len(d.Steps) == 0 {
		return
	}
	m.printf("| change | phase | old step | new step | partitions | bytes to copy | estimate |\n")
	m.printf("|---|---|---:|---:|---:|---:|---:|\n")
	for i, s := range d.Steps {
		if i == MarkdownRows {
			m.printf("\n… and %d more step changes (`kshift plan diff -o json` lists them all).\n", len(d.Steps)-i)
			break
		}
		m.printf("| %s | %s | %s | %s | %s | %s | %s |\n", s.Change, s.Phase, stepNo(s.OldNumber), stepNo(s.NewNumber),
			arrow(s.OldNumber > 0, s.NewNumber > 0, fmt.Sprint(s.OldPartitions), fmt.Sprint(s.NewPartitions)),
			arrow(s.OldNumber > 0, s.NewNumber > 0, s.OldBytes.String(), s.NewBytes.String()),
			arrow(s.OldNumber > 0, s.NewNumber > 0, dur(s.OldSeconds), dur(s.NewSeconds)))
	}
	m.printf("\n")
}

func (m *mdWriter) partitions() {
	d := m.d
	m.printf("#### Partitions\n\n")
	if len(d.Partitions) == 0 {
		m.printf("No partition has another target or moves in another step.\n\n")
		return
	}
	targets, steps := 0, 0
	for _, p := range d.Partitions {
		if p.TargetChanged {
			targets++
		}
		if p.StepChanged {
			steps++
		}
	}
	m.printf("%d partition(s) changed: %d with another target, %d moved in another step.\n\n", len(d.Partitions), targets, steps)
	m.printf("| partition | target (old → new) | steps (old → new) |\n|---|---|---|\n")
	for i := range d.Partitions {
		if i == MarkdownRows {
			m.printf("\n… and %d more partitions (`kshift plan diff -o json` lists them all).\n", len(d.Partitions)-i)
			break
		}
		p := &d.Partitions[i]
		target := "same: " + replicas(p.NewTarget)
		if p.TargetChanged {
			target = replicas(p.OldTarget) + " → " + replicas(p.NewTarget)
		}
		m.printf("| `%s` | %s | %s → %s |\n", plans.MarkdownCell(p.Name()), target, stepList(p.OldSteps), stepList(p.NewSteps))
	}
	m.printf("\n")
}

func (m *mdWriter) brokers() {
	d := m.d
	var changed []BrokerChange
	for _, b := range d.Brokers {
		if b.OldReplicas != b.NewReplicas || b.OldLeaders != b.NewLeaders || b.OldBytes != b.NewBytes {
			changed = append(changed, b)
		}
	}
	m.printf("#### Load each plan places on the brokers\n\n")
	if len(changed) == 0 {
		m.printf("The same on every broker.\n")
		return
	}
	m.printf("Replicas, leaders and bytes a broker gains (negative: loses) over the whole plan, on the brokers where the plans differ.\n\n")
	m.printf("| broker | replicas (old → new) | leaders (old → new) | bytes (old → new) |\n|---:|---:|---:|---:|\n")
	for _, b := range changed {
		m.printf("| %d | %d → %d | %d → %d | %s → %s |\n", b.Broker, b.OldReplicas, b.NewReplicas, b.OldLeaders, b.NewLeaders, b.OldBytes, b.NewBytes)
	}
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func arrow(hasOld, hasNew bool, old, new string) string {
	switch {
	case hasOld && hasNew && old == new:
		return new
	case hasOld && hasNew:
		return old + " → " + new
	case hasOld:
		return old
	default:
		return new
	}
}

func stepNo(n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprint(n)
}

func stepList(steps []int) string {
	if len(steps) == 0 {
		return "–"
	}
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ", ")
}

func replicas(list []int32) string {
	if list == nil {
		return "–"
	}
	return "[" + ids(list) + "]"
}

func ids(list []int32) string {
	parts := make([]string, len(list))
	for i, id := range list {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}

func dur(s float64) string {
	return plans.Duration(time.Duration(s * float64(time.Second))).String()
}

func signedDur(s float64) string {
	if dur(max(s, -s)) == "0s" {
		return "0"
	}
	if s < 0 {
		return "−" + dur(-s)
	}
	return "+" + dur(s)
}

func signedInt(n int) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%+d", n)
}

func signedBytes(b plans.ByteSize) string {
	switch {
	case b == 0:
		return "0"
	case b < 0:
		return "−" + (-b).String()
	default:
		return "+" + b.String()
	}
}

func signedFloat(f float64, format string) string {
	s := fmt.Sprintf(format, f)
	if strings.Trim(s, "+-0. pt") == "" {
		return "0"
	}
	return s
}

func short(h string) string {
	if len(h) > 12 {
		return "`" + h[:12] + "`"
	}
	if h == "" {
		return "not recorded"
	}
	return "`" + h + "`"
}
