package main

import (
	"fmt"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show where each step of a plan stands on the live cluster",
		ArgsUsage: "PLAN",
		Description: `Reads the live cluster and shows each step as done, in-flight (with copy progress),
partial (some partitions done: an interrupted run; apply resumes it), undo-in-flight (an
interrupted kshift rollback of the step, with copy progress; rollback resumes it, cancel
reverts it), pending or drifted (partitions at neither end of the step, named). Also shows
the operator lock's holder.`,
		Flags: append([]cli.Flag{
			outputFlag,
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "print the status again every --interval until interrupted"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "refresh interval of --watch"},
		}, clusterFlags()...),
		Action: flagsAfterArgs(runStatus),
	}
}

func runStatus(c *cli.Context) error {
	ref, err := loadPlan(c)
	if err != nil {
		return err
	}
	out, err := newPrinter(c)
	if err != nil {
		return err
	}
	clients, err := connect(c)
	if err != nil {
		return err
	}
	defer clients.Close()
	e := executor.New(clients.Kafka, executor.Options{Command: "status"})
	for {
		st, err := e.Status(c.Context, ref)
		if err != nil {
			if c.Bool("watch") && c.Context.Err() != nil {
				return nil
			}
			return execErr(err)
		}
		if err := out.print(st, func() []table { return statusTables(ref.Plan, st) }); err != nil {
			return err
		}
		if !c.Bool("watch") {
			return nil
		}
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(c.Duration("interval")):
			fmt.Fprintln(c.App.Writer)
		}
	}
}

func statusTables(p *plans.Plan, st *executor.PlanStatus) []table {
	steps := table{title: fmt.Sprintf("cluster %s", st.ClusterID), header: []string{"step", "phase", "state", "partitions", "done", "in flight", "pending", "drifted", "copied"}}
	var problems table
	problems.header = []string{"step", "partition", "state", "replicas", "leader", "isr", "detail"}
	for _, s := range st.Steps {
		copied := ""
		if s.BytesTotal > 0 {
			copied = fmt.Sprintf("%s / %s", plans.ByteSize(s.BytesCopied), plans.ByteSize(s.BytesTotal))
		}
		steps.rows = append(steps.rows, []string{fmt.Sprint(s.Number), string(s.Phase), string(s.State),
			fmt.Sprint(s.Partitions), fmt.Sprint(s.Done), fmt.Sprint(s.InFlight + s.UndoInFlight), fmt.Sprint(s.Pending), fmt.Sprint(s.Drifted), copied})
		for _, ps := range s.Problems {
			problems.rows = append(problems.rows, []string{fmt.Sprint(s.Number), ps.Name(), string(ps.State),
				fmt.Sprint(ps.Replicas), fmt.Sprint(ps.Leader), fmt.Sprint(ps.ISR), ps.Detail})
		}
	}
	out := []table{steps}
	if len(problems.rows) > 0 {
		problems.title = "partitions in flight or drifted"
		out = append(out, problems)
	}
	if st.Lock != nil {
		out = append(out, table{title: "operator lock", header: []string{"held by"}, rows: [][]string{{st.Lock.String()}}})
	}
	return out
}
