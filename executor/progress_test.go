package executor

import (
	"testing"
	"time"
)

// TestBusiestSince pins the per-broker rate a progress line shows (issue
// 11: the cluster-wide, cumulative rate read as "6.6 MiB/s under a 5 MiB/s
// throttle" and as moving while nothing moved): the broker whose adding
// replicas grew most since the last read, over that time; none when
// nothing grew.
func TestBusiestSince(t *testing.T) {
	before := map[int32]int64{4: 10 << 20, 5: 10 << 20, 6: 0}
	now := map[int32]int64{4: 15 << 20, 5: 14 << 20, 6: 4 << 20}
	b, rate := busiestSince(before, now, time.Second)
	if b != 4 || rate != 5<<20 {
		t.Errorf("busiest %d at %.0f B/s, want broker 4 at %d (three brokers at ~5 MiB/s each: 13 MiB/s together is not one broker's rate)", b, rate, 5<<20)
	}
	if b, rate := busiestSince(now, now, time.Second); b != -1 || rate != 0 {
		t.Errorf("nothing grew: busiest %d at %.0f, want none", b, rate)
	}
}
