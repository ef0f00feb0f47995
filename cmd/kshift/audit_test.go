package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyReportsTornAuditLog: `kshift apply` whose local audit log ends
// with a line torn by a run killed mid-write says so (the file and the
// line) instead of passing over it, and goes on: kshift keeps its own
// records in the cluster.
func TestApplyReportsTornAuditLog(t *testing.T) {
	m := newMigration(t, 50, 1, 1, 1<<20, 50<<20, 4).useZooKeeper(t)
	audit := filepath.Join(m.dir, "audit.jsonl")
	if err := os.WriteFile(audit, []byte(`{"time":"2026-01-01T00:00:00Z","cluster_id":"kill-te`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := kshiftCmd(t, append([]string{"apply", m.planPath, "--step", "1", "--audit-log", audit, "--poll-interval", "20ms"}, m.connArgs()...)...).CombinedOutput()
	if code := exitCodeOf(err); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	want := "warning: audit log lines that are not records in " + audit + ": line(s) [1]"
	if !strings.Contains(string(out), want) {
		t.Errorf("apply with a torn local audit log does not say %q:\n%s", want, out)
	}
}
