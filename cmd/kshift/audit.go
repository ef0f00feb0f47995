package main

import (
	"fmt"
	"path/filepath"

	"github.com/kshift/kshift/internal/outdir"
	"github.com/urfave/cli/v2"
)

// auditLogPath is the audit log a command that changes the cluster appends
// to: --audit-log, else kshift-audit.jsonl beside the plan (in the current
// directory without one). openSession opens the same path.
func auditLogPath(c *cli.Context, planPath string) string {
	if p := c.Path(flagAuditLog); p != "" {
		return p
	}
	dir := "."
	if planPath != "" {
		dir = filepath.Dir(planPath)
	}
	return filepath.Join(dir, "kshift-audit.jsonl")
}

// checkAuditLog refuses (exit 2), before anything connects, an audit log
// that cannot be appended to: a directory, a device, FIFO or socket (opening
// a FIFO would hang), or a path whose directory is missing or read-only.
func checkAuditLog(c *cli.Context, planPath string) error {
	if err := outdir.CheckFile(auditLogPath(c, planPath)); err != nil {
		return fmt.Errorf("the audit log (--audit-log): %w", err)
	}
	return nil
}
