package main

import (
	"fmt"
	"strings"

	"github.com/kshift/kshift/plans"
	"github.com/urfave/cli/v2"
)

func newPlanValidateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a plan against every invariant: the CI gate of a plan pull request",
		UsageText: "kshift plan validate PLAN [--snapshot SNAPSHOT] [--mapping MAPPING]",
		Description: `Runs the plan invariant checker on PLAN (a plan.yaml or rollback.yaml) and prints
every violation, one per line.

Without other files it checks what the plan says on its own: steps chain (each
partition's from is where the previous step left it), each phase does only what
it may (raise-rf keeps the current replicas first and adds targets, move-leader
only reorders and leads with a target, lower-rf only drops sources), at most one
retire-sources step, after every reassignment step and before the ZooKeeper
hand-over or fork, retiring the plan's sources (restarting them in a rollback
plan; a plan without the step stays valid), the estimates match the moves, and the plan and every step copy at a positive rate
(the checks apply, rollback and cancel run on every plan they load). With --snapshot it also checks the plan was made from
that file (hash and cluster id), starts from the snapshot's replicas, never goes
below min.insync.replicas and keeps rack spread. With --mapping it also checks
the mapping's hash, its per-step limits, the target replication factor, that
every partition leaves the source brokers, and that the
plan's rate and each step's own are the mapping's throttle. A rollback
plan is checked for chaining and for each step being the inverse of its phase
(the per-step limits bound forward steps only: an undo is as large as the step
it undoes). With both, it also measures the final balance and prints, as notes,
where it misses the planner's bounds (not violations: existing load on the
targets can make them unreachable, and the plan's warnings say why).

Exit codes: 0 no violation; 3 any violation; 2 a file cannot be read or parsed.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "snapshot", Usage: "the snapshot `FILE` the plan was made from"},
			&cli.StringFlag{Name: "mapping", Usage: "the mapping `FILE` the plan was made from"},
		},
		Action: flagsAfterArgs(runPlanValidate),
	}
}

func runPlanValidate(c *cli.Context) error {
	if err := requireArgs(c, 1, "one plan file"); err != nil {
		return err
	}
	path := c.Args().First()
	p, err := plans.ReadFile[plans.Plan](path)
	if err != nil {
		return err
	}
	var violations []string
	var snap *plans.Snapshot
	var checked []string
	if c.IsSet("snapshot") {
		s, sha, err := plans.LoadFile[plans.Snapshot](c.String("snapshot"))
		if err != nil {
			return err
		}
		snap = s
		checked = append(checked, "snapshot "+c.String("snapshot"))
		if p.SnapshotSHA256 != sha {
			violations = append(violations, fmt.Sprintf("snapshot_sha256: the plan was made from a snapshot with sha256 %s, %s has %s: plan again from this snapshot", p.SnapshotSHA256, c.String("snapshot"), sha))
		}
		if p.ClusterID != s.ClusterID {
			violations = append(violations, fmt.Sprintf("cluster_id: the plan is for cluster %q, the snapshot is of cluster %q", p.ClusterID, s.ClusterID))
		}
	}
	var opts plans.CheckOptions
	if c.IsSet("mapping") {
		m, sha, err := plans.LoadFile[plans.Mapping](c.String("mapping"))
		if err != nil {
			return err
		}
		checked = append(checked, "mapping "+c.String("mapping"))
		if p.MappingSHA256 != sha {
			violations = append(violations, fmt.Sprintf("mapping_sha256: the plan was made from a mapping with sha256 %s, %s has %s: plan again from this mapping", p.MappingSHA256, c.String("mapping"), sha))
		}
		if p.Kind == plans.KindMigration {
			opts = plans.CheckOptionsFor(m)
		} else {
			// A rollback copies at the forward plan's rates: the mapping's.
			opts.Throttle = m.Throttle
		}
	}
	if err := plans.CheckInvariants(p, snap, opts); err != nil {
		for _, e := range plans.Problems(err) {
			violations = append(violations, e.Error())
		}
	}
	// The balance bounds are not invariants (existing load can make them
	// unreachable, and the planner says so in its warnings): they are noted.
	if snap != nil && opts.Balance != plans.BalanceUnchecked {
		for _, msg := range plans.FinalBalance(p, snap, opts.Balance).Problems() {
			fmt.Fprintf(c.App.Writer, "%s: note: final balance: %s\n", path, msg)
		}
	}
	against := ""
	if len(checked) > 0 {
		against = " against " + strings.Join(checked, " and ")
	}
	if len(violations) > 0 {
		for _, v := range violations {
			fmt.Fprintf(c.App.Writer, "%s: %s\n", path, v)
		}
		return refused(fmt.Errorf("%s: %d violation(s) of the plan invariants%s (listed above)", path, len(violations), against))
	}
	fmt.Fprintf(c.App.Writer, "%s: OK: %s plan, %d steps, no invariant violated%s.\n", path, p.Kind, len(p.Steps), against)
	return nil
}
