package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// isTerminal reports whether r is a terminal a person can answer a prompt
// on. A pipe, a file or /dev/null is not: a prompt read from it would take
// whatever the input holds (or nothing) as the answer.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
