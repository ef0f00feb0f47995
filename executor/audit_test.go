package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/state"
	"github.com/twmb/franz-go/pkg/kadm"
)

// auditLine is one record of a local audit log as kshift writes it.
func auditLine(t *testing.T, r state.AuditRecord) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// olderKshiftRecord sets a follower rate on broker 3 as an older kshift
// (which kept its throttle records in the local audit log) did, and
// returns the log line of its open record.
func olderKshiftRecord(t *testing.T, c *testCluster, ctx context.Context) string {
	t.Helper()
	adm := kadm.NewClient(c.client)
	if rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: FollowerRateKey, Value: kadm.StringPtr("1000")}}, 3); err != nil || rs[0].Err != nil {
		t.Fatalf("setting the older kshift's rate: %v %v", err, rs)
	}
	old := state.NewThrottleRecord("older-step1", 1000)
	old.Brokers[3] = &state.BrokerThrottle{}
	return auditLine(t, state.AuditRecord{Time: time.Now().UTC(), ClusterID: c.ClusterID(), Command: "apply", Event: state.AuditThrottles, Throttles: old})
}

// TestTornLocalAuditLog pins that lines of the local audit log that are not
// records (a last line torn by a run killed mid-write, a garbage line in
// the middle) are reported, never passed over in silence, by the runs that
// read the log for an older kshift's throttle records (apply, throttle
// clear): a warning when nothing they move depends on them, a refusal
// before anything changes when an older kshift's open record would be
// moved (a line that is not a record may be the one that closed it). The
// records kshift appends after a torn last line stay readable.
func TestTornLocalAuditLog(t *testing.T) {
	t.Run("warned", func(t *testing.T) {
		c := startCluster(t, 50, kafkasim.Config{})
		c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
		p := phasedPlan(t, c, 50<<20, "orders")
		e, audit := testExecutor(t, c, nil)
		ctx := testCtx(t, 60*time.Second)
		// Records of this kshift (they name their run), a garbage line,
		// and a last line torn mid-write.
		ours := state.AuditRecord{Time: time.Now().UTC(), ClusterID: c.ClusterID(), Command: "apply", Event: state.AuditStart, Run: "run-0000000007"}
		log := auditLine(t, ours) + "garbage\n" + auditLine(t, ours) + `{"time":"2026-01-01T00:00:00Z","cluster_id":"test-clu`
		if err := os.WriteFile(audit, []byte(log), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := e.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1)
		if err != nil {
			t.Fatalf("step 1: %v", err)
		}
		if !reportsLines(res.Warnings, audit, "[2 4]") {
			t.Errorf("step 1 does not warn of lines 2 and 4 of %s: warnings %q", audit, res.Warnings)
		}
		cleared, err := e.ClearThrottles(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, false)
		if err != nil {
			t.Fatalf("throttle clear: %v", err)
		}
		if !reportsLines(cleared.Warnings, audit, "[2 4]") {
			t.Errorf("throttle clear does not warn of lines 2 and 4 of %s: warnings %q", audit, cleared.Warnings)
		}
		// What the runs appended after the torn line is whole.
		recs, err := ReadAudit(audit)
		if !errors.Is(err, ErrAuditTorn) || !strings.Contains(err.Error(), "line(s) [2 4]") {
			t.Errorf("reading the log after the runs: %v; want lines 2 and 4 alone reported", err)
		}
		starts, ends := 0, 0
		for _, r := range recs {
			switch {
			case r.Run == ours.Run:
			case r.Event == state.AuditStart:
				starts++
			case r.Event == state.AuditEnd:
				ends++
			}
		}
		if starts != 2 || ends != 2 {
			t.Errorf("%d start and %d end records readable after the torn line, want the two runs' (2 and 2)", starts, ends)
		}
	})

	t.Run("refused", func(t *testing.T) {
		// 3.x shows the broker rates (2.4 hides them), so that the run
		// that moves the older record can read the rate it finds.
		c := startCluster(t, 50, kafkasim.Config{Version: kafkasim.V3_x})
		c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
		p := phasedPlan(t, c, 50<<20, "orders")
		e, audit := testExecutor(t, c, nil)
		ctx := testCtx(t, 60*time.Second)
		log := olderKshiftRecord(t, c, ctx) + "{not a record\n" + auditLine(t, state.AuditRecord{Time: time.Now().UTC(), ClusterID: c.ClusterID(), Event: state.AuditEnd})
		if err := os.WriteFile(audit, []byte(log), 0o644); err != nil {
			t.Fatal(err)
		}
		ref := PlanRef{Plan: p, Path: "plan.yaml"}
		_, err := e.Apply(ctx, ref, 1)
		if !errors.Is(err, ErrRefused) || !errors.Is(err, ErrAuditTorn) || !strings.Contains(err.Error(), "line(s) [2]") || !strings.Contains(err.Error(), "older-step1") {
			t.Fatalf("step 1 with an older kshift's open record and a garbage line: %v; want a refusal naming line 2 and older-step1", err)
		}
		_, err = e.ClearThrottles(ctx, ref, false)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "line(s) [2]") {
			t.Fatalf("throttle clear with an older kshift's open record and a garbage line: %v; want a refusal naming line 2", err)
		}
		// Nothing changed.
		if st := c.replicas(t, "orders", 0); st.Reassigning || len(st.Replicas) != 3 {
			t.Errorf("orders-0 %+v after the refusal, want it untouched", st)
		}
		if got := c.BrokerRates(3)[FollowerRateKey]; got != "1000" {
			t.Errorf("broker 3 %s = %q after the refusal, want the older kshift's 1000 untouched", FollowerRateKey, got)
		}
		if recs, err := c.store.ThrottleRecords(ctx); err != nil || len(recs) > 0 {
			t.Errorf("throttle records after the refusal: %d (%v), want none", len(recs), err)
		}
		if l, err := c.store.Lock(ctx); err != nil || l != nil {
			t.Errorf("lock after the refusal: %+v (%v)", l, err)
		}
		// Repaired, the run moves the older record and restores it.
		if err := os.WriteFile(audit, []byte(strings.Replace(log, "{not a record\n", "", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := e.Apply(ctx, ref, 1)
		if err != nil {
			t.Fatalf("step 1 once the line is gone: %v", err)
		}
		if !strings.Contains(strings.Join(res.Notes, "\n"), "older-step1") {
			t.Errorf("step 1 did not move the older kshift's record: notes %q", res.Notes)
		}
		c.noThrottles(t)
	})
}

// reportsLines reports whether one warning names path and its lines.
func reportsLines(warnings []string, path, lines string) bool {
	for _, w := range warnings {
		if strings.Contains(w, path) && strings.Contains(w, "line(s) "+lines) {
			return true
		}
	}
	return false
}

// corruptTrail is a store whose audit trail holds a record that cannot be
// read, as a ZooKeeper store reports it (state.ErrCorrupt, with the
// records it could read).
type corruptTrail struct{ state.Store }

func (s corruptTrail) Audit(ctx context.Context, f state.AuditFilter) ([]state.AuditRecord, error) {
	recs, err := s.Store.Audit(ctx, f)
	if err != nil {
		return recs, err
	}
	return recs, fmt.Errorf("%w: 1 audit records cannot be read: /kafka/kshift/audit/run-0000000003 line 2: %q", state.ErrCorrupt, "{garb")
}

// TestCorruptClusterTrail pins that an unreadable record of the cluster's
// audit trail is not passed over: a run that would move an older kshift's
// record (the trail says whether another host moved it already) refuses
// before anything changes, naming it.
func TestCorruptClusterTrail(t *testing.T) {
	c := startCluster(t, 50, kafkasim.Config{})
	c.topic(t, "orders", 1<<20, nil, []int32{0, 1, 2})
	p := phasedPlan(t, c, 50<<20, "orders")
	e, audit := testExecutor(t, c, func(o *Options) { o.Store = corruptTrail{o.Store} })
	ctx := testCtx(t, 60*time.Second)
	if err := os.WriteFile(audit, []byte(olderKshiftRecord(t, c, ctx)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := e.Apply(ctx, PlanRef{Plan: p, Path: "plan.yaml"}, 1)
	if !errors.Is(err, ErrRefused) || !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "run-0000000003 line 2") || !strings.Contains(err.Error(), "older-step1") {
		t.Fatalf("step 1 with an unreadable trail record: %v; want a refusal naming it and older-step1", err)
	}
	if st := c.replicas(t, "orders", 0); st.Reassigning || len(st.Replicas) != 3 {
		t.Errorf("orders-0 %+v after the refusal, want it untouched", st)
	}
	if got := c.BrokerRates(3)[FollowerRateKey]; got != "1000" {
		t.Errorf("broker 3 %s = %q after the refusal, want the older kshift's 1000 untouched", FollowerRateKey, got)
	}
}
