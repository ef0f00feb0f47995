package executor

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetNotAvailable is OFFSET_NOT_AVAILABLE, what a leader elected a
// moment ago answers ListOffsets with (KIP-207).
const offsetNotAvailable = 78

// duringStep returns a Progress callback that runs f once, at the step's
// first progress report: after the offsets before the step were read and
// before the verification.
func duringStep(f func()) func(Progress) {
	var once sync.Once
	return func(Progress) { once.Do(f) }
}

// atEnds fails unless every move of s is at want(m), not moving.
func (c *testCluster) atEnds(t *testing.T, s *plans.Step, want func(plans.Move) []int32, when string) {
	t.Helper()
	for _, m := range s.Partitions {
		if st := c.replicas(t, m.Topic, m.Partition); !slices.Equal(st.Replicas, want(m)) || st.Reassigning {
			t.Errorf("%s: %s replicas %v (moving %v), want %v", when, m.Name(), st.Replicas, st.Reassigning, want(m))
		}
	}
}

// TestVerifyFailsWhenOffsetsGoBack pins the continuity check of verify: a
// log end offset (a truncated log) or a log start offset going backwards
// between the reads before and after the step fails the step, naming that
// partition and no other.
func TestVerifyFailsWhenOffsetsGoBack(t *testing.T) {
	for _, tc := range []struct {
		name          string
		start, during [2]int64 // orders-1 start and end offsets before, then during the step
		want          string
	}{
		{"end truncated", [2]int64{0, 4096}, [2]int64{0, 4000}, "orders-1: start 0->0, end 4096->4000"},
		{"start back", [2]int64{100, 4096}, [2]int64{50, 4096}, "orders-1: start 100->50, end 4096->4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, 200, kafkasim.Config{})
			c.topic(t, "orders", 4<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
			if err := c.SetLogOffsets("orders", 1, tc.start[0], tc.start[1]); err != nil {
				t.Fatal(err)
			}
			p := phasedPlan(t, c, 10<<20, "orders")
			e, _ := testExecutor(t, c, func(o *Options) {
				o.Progress = duringStep(func() {
					if err := c.SetLogOffsets("orders", 1, tc.during[0], tc.during[1]); err != nil {
						t.Error(err)
					}
				})
			})
			_, err := e.Apply(testCtx(t, 30*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1)
			if err == nil || !strings.Contains(err.Error(), "went backwards") || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "orders-0") {
				t.Fatalf("apply: %v; want offsets gone backwards naming %q and not orders-0", err, tc.want)
			}
			c.atEnds(t, &p.Steps[0], func(m plans.Move) []int32 { return m.To }, "after the failed verification")
			c.noThrottles(t)
		})
	}
}

// TestUnreadableOffsetsAreReported pins that a partition whose log offsets
// cannot be read is never skipped by the continuity check: before the step
// the step fails before changing anything; after it the verification fails
// naming the partition and the offsets it had before; an answer that comes
// on a retry passes.
func TestUnreadableOffsetsAreReported(t *testing.T) {
	for _, tc := range []struct {
		name string
		// failBefore sets the error before the run, else during the step.
		failBefore bool
		// heal clears the error once the leader has answered with it.
		heal bool
		want []string // in the error, "" for success
	}{
		{"before the step", true, false, []string{"orders-1: OFFSET_NOT_AVAILABLE", "could not read the log start and end offsets of 1 partition(s)"}},
		{"after the step", false, false, []string{"verification failed", "orders-1: OFFSET_NOT_AVAILABLE", "before the step (orders-1: start 0, end 4096)"}},
		{"after the step, answered on a retry", false, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, 200, kafkasim.Config{})
			c.topic(t, "orders", 4<<20, nil, []int32{0, 1, 2}, []int32{1, 2, 0})
			p := phasedPlan(t, c, 10<<20, "orders")
			fail := func() {
				if err := c.SetListOffsetsError("orders", 1, offsetNotAvailable); err != nil {
					t.Error(err)
				}
			}
			if tc.failBefore {
				fail()
			}
			e, _ := testExecutor(t, c, func(o *Options) {
				o.SettleTimeout = 500 * time.Millisecond
				if !tc.failBefore {
					o.Progress = duringStep(fail)
				}
			})
			k := recorded(e)
			var mu sync.Mutex
			refusedAnswers := 0
			k.onAnswer = func(_ kmsg.Request, resp kmsg.Response) {
				lo, ok := resp.(*kmsg.ListOffsetsResponse)
				if !ok {
					return
				}
				for _, rt := range lo.Topics {
					for _, rp := range rt.Partitions {
						if rt.Topic == "orders" && rp.Partition == 1 && rp.ErrorCode == offsetNotAvailable {
							mu.Lock()
							refusedAnswers++
							mu.Unlock()
							if tc.heal {
								if err := c.SetListOffsetsError("orders", 1, 0); err != nil {
									t.Error(err)
								}
							}
						}
					}
				}
			}
			_, err := e.Apply(testCtx(t, 30*time.Second), PlanRef{Plan: p, Path: "plan.yaml"}, 1)
			mu.Lock()
			if refusedAnswers == 0 {
				t.Errorf("the leader never answered ListOffsets with the injected error")
			}
			mu.Unlock()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("apply with offsets readable on a retry: %v", err)
				}
			} else {
				if err == nil {
					t.Fatalf("apply with orders-1's offsets unreadable passed; want an error with %q", tc.want)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
			}
			want := func(m plans.Move) []int32 { return m.To }
			if tc.failBefore {
				want = func(m plans.Move) []int32 { return m.From }
				if sent, _ := k.requests(kmsg.AlterPartitionAssignments.Int16()); len(sent) != 0 {
					t.Errorf("%d AlterPartitionAssignments sent although the offsets before the step could not be read", len(sent))
				}
			}
			c.atEnds(t, &p.Steps[0], want, "after the run")
			c.noThrottles(t)
		})
	}
}
