package kafkaapi

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Assignment is a partition's new replica list; nil Replicas cancels the
// reassignment in flight (KIP-455).
type Assignment struct {
	TP
	Replicas []int32
}

func (a Assignment) String() string {
	if a.Replicas == nil {
		return a.TP.String() + "=cancel"
	}
	return fmt.Sprintf("%s=%v", a.TP, a.Replicas)
}

// AlterAssignments sends one AlterPartitionAssignments request. A move with
// nothing to copy completes inside the call (docs/kafka-behaviour.md 2). It
// returns each partition's error (nil when accepted); a cancel of a
// partition with nothing in flight (NO_REASSIGNMENT_IN_PROGRESS: it
// finished meanwhile) is no error. The error is for the request as a whole.
func (c *Client) AlterAssignments(ctx context.Context, moves []Assignment) (map[TP]error, error) {
	if len(moves) == 0 {
		return map[TP]error{}, nil
	}
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = int32(c.opts.Timeout.Milliseconds())
	topics, byTopic := GroupByTopic(moves, func(a Assignment) string { return a.Topic })
	desc := make([]string, 0, len(moves))
	for _, name := range topics {
		t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		t.Topic = name
		for _, a := range byTopic[name] {
			p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
			p.Partition = a.Partition
			p.Replicas = slices.Clone(a.Replicas)
			t.Partitions = append(t.Partitions, p)
			desc = append(desc, a.String())
		}
		req.Topics = append(req.Topics, t)
	}
	out := map[TP]error{}
	err := c.write(ctx, "AlterPartitionAssignments", desc, func() error {
		if c.dry != nil {
			return c.dry.alterAssignments(ctx, c, desc, moves, out)
		}
		resp, err := send[*kmsg.AlterPartitionAssignmentsResponse](ctx, c, req)
		if err != nil {
			return err
		}
		if err := CodeError(resp.ErrorCode, resp.ErrorMessage); err != nil {
			return err
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				perr := CodeError(p.ErrorCode, p.ErrorMessage)
				if errors.Is(perr, kerr.NoReassignmentInProgress) {
					perr = nil
				}
				out[TP{t.Topic, p.Partition}] = perr
			}
		}
		return joinPartitionErrors(out)
	})
	if err != nil {
		return out, fmt.Errorf("submitting reassignment: %w", err)
	}
	return out, nil
}

// ElectPreferred runs a preferred-leader election for exactly parts. It
// never sends an empty or null set: that elects every partition of the
// cluster (docs/kafka-behaviour.md 18). It returns each partition's
// result: nil when the preferred replica leads now (ELECTION_NOT_NEEDED
// included), kerr.PreferredLeaderNotAvailable when it is down or not yet in
// the ISR (the caller tries again later), another error otherwise.
func (c *Client) ElectPreferred(ctx context.Context, parts []TP) (map[TP]error, error) {
	out := map[TP]error{}
	if len(parts) == 0 {
		return out, nil
	}
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = 0 // preferred
	req.TimeoutMillis = int32(c.opts.Timeout.Milliseconds())
	topics, byTopic := GroupByTopic(parts, func(p TP) string { return p.Topic })
	desc := make([]string, 0, len(parts))
	for _, name := range topics {
		t := kmsg.NewElectLeadersRequestTopic()
		t.Topic = name
		for _, p := range byTopic[name] {
			t.Partitions = append(t.Partitions, p.Partition)
			desc = append(desc, p.String())
		}
		req.Topics = append(req.Topics, t)
	}
	err := c.write(ctx, "ElectLeaders", desc, func() error {
		if c.dry != nil {
			return c.dry.elect(ctx, c, desc, parts, out)
		}
		resp, err := send[*kmsg.ElectLeadersResponse](ctx, c, req)
		if err != nil {
			return err
		}
		if err := CodeError(resp.ErrorCode, nil); err != nil {
			return err
		}
		var errs []error
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				key := TP{t.Topic, p.Partition}
				perr := CodeError(p.ErrorCode, p.ErrorMessage)
				if errors.Is(perr, kerr.ElectionNotNeeded) {
					perr = nil
				}
				out[key] = perr
				if perr != nil && !errors.Is(perr, kerr.PreferredLeaderNotAvailable) {
					errs = append(errs, fmt.Errorf("%s: %w", key, perr))
				}
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return out, fmt.Errorf("preferred-leader election: %w", err)
	}
	return out, nil
}

// ConfigOp sets (Value non-nil) or deletes (nil) one config key. kshift
// never APPENDs or SUBTRACTs: APPEND onto "" breaks the list on 2.4 and
// SUBTRACT is a multiset difference (docs/kafka-behaviour.md 15, 27).
type ConfigOp struct {
	Resource ConfigResource
	Key      string
	Value    *string
}

func (o ConfigOp) String() string {
	if o.Value == nil {
		return fmt.Sprintf("DELETE %s %s", o.Resource, o.Key)
	}
	return fmt.Sprintf("SET %s %s=%q", o.Resource, o.Key, *o.Value)
}

// AlterConfigs sends one IncrementalAlterConfigs request of SET and DELETE
// operations; kgo sends a broker resource to that broker.
func (c *Client) AlterConfigs(ctx context.Context, ops []ConfigOp) error {
	if len(ops) == 0 {
		return nil
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	index := map[ConfigResource]int{}
	desc := make([]string, 0, len(ops))
	for _, op := range ops {
		i, ok := index[op.Resource]
		if !ok {
			r := kmsg.NewIncrementalAlterConfigsRequestResource()
			r.ResourceType, r.ResourceName = op.Resource.Type, op.Resource.Name
			req.Resources = append(req.Resources, r)
			i = len(req.Resources) - 1
			index[op.Resource] = i
		}
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name = op.Key
		if op.Value == nil {
			cfg.Op = kmsg.IncrementalAlterConfigOpDelete
		} else {
			cfg.Op = kmsg.IncrementalAlterConfigOpSet
			cfg.Value = op.Value
		}
		req.Resources[i].Configs = append(req.Resources[i].Configs, cfg)
		desc = append(desc, op.String())
	}
	err := c.write(ctx, "IncrementalAlterConfigs", desc, func() error {
		if c.dry != nil {
			c.dry.alterConfigs(desc, ops)
			return nil
		}
		var errs []error
		for _, sh := range c.sendSharded(ctx, req) {
			if sh.Err != nil {
				errs = append(errs, fmt.Errorf("broker %d: %w", sh.Meta.NodeID, sh.Err))
				continue
			}
			resp, ok := sh.Resp.(*kmsg.IncrementalAlterConfigsResponse)
			if !ok {
				continue
			}
			for _, r := range resp.Resources {
				if err := CodeError(r.ErrorCode, r.ErrorMessage); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", ConfigResource{r.ResourceType, r.ResourceName}, err))
				}
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return fmt.Errorf("changing configs: %w", err)
	}
	return nil
}

// DeleteTopics deletes topics (one already gone counts as deleted). Topic
// deletion completes asynchronously: a topic of the same name cannot be
// created again for a moment (docs/kafka-behaviour.md 25).
func (c *Client) DeleteTopics(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = int32(c.opts.Timeout.Milliseconds())
	req.TopicNames = names
	for _, n := range names {
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	err := c.write(ctx, "DeleteTopics", names, func() error {
		if c.dry != nil {
			c.dry.print("DeleteTopics", names)
			return nil
		}
		resp, err := send[*kmsg.DeleteTopicsResponse](ctx, c, req)
		if err != nil {
			return err
		}
		var errs []error
		for _, r := range resp.Topics {
			if err := CodeError(r.ErrorCode, r.ErrorMessage); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return fmt.Errorf("deleting topics %v: %w", names, err)
	}
	return nil
}
