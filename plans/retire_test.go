package plans

import (
	"strings"
	"testing"
)

func retirePlan(edit func(p *Plan)) *Plan {
	p := &Plan{Version: FormatVersion, Kind: KindMigration, ClusterID: "c", Strategy: StrategyPhased, Throttle: 1 << 20,
		SourceBrokers: []int32{1, 2}, TargetBrokers: []int32{3, 4},
		Steps: []Step{
			{Number: 1, Phase: PhaseLowerRF, Partitions: []Move{{Topic: "t", Partition: 0, From: []int32{3, 4, 1, 2}, To: []int32{3, 4}}}},
			{Number: 2, Phase: PhaseRetireSources, Retire: &RetireChange{Sources: []int32{1, 2}, Targets: []int32{3, 4}}},
		}}
	p.Steps[0].Estimate = EstimateStep(PhaseLowerRF, p.Steps[0].Partitions, p.Throttle)
	if edit != nil {
		edit(p)
	}
	return p
}

// A retire-sources step is checked where it stands and what it retires; a
// plan without one (written before it existed) stays valid.
func TestRetireStepChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p *Plan)
		want string // "" valid
	}{
		{name: "valid"},
		{name: "older plan without it", edit: func(p *Plan) { p.Steps = p.Steps[:1] }},
		{name: "no section", edit: func(p *Plan) { p.Steps[1].Retire = nil }, want: "has no retire section"},
		{name: "section on another phase", edit: func(p *Plan) { p.Steps[0].Retire = &RetireChange{Sources: []int32{1}, Targets: []int32{3}} }, want: "lower-rf step has a retire section"},
		{name: "a source is a target", edit: func(p *Plan) { p.Steps[1].Retire.Targets = []int32{3, 4, 1} }, want: "both a source to retire and a target"},
		{name: "not the plan's sources", edit: func(p *Plan) { p.Steps[1].Retire.Sources = []int32{1} }, want: "are not the plan's source brokers"},
		{name: "restart in a migration plan", edit: func(p *Plan) { p.Steps[1].Retire.Restart = true }, want: "only a rollback plan restarts"},
		{name: "reassignment after it", edit: func(p *Plan) {
			p.Steps[0], p.Steps[1] = p.Steps[1], p.Steps[0]
			p.Steps[0].Number, p.Steps[1].Number = 1, 2
		}, want: "a lower-rf step after the retire-sources step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := retirePlan(tc.edit)
			err := p.Validate()
			if err == nil {
				err = CheckStandalone(p)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want valid, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want %q, got %v", tc.want, err)
			}
		})
	}
}

// The step round-trips through the plan file, and its undo restarts the
// sources (undoing that retires them again).
func TestRetireStepFileAndUndo(t *testing.T) {
	p := retirePlan(nil)
	p.Steps[1].Retire.Bootstrap = "h3:9092,h4:9092"
	data, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "retire:\n      sources: [1, 2]\n      targets: [3, 4]\n      bootstrap: h3:9092,h4:9092\n") {
		t.Errorf("plan file:\n%s", data)
	}
	back, err := Decode[Plan](data, "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := back.Steps[1].Retire; r == nil || r.Bootstrap != "h3:9092,h4:9092" || len(r.Sources) != 2 {
		t.Fatalf("decoded %+v", back.Steps[1])
	}
	rb := Rollback(back)
	if len(rb.Steps) != 2 || rb.Steps[0].Phase != PhaseRetireSources || !rb.Steps[0].Retire.Restart || rb.Steps[0].Undoes != 2 {
		t.Fatalf("rollback steps %+v", rb.Steps)
	}
	if err := CheckStandalone(rb); err != nil {
		t.Errorf("rollback plan: %v", err)
	}
	if again := Rollback(rb); again.Steps[1].Retire.Restart {
		t.Errorf("the rollback of the rollback restarts the sources instead of retiring them")
	}
}
