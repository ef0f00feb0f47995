package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kshift/kshift/internal/kafkaconn"
	"gopkg.in/yaml.v3"
)

// ciScript is the shell logic the CI examples call.
var ciScript = filepath.Join("..", "..", "examples", "ci", "kshift-ci.sh")

// ciRepo is a repository of migrations with a remote, as the CI examples
// expect it: migrations/<cluster>/{snapshot.yaml,mapping.yaml,plan/}.
type ciRepo struct {
	t      *testing.T
	dir    string // the working clone
	kshift string // a kshift command: this test binary running main
}

func (r *ciRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=kshift test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=kshift test", "GIT_COMMITTER_EMAIL=test@example.invalid", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// run runs kshift-ci.sh with args in the clone and returns its exit code and output.
func (r *ciRepo) run(env []string, args ...string) (int, string) {
	r.t.Helper()
	script, err := filepath.Abs(ciScript)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = append(append(os.Environ(), "KSHIFT="+r.kshift, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		r.t.Fatalf("kshift-ci.sh %s: %v", strings.Join(args, " "), err)
	}
	return 0, out.String()
}

func (r *ciRepo) read(name string) string {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(data)
}

func (r *ciRepo) edit(name, old, new string) {
	r.t.Helper()
	s := r.read(name)
	if !strings.Contains(s, old) {
		r.t.Fatalf("%s has no %q", name, old)
	}
	if err := os.WriteFile(filepath.Join(r.dir, name), []byte(strings.Replace(s, old, new, 1)), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *ciRepo) plan(cluster string) {
	r.t.Helper()
	d := filepath.Join(r.dir, "migrations", cluster)
	if out, err := exec.Command(r.kshift, "plan", "--snapshot", filepath.Join(d, "snapshot.yaml"), "--mapping", filepath.Join(d, "mapping.yaml"), "--out", filepath.Join(d, "plan")).CombinedOutput(); err != nil {
		r.t.Fatalf("kshift plan %s: %v\n%s", cluster, err, out)
	}
}

// TestCIScript runs the CI examples' script end to end in a repository of
// migrations against a sandbox registered in real ZooKeeper: a pull request
// that changes a mapping and its plan passes the check with the plan diff
// and the summary in the comment; a mapping changed without planning again
// fails it; apply refuses the unmerged plan and a changed working tree, and
// applies step 1 once merged, keeping the audit trail and the status.
func TestCIScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	for _, tool := range []string{"bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	srv := sharedZooKeeper(t)
	root := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	kshift := filepath.Join(root, "kshift")
	if err := os.WriteFile(kshift, []byte("#!/bin/sh\nKSHIFT_TEST_RUN_MAIN=1 exec "+self+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &ciRepo{t: t, dir: filepath.Join(root, "repo"), kshift: kshift}
	if err := os.MkdirAll(filepath.Join(r.dir, "migrations", "sim"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	(&ciRepo{t: t, dir: root}).git("init", "-q", "--bare", "-b", "main", "origin.git")
	r.git("remote", "add", "origin", filepath.Join(root, "origin.git"))

	sim := filepath.Join(r.dir, "migrations", "sim")
	sb := startHungSandbox(t, srv, "--topics", "3", "--partitions", "12", "--speed", "500",
		"--write-snapshot", filepath.Join(sim, "snapshot.yaml"), "--write-mapping", filepath.Join(sim, "mapping.yaml"))
	r.plan("sim")
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "plan the sim cluster")
	r.git("push", "-q", "origin", "main")

	// A pull request: smaller steps, planned again.
	r.git("checkout", "-q", "-b", "smaller-steps")
	r.edit("migrations/sim/mapping.yaml", "partitions_per_step: 500", "partitions_per_step: 4")
	r.plan("sim")
	r.git("commit", "-q", "-am", "smaller steps")
	code, out := r.run(nil, "check", "origin/main")
	comment := r.read("kshift-ci-out/comment.md")
	if code != 0 {
		t.Fatalf("check of a replanned change: exit %d\n%s\n%s", code, out, comment)
	}
	for _, want := range []string{
		"<!-- kshift-plan-check -->\n## kshift plan check\n\n### `sim`\n",
		"- ✅ `plan/` is what `kshift version ", "- ✅ `kshift plan validate plan/plan.yaml`", "- ✅ `kshift plan validate plan/rollback.yaml`",
		"#### Plan diff for cluster `synth-1` (migration plan)", "resized", "<details><summary>SUMMARY.md</summary>", "```mermaid\ngantt\n", "}}}}%%\nxychart-beta\n",
	} {
		if !strings.Contains(comment, want) {
			t.Errorf("comment lacks %q:\n%s", want, comment)
		}
	}

	// The mapping changed again, the plan not: stale.
	r.edit("migrations/sim/mapping.yaml", "partitions_per_step: 4", "partitions_per_step: 5")
	r.git("commit", "-q", "-am", "forgot to plan")
	code, out = r.run(nil, "check", "origin/main")
	comment = r.read("kshift-ci-out/comment.md")
	if code == 0 || !strings.Contains(comment, "- ❌ `plan/` is stale") || !strings.Contains(comment, "❌ `kshift plan validate plan/plan.yaml` found violations") || !strings.Contains(out, "migrations/sim: FAILED") {
		t.Errorf("check of a stale plan: exit %d\n%s\n%s", code, out, comment)
	}
	r.git("reset", "-q", "--hard", "HEAD~1")

	conn := []string{"KSHIFT_BOOTSTRAP=" + sb.bootstrap, "KSHIFT_ZOOKEEPER=" + sb.connect}
	// Not merged: refused, nothing applied.
	code, out = r.run(conn, "apply", "sim", "1")
	if code != 2 || !strings.Contains(out, "is not on origin/main; only a merged plan is applied") {
		t.Fatalf("apply of an unmerged plan: exit %d\n%s", code, out)
	}

	// Merged: step 1 is applied, the audit trail and the status kept.
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--ff-only", "smaller-steps")
	r.git("push", "-q", "origin", "main")
	r.edit("migrations/sim/plan/plan.yaml", "kind: migration", "kind: migration # edited")
	if code, out = r.run(conn, "apply", "sim", "1"); code != 2 || !strings.Contains(out, "differs from the commit checked out") {
		t.Fatalf("apply of an edited plan: exit %d\n%s", code, out)
	}
	r.git("checkout", "-q", "--", ".")
	summary := filepath.Join(root, "step-summary.md")
	code, out = r.run(append(conn, "GITHUB_STEP_SUMMARY="+summary), "apply", "sim", "1")
	if code != 0 {
		t.Fatalf("apply of the merged plan: exit %d\n%s", code, out)
	}
	if audit := r.read("kshift-ci-out/audit.jsonl"); !strings.Contains(audit, `"step":1`) {
		t.Errorf("audit trail lacks step 1:\n%s", audit)
	}
	status := r.read("kshift-ci-out/status.txt")
	if !strings.Contains(status, "done") || !strings.Contains(status, "pending") {
		t.Errorf("status after step 1 shows no done and pending steps:\n%s", status)
	}
	if got, _ := os.ReadFile(summary); !strings.Contains(string(got), "## kshift apply sim --step 1: done\n") || !strings.Contains(string(got), status) {
		t.Errorf("step summary:\n%s\nwant the status:\n%s", got, status)
	}
}

// TestCIExamples checks the CI examples against kshift and against each
// other: every KSHIFT_ variable they set is one kshift reads, they pin one
// kshift release, they call only subcommands kshift-ci.sh has, apply runs
// only by hand on the default branch behind an environment, and nothing
// serves metrics. actionlint lints the GitHub workflows (examples/ci/lint.sh).
func TestCIExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "ci")
	read := func(name string) (string, map[string]any) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return string(data), doc
	}
	reads := map[string]bool{kafkaconn.EnvSASLPassword: true, kafkaconn.EnvZKDigest: true}
	for _, name := range flagEnvVars(newApp().Commands) {
		reads[name] = true
	}
	script, err := os.ReadFile(filepath.Join(dir, "kshift-ci.sh"))
	if err != nil {
		t.Fatal(err)
	}
	subcommands := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z-]+)\)$`).FindAllStringSubmatch(string(script), -1) {
		subcommands[m[1]] = true
	}
	if len(subcommands) != 3 {
		t.Fatalf("kshift-ci.sh subcommands %v, want check, apply and gitlab-comment", subcommands)
	}
	versions := map[string]string{}
	for _, name := range []string{"github/kshift-plan.yml", "github/kshift-apply.yml", "gitlab/.gitlab-ci.yml"} {
		text, doc := read(name)
		for _, m := range regexp.MustCompile(`(?m)^\s*(KSHIFT_[A-Z_]+):`).FindAllStringSubmatch(text, -1) {
			if m[1] != "KSHIFT_VERSION" && !reads[m[1]] {
				t.Errorf("%s sets %s, which kshift does not read", name, m[1])
			}
		}
		calls := regexp.MustCompile(`bash ci/kshift-ci\.sh ([a-z-]+)`).FindAllStringSubmatch(text, -1)
		if len(calls) == 0 {
			t.Errorf("%s never calls bash ci/kshift-ci.sh", name)
		}
		for _, m := range calls {
			if !subcommands[m[1]] {
				t.Errorf("%s calls kshift-ci.sh %s, which it does not have", name, m[1])
			}
		}
		if strings.Contains(text, "--metrics-addr ") || strings.Contains(text, "--metrics-addr=") {
			t.Errorf("%s serves metrics", name)
		}
		vars, _ := doc["variables"].(map[string]any)
		if env, ok := doc["env"].(map[string]any); ok {
			vars = env
		}
		v, _ := vars["KSHIFT_VERSION"].(string)
		if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
			t.Errorf("%s pins KSHIFT_VERSION %q, want a release vX.Y.Z", name, v)
		}
		versions[name] = v
		if !strings.Contains(text, `github.com/kshift/kshift/cmd/kshift@${KSHIFT_VERSION}`) {
			t.Errorf("%s does not install the pinned kshift", name)
		}
	}
	if len(slices.Compact(slices.Sorted(maps.Values(versions)))) != 1 {
		t.Errorf("the examples pin different kshift releases: %v", versions)
	}

	// GitHub: apply only by hand, from the default branch, behind an environment.
	_, apply := read("github/kshift-apply.yml")
	if on, _ := apply["on"].(map[string]any); len(on) != 1 || on["workflow_dispatch"] == nil {
		t.Errorf("kshift-apply.yml runs on %v, want workflow_dispatch only", apply["on"])
	}
	job, _ := apply["jobs"].(map[string]any)["apply"].(map[string]any)
	if cond, _ := job["if"].(string); !strings.Contains(cond, "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)") {
		t.Errorf("the apply job runs on any ref: if %q", cond)
	}
	if env, _ := job["environment"].(string); !strings.HasPrefix(env, "kafka-") {
		t.Errorf("the apply job has no environment to approve: %q", env)
	}

	// GitLab: the apply job only in a pipeline run by hand on the default branch.
	_, gitlab := read("gitlab/.gitlab-ci.yml")
	gapply, _ := gitlab["kshift-apply"].(map[string]any)
	rules, _ := gapply["rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("kshift-apply rules %v, want one", gapply["rules"])
	}
	cond, _ := rules[0].(map[string]any)["if"].(string)
	for _, want := range []string{`$CI_PIPELINE_SOURCE == "web"`, "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"} {
		if !strings.Contains(cond, want) {
			t.Errorf("kshift-apply rule %q lacks %s", cond, want)
		}
	}
	if env, _ := gapply["environment"].(map[string]any); env["name"] != "kafka/$MIGRATION_CLUSTER" {
		t.Errorf("kshift-apply environment %v", gapply["environment"])
	}
}

// TestCIScriptGitLabComment runs kshift-ci.sh gitlab-comment with a glab
// that records its calls and answers the merge request's notes: the first
// run creates the note, a later one edits the note that starts with the
// marker, never another one.
func TestCIScriptGitLabComment(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	calls, notes := filepath.Join(dir, "calls"), filepath.Join(dir, "notes.json")
	glab := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>" + calls + "\nif [ \"$2\" = --paginate ]; then cat " + notes + "; fi\n"
	if err := os.WriteFile(filepath.Join(dir, "glab"), []byte(glab), 0o755); err != nil {
		t.Fatal(err)
	}
	comment := filepath.Join(dir, "comment.md")
	if err := os.WriteFile(comment, []byte("<!-- kshift-plan-check -->\n## kshift plan check\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &ciRepo{t: t, dir: dir, kshift: "false"}
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "CI_PROJECT_ID=12", "CI_MERGE_REQUEST_IID=34"}
	for _, tc := range []struct {
		notes, want string
	}{
		{`[{"id": 5, "body": "looks good"}]`, "api --method POST projects/12/merge_requests/34/notes --raw-field body=<!-- kshift-plan-check -->\n## kshift plan check\n"},
		{`[{"id": 5, "body": "see <!-- kshift-plan-check -->"}, {"id": 7, "body": "<!-- kshift-plan-check -->\nold"}, {"id": 9, "body": "<!-- kshift-plan-check -->\nolder"}]`,
			"api --method PUT projects/12/merge_requests/34/notes/7 --raw-field body=<!-- kshift-plan-check -->\n## kshift plan check\n"},
	} {
		os.Remove(calls)
		if err := os.WriteFile(notes, []byte(tc.notes), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out := r.run(env, "gitlab-comment", comment); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		got, _ := os.ReadFile(calls)
		want := "api --paginate projects/12/merge_requests/34/notes?sort=asc&per_page=100\n" + tc.want
		if string(got) != want {
			t.Errorf("notes %s: glab was called with\n%s\nwant\n%s", tc.notes, got, want)
		}
	}
}
