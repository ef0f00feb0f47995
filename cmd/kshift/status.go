package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show where each step of a plan stands on the live cluster",
		ArgsUsage: "PLAN | --fleet DIR",
		Description: `Reads the live cluster and shows each step as done, in-flight (with copy progress),
partial (some partitions done: an interrupted run; apply resumes it), undo-in-flight (an
interrupted kshift rollback of the step, with copy progress; rollback resumes it, cancel
reverts it), pending or drifted (partitions at neither end of the step, named). The
retire-sources step shows pending (a source still holds a replica or the controller),
waiting-for-operator (the sources hold nothing: stop them in the order shown) or done (every
source broker has left). With
--zookeeper it also shows kshift's own state, kept in the cluster's ZooKeeper: the operator
lock's holder and lease, every throttle kshift set that is still in place with the step it
belongs to, and a rate set with kshift throttle set.

With --fleet DIR it shows every cluster of a migrations repository instead, one row per
cluster, each read with the profile.yaml beside its plan (docs/operating.md).`,
		Flags: append([]cli.Flag{
			outputFlag,
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "print the status again every --interval until interrupted"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "refresh interval of --watch"},
		}, append(fleetFlags(), clusterFlags()...)...),
		Action: flagsAfterArgs(runStatus),
	}
}

func runStatus(c *cli.Context) error {
	if c.IsSet(flagFleet) {
		return runFleet(c)
	}
	// Status writes no audit record and takes no lock: it has no use for
	// the plan's hash.
	ref, err := readPlanArg(c, false)
	if err != nil {
		return err
	}
	out, err := newPrinter(c)
	if err != nil {
		return err
	}
	s, err := openSession(c, ref.Path, "status", false, executor.Options{})
	if err != nil {
		return err
	}
	defer s.close()
	e := s.exec
	for {
		st, err := e.Status(c.Context, ref)
		if err != nil {
			if c.Bool("watch") && c.Context.Err() != nil {
				return nil
			}
			return execErr(err)
		}
		if err := out.print(st, func() []table { return statusTables(ref, st, e.CoverageSummary(st.Coverage, ref)) }); err != nil {
			return err
		}
		if !c.Bool("watch") {
			return nil
		}
		if poll.Sleep(c.Context, c.Duration("interval")) != nil {
			return nil
		}
		fmt.Fprintln(c.App.Writer)
	}
}

func statusTables(ref executor.PlanRef, st *executor.PlanStatus, uncovered string) []table {
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
	details := table{title: "step details: ZooKeeper and retire steps, and what a step needs that is down", header: []string{"step", "phase", "state", "detail"}}
	for _, s := range st.Steps {
		if s.Detail != "" {
			details.rows = append(details.rows, []string{fmt.Sprint(s.Number), string(s.Phase), string(s.State), s.Detail})
		}
	}
	if len(details.rows) > 0 {
		out = append(out, details)
	}
	if len(problems.rows) > 0 {
		problems.title = "partitions in flight or drifted"
		out = append(out, problems)
	}
	if m := migrationTable(ref, st, uncovered); m != nil {
		out = append(out, *m)
	}
	return append(out, stateTables(st)...)
}

// stateTables show kshift's own state: the lock, its open throttle records
// and the operator's rate, or why they were not read.
func stateTables(st *executor.PlanStatus) []table {
	if st.StateUnknown != "" {
		return []table{{title: "kshift's state", header: []string{"not read"}, rows: [][]string{{st.StateUnknown}}}}
	}
	lock := table{title: "operator lock", header: []string{"held by", "lease"}}
	if st.Lock == nil {
		lock.rows = [][]string{{"nobody", ""}}
	} else {
		lease := "none (in-process store)"
		if st.Lock.Lease > 0 {
			lease = fmt.Sprintf("%s: freed that long after the holder stops answering", st.Lock.Lease)
		}
		lock.rows = [][]string{{st.Lock.String(), lease}}
	}
	out := []table{lock}
	if len(st.Throttles) > 0 {
		t := table{title: "throttles kshift set and has not restored yet", header: []string{"record", "step", "rate", "brokers", "throttled replicas"}}
		for _, rec := range st.Throttles {
			entries := 0
			for _, tt := range rec.Topics {
				entries += len(tt.Leader) + len(tt.Follower)
			}
			step := "unknown (an older kshift's record)"
			if rec.Step > 0 {
				step = fmt.Sprintf("%d of %s", rec.Step, rec.Plan)
			}
			brokers := make([]int32, 0, len(rec.Brokers))
			for b := range rec.Brokers {
				brokers = append(brokers, b)
			}
			slices.Sort(brokers)
			t.rows = append(t.rows, []string{rec.ID, step, rec.Rate.String(), fmt.Sprint(brokers), fmt.Sprintf("%d on %d topic(s)", entries, len(rec.Topics))})
		}
		out = append(out, t)
	}
	if o := st.RateOverride; o != nil {
		out = append(out, table{title: "rate set during the step", header: []string{"rate", "set by"},
			rows: [][]string{{o.Rate.String(), fmt.Sprintf("%s by %s on %s at %s", o.Command, o.User, o.Host, o.Time.Format(time.RFC3339))}}})
	}
	return out
}

// migrationTable says whether the migration is finished: every step done
// and no partition left with a replica on a source broker; else what is
// left, with the command that covers partitions the plan does not move.
func migrationTable(ref executor.PlanRef, st *executor.PlanStatus, uncovered string) *table {
	c := st.Coverage
	if c == nil {
		return nil
	}
	t := table{title: "migration", header: []string{"state", "detail"}}
	if st.Finished {
		t.rows = [][]string{{"finished", fmt.Sprintf("every step done; none of the %d partitions has a replica on a source broker %v", c.Partitions, ref.Plan.SourceBrokers)}}
		if !hasRetireStep(ref.Plan) {
			t.rows[0][1] += "; " + noRetireStepAdvice
		}
		return &t
	}
	notDone := 0
	for _, s := range st.Steps {
		if s.State != executor.StepDone {
			notDone++
		}
	}
	detail := fmt.Sprintf("%d step(s) not done; %d partition(s) still have a replica on a source broker %v", notDone, c.OnSources, ref.Plan.SourceBrokers)
	t.rows = [][]string{{"not finished", detail}}
	if uncovered != "" {
		t.rows = append(t.rows, []string{"NOT COVERED", uncovered})
	}
	return &t
}
