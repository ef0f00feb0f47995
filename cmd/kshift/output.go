package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/kshift/kshift/plans"
	"github.com/olekukonko/tablewriter"
	"github.com/urfave/cli/v2"
)

// outputFormat is how a command prints its result.
type outputFormat string

const (
	// formatTable prints human-readable tables (tablewriter).
	formatTable outputFormat = "table"
	// formatYAML prints the result as YAML.
	formatYAML outputFormat = "yaml"
	// formatJSON prints the result as indented JSON, for scripts.
	formatJSON outputFormat = "json"
	// formatMarkdown prints Markdown tables, for a pull request comment or
	// an issue; only `plan diff` and `status --fleet` offer it.
	formatMarkdown outputFormat = "markdown"
)

var allOutputFormats = []outputFormat{formatTable, formatYAML, formatJSON}

// outputFlag is shared by every command that prints a result.
var outputFlag = &cli.StringFlag{
	Name:    "output",
	Aliases: []string{"o"},
	Value:   string(formatTable),
	Usage:   "output format: table, yaml or json",
}

// table is a printable table: a header and rows of cells.
type table struct {
	title  string
	header []string
	rows   [][]string
}

// printer writes a command's result in the chosen format. Tables are for
// people; yaml and json print data, the value a script consumes.
type printer struct {
	w      io.Writer
	format outputFormat
}

func newPrinter(c *cli.Context) (*printer, error) {
	f := outputFormat(c.String(outputFlag.Name))
	if !slices.Contains(allOutputFormats, f) {
		return nil, usageError{fmt.Sprintf("--output %q is not one of table, yaml, json", f)}
	}
	return &printer{w: c.App.Writer, format: f}, nil
}

// print writes data as yaml or json, or the tables built by tables() for the
// table format.
func (p *printer) print(data any, tables func() []table) error {
	switch p.format {
	case formatJSON:
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		return enc.Encode(data)
	case formatYAML:
		out, err := plans.Marshal(data)
		if err != nil {
			return err
		}
		_, err = p.w.Write(out)
		return err
	default:
		for i, t := range tables() {
			if i > 0 {
				fmt.Fprintln(p.w)
			}
			if err := renderTable(p.w, t); err != nil {
				return err
			}
		}
		return nil
	}
}

func renderTable(w io.Writer, t table) error {
	if t.title != "" {
		fmt.Fprintln(w, t.title)
	}
	tw := tablewriter.NewWriter(w)
	header := make([]any, len(t.header))
	for i, h := range t.header {
		header[i] = h
	}
	tw.Header(header...)
	for _, r := range t.rows {
		if err := tw.Append(r); err != nil {
			return err
		}
	}
	return tw.Render()
}
