// Package kafkaapi is kshift's one layer of Kafka requests: typed calls for
// what the executor and the cluster reader (package inspect: snapshot and
// gates) ask of a cluster (metadata, reassignments, elections, configs, log
// dirs, offsets, and per broker its API versions, cluster id and log dirs),
// each a raw kmsg request with its own timeout, free of the kadm traps (a
// nil set that means "everything", Metadata answered from a cache). It is
// also the one place that decides whether a config is set on a resource
// (ConfigEntry.SetOn): Kafka 2.4 lists unset throttle rates too.
//
// Writes go through two hooks, so that no caller can forget them: a guard
// called before every mutating request (the executor passes its lease's
// fencing check there: a run that lost the operator lock sends nothing
// more) and a recorder called after it (the audit trail). A dry-run client
// (DryRun) sends reads and keeps writes to itself: it prints each write and
// answers later reads as if the write had happened, so the executor runs
// the same code for a dry run as for a real one.
//
// It owns no state of its own beyond the dry run's overlay, prints nothing
// but a dry run's writes to the writer it was given, and decides nothing
// about plans. Kafka 2.4 is the floor (docs/kafka-behaviour.md).
package kafkaapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Requester sends raw requests, routed by the client (admin requests to the
// controller, a broker config resource to its broker) and split over
// brokers where a request is per broker; Broker addresses one broker by id
// (a read whose answer is that broker's own: its API versions, cluster id,
// log dirs). *kgo.Client satisfies it.
type Requester interface {
	Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
	RequestSharded(ctx context.Context, req kmsg.Request) []kgo.ResponseShard
	BrokerRequester
}

var _ Requester = (*kgo.Client)(nil)

// TP names a partition.
type TP struct {
	Topic     string
	Partition int32
}

func (t TP) String() string { return t.Topic + "-" + strconv.Itoa(int(t.Partition)) }

// Options tune a Client.
type Options struct {
	// Timeout bounds every request.
	Timeout time.Duration
	// BeforeWrite is called before every mutating request with the call's
	// name; an error stops the request (fencing).
	BeforeWrite func(ctx context.Context, call string) error
	// AfterWrite is called after every mutating request with what was
	// asked and how it ended (the audit trail).
	AfterWrite func(call string, request any, err error)
}

// Client sends kshift's Kafka requests.
type Client struct {
	k     Requester
	opts  Options
	calls atomic.Int64
	dry   *overlay
}

// New returns a client sending through k.
func New(k Requester, o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &Client{k: k, opts: o}
}

// Calls is the number of requests sent so far.
func (c *Client) Calls() int64 { return c.calls.Load() }

// SetHooks replaces the write hooks (the executor sets them per run).
func (c *Client) SetHooks(before func(context.Context, string) error, after func(string, any, error)) {
	c.opts.BeforeWrite, c.opts.AfterWrite = before, after
}

// Timeout is the bound of one request.
func (c *Client) Timeout() time.Duration { return c.opts.Timeout }

// send sends one request with its own timeout and returns the typed response.
func send[R kmsg.Response](ctx context.Context, c *Client, req kmsg.Request) (R, error) {
	var zero R
	cctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	c.calls.Add(1)
	resp, err := c.k.Request(cctx, req)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", kmsg.NameForKey(req.Key()), err)
	}
	r, ok := resp.(R)
	if !ok {
		return zero, fmt.Errorf("%s: unexpected response type %T", kmsg.NameForKey(req.Key()), resp)
	}
	return r, nil
}

// sendSharded sends a request that kgo splits over brokers.
func (c *Client) sendSharded(ctx context.Context, req kmsg.Request) []kgo.ResponseShard {
	cctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	c.calls.Add(1)
	return c.k.RequestSharded(cctx, req)
}

// write runs a mutating request between the hooks: the guard first (its
// error stops the call), the recorder after.
func (c *Client) write(ctx context.Context, call string, desc any, do func() error) error {
	if c.opts.BeforeWrite != nil {
		if err := c.opts.BeforeWrite(ctx, call); err != nil {
			return err
		}
	}
	err := do()
	if c.opts.AfterWrite != nil {
		c.opts.AfterWrite(call, desc, err)
	}
	return err
}

// CodeError turns a Kafka error code and message into an error, nil for 0.
func CodeError(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}

// joinPartitionErrors joins the errors of a per-partition result map in
// partition order, each prefixed with its partition.
func joinPartitionErrors(m map[TP]error) error {
	var errs []error
	for _, key := range SortedTPs(m) {
		if m[key] != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, m[key]))
		}
	}
	return errors.Join(errs...)
}

// Wrap makes c send through wrap(k) from now on, k being what it sent
// through so far: a test sees or changes the requests on the wire this way.
func (c *Client) Wrap(wrap func(Requester) Requester) { c.k = wrap(c.k) }
