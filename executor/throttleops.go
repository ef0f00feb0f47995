package executor

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ThrottleResult says what `throttle set` or `throttle clear` changed.
type ThrottleResult struct {
	ClusterID string   `json:"cluster_id" yaml:"cluster_id"`
	Brokers   []int32  `json:"brokers,omitempty" yaml:"brokers,omitempty,flow"`
	Topics    []string `json:"topics,omitempty" yaml:"topics,omitempty"`
	// ClusterDefault is set when `throttle clear --all` deleted the
	// cluster-default rates (broker resource <default>).
	ClusterDefault bool `json:"cluster_default,omitempty" yaml:"cluster_default,omitempty"`
	// InFlight counts reassignments still in flight, which run unthrottled
	// after a clear.
	InFlight int      `json:"in_flight" yaml:"in_flight"`
	Warnings []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// clusterView reads the cluster id and the reassignments in flight, and
// binds the executor to that cluster for the audit log.
func (e *Executor) clusterView(ctx context.Context) (*view, error) {
	v, err := e.readView(ctx, nil)
	if err != nil {
		return nil, err
	}
	e.cluster = v.ClusterID
	return v, nil
}

// SetThrottleRate changes the rate on every broker kshift throttles now
// (the open throttle records). It takes no lock: it is meant for a step
// that is running.
func (e *Executor) SetThrottleRate(ctx context.Context, rate plans.Rate) (*ThrottleResult, error) {
	if rate <= 0 {
		return nil, fmt.Errorf("%w: the rate must be positive (use throttle clear to remove throttles)", plans.ErrBadInput)
	}
	v, err := e.clusterView(ctx)
	if err != nil {
		return nil, err
	}
	res := &ThrottleResult{ClusterID: v.ClusterID, InFlight: len(v.InFlight)}
	recs, err := e.openRecords()
	if err != nil {
		return res, err
	}
	if len(recs) == 0 {
		return res, refusal("kshift has no throttles set on cluster %s (per the audit log %s): nothing to change", v.ClusterID, e.auditPath())
	}
	e.step = 0
	seen := map[int32]bool{}
	for _, rec := range recs {
		for b := range rec.Brokers {
			if !seen[b] {
				seen[b] = true
				res.Brokers = append(res.Brokers, b)
			}
		}
	}
	sort.Slice(res.Brokers, func(i, j int) bool { return res.Brokers[i] < res.Brokers[j] })
	return res, e.setRate(ctx, recs, rate)
}

func (e *Executor) auditPath() string {
	if e.opts.Audit == nil {
		return "(none)"
	}
	return e.opts.Audit.Path()
}

// ClearThrottles removes what kshift set (the open throttle records),
// restoring prior values. With all, it also deletes every other throttle
// config on the cluster's topics and brokers, the cluster-default rates
// included.
func (e *Executor) ClearThrottles(ctx context.Context, all bool) (res *ThrottleResult, err error) {
	v, err := e.clusterView(ctx)
	if err != nil {
		return nil, err
	}
	res = &ThrottleResult{ClusterID: v.ClusterID, InFlight: len(v.InFlight)}
	lock, err := e.AcquireLock(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if lerr := lock.Release(); lerr != nil && err == nil {
			err = lerr
		}
	}()
	recs, err := e.openRecords()
	if err != nil {
		return res, err
	}
	topics := map[string]bool{}
	brokers := map[int32]bool{}
	for _, rec := range recs {
		for t := range rec.Topics {
			topics[t] = true
		}
		for b := range rec.Brokers {
			brokers[b] = true
		}
	}
	sr := &StepResult{}
	if err := e.finishRecords(recs, nil, sr); err != nil {
		return res, err
	}
	res.Warnings = sr.Warnings
	if all {
		ts, bs, clusterDefault, err := e.clearAll(ctx)
		if err != nil {
			return res, err
		}
		res.ClusterDefault = clusterDefault
		for _, t := range ts {
			topics[t] = true
		}
		for _, b := range bs {
			brokers[b] = true
		}
	}
	for t := range topics {
		res.Topics = append(res.Topics, t)
	}
	sort.Strings(res.Topics)
	for b := range brokers {
		res.Brokers = append(res.Brokers, b)
	}
	sort.Slice(res.Brokers, func(i, j int) bool { return res.Brokers[i] < res.Brokers[j] })
	return res, nil
}

// clearAll deletes every throttle config of every topic and broker, and the
// cluster-default rates: Kafka 2.4 does not enforce those (docs/kafka-behaviour.md
// 12) but a later version would, so they are throttles too. It returns the
// topics and brokers it changed and whether the defaults were set.
func (e *Executor) clearAll(ctx context.Context) (topics []string, brokers []int32, clusterDefault bool, err error) {
	mresp, err := request[*kmsg.MetadataResponse](ctx, e, kmsg.NewPtrMetadataRequest())
	if err != nil {
		return nil, nil, false, fmt.Errorf("listing topics: %w", err)
	}
	var all []string
	for _, t := range mresp.Topics {
		if t.Topic != nil && t.ErrorCode == 0 {
			all = append(all, *t.Topic)
		}
	}
	sort.Strings(all)
	var ids []int32
	for _, b := range mresp.Brokers {
		ids = append(ids, b.NodeID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var ops []configOp
	if len(all) > 0 {
		tc, err := e.topicConfigs(ctx, all)
		if err != nil {
			return nil, nil, false, err
		}
		for _, t := range all {
			for i, key := range []string{LeaderReplicasKey, FollowerReplicasKey} {
				if tc[t][i].Present {
					ops = append(ops, configOp{kmsg.ConfigResourceTypeTopic, t, key, nil})
					topics = append(topics, t)
				}
			}
		}
	}
	if len(ids) > 0 {
		bc, err := e.brokerRates(ctx, ids)
		if err != nil {
			return nil, nil, false, err
		}
		for _, b := range ids {
			for i, key := range []string{LeaderRateKey, FollowerRateKey} {
				if bc[b][i].Present {
					ops = append(ops, configOp{kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(b)), key, nil})
					brokers = append(brokers, b)
				}
			}
		}
	}
	dc, err := e.clusterDefaultRates(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	for i, key := range []string{LeaderRateKey, FollowerRateKey} {
		if dc[i].Present {
			ops = append(ops, configOp{kmsg.ConfigResourceTypeBroker, clusterDefaultResource, key, nil})
			clusterDefault = true
		}
	}
	if err := e.alterConfigs(ctx, ops); err != nil {
		return nil, nil, false, err
	}
	return topics, brokers, clusterDefault, e.verifyConfigs(ctx, ops)
}
