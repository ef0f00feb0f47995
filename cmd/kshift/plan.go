package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

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
		UsageText: "kshift plan --snapshot SNAPSHOT --mapping MAPPING --out DIR",
		Description: `Plans the migration described by MAPPING for the cluster in SNAPSHOT and writes
DIR/plan.yaml, DIR/rollback.yaml and DIR/SUMMARY.md (Markdown for the pull request).

The plan is checked against every invariant before anything is written; the
directory is written whole or not at all. An existing DIR is replaced only when
it is empty or holds nothing but those three files (an earlier plan); any other
existing path is refused.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "snapshot", Usage: "the cluster snapshot (`FILE`, from kshift snapshot)"},
			&cli.StringFlag{Name: "mapping", Usage: "the mapping a person wrote (`FILE`)"},
			&cli.StringFlag{Name: "out", Usage: "the output `DIR`; its parent must exist"},
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
	res, err := planFromFiles(c.String("snapshot"), c.String("mapping"))
	if err != nil {
		return err
	}
	dir := c.String("out")
	if err := writePlanDir(dir, res); err != nil {
		return err
	}
	printPlanned(c.App.Writer, res, dir)
	return nil
}

// planFromFiles loads the snapshot and mapping, builds the plan and checks it
// against every invariant the mapping promises. Bad files are bad input
// (exit 2); a plan that breaks an invariant is refused (exit 3).
func planFromFiles(snapshotPath, mappingPath string) (*planner.Result, error) {
	snap, snapSHA, err := plans.LoadFile[plans.Snapshot](snapshotPath)
	if err != nil {
		return nil, err
	}
	m, mappingSHA, err := plans.LoadFile[plans.Mapping](mappingPath)
	if err != nil {
		return nil, err
	}
	res, err := planner.Build(planner.Input{Snapshot: snap, Mapping: m, SnapshotSHA256: snapSHA, MappingSHA256: mappingSHA})
	if err != nil {
		return nil, nameInputFiles(err, map[string]string{"snapshot": snapshotPath, "mapping": mappingPath})
	}
	if err := plans.CheckInvariants(res.Plan, snap, plans.CheckOptionsFor(m)); err != nil {
		return nil, refused(fmt.Errorf("the planner made a plan that breaks its invariants (a kshift bug: please report it with the snapshot and mapping):\n%w", err))
	}
	return res, nil
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
// its rollback are tens of megabytes for a large cluster: they are encoded
// side by side.
func planDirFiles(res *planner.Result) ([]outdir.File, error) {
	var planYAML, rollbackYAML []byte
	var planErr, rollbackErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rollbackYAML, rollbackErr = plans.Marshal(plans.Rollback(res.Plan))
	}()
	planYAML, planErr = plans.Marshal(res.Plan)
	var summary bytes.Buffer
	summaryErr := planner.WriteSummary(&summary, res)
	wg.Wait()
	switch {
	case planErr != nil:
		return nil, fmt.Errorf("encode the plan: %w", planErr)
	case rollbackErr != nil:
		return nil, fmt.Errorf("encode the rollback plan: %w", rollbackErr)
	case summaryErr != nil:
		return nil, fmt.Errorf("write the summary: %w", summaryErr)
	}
	return []outdir.File{
		{Name: planFileName, Data: planYAML},
		{Name: rollbackFileName, Data: rollbackYAML},
		{Name: summaryFileName, Data: summary.Bytes()},
	}, nil
}

// checkPlanDir refuses an --out that writePlanDir would refuse, before any
// planning: bad input.
func checkPlanDir(dir string) error {
	if err := outdir.CheckDir(dir, []string{planFileName, rollbackFileName, summaryFileName}); err != nil {
		return badInput(fmt.Errorf("--out: %w", err))
	}
	return nil
}

// writePlanDir writes the plan directory atomically; a refused --out is bad input.
func writePlanDir(dir string, res *planner.Result) error {
	files, err := planDirFiles(res)
	if err != nil {
		return err
	}
	if err := outdir.Write(dir, files); err != nil {
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
