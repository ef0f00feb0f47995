package main

import (
	"strings"
	"testing"

	"github.com/kshift/kshift/executor"
	"github.com/kshift/kshift/plans"
)

// TestProgressLineRatePerBroker pins the rate a progress line shows: the
// busiest receiving broker's rate now, against the per-broker throttle,
// never the step's cluster-wide average (which read as above the throttle
// while every broker was below it), and "nothing copied" when nothing grew.
func TestProgressLineRatePerBroker(t *testing.T) {
	var out strings.Builder
	p := &progressPrinter{w: &out}
	p.update(executor.Progress{Step: 1, Phase: plans.PhaseRaiseRF, Partitions: 3, BytesTotal: 300 << 20, BytesCopied: 100 << 20,
		Rate: 13 << 20, ETA: 15e9, BusiestBroker: 4, BusiestRate: 4.6 * (1 << 20), Throttle: 5 << 20})
	line := out.String()
	if !strings.Contains(line, "busiest receiver now broker 4 at 4.6 MiB/s (throttle 5.0 MiB/s per broker)") || strings.Contains(line, "13 MiB/s") {
		t.Errorf("progress line %q: want broker 4's 4.6 MiB/s against the 5 MiB/s throttle, not the 13 MiB/s of all brokers", line)
	}
	out.Reset()
	p.last = p.last.Add(-defaultProgressInterval)
	p.update(executor.Progress{Step: 1, Phase: plans.PhaseRaiseRF, Partitions: 3, BytesTotal: 300 << 20, BytesCopied: 100 << 20, BusiestBroker: -1, Idle: true, Throttle: 5 << 20})
	if !strings.Contains(out.String(), "nothing copied since the last read") {
		t.Errorf("idle progress line %q: want it to say nothing was copied", out.String())
	}
}
