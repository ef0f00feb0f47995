package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// cancelAfter collects output and cancels the run once marker has been
// written n times: how a test plays the operator's Ctrl-C.
type cancelAfter struct {
	mu     sync.Mutex
	out    strings.Builder
	marker string
	n      int
	cancel context.CancelFunc
}

func (w *cancelAfter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(b)
	if strings.Count(w.out.String(), w.marker) >= w.n {
		w.cancel()
	}
	return len(b), nil
}

// TestStatusWatch pins `status --watch`: the status is printed again every
// --interval, reading the cluster each time, until the operator interrupts,
// which ends the watch with exit 0 (not an error).
func TestStatusWatch(t *testing.T) {
	m := newMigration(t, 20, 1, 2, 1<<20, 10<<20, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &cancelAfter{marker: "cluster kill-test", n: 3, cancel: cancel}
	app := newApp()
	app.Writer, app.ErrWriter = out, out
	args := append([]string{"kshift", "status", m.planPath, "--watch", "--interval", "10ms"}, m.connArgs()...)
	err := app.RunContext(ctx, args)
	if code := exitCode(err); code != exitOK {
		t.Fatalf("status --watch ended with exit %d (%v):\n%s", code, err, out.out.String())
	}
	if ctx.Err() != context.Canceled {
		t.Fatalf("status --watch ended before it was interrupted:\n%s", out.out.String())
	}
	if got := strings.Count(out.out.String(), "pending"); got < 3 {
		t.Errorf("want the pending steps shown on every refresh, got %d mentions:\n%s", got, out.out.String())
	}
}
