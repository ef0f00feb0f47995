package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// referenceDir holds the command reference generated from the command tree.
var referenceDir = filepath.Join("..", "..", "docs", "reference")

// referenceUpdate is the command that regenerates the reference.
const referenceUpdate = "go test ./cmd/kshift -run Reference -update"

// referenceVersion stands in for kshift's version in the generated pages,
// so a release does not make them stale.
const referenceVersion = "(the installed release: kshift --version)"

// TestReference regenerates docs/reference (a Markdown page per top-level
// command holding the --help of it and of each subcommand, an index, and a
// man page) and fails when the committed files differ or a committed page
// no longer has a command. Refresh with -update and review the diff.
func TestReference(t *testing.T) {
	pages := referencePages(t)
	if *updateExamples {
		writeReference(t, pages)
	}
	committed, err := filepath.Glob(filepath.Join(referenceDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range committed {
		if _, ok := pages[filepath.Base(path)]; !ok {
			t.Errorf("%s documents no command any more; remove it with: %s", path, referenceUpdate)
		}
	}
	for name, want := range pages {
		path := filepath.Join(referenceDir, name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (generate it with: %s)", err, referenceUpdate)
			continue
		}
		if string(got) != want {
			t.Errorf("%s is stale (%s); regenerate it with: %s", path, firstDifference(string(got), want), referenceUpdate)
		}
	}
}

// TestReferenceDeterministic renders the reference twice, the second time
// from another directory, with another user, home and temp dir, and with
// every environment variable a flag reads set: nothing from the machine or
// the environment may show in it, or every run would make it stale.
func TestReferenceDeterministic(t *testing.T) {
	first := referencePages(t)
	for _, name := range flagEnvVars(newApp().Commands) {
		t.Setenv(name, "from-the-environment")
	}
	t.Setenv("USER", "someone-else")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("TMPDIR", t.TempDir())
	t.Chdir(t.TempDir())
	second := referencePages(t)
	for name, page := range first {
		if second[name] != page {
			t.Errorf("%s changes with the machine or environment (%s)", name, firstDifference(page, second[name]))
		}
	}
}

// writeReference replaces the generated files in referenceDir by pages.
func writeReference(t *testing.T, pages map[string]string) {
	t.Helper()
	if err := os.MkdirAll(referenceDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := filepath.Glob(filepath.Join(referenceDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range old {
		if _, ok := pages[filepath.Base(path)]; !ok {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, page := range pages {
		if err := os.WriteFile(filepath.Join(referenceDir, name), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// referencePages renders the reference: file name -> content.
func referencePages(t *testing.T) map[string]string {
	t.Helper()
	generated := "_Generated from kshift's command tree by `" + referenceUpdate +
		"`: change a command's text in cmd/kshift, not here._\n"
	pages := map[string]string{}
	var index strings.Builder
	index.WriteString("# Command reference\n\n" + generated + "\n")
	index.WriteString("Every command prints the same text with `--help`. Exit codes: 0 success; 1 failure talking to the cluster or doing the work; 2 bad input (files, flags); 3 refused by a safety check; 4 interrupted. The man page is [kshift.1](kshift.1) (`man ./kshift.1`).\n\n")
	index.WriteString("| command | what it does |\n|---|---|\n")
	index.WriteString("| [kshift](kshift.md) | " + newApp().Usage + " |\n")
	pages["kshift.md"] = "# kshift\n\n" + generated + "\n" + helpBlock(t, nil)
	for _, cmd := range newApp().Commands {
		if cmd.Hidden {
			continue
		}
		file := "kshift-" + cmd.Name + ".md"
		var page strings.Builder
		var walk func(c *cli.Command, path []string, depth int)
		walk = func(c *cli.Command, path []string, depth int) {
			path = append(slices.Clone(path), c.Name)
			full := "kshift " + strings.Join(path, " ")
			anchor := strings.ReplaceAll(full, " ", "-")
			fmt.Fprintf(&index, "| [%s](%s#%s) | %s |\n", full, file, anchor, c.Usage)
			fmt.Fprintf(&page, "%s %s\n\n", strings.Repeat("#", depth), full)
			if depth == 1 {
				page.WriteString(generated + "\n")
			}
			page.WriteString(helpBlock(t, path))
			for _, sub := range c.Subcommands {
				if !sub.Hidden {
					page.WriteString("\n")
					walk(sub, path, depth+1)
				}
			}
		}
		walk(cmd, nil, 1)
		pages[file] = page.String()
	}
	pages["README.md"] = index.String()

	// cli's man page shows a command's usage line and flags but not its
	// description: put both into the text it does show (UsageText, printed
	// as a preformatted block) of a throwaway tree.
	app := newApp()
	var describe func(cmds []*cli.Command, parent string)
	describe = func(cmds []*cli.Command, parent string) {
		for _, c := range cmds {
			full := parent + " " + c.Name
			c.UsageText = strings.TrimSpace(full+" [options] "+c.ArgsUsage) + "\n\n" + c.Description
			describe(c.Subcommands, full)
		}
	}
	describe(app.Commands, "kshift")
	man, err := app.ToManWithSection(1)
	if err != nil {
		t.Fatalf("render the man page: %v", err)
	}
	pages["kshift.1"] = man
	return pages
}

// helpBlock is `kshift PATH... --help` as a Markdown text block.
func helpBlock(t *testing.T, path []string) string {
	t.Helper()
	app := newApp()
	app.Version = referenceVersion
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	args := append(append([]string{"kshift"}, path...), "--help")
	if err := app.Run(args); err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	text := strings.TrimRight(out.String(), " \n")
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		lines = append(lines, strings.TrimRight(line, " "))
	}
	return "```text\n" + strings.Join(lines, "\n") + "\n```\n"
}

// flagEnvVars lists every environment variable a flag of cmds (or of their
// subcommands) reads.
func flagEnvVars(cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		for _, f := range c.Flags {
			if d, ok := f.(cli.DocGenerationFlag); ok {
				names = append(names, d.GetEnvVars()...)
			}
		}
		names = append(names, flagEnvVars(c.Subcommands)...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
