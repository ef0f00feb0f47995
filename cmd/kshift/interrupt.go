package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"
)

// metaInterrupts is the App.Metadata key of the process's interruptNotes.
const metaInterrupts = "kshift.interrupts"

// interruptNotes is how kshift answers Ctrl-C and SIGTERM. The first
// signal cancels the run's context and says at once what kshift was doing
// (a cluster that hangs otherwise looks like kshift hanging); the run then
// cleans up (restores throttles, releases the lock) on its own context. A
// second signal abandons that cleanup: the run then says exactly what it
// left and the command that clears it.
type interruptNotes struct {
	w       io.Writer
	mu      sync.Mutex
	now     string
	cleanup context.Context
	abandon context.CancelFunc
}

func newInterruptNotes(w io.Writer) *interruptNotes {
	ctx, cancel := context.WithCancel(context.Background())
	return &interruptNotes{w: w, cleanup: ctx, abandon: cancel}
}

// doing records what the run does now (executor.Options.Doing).
func (n *interruptNotes) doing(what string) {
	n.mu.Lock()
	n.now = what
	n.mu.Unlock()
}

// current is what the run does now, as it last said.
func (n *interruptNotes) current(none string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.now == "" {
		return none
	}
	return n.now
}

// interrupted says what was interrupted and what happens next.
func (n *interruptNotes) interrupted() {
	what := n.current("starting")
	fmt.Fprintf(n.w, "\nkshift: interrupted while %s; stopping and cleaning up (restoring kshift's throttles of what no longer moves, releasing the lock). Press Ctrl-C again to abandon the cleanup.\n", what)
}

// abandoned says what the cleanup was doing and cancels it.
func (n *interruptNotes) abandoned() {
	fmt.Fprintf(n.w, "\nkshift: abandoning the cleanup while %s; what is left is printed below\n", n.current("cleaning up"))
	n.abandon()
}

// listen cancels stop at the first SIGINT or SIGTERM and abandons the
// cleanup at the second, until ctx ends.
func (n *interruptNotes) listen(ctx context.Context, stop context.CancelFunc) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		n.interrupted()
		stop()
		select {
		case <-sigs:
			n.abandoned()
		case <-n.cleanup.Done():
		}
	}()
}

// interruptsOf returns the process's interrupt notes; a command run in
// process (tests) without them gets its own, which nothing signals.
func interruptsOf(c *cli.Context) *interruptNotes {
	if n, ok := c.App.Metadata[metaInterrupts].(*interruptNotes); ok {
		return n
	}
	return newInterruptNotes(c.App.ErrWriter)
}
