package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestUnsetRatesOnRealKafka is TestUnsetRatesAreNotUnknown on real Kafka
// 2.4 brokers, where issue 11's false "unknown" rates were seen: after a
// cluster default rate is set and deleted, every broker lists its unset
// rates with source DEFAULT_CONFIG (docs/kafka-behaviour.md 26), and only
// the rate set on broker 2 reads as unknown, in the snapshot and in the
// throttles gate.
func TestUnsetRatesOnRealKafka(t *testing.T) {
	c := kafkatest.Shared(t, realCluster)
	k := kafkaapi.New(c.Client(t), kafkaapi.Options{Timeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alter := func(res kafkaapi.ConfigResource, key string, v *string) {
		t.Helper()
		if err := k.AlterConfigs(ctx, []kafkaapi.ConfigOp{{Resource: res, Key: key, Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	rate := "1000000"
	alter(kafkaapi.ClusterDefault, KeyFollowerRate, &rate)
	alter(kafkaapi.ClusterDefault, KeyFollowerRate, nil)
	alter(kafkaapi.BrokerResource(2), KeyLeaderRate, &rate)
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		if err := k.AlterConfigs(dctx, []kafkaapi.ConfigOp{{Resource: kafkaapi.BrokerResource(2), Key: KeyLeaderRate}}); err != nil {
			t.Errorf("deleting broker 2's rate: %v", err)
		}
	})
	// The deleted default reads as set for a moment (item 26): wait until
	// it does not, and broker 1 lists the rate, now unset, as Kafka's
	// default. (Kafka 2.4 lists with DEFAULT_CONFIG the rate keys a broker
	// has seen change, not always both.)
	err := kafkatest.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		res := []kafkaapi.ConfigResource{kafkaapi.ClusterDefault, kafkaapi.BrokerResource(1)}
		cfg, err := k.DescribeConfigs(ctx, res, rateKeys)
		if err != nil {
			return err
		}
		if e, ok := cfg[kafkaapi.ClusterDefault][KeyFollowerRate]; ok && e.SetOn(kafkaapi.ClusterDefault) {
			return errors.New("the deleted cluster default still reads as set")
		}
		if e, ok := cfg[kafkaapi.BrokerResource(1)][KeyFollowerRate]; !ok || e.Source != kmsg.ConfigSourceDefaultConfig {
			return fmt.Errorf("broker 1's unset %s: listed %v, %+v; want source DEFAULT_CONFIG", KeyFollowerRate, ok, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	st, err := Read(ctx, k, ReadOptions{})
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
	if want := []string{"2:" + KeyLeaderRate + "=" + UnknownValue}; !slices.Equal(recorded, want) {
		t.Errorf("rates in the snapshot: %q, want %q", recorded, want)
	}
	rep, err := Check(ctx, k, CheckScope{})
	if err != nil {
		t.Fatal(err)
	}
	wantGate(t, rep, GateThrottles, StatusFail, "broker 2 "+KeyLeaderRate, "set to unknown")
	if f := rep.Gate(GateThrottles).Findings; len(f) != 1 {
		t.Errorf("throttles gate found %d settings, want broker 2's leader rate only: %+v", len(f), f)
	}
}
