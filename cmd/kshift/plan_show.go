package main

import (
	"fmt"
	"strings"

	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

func newPlanShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print a plan: a row per step, or one step's partitions with --step",
		UsageText: "kshift plan show PLAN [--step N] [--output table|yaml|json]",
		Description: `Prints the steps of PLAN (a plan.yaml or rollback.yaml): phase, partitions, bytes
to copy, busiest broker and estimated duration. With --step N, prints that step's
partition moves (from -> to). yaml and json print the plan or step as data, with
the field names of the plan file.`,
		Flags: []cli.Flag{
			outputFlag,
			&cli.IntFlag{Name: "step", Usage: "show only step `N`'s partitions"},
		},
		Action: flagsAfterArgs(runPlanShow),
	}
}

func runPlanShow(c *cli.Context) error {
	if err := requireArgs(c, 1, "one plan file"); err != nil {
		return err
	}
	pr, err := newPrinter(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	p, _, err := plans.LoadFile[plans.Plan](path)
	if err != nil {
		return err
	}
	if c.IsSet("step") {
		s, err := planStep(p, path, c.Int("step"))
		if err != nil {
			return err
		}
		return printPlanData(pr, s, func() []table { return []table{stepTable(p, s)} })
	}
	return printPlanData(pr, p, func() []table { return []table{planTable(p)} })
}

// planStep returns step n of p, or a bad-input error naming the plan.
func planStep(p *plans.Plan, path string, n int) (*plans.Step, error) {
	s := p.Step(n)
	if s == nil {
		return nil, badInput(fmt.Errorf("--step %d: %s has steps 1 to %d", n, path, len(p.Steps)))
	}
	return s, nil
}

// printPlanData prints v with the printer. JSON uses the field names of the YAML
// file format (v is converted through YAML), so scripts see one naming.
func printPlanData(pr *printer, v any, tables func() []table) error {
	if pr.format != formatJSON {
		return pr.print(v, tables)
	}
	out, err := plans.Marshal(v)
	if err != nil {
		return err
	}
	var shape any
	if err := yaml.Unmarshal(out, &shape); err != nil {
		return fmt.Errorf("convert to JSON: %w", err)
	}
	return pr.print(shape, tables)
}

func planTable(p *plans.Plan) table {
	t := p.Totals
	title := fmt.Sprintf("%s plan for cluster %s (%s, throttle %s): %d steps, %d partitions, %s to copy, about %s (%s copying + %s fixed)",
		p.Kind, p.ClusterID, p.Strategy, p.Throttle, t.Steps, t.Partitions, t.BytesToCopy, t.Duration+t.FixedCost, t.Duration, t.FixedCost)
	header := []string{"step", "phase", "partitions", "bytes to copy", "busiest broker", "copy time", "fixed cost", "estimate", "throttle"}
	if p.Kind == plans.KindRollback {
		header = append(header, "undoes")
	}
	tb := table{title: title, header: header}
	for i := range p.Steps {
		s := &p.Steps[i]
		throttle := s.ThrottleOr(p.Throttle)
		what := fmt.Sprint(len(s.Partitions))
		if s.ZooKeeper != nil {
			what = s.ZooKeeper.Summary()
		}
		if s.Retire != nil {
			what = s.Retire.Summary()
		}
		busiest := "-"
		if s.Estimate.BusiestBrokerBytes > 0 {
			busiest = fmt.Sprintf("%d (%s)", s.Estimate.BusiestBroker, s.Estimate.BusiestBrokerBytes)
		}
		e := s.Estimate
		row := []string{fmt.Sprint(s.Number), string(s.Phase), what, e.BytesToCopy.String(), busiest, e.Duration.String(), e.FixedCost.String(), e.Total().String(), throttle.String()}
		if p.Kind == plans.KindRollback {
			row = append(row, fmt.Sprint(s.Undoes))
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

func stepTable(p *plans.Plan, s *plans.Step) table {
	throttle := s.ThrottleOr(p.Throttle)
	title := fmt.Sprintf("step %d (%s) of %s: %d partitions, %s to copy, %s at %s",
		s.Number, s.Phase, p.ClusterID, len(s.Partitions), s.Estimate.BytesToCopy, aboutEstimate(s.Estimate), throttle)
	if s.Undoes > 0 {
		title += fmt.Sprintf("; undoes step %d", s.Undoes)
	}
	if s.ZooKeeper != nil {
		title += "; " + s.ZooKeeper.String()
	}
	if s.Retire != nil {
		title += "; " + s.Retire.Summary()
		if s.Retire.Bootstrap != "" && !s.Retire.Restart {
			title += ", bootstrap " + s.Retire.Bootstrap
		}
	}
	tb := table{title: title, header: []string{"topic", "partition", "from", "to", "adds", "removes", "size"}}
	for i := range s.Partitions {
		m := &s.Partitions[i]
		tb.rows = append(tb.rows, []string{m.Topic, fmt.Sprint(m.Partition), replicaCell(m.From), replicaCell(m.To), replicaCell(m.Adding()), replicaCell(m.Removing()), m.Size.String()})
	}
	return tb
}

func replicaCell(list []int32) string {
	if len(list) == 0 {
		return "-"
	}
	parts := make([]string, len(list))
	for i, id := range list {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}

// aboutEstimate says how long a step should take, copy time and fixed cost
// together, and how that splits when it copies something:
// "about 2m18s (2m17s copying + 1s fixed)".
func aboutEstimate(e plans.Estimate) string {
	if e.Duration <= 0 || e.FixedCost <= 0 {
		return "about " + e.Total().String()
	}
	return fmt.Sprintf("about %s (%s copying + %s fixed)", e.Total(), e.Duration, e.FixedCost)
}
