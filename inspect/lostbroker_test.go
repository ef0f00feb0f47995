package inspect

import (
	"strings"
	"testing"

	"github.com/kshift/kshift/plans"
)

// TestLostBrokerRule pins when the under-replicated gate lets a step drop
// out-of-sync replicas (issue 17): only when every one is on a broker that
// is down, the step drops it, every replica it keeps is in the ISR and it
// keeps at least min.insync.replicas; anything else still fails, saying
// why the rule does not apply.
func TestLostBrokerRule(t *testing.T) {
	for _, tc := range []struct {
		name      string
		replicas  []int32
		isr       []int32
		down      []int32 // brokers not registered
		to        []int32
		minISR    string
		want      Status
		wantWords string
	}{
		{name: "down target dropped", replicas: []int32{1, 2, 3, 4}, isr: []int32{1, 2, 3}, down: []int32{4}, to: []int32{1, 2, 3}, want: StatusWarn, wantWords: "broker(s) [4] are down and the step drops"},
		{name: "down source dropped", replicas: []int32{4, 5, 6, 1}, isr: []int32{4, 5, 6}, down: []int32{1}, to: []int32{4, 5, 6}, minISR: "2", want: StatusWarn, wantWords: "at least min.insync.replicas 2"},
		{name: "up but out of sync", replicas: []int32{1, 2, 3, 4}, isr: []int32{1, 2, 3}, to: []int32{1, 2, 3}, want: StatusFail, wantWords: "[4] not in sync"},
		{name: "down broker kept", replicas: []int32{1, 2, 3, 4}, isr: []int32{2, 3, 4}, down: []int32{1}, to: []int32{1, 2, 3, 4}, want: StatusFail, wantWords: "the step keeps its replica"},
		{name: "kept replica out of sync", replicas: []int32{1, 2, 3, 4}, isr: []int32{1, 2}, down: []int32{4}, to: []int32{1, 2, 3}, want: StatusFail, wantWords: "broker 3 is up but out of sync"},
		{name: "below min.insync.replicas", replicas: []int32{1, 2, 4}, isr: []int32{1, 2}, down: []int32{4}, to: []int32{1}, minISR: "2", want: StatusFail, wantWords: "fewer than min.insync.replicas 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := &plans.Snapshot{ClusterID: "c", Topics: []plans.Topic{{Name: "t", Configs: map[string]string{}, Partitions: []plans.Partition{
				{ID: 0, Replicas: tc.replicas, ISR: tc.isr, Leader: tc.isr[0]}}}}}
			if tc.minISR != "" {
				snap.Topics[0].Configs["min.insync.replicas"] = tc.minISR
			}
			for _, b := range []int32{1, 2, 3, 4, 5, 6} {
				snap.Brokers = append(snap.Brokers, plans.Broker{ID: b})
			}
			move := plans.Move{Topic: "t", Partition: 0, From: tc.replicas, To: tc.to}
			p := &plans.Plan{ClusterID: "c", Steps: []plans.Step{{Number: 1, Phase: plans.PhaseLowerRF, Partitions: []plans.Move{move}}}}
			in := &GateInput{State: &State{Snapshot: snap, Unregistered: tc.down}, Scope: CheckScope{Plan: p, Step: 1}, moves: p.Steps[0].Partitions}
			got := underReplicatedGate(in)
			var text []string
			for _, f := range got.Findings {
				text = append(text, f.Detail)
			}
			if got.Status != tc.want || !strings.Contains(strings.Join(text, "\n"), tc.wantWords) {
				t.Fatalf("gate %s (%s), findings %v; want %s with %q", got.Status, got.Summary, text, tc.want, tc.wantWords)
			}
		})
	}
}
