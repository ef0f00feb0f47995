package inspect

import (
	"context"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/kshift/kshift/kafkasim"
	"github.com/twmb/franz-go/pkg/kadm"
)

// startDouble starts a Kafka double on a manual clock and connects to it.
func startDouble(t testing.TB, cfg kafkasim.Config) (*kafkasim.Cluster, *kafkaconn.Clients) {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = kafkasim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := kafkasim.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start double: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	cl, err := kafkaconn.Connect(ctx, kafkaconn.Options{Bootstrap: d.Bootstrap(), DialTimeout: 5 * time.Second, RequestTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("connect to double: %v", err)
	}
	t.Cleanup(cl.Close)
	return d, cl
}

// brokers returns broker configs with the given ids, racks r1, r2, r3 in turn.
func brokers(ids ...int32) []kafkasim.BrokerConfig {
	out := make([]kafkasim.BrokerConfig, len(ids))
	for i, id := range ids {
		out[i] = kafkasim.BrokerConfig{ID: id, Rack: []string{"r1", "r2", "r3"}[i%3]}
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// setBrokerConfig sets one dynamic broker config with IncrementalAlterConfigs.
func setBrokerConfig(t testing.TB, cl *kafkaconn.Clients, broker int32, key, value string) {
	t.Helper()
	res, err := cl.Admin.AlterBrokerConfigs(ctxT(t), []kadm.AlterConfig{{Name: key, Value: &value}}, broker)
	if err == nil {
		for _, r := range res {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		t.Fatalf("set %s=%s on broker %d: %v", key, value, broker, err)
	}
}

// api is kshift's Kafka request layer over a test's connection.
func api(cl *kafkaconn.Clients) *kafkaapi.Client {
	return kafkaapi.New(cl.Kafka, kafkaapi.Options{Timeout: cl.Options.RequestTimeout})
}
