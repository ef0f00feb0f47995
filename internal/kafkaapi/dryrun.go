package kafkaapi

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DryRun returns a client that reads the cluster through c but sends no
// write: it prints each write it would make to w ("would call ...") and
// answers later reads as if the write had happened and finished: a
// partition given new replicas reads at them, in sync and not moving; an
// elected one led by its first replica; a config set or deleted reads so.
// A dry run over several steps is therefore checked against what the steps
// before it would have left, by the same code that runs for real. The
// hooks are not called: a dry run records nothing.
func DryRun(c *Client, w io.Writer) *Client {
	if w == nil {
		w = io.Discard
	}
	return &Client{k: c.k, opts: Options{Timeout: c.opts.Timeout}, dry: &overlay{w: w, parts: map[TP]Partition{}, cfg: Configs{}}}
}

// IsDryRun reports whether c sends no writes.
func (c *Client) IsDryRun() bool { return c.dry != nil }

// overlay is what a dry run's writes would have changed.
type overlay struct {
	w     io.Writer
	mu    sync.Mutex
	parts map[TP]Partition
	cfg   Configs
}

func (o *overlay) print(call string, desc []string) {
	fmt.Fprintf(o.w, "would call %s: %s\n", call, strings.Join(desc, ", "))
}

func (o *overlay) metadata(md *Metadata) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for key, p := range o.parts {
		if _, asked := md.Partitions[key]; asked {
			md.Partitions[key] = p
		}
	}
}

func (o *overlay) reassignments(in map[TP]Reassignment) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for key := range o.parts {
		delete(in, key) // a dry-run move has finished
	}
}

func (o *overlay) configs(in Configs) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for res, entries := range in {
		for key, e := range o.cfg[res] {
			if e.Value == nil {
				delete(entries, key)
				continue
			}
			entries[key] = e
		}
	}
}

// dynamicSource is where a config set on res comes from.
func dynamicSource(res ConfigResource) kmsg.ConfigSource {
	switch {
	case res.Type != kmsg.ConfigResourceTypeBroker:
		return kmsg.ConfigSourceDynamicTopicConfig
	case res.Name == "":
		return kmsg.ConfigSourceDynamicDefaultBrokerConfig
	}
	return kmsg.ConfigSourceDynamicBrokerConfig
}

func (o *overlay) alterConfigs(desc []string, ops []ConfigOp) {
	o.print("IncrementalAlterConfigs", desc)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, op := range ops {
		if o.cfg[op.Resource] == nil {
			o.cfg[op.Resource] = map[string]ConfigEntry{}
		}
		e := ConfigEntry{Source: dynamicSource(op.Resource)}
		if op.Value != nil {
			v := *op.Value
			e.Value = &v
		}
		o.cfg[op.Resource][op.Key] = e
	}
}

// alterAssignments answers a dry-run submission: a cancel leaves the
// partition at its origin set in today's order (docs/kafka-behaviour.md 7),
// a move leaves it at its target, in sync, its leader kept when it stays
// (item 4).
func (o *overlay) alterAssignments(ctx context.Context, c *Client, desc []string, moves []Assignment, out map[TP]error) error {
	o.print("AlterPartitionAssignments", desc)
	inflight, err := c.Reassignments(ctx)
	if err != nil {
		return err
	}
	md, err := c.Metadata(ctx, topicsOf(moves, func(a Assignment) string { return a.Topic }))
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range moves {
		cur, known := md.Partitions[m.TP]
		if !known {
			out[m.TP] = kerr.UnknownTopicOrPartition
			continue
		}
		target := m.Replicas
		if target == nil {
			r, moving := inflight[m.TP]
			if !moving {
				continue // nothing to cancel
			}
			target = r.Origin()
		}
		leader := cur.Leader
		if !slices.Contains(target, leader) {
			leader = target[0]
		}
		o.parts[m.TP] = Partition{Replicas: slices.Clone(target), ISR: slices.Clone(target), Leader: leader}
		out[m.TP] = nil
	}
	return nil
}

// elect answers a dry-run election: the first replica leads where it is in
// the ISR (docs/kafka-behaviour.md 18).
func (o *overlay) elect(ctx context.Context, c *Client, desc []string, parts []TP, out map[TP]error) error {
	o.print("ElectLeaders", desc)
	md, err := c.Metadata(ctx, topicsOf(parts, func(p TP) string { return p.Topic }))
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, key := range parts {
		p, known := md.Partitions[key]
		switch {
		case !known:
			out[key] = kerr.UnknownTopicOrPartition
		case len(p.Replicas) == 0 || !slices.Contains(p.ISR, p.Replicas[0]):
			out[key] = kerr.PreferredLeaderNotAvailable
		default:
			p.Leader = p.Replicas[0]
			o.parts[key] = p
			out[key] = nil
		}
	}
	return nil
}

func topicsOf[T any](items []T, topic func(T) string) []string {
	order, _ := GroupByTopic(items, topic)
	return order
}
