package plans

import (
	"fmt"
	"slices"
)

// RetireChange is what a retire-sources step retires: the source brokers,
// once they hold nothing, and the target brokers the clients move to.
type RetireChange struct {
	// Sources are the brokers to stop, which must hold no replica.
	Sources []int32 `yaml:"sources,flow"`
	// Targets are the brokers that serve the cluster once the sources are gone.
	Targets []int32 `yaml:"targets,flow"`
	// Bootstrap is the target brokers' bootstrap list as the snapshot saw
	// their listeners ("" when it did not): what clients should use. The
	// step prints the live one.
	Bootstrap string `yaml:"bootstrap,omitempty"`
	// Excluded are the topics the mapping left where they are that had a
	// replica on a source broker: the step refuses while they still do,
	// since stopping the sources would lose them.
	Excluded []string `yaml:"excluded,omitempty,flow"`
	// Restart marks the undo of a retire-sources step, in a rollback plan:
	// there is nothing to undo in Kafka, only the source brokers to start
	// again; the step is done once they are all registered.
	Restart bool `yaml:"restart,omitempty"`
}

// Summary says in a few words what the step does.
func (r *RetireChange) Summary() string {
	if r.Restart {
		return fmt.Sprintf("restart source brokers %v", r.Sources)
	}
	return fmt.Sprintf("retire source brokers %v, clients to %v", r.Sources, r.Targets)
}

func (r *RetireChange) validate(pr *problems, loc string) {
	if len(r.Sources) == 0 {
		pr.add(loc, "retire.sources is empty")
	}
	if len(r.Targets) == 0 {
		pr.add(loc, "retire.targets is empty")
	}
	for _, id := range r.Sources {
		if slices.Contains(r.Targets, id) {
			pr.add(loc, "broker %d is both a source to retire and a target", id)
		}
	}
	if d := duplicateIDs(r.Sources); len(d) > 0 {
		pr.add(loc, "retire.sources lists broker %v twice", d)
	}
	if d := duplicateIDs(r.Targets); len(d) > 0 {
		pr.add(loc, "retire.targets lists broker %v twice", d)
	}
}

func cloneRetireChange(r *RetireChange) *RetireChange {
	c := *r
	c.Sources = slices.Clone(r.Sources)
	c.Targets = slices.Clone(r.Targets)
	c.Excluded = slices.Clone(r.Excluded)
	return &c
}

// retire checks where the retire-sources step stands in the plan: at
// most one, after every reassignment step, before the ZooKeeper hand-over
// or fork (the source brokers must be gone before the ensemble they use is
// handed over or forked: docs/concepts.md), retiring exactly the plan's
// source brokers; the undo (restart) only in a rollback plan.
func (c *checker) retire() {
	p := c.plan
	seen := 0
	for i := range p.Steps {
		s := &p.Steps[i]
		loc := fmt.Sprintf("step %d", s.Number)
		if s.Phase != PhaseRetireSources {
			if seen > 0 && p.Kind == KindMigration && (s.Phase.IsReassignment() || s.Phase == PhaseZKJoin) {
				c.pr.add(loc, "a %s step after the retire-sources step: the sources are gone by then", s.Phase)
			}
			continue
		}
		seen++
		if seen > 1 {
			c.pr.add(loc, "a second retire-sources step")
		}
		r := s.Retire
		if r == nil {
			continue // Validate reports it
		}
		if want := p.Kind == KindRollback; r.Restart != want {
			if want {
				c.pr.add(loc, "a rollback plan's retire-sources step restarts the sources (retire.restart: true)")
			} else {
				c.pr.add(loc, "retire.restart is set in a migration plan: only a rollback plan restarts the sources")
			}
		}
		if len(p.SourceBrokers) > 0 && !SameMembers(r.Sources, p.SourceBrokers) {
			c.pr.add(loc, "retire.sources %v are not the plan's source brokers %v", r.Sources, p.SourceBrokers)
		}
		if len(p.TargetBrokers) > 0 && !SameMembers(r.Targets, p.TargetBrokers) {
			c.pr.add(loc, "retire.targets %v are not the plan's target brokers %v", r.Targets, p.TargetBrokers)
		}
	}
}
