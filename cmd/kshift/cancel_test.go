package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/kshift/kshift/executor"
)

// TestPrintCancelClaimsNothingOnFailure pins kshift cancel's output: a
// cancel that succeeded says what it reverted and that it cleared the
// throttles; one that failed says neither (its error says the throttles are
// left in place), only its warnings.
func TestPrintCancelClaimsNothingOnFailure(t *testing.T) {
	res := &executor.CancelResult{Steps: []int{1}, Warnings: []string{"broker 3 rate unknown"}}
	var ok strings.Builder
	printCancel(&ok, res, nil)
	for _, want := range []string{"reverted step(s) [1]", "cleared kshift's throttles", "warning: broker 3 rate unknown"} {
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
