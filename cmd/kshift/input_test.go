package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/plans"
)

// runIn runs kshift in this process with stdin as its standard input and
// returns stdout and stderr (the error included, as main prints it) and the
// exit code.
func runIn(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp()
	app.Reader, app.Writer, app.ErrWriter = stdin, &out, &errOut
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := app.RunContext(ctx, append([]string{"kshift"}, args...))
	if err != nil {
		errOut.WriteString("kshift: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), exitCode(err)
}

// noCluster is a bootstrap address where nothing listens: a command that
// got as far as connecting fails there with exit 1.
var noCluster = []string{"--bootstrap", "127.0.0.1:1", "--dial-timeout", "1s"}

// writeEditedPlan writes m's plan with edit applied, as a person editing
// the file would, and returns its path.
func writeEditedPlan(t *testing.T, m *migration, edit func(p *plans.Plan)) string {
	t.Helper()
	data, err := os.ReadFile(m.planPath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plans.Decode[plans.Plan](data, m.planPath)
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	if data, err = plans.Marshal(p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edited.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCommandsRefusePlanBreakingInvariants pins issue 12's case: a raise-rf
// `to` edited by hand to one broker was executed by apply (the partition
// left at RF 1). apply, rollback and cancel refuse it with exit 3, naming
// every violation, and change nothing.
func TestCommandsRefusePlanBreakingInvariants(t *testing.T) {
	m := newMigration(t, 1000, 1, 2, 1<<20, 100<<20, 2)
	path := writeEditedPlan(t, m, func(p *plans.Plan) { p.Steps[0].Partitions[0].To = []int32{3} })
	mv := m.plan.Steps[0].Partitions[0]
	for _, args := range [][]string{
		{"apply", path, "--step", "1"},
		{"rollback", path, "--step", "1"},
		{"cancel", path},
	} {
		_, stderr, code := runIn(t, strings.NewReader(""), append(args, m.connArgs()...)...)
		if code != exitRefused {
			t.Errorf("%s: exit %d, want %d\n%s", args[0], code, exitRefused, stderr)
		}
		for _, want := range []string{
			path + " breaks the plan invariants, so kshift runs none of it",
			"step 1, partition " + mv.Name() + ": raise-rf [0 1 2] -> [3] must keep the current replicas first, in order, and only add",
			"step 1: estimate says",
			"step 2, partition " + mv.Name() + ": from [0 1 2 3 4 5] is not [3], where the previous step leaves it",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: output lacks %q:\n%s", args[0], want, stderr)
			}
		}
		if st, _ := m.c.Partition(mv.Topic, mv.Partition); !slices.Equal(st.Replicas, mv.From) || st.Reassigning {
			t.Fatalf("%s changed %s: replicas %v, reassigning %v", args[0], mv.Name(), st.Replicas, st.Reassigning)
		}
	}
}

// TestPlanRatesChecked pins `throttle: 0` (or no rate), which copied
// unthrottled and passed plan validate, even with a mapping at 10 MiB/s:
// validate and apply refuse it, and validate --mapping names every rate that
// is not the mapping's.
func TestPlanRatesChecked(t *testing.T) {
	planPath, snap, mapping, dir := writePlan(t)
	data, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	const rate = "throttle: 10485760\n" // the mapping's 10MiB/s
	if !strings.Contains(string(data), rate) {
		t.Fatalf("fixture changed: the plan has no %q", rate)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zero := write("zero.yaml", strings.Replace(string(data), rate, "throttle: 0\n", 1))
	missing := write("missing.yaml", strings.Replace(string(data), rate, "", 1))
	for _, p := range []string{zero, missing} {
		for _, args := range [][]string{
			{"plan", "validate", p},
			{"plan", "validate", p, "--mapping", mapping, "--snapshot", snap},
			append([]string{"apply", p, "--step", "1"}, noCluster...),
		} {
			stdout, stderr, code := runIn(t, strings.NewReader(""), args...)
			if code != exitRefused || !strings.Contains(stdout+stderr, "throttle: is 0 bytes/s (0 when missing): a plan copies at a positive rate per broker") {
				t.Errorf("%v: exit %d, want %d naming the rate:\n%s%s", args, code, exitRefused, stdout, stderr)
			}
		}
	}
	// A step's own rate set to 0, and rates that differ from the mapping's.
	stepZero := write("step-zero.yaml", strings.Replace(string(data), "    throttle: 10485760\n", "    throttle: 0\n", 1))
	if stdout, _, code := runIn(t, nil, "plan", "validate", stepZero); code != exitRefused || !strings.Contains(stdout, "step 1: throttle is 0, which would copy unthrottled") {
		t.Errorf("a step's rate of 0: exit %d\n%s", code, stdout)
	}
	other := strings.Replace(string(data), rate, "throttle: 20971520\n", 1)
	other = strings.Replace(other, "    throttle: 10485760\n", "    throttle: 5242880\n", 1)
	stdout, _, code := runIn(t, nil, "plan", "validate", write("other.yaml", other), "--mapping", mapping)
	for _, want := range []string{
		"throttle: 20 MiB/s (20971520 bytes/s) per broker, the mapping's throttle is 10 MiB/s (10485760 bytes/s)",
		"step 1: throttle 5.0 MiB/s (5242880 bytes/s) per broker, the mapping's throttle is 10 MiB/s (10485760 bytes/s)",
	} {
		if code != exitRefused || !strings.Contains(stdout, want) {
			t.Errorf("rates other than the mapping's: exit %d, output lacks %q:\n%s", code, want, stdout)
		}
	}
}

// TestApplyStepsNeedSomeoneToAsk pins --through and --all without a
// terminal: every step after the first asks, nobody can answer, so the
// command is refused (exit 2) before it connects; with --auto-continue, a
// dry run, or a single step it goes on (here to fail connecting, exit 1).
func TestApplyStepsNeedSomeoneToAsk(t *testing.T) {
	planPath, _, _, _ := writePlan(t)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--all"}, exitBadInput},
		{[]string{"--through", "2"}, exitBadInput},
		{[]string{"--all", "--auto-continue"}, exitFailure},
		{[]string{"--all", "--dry-run"}, exitFailure},
		{[]string{"--through", "1"}, exitFailure},
		{[]string{"--step", "2"}, exitFailure},
	} {
		args := append(append([]string{"apply", planPath}, tc.args...), noCluster...)
		_, stderr, code := runIn(t, strings.NewReader("y\ny\ny\n"), args...)
		if code != tc.want {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.want, stderr)
		}
		if tc.want == exitBadInput && !strings.Contains(stderr, "standard input is not a terminal: give --auto-continue") {
			t.Errorf("%v: %s", tc.args, stderr)
		}
	}
	// A terminal is asked (the answer is read; it fails connecting first).
	_, tty := openPTY(t)
	if _, stderr, code := runIn(t, tty, append([]string{"apply", planPath, "--all"}, noCluster...)...); code != exitFailure {
		t.Errorf("--all on a terminal: exit %d, want %d\n%s", code, exitFailure, stderr)
	}
}
