package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCompletionScripts checks that each shell gets its script and that a
// missing or unknown shell is bad input.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string][]string{
		"bash": {"complete -o default -F _kshift_complete kshift", "--generate-bash-completion"},
		"zsh":  {"#compdef kshift", "compdef _kshift_complete kshift", "--generate-bash-completion"},
		// fish lists the command tree itself: a command, a subcommand, a flag.
		"fish": {"-a 'apply'", "__fish_seen_subcommand_from plan' -a 'validate'", "-l through"},
	} {
		code, out, errMsg := planRun(t, "completion", shell)
		if code != exitOK {
			t.Fatalf("completion %s: exit %d: %s", shell, code, errMsg)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("completion %s: the script lacks %q", shell, w)
			}
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		if code, _, errMsg := planRun(t, args...); code != exitBadInput {
			t.Errorf("%v: exit %d (%s), want %d", args, code, errMsg, exitBadInput)
		}
	}
}

// completionEnv returns an environment whose PATH starts with a directory
// holding "kshift": a wrapper that logs each call's arguments to calls.log
// in dir, then runs this test binary, which runs kshift's main when
// KSHIFT_TEST_RUN_MAIN=1 (see TestMain). So the scripts call the real
// command tree as they would an installed kshift, and the test sees how.
func completionEnv(t *testing.T, dir string) []string {
	t.Helper()
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nprintf '%s\\n' \"$@\" '#end' >> " + shellQuote([]string{filepath.Join(dir, "calls.log")}) +
		"\nexec " + shellQuote([]string{self}) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "kshift"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "KSHIFT_TEST_RUN_MAIN=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// completionCase is a command line typed up to the cursor (the last word is
// the one being completed) and the words the shell must offer, in any order;
// none means the shell falls back to file names.
type completionCase struct {
	line []string
	want []string
}

func completionCases(dir string) []completionCase {
	return []completionCase{
		{line: []string{"kshift", "ap"}, want: []string{"apply"}},
		{line: []string{"kshift", "plan", "va"}, want: []string{"validate"}},
		{line: []string{"kshift", "zk", "pr"}, want: []string{"prune"}},
		{line: []string{"kshift", "apply", "--thr"}, want: []string{"--throttle", "--through"}},
		{line: []string{"kshift", "apply", "plan.yaml", "--st"}, want: []string{"--stall-after", "--step"}},
		// A positional argument: file names, not the generated help command.
		{line: []string{"kshift", "apply", ""}},
		// Completion never runs the command: demo would create --dir.
		{line: []string{"kshift", "demo", "--dir", filepath.Join(dir, "ran"), ""}},
		// After "--" kshift must not be asked at all (checked in the call log).
		{line: []string{"kshift", "demo", "--dir", filepath.Join(dir, "ran-after-dashes"), "--", ""}},
	}
}

// checkCompletion compares what a shell offered (one word per line) with
// the case, and checks that no completion ran kshift's demo.
func checkCompletion(t *testing.T, shell, dir string, cases []completionCase, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%s printed %d lines for %d cases:\n%s", shell, len(lines), len(cases), out)
	}
	for i, c := range cases {
		got := strings.Fields(lines[i])
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: completing %q offered %q, want %q", shell, strings.Join(c.line, " "), got, want)
		}
	}
	for _, ran := range []string{"ran", "ran-after-dashes"} {
		if _, err := os.Stat(filepath.Join(dir, ran)); err == nil {
			t.Errorf("%s: completing ran kshift demo (it created %s)", shell, ran)
		}
	}
	// After "--" cli does not complete but runs the command: the script
	// must never pass one.
	calls, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if err != nil {
		t.Fatalf("%s never called kshift: %v", shell, err)
	}
	if slices.Contains(strings.Split(string(calls), "\n"), "--") {
		t.Errorf("%s called kshift with a \"--\" argument:\n%s", shell, calls)
	}
}

// TestBashCompletion loads the bash script into a real bash and completes
// partial command lines as bash would on TAB: COMP_WORDS and COMP_CWORD set,
// the completion function called, COMPREPLY read.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	cases := completionCases(dir)
	script := []string{
		`source <(kshift completion bash) || exit 1`,
		`offer() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _kshift_complete; echo "${COMPREPLY[*]}"; }`,
	}
	for _, c := range cases {
		script = append(script, "offer "+shellQuote(c.line))
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", strings.Join(script, "\n"))
	cmd.Env = completionEnv(t, dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v: %s", err, stderrOf(err))
	}
	checkCompletion(t, "bash", dir, cases, string(out))
}

// TestZshCompletion runs the zsh script's completion function with zsh's
// completion builtins replaced by stand-ins that print what they are given
// (compadd filters by prefix in a real shell; the cases' words already fit).
// It needs zsh, which CI does not install: without it, it skips.
func TestZshCompletion(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("zsh not installed (apt-get install zsh): the zsh script is not exercised")
	}
	dir := t.TempDir()
	cases := completionCases(dir)
	script := []string{
		`compdef() { :; }`,
		`_files() { print; }`,
		// Real compadd keeps the words matching what is typed; so does this one.
		`compadd() { local w; local -a fit; for w in "${(@P)2}"; do [[ $w == ${words[CURRENT]}* ]] && fit+=("$w"); done; print -- "${fit[*]}"; }`,
		`source <(kshift completion zsh) || exit 1`,
		`offer() { words=("$@"); CURRENT=$#; _kshift_complete; }`,
	}
	for _, c := range cases {
		script = append(script, "offer "+shellQuote(c.line))
	}
	cmd := exec.Command(zsh, "-f", "-c", strings.Join(script, "\n"))
	cmd.Env = completionEnv(t, dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zsh: %v: %s", err, stderrOf(err))
	}
	checkCompletion(t, "zsh", dir, cases, string(out))
}

// TestFishCompletion loads the fish script into fish and asks it to
// complete. It needs fish, which CI does not install: without it, it skips.
func TestFishCompletion(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish not installed (apt-get install fish): the fish script is not exercised")
	}
	script := `kshift completion fish | source; or exit 1
complete -C 'kshift ap'
complete -C 'kshift plan va'
complete -C 'kshift apply --thr'`
	cmd := exec.Command(fish, "--no-config", "-c", script)
	cmd.Env = completionEnv(t, t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fish: %v: %s", err, stderrOf(err))
	}
	var offered []string
	for _, line := range strings.Split(string(out), "\n") {
		if word, _, _ := strings.Cut(line, "\t"); word != "" {
			offered = append(offered, word)
		}
	}
	for _, w := range []string{"apply", "validate", "--throttle", "--through"} {
		if !slices.Contains(offered, w) {
			t.Errorf("fish did not offer %q; it offered %q", w, offered)
		}
	}
}

// shellQuote quotes words for bash and zsh alike.
func shellQuote(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
