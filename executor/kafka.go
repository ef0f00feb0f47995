package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka is what the executor needs from a Kafka client: raw requests, routed
// by the client (admin requests to the controller, broker config resources
// to their broker), and the same request split over brokers when a request is
// per broker (DescribeLogDirs).
type Kafka interface {
	Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
	RequestSharded(ctx context.Context, req kmsg.Request) []kgo.ResponseShard
}

var _ Kafka = (*kgo.Client)(nil)

// ZooKeeper is what the executor reads from ZooKeeper: the broker configs at
// /config/brokers/N, where Kafka 2.4 keeps throttle rates it hides from
// DescribeConfigs. *zk.Conn satisfies it.
type ZooKeeper interface {
	Get(path string) ([]byte, *zk.Stat, error)
}

var _ ZooKeeper = (*zk.Conn)(nil)

// request sends one request with its own timeout and returns the typed response.
func request[R kmsg.Response](ctx context.Context, e *Executor, req kmsg.Request) (R, error) {
	var zero R
	cctx, cancel := context.WithTimeout(ctx, e.opts.CallTimeout)
	defer cancel()
	e.calls.Add(1)
	resp, err := e.k.Request(cctx, req)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", kmsg.NameForKey(req.Key()), err)
	}
	r, ok := resp.(R)
	if !ok {
		return zero, fmt.Errorf("%s: unexpected response type %T", kmsg.NameForKey(req.Key()), resp)
	}
	return r, nil
}

// codeErr turns a Kafka error code and message into an error, nil for 0.
func codeErr(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
