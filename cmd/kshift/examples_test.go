package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateExamples = flag.Bool("update", false, "rewrite the examples' generated plan directories (go test ./cmd/kshift -run Examples -update)")

// exampleDirs are the bundled examples: each holds snapshot.yaml,
// mapping.yaml and the plan/ directory kshift plan generates from them.
var exampleDirs = []string{"six-brokers", "rack-to-zone", "migrations/east", "migrations/west"}

// TestExamples regenerates every example's plan directory and fails when the
// committed one differs: the examples are golden files of the planner, the
// rollback derivation and the summary. Refresh them with -update.
func TestExamples(t *testing.T) {
	for _, name := range exampleDirs {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "examples", name)
			snap, mapping := filepath.Join(dir, "snapshot.yaml"), filepath.Join(dir, "mapping.yaml")
			out := filepath.Join(t.TempDir(), "plan")
			if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", out); code != exitOK {
				t.Fatalf("kshift plan: exit %d: %s", code, errMsg)
			}
			committed := filepath.Join(dir, "plan")
			if *updateExamples {
				if code, _, errMsg := planRun(t, "plan", "--snapshot", snap, "--mapping", mapping, "--out", committed); code != exitOK {
					t.Fatalf("kshift plan into %s: exit %d: %s", committed, code, errMsg)
				}
			}
			for _, file := range []string{planFileName, rollbackFileName, summaryFileName} {
				got, err := os.ReadFile(filepath.Join(out, file))
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(filepath.Join(committed, file))
				if err != nil {
					t.Fatalf("%v (generate it with: go test ./cmd/kshift -run Examples -update)", err)
				}
				if string(got) != string(want) {
					t.Errorf("%s is stale (%s); review the change and refresh with: go test ./cmd/kshift -run Examples -update", filepath.Join(committed, file), firstDifference(string(want), string(got)))
				}
			}
			// The committed plans pass the CI gate against their inputs.
			for _, file := range []string{planFileName, rollbackFileName} {
				if code, stdout, errMsg := planRun(t, "plan", "validate", filepath.Join(committed, file), "--snapshot", snap, "--mapping", mapping); code != exitOK {
					t.Errorf("plan validate %s: exit %d: %s%s", file, code, stdout, errMsg)
				}
			}
		})
	}
}

// firstDifference says where two texts first differ, line by line.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d: committed %q, now %q", i+1, wl, gl)
		}
	}
	return "same lines"
}
