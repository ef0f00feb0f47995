package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/kshift/kshift/executor"
)

// TestPrintCancelClaimsNothingOnFailure pins kshift cancel's output: a
// cancel that succeeded says how many partitions of each step it reverted
// and how many had finished and stay done, and that it cleared the
// throttles; one that failed says neither (its error says the throttles are
// left in place), only its warnings.
func TestPrintCancelClaimsNothingOnFailure(t *testing.T) {
	res := &executor.CancelResult{Steps: []executor.CancelledStep{{Step: 1, Partitions: 3, Reverted: 1, Done: 2}}, Warnings: []string{"broker 3 rate unknown"}}
	var ok strings.Builder
	printCancel(&ok, res, nil)
	for _, want := range []string{"step 1: reverted 1 of its 3 partition(s) to their from; 2 had finished and stay done", "cleared kshift's throttles", "warning: broker 3 rate unknown"} {
		if !strings.Contains(ok.String(), want) {
			t.Errorf("output of a cancel that succeeded lacks %q:\n%s", want, ok.String())
		}
	}
	var failed strings.Builder
	printCancel(&failed, res, errors.New("cancelling step 1: still in flight after the cancel"))
	if got := failed.String(); strings.Contains(got, "reverted") || strings.Contains(got, "cleared") || !strings.Contains(got, "warning: broker 3 rate unknown") {
		t.Errorf("output of a cancel that failed:\n%s\nwant only its warnings, no claim of a revert or of cleared throttles", got)
	}
}
