package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kshift/kshift/inspect"
	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/planner"
	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

// The files `kshift plan` and `kshift plan import` write into --out.
const (
	planFileName     = "plan.yaml"
	rollbackFileName = "rollback.yaml"
	summaryFileName  = "SUMMARY.md"
)

func newPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "make a migration plan from a snapshot and a mapping; show, validate, diff, export and import plans",
		UsageText: "kshift plan --snapshot SNAPSHOT --mapping MAPPING --out DIR [--catch-up PLAN]",
		Description: `Plans the migration described by MAPPING for the cluster in SNAPSHOT and writes
DIR/plan.yaml, DIR/rollback.yaml and DIR/SUMMARY.md (Markdown for the pull request).

With --catch-up PLAN it plans only the partitions PLAN does not move that have a
replica on a source broker (created after PLAN's snapshot: kshift status, check
--plan and apply name them), from a fresh SNAPSHOT of the cluster mid-migration:
a plan of its own, reviewed and applied like any other, without ZooKeeper steps.
The partitions PLAN moves count at their final replicas, so the catch-up
balances the targets with them.

The plan is checked against every invariant before anything is written; the
directory is written whole or not at all. An existing DIR is replaced only when
it is empty or holds nothing but those three files (an earlier plan); any other
existing path is refused.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "snapshot", Usage: "the cluster snapshot (`FILE`, from kshift snapshot)"},
			&cli.StringFlag{Name: "mapping", Usage: "the mapping a person wrote (`FILE`)"},
			&cli.StringFlag{Name: "out", Usage: "the output `DIR`; its parent must exist"},
			&cli.StringFlag{Name: "target-capacity", Usage: "usable disk per target broker, e.g. 2TiB, for brokers the snapshot reports none for (before Kafka 3.3); replaces the mapping's target_capacity"},
			&cli.StringFlag{Name: "max-fill", Value: "85%", Usage: "the share of a target's disk the plan fills at most where a placement within it exists (`PERCENT`)"},
			&cli.StringFlag{Name: "catch-up", Usage: "plan only the partitions this `PLAN` (a plan.yaml being applied) leaves on source brokers"},
		},
		Action: runPlan,
		Subcommands: []*cli.Command{
			newPlanShowCommand(),
			newPlanValidateCommand(),
			newPlanDiffCommand(),
			newPlanExportCommand(),
			newPlanImportCommand(),
		},
	}
}

func runPlan(c *cli.Context) error {
	if err := requireFlags(c, "snapshot", "mapping", "out"); err != nil {
		return err
	}
	if err := requireArgs(c, 0, "no arguments (subcommands: show, validate, diff, export, import)"); err != nil {
		return err
	}
	if err := checkPlanDir(c.String("out")); err != nil {
		return err
	}
	capacity, maxFill, err := capacityFlags(c)
	if err != nil {
		return err
	}
	var parent *plans.Plan
	if path := c.String("catch-up"); path != "" {
		if parent, _, err = plans.LoadFile[plans.Plan](path); err != nil {
			return err
		}
		if parent.Kind != plans.KindMigration {
			return badInput(fmt.Errorf("--catch-up %s: a catch-up covers what a migration plan leaves behind; this is a %s plan", path, parent.Kind))
		}
	}
	limitPlanMemory(c.String("snapshot"))
	res, checked, err := planFromFiles(c.String("snapshot"), c.String("mapping"), capacity, maxFill, parent)
	if err != nil {
		return err
	}
	dir := c.String("out")
	if err := writePlanDir(dir, res, checked); err != nil {
		return err
	}
	if parent != nil {
		fmt.Fprintf(c.App.Writer, "Catch-up of %s: %d partitions it does not move.\n", c.String("catch-up"), res.Plan.Totals.Partitions)
	}
	printPlanned(c.App.Writer, res, dir)
	return nil
}

// catchUpSnapshot turns a fresh snapshot into the input of a catch-up of
// parent: the partitions parent moves are set at their final replicas (so
// the planner leaves them, counting their load on the targets), and the
// others stay as they are, so that the planner plans exactly those with a
// replica on a source broker (inspect.Coverage). It refuses a snapshot of
// another cluster, or one where parent leaves nothing uncovered.
func catchUpSnapshot(parent *plans.Plan, snap *plans.Snapshot) (*plans.Snapshot, error) {
	if parent.ClusterID != snap.ClusterID {
		return nil, badInput(fmt.Errorf("--catch-up: the plan is for cluster %q, the snapshot is of %q", parent.ClusterID, snap.ClusterID))
	}
	final := map[inspect.PartitionID][]int32{}
	for i := range parent.Steps {
		for _, m := range parent.Steps[i].Partitions {
			final[inspect.PartitionID{Topic: m.Topic, Partition: m.Partition}] = m.To
		}
	}
	replicas := map[inspect.PartitionID][]int32{}
	out := *snap
	out.Topics = make([]plans.Topic, len(snap.Topics))
	for i, t := range snap.Topics {
		t.Partitions = slices.Clone(t.Partitions)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			id := inspect.PartitionID{Topic: t.Name, Partition: p.ID}
			replicas[id] = p.Replicas
			if to, ok := final[id]; ok && len(to) > 0 {
				p.Replicas, p.ISR, p.Leader = to, to, to[0]
			}
		}
		out.Topics[i] = t
	}
	if cov := inspect.PlanCoverage(parent, replicas); len(cov.Uncovered) == 0 {
		return nil, badInput(fmt.Errorf("--catch-up: the plan moves every partition of the snapshot that has a replica on a source broker: there is nothing to catch up"))
	}
	return &out, nil
}

// planFromFiles loads the snapshot and mapping, builds the plan and starts
// checking it against every invariant the mapping promises; checked waits
// for that check, which runs beside whatever the caller does next (writing
// the files): nothing may be kept before checked returns nil. Bad files are
// bad input (exit 2); a plan that breaks an invariant is refused (exit 3).
// With catchUpOf, it plans only what that plan leaves on source brokers.
func planFromFiles(snapshotPath, mappingPath string, capacity plans.ByteSize, maxFill float64, catchUpOf *plans.Plan) (res *planner.Result, checked func() error, err error) {
	snap, snapSHA, err := plans.LoadFile[plans.Snapshot](snapshotPath)
	if err != nil {
		return nil, nil, err
	}
	m, mappingSHA, err := plans.LoadFile[plans.Mapping](mappingPath)
	if err != nil {
		return nil, nil, err
	}
	if catchUpOf != nil {
		if snap, err = catchUpSnapshot(catchUpOf, snap); err != nil {
			return nil, nil, err
		}
	}
	// LoadFile validated the snapshot; a catch-up's is made from it anew.
	res, err = planner.Build(planner.Input{Snapshot: snap, Mapping: m, SnapshotSHA256: snapSHA, MappingSHA256: mappingSHA, SnapshotValidated: catchUpOf == nil,
		TargetCapacity: capacity, MaxFill: maxFill, CatchUp: catchUpOf != nil})
	if err != nil {
		return nil, nil, nameInputFiles(err, map[string]string{"snapshot": snapshotPath, "mapping": mappingPath})
	}
	done := make(chan error, 1)
	go func() { done <- plans.CheckInvariants(res.Plan, snap, plans.CheckOptionsFor(m)) }()
	checked = sync.OnceValue(func() error {
		if err := <-done; err != nil {
			return refused(fmt.Errorf("the planner made a plan that breaks its invariants (a kshift bug: please report it with the snapshot and mapping):\n%w", err))
		}
		return nil
	})
	return res, checked, nil
}

// planMemoryPerSnapshotByte is how much heap planning takes per byte of
// snapshot file at its peak, with room: 18 MB of snapshot (200,000
// partitions) peak at about 150-230 MB of live heap.
const planMemoryPerSnapshotByte = 14

// limitPlanMemory sets a soft memory limit for planning (unless GOMEMLIMIT
// says otherwise), so that the garbage collector keeps the heap near what
// the plan needs instead of letting it double: the peak RSS of a
// 200,000-partition plan drops from up to 303 to about 250 MiB for a few
// percent more CPU. Only a soft limit: a larger plan still gets what it needs.
func limitPlanMemory(snapshotPath string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(256 << 20)
	if st, err := os.Stat(snapshotPath); err == nil {
		limit = max(limit, planMemoryPerSnapshotByte*st.Size())
	}
	debug.SetMemoryLimit(limit)
}

// capacityFlags reads --target-capacity and --max-fill; bad values are bad input.
func capacityFlags(c *cli.Context) (plans.ByteSize, float64, error) {
	var capacity plans.ByteSize
	if v := c.String("target-capacity"); v != "" {
		var err error
		if capacity, err = plans.ParseByteSize(v); err != nil || capacity <= 0 {
			return 0, 0, badInput(fmt.Errorf("--target-capacity %q: give a positive size such as 2TiB", v))
		}
	}
	v := strings.TrimSpace(c.String("max-fill"))
	pct, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || pct <= 0 || pct > 100 {
		return 0, 0, badInput(fmt.Errorf("--max-fill %q: give a share of the disk above 0%% and at most 100%%, such as 85%%", v))
	}
	return capacity, pct / 100, nil
}

// nameInputFiles replaces the generic file names the planner uses
// ("snapshot", "mapping") in its input errors with the paths given.
func nameInputFiles(err error, paths map[string]string) error {
	if !errors.Is(err, plans.ErrBadInput) {
		return err
	}
	var out []error
	for _, p := range plans.Problems(err) {
		var ie *plans.InputError
		if errors.As(p, &ie) {
			if path, ok := paths[ie.File]; ok {
				p = &plans.InputError{File: path, Err: ie.Err}
			}
		}
		out = append(out, p)
	}
	return errors.Join(out...)
}

// planDirFiles renders the plan, its rollback and its summary. The plan and
// its rollback are tens of megabytes for a large cluster: they are streamed
// to their files, never held whole; outdir writes the three side by side
// (the summary's charts read the whole plan too).
func planDirFiles(res *planner.Result) []outdir.File {
	return []outdir.File{
		{Name: planFileName, Write: func(w io.Writer) error {
			if err := plans.WritePlan(w, res.Plan); err != nil {
				return fmt.Errorf("encode the plan: %w", err)
			}
			return nil
		}},
		{Name: rollbackFileName, Write: func(w io.Writer) error {
			if err := plans.WriteRollback(w, res.Plan); err != nil {
				return fmt.Errorf("encode the rollback plan: %w", err)
			}
			return nil
		}},
		{Name: summaryFileName, Write: func(w io.Writer) error {
			if err := planner.WriteSummary(w, res); err != nil {
				return fmt.Errorf("write the summary: %w", err)
			}
			return nil
		}},
	}
}

// checkPlanDir refuses an --out that writePlanDir would refuse, before any
// planning: bad input.
func checkPlanDir(dir string) error {
	if err := outdir.CheckDir(dir, []string{planFileName, rollbackFileName, summaryFileName}); err != nil {
		return badInput(fmt.Errorf("--out: %w", err))
	}
	return nil
}

// writePlanDir writes the plan directory atomically, and only once checked
// (the invariant check) returns nil; a refused --out is bad input.
func writePlanDir(dir string, res *planner.Result, checked func() error) error {
	if err := outdir.WriteGated(dir, planDirFiles(res), checked); err != nil {
		if errors.Is(err, errRefused) {
			return err // the invariant check: nothing was put in place
		}
		if errors.Is(err, outdir.ErrRefused) {
			return badInput(fmt.Errorf("--out: %w", err))
		}
		return fmt.Errorf("write the plan directory: %w", err)
	}
	return nil
}

// printPlanned prints the few lines a person reads after `kshift plan`.
func printPlanned(w io.Writer, res *planner.Result, dir string) {
	p := res.Plan
	t := p.Totals
	fmt.Fprintf(w, "Planned %d steps for cluster %s: %d partitions, %s to copy, about %s at %s.\n",
		t.Steps, p.ClusterID, t.Partitions, t.BytesToCopy, t.Duration, p.Throttle)
	counts := map[plans.Phase]int{}
	for _, s := range p.Steps {
		counts[s.Phase]++
	}
	var parts []string
	for _, ph := range plans.AllPhases {
		if n := counts[ph]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", ph, n))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "Steps per phase: %s.\n", strings.Join(parts, ", "))
	}
	if n := len(res.Warnings); n > 0 {
		fmt.Fprintf(w, "%d warning(s): see %s.\n", n, filepath.Join(dir, summaryFileName))
	}
	fmt.Fprintf(w, "Wrote %s, %s and %s in %s.\n", planFileName, rollbackFileName, summaryFileName, dir)
	fmt.Fprintf(w, "Next: review %s, then `kshift apply %s --step 1`.\n", filepath.Join(dir, summaryFileName), filepath.Join(dir, planFileName))
}
