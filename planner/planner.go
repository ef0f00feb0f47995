// Package planner turns a cluster snapshot and a mapping into a migration
// plan: where every partition ends (placement), and the ordered, bounded
// steps that take it there (raise-rf, move-leader, lower-rf).
//
// It is pure and deterministic: data in, plan out. The same inputs, in any
// order the cluster listed its brokers, topics and partitions, give a
// byte-identical plan. It must not read files, talk to the network, print,
// or mutate its input.
package planner

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/kshift/kshift/internal/version"
	"github.com/kshift/kshift/plans"
)

// Input is what a plan is made from. The hashes identify the files the
// snapshot and mapping were read from and are recorded in the plan header.
type Input struct {
	Snapshot                      *plans.Snapshot
	Mapping                       *plans.Mapping
	SnapshotSHA256, MappingSHA256 string
	// TargetCapacity, when positive, is the usable disk of every target
	// broker the snapshot reports none for, in place of the mapping's
	// target_capacity.
	TargetCapacity plans.ByteSize
	// MaxFill is the share of a target's disk the plan fills at most where
	// a placement within it exists (0: DefaultMaxFill).
	MaxFill float64
	// SnapshotValidated says the caller validated Snapshot (plans.LoadFile
	// does) and has changed nothing in it since: Build does not validate it
	// again. Leave it false for a snapshot from anywhere else.
	SnapshotValidated bool
	// CatchUp makes a catch-up of another plan (kshift plan --catch-up):
	// partitions only. The ZooKeeper steps and the retire-sources step are
	// the other plan's; its retire step checks that nothing, the catch-up's
	// partitions included, is left on the sources.
	CatchUp bool
}

// Result is a plan with what the pull request summary needs besides it.
type Result struct {
	Plan *plans.Plan
	// Warnings are things an operator must know; they do not stop the plan.
	Warnings []Warning
	// Balance is the load of every target broker after the migration and the
	// spread it reaches against the bounds the planner promises.
	Balance Balance
	// RackMapped says a rack_map decided which rack each replica went to.
	RackMapped bool
}

// Balance is the final load of the target brokers (see plans.Balance).
type Balance = plans.Balance

// Build makes the plan for in. On bad input it returns every problem at once
// (errors.Join), each satisfying errors.Is(err, plans.ErrBadInput) and naming
// the file and the place in it. Structural problems of either file (what
// Validate finds) come first, on their own: the checks that need both files
// (unknown brokers, stray replicas, RF against min.insync.replicas and the
// targets, the rack_map against the racks) run once both are valid.
func Build(in Input) (*Result, error) {
	if in.Snapshot == nil || in.Mapping == nil {
		return nil, &plans.InputError{File: "planner input", Err: errors.New("a snapshot and a mapping are both required")}
	}
	snap := copySnapshot(in.Snapshot)
	snap.Normalize()
	m := copyMapping(in.Mapping)

	var errs []error
	if !in.SnapshotValidated {
		if err := snap.Validate(); err != nil {
			errs = append(errs, &plans.InputError{File: "snapshot", Err: err})
		}
	}
	if err := m.Validate(); err != nil {
		errs = append(errs, &plans.InputError{File: "mapping", Err: err})
	}
	if len(errs) > 0 {
		// Structural problems make every further check unreliable.
		return nil, errors.Join(errs...)
	}

	capacity, maxFill := m.TargetCapacity, in.MaxFill
	if in.TargetCapacity > 0 {
		capacity = in.TargetCapacity
	}
	if maxFill <= 0 {
		maxFill = DefaultMaxFill
	}
	if maxFill > 1 {
		return nil, &plans.InputError{File: "planner input", Err: fmt.Errorf("fill limit %.0f%% is above 100%%: give a share of the disk such as 85%%", 100*maxFill)}
	}
	pl, err := newPlacer(snap, m, capacity, maxFill)
	if err != nil {
		return nil, err
	}
	pl.place()
	pl.spreadLeaders()
	steps := pl.steps()
	// ZooKeeper steps: zk-join before, zk-handover/fork/prune after the
	// reassignment steps, numbered with them.
	if !in.CatchUp {
		zkBefore, zkAfter, err := zooKeeperSteps(snap, m)
		if err != nil {
			return nil, err
		}
		// The retire-sources step ends the Kafka side, before the ensemble
		// the source brokers use is handed over or forked (docs/concepts.md).
		steps = append(append(append(zkBefore, steps...), retireStep(snap, m)), zkAfter...)
	}
	numberSteps(steps)

	plan := &plans.Plan{
		Version:        plans.FormatVersion,
		Kind:           plans.KindMigration,
		ClusterID:      snap.ClusterID,
		SnapshotSHA256: in.SnapshotSHA256,
		MappingSHA256:  in.MappingSHA256,
		KshiftVersion:  version.Version,
		Strategy:       m.Strategy,
		Throttle:       m.Throttle,
		SourceBrokers:  m.SourceBrokers,
		TargetBrokers:  m.TargetBrokers,
		Totals:         totals(steps, pl.moved),
		Steps:          steps,
	}
	res := &Result{Plan: plan, Balance: pl.balance(), RackMapped: len(m.RackMap) > 0}
	pl.finalWarnings(res.Balance)
	res.Warnings = pl.warnings
	return res, nil
}

// numberSteps numbers the steps 1, 2, 3, ... in order: the one place step
// numbers are assigned.
func numberSteps(steps []plans.Step) {
	for i := range steps {
		steps[i].Number = i + 1
	}
}

// totals sums the steps into the plan header; moved is the number of
// partitions the steps touch.
func totals(steps []plans.Step, moved int) plans.Totals {
	t := plans.Totals{Steps: len(steps), Partitions: moved}
	for i := range steps {
		t.Add(steps[i].Estimate)
	}
	return t
}

// copySnapshot copies the slices Normalize sorts, so the caller's snapshot
// is never reordered. Replica lists are shared: nothing here writes them.
func copySnapshot(s *plans.Snapshot) *plans.Snapshot {
	c := *s
	c.Brokers = slices.Clone(s.Brokers)
	c.Topics = slices.Clone(s.Topics)
	for i := range c.Topics {
		c.Topics[i].Partitions = slices.Clone(c.Topics[i].Partitions)
	}
	return &c
}

// copyMapping copies the broker lists and sorts them: their order in the
// file carries no meaning.
func copyMapping(m *plans.Mapping) *plans.Mapping {
	c := *m
	c.SourceBrokers = slices.Clone(m.SourceBrokers)
	c.TargetBrokers = slices.Clone(m.TargetBrokers)
	slices.Sort(c.SourceBrokers)
	slices.Sort(c.TargetBrokers)
	return &c
}

// refusals collects input problems with their file and location.
type refusals struct {
	errs  []error
	kinds []string // the format of each error: problems of one kind share it
}

// refusalsPerKind is how many problems of one kind a refusal lists; the
// rest are counted (one per topic of a 20,000-topic cluster is unreadable).
const refusalsPerKind = 10

func (r *refusals) add(file, loc, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if loc != "" {
		msg = loc + ": " + msg
	}
	r.errs = append(r.errs, &plans.InputError{File: file, Err: errors.New(msg)})
	r.kinds = append(r.kinds, file+"\x00"+format)
}

// err joins the problems, the first refusalsPerKind of each kind and a
// count of the others.
func (r *refusals) err() error {
	seen := map[string]int{}
	var order []string
	var out []error
	file := map[string]string{}
	for i, e := range r.errs {
		k := r.kinds[i]
		if seen[k] == 0 {
			order = append(order, k)
			file[k] = e.(*plans.InputError).File
		}
		seen[k]++
		if seen[k] <= refusalsPerKind {
			out = append(out, e)
		}
	}
	for _, k := range order {
		if n := seen[k]; n > refusalsPerKind {
			out = append(out, &plans.InputError{File: file[k], Err: fmt.Errorf("... and %d more problems like the %d above (%d in all)", n-refusalsPerKind, refusalsPerKind, n)})
		}
	}
	return errors.Join(out...)
}

func sortedStrings(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
