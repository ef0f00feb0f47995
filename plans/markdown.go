package plans

import "strings"

// MarkdownCell writes s as one cell of a Markdown table, for the summaries
// and diffs people read in a pull request: an empty value shows as a dash
// and a pipe cannot end the cell early.
func MarkdownCell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}
