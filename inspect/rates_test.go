package inspect

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/kafkasim"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestUnsetRatesAreNotUnknown pins issue 11's false "unknown" rates
// (docs/kafka-behaviour.md 26): once a Kafka 2.4 broker has processed a
// throttle rate change, it lists the rates that are not set too, with value
// null and source DEFAULT_CONFIG. Only a rate set on the broker whose value
// is hidden is unknown: the snapshot records no other, its note names only
// that one, and the throttles gate of kshift check finds only that one.
// (A case for the real-broker suite too: set a cluster default rate and
// delete it, then snapshot and check without --zookeeper.)
func TestUnsetRatesAreNotUnknown(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  bool // a rate set on broker 2
	}{{"no rate set", false}, {"one rate set", true}} {
		t.Run(tc.name, func(t *testing.T) {
			_, cl := sharedCluster(t, kafkasim.Config{Version: kafkasim.V2_4, ConfigChangeLag: -1})
			k := api(cl)
			// Every broker processes a rate change: a cluster default
			// rate set, then deleted.
			rate := "1000"
			for _, v := range []*string{&rate, nil} {
				if err := k.AlterConfigs(ctxT(t), []kafkaapi.ConfigOp{{Resource: kafkaapi.ClusterDefault, Key: KeyFollowerRate, Value: v}}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.set {
				setBrokerConfig(t, cl, 2, KeyLeaderRate, "5000")
			}
			// What makes this test able to fail: the brokers list the
			// rates that are not set.
			cfg, err := k.DescribeConfigs(ctxT(t), []kafkaapi.ConfigResource{kafkaapi.BrokerResource(1)}, rateKeys)
			if err != nil {
				t.Fatal(err)
			}
			if e, listed := cfg[kafkaapi.BrokerResource(1)][KeyFollowerRate]; !listed || e.Source != kmsg.ConfigSourceDefaultConfig || e.Value != nil {
				t.Fatalf("broker 1's unset %s: listed %v, %+v; want listed with source DEFAULT_CONFIG and no value (item 26)", KeyFollowerRate, listed, e)
			}

			st, err := Read(ctxT(t), k, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var recorded []string
			for _, b := range st.Snapshot.Brokers {
				for _, key := range rateKeys {
					if v, ok := b.Configs[key]; ok {
						recorded = append(recorded, fmt.Sprintf("%d:%s=%s", b.ID, key, v))
					}
				}
			}
			for _, key := range rateKeys {
				if v, ok := st.Snapshot.ClusterConfigs[key]; ok {
					recorded = append(recorded, "default:"+key+"="+v)
				}
			}
			var want []string
			if tc.set {
				want = []string{"2:" + KeyLeaderRate + "=" + UnknownValue}
			}
			if !slices.Equal(recorded, want) {
				t.Errorf("rates in the snapshot: %q, want %q", recorded, want)
			}
			notes := strings.Join(st.Notes, "\n")
			if hidden := strings.Contains(notes, hiddenRatesNote); hidden != tc.set || strings.Contains(notes, "1:") || strings.Contains(notes, KeyFollowerRate) {
				t.Errorf("notes name rates that are not set:\n%s", notes)
			}

			rep, err := Check(ctxT(t), k, CheckScope{Plan: raisePlan(), Step: 1})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.set {
				wantGate(t, rep, GateThrottles, StatusPass)
				return
			}
			wantGate(t, rep, GateThrottles, StatusFail, "broker 2 "+KeyLeaderRate, "set to unknown")
			if f := rep.Gate(GateThrottles).Findings; len(f) != 1 {
				t.Errorf("throttles gate found %d settings, want broker 2's leader rate only: %+v", len(f), f)
			}
		})
	}
}
