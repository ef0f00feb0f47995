package main

import (
	"context"
	"errors"

	"github.com/kshift/kshift/internal/outdir"
	"github.com/kshift/kshift/plans"
)

// Exit codes, defined once. Scripts rely on them; change none.
const (
	exitOK          = 0
	exitFailure     = 1 // talking to the cluster or doing the work failed
	exitBadInput    = 2 // a file or flag is missing, malformed or invalid
	exitRefused     = 3 // a safety check refused: gate, drift, invariant, lock
	exitInterrupted = 4 // Ctrl-C or SIGTERM; what is left was printed
	exitPartial     = 5 // done but for what a broker that is down holds; run again once it is back
)

// errPartial marks an error as a command done but for what a broker that is
// down holds (exit 5).
var errPartial = errors.New("partly done")

// errRefused marks an error as a safety refusal (exit 3).
var errRefused = errors.New("refused")

// refused wraps err so that kshift exits with exitRefused.
func refused(err error) error { return &kindError{kind: errRefused, err: err} }

// badInput wraps err so that kshift exits with exitBadInput.
func badInput(err error) error { return &kindError{kind: plans.ErrBadInput, err: err} }

type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// usageError is returned by flag parsing and argument checks.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var usage usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage), errors.Is(err, plans.ErrBadInput), errors.Is(err, outdir.ErrRefused):
		return exitBadInput
	case errors.Is(err, errRefused):
		return exitRefused
	case errors.Is(err, errPartial):
		return exitPartial
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		return exitFailure
	}
}
