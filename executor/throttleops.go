package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
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
	Notes    []string `json:"notes,omitempty" yaml:"notes,omitempty"`
	// Partial says what a clear left because a broker is down (ErrPartial).
	Partial string `json:"partial,omitempty" yaml:"partial,omitempty"`
}

// SetThrottleRate changes the rate on every broker kshift throttles now
// (the open throttle records) and records it as the operator's rate
// override: it stands until the step it is set in ends, across
// interruptions and resumes, on every host. It takes no lock: it is meant
// for a step that is running.
func (e *Executor) SetThrottleRate(ctx context.Context, ref PlanRef, rate plans.Rate) (*ThrottleResult, error) {
	if rate <= 0 {
		return nil, fmt.Errorf("%w: the rate must be positive (use throttle clear to remove throttles)", plans.ErrBadInput)
	}
	if err := e.requireStore(); err != nil {
		return nil, err
	}
	v, err := e.readView(ctx, nil)
	if err != nil {
		return nil, err
	}
	res := &ThrottleResult{ClusterID: v.ClusterID, InFlight: len(v.InFlight)}
	recs, err := e.store.ThrottleRecords(ctx)
	if err != nil {
		return res, err
	}
	if !anyLeftover(recs) {
		return res, refusal("kshift has no throttles set on cluster %s (its state store has no open throttle record): nothing to change; the rate of a step is the plan's, or apply --throttle", v.ClusterID)
	}
	a, err := e.startAudit(ctx, ref, v.ClusterID, 0, 0)
	if err != nil {
		return res, err
	}
	e.kafka.SetHooks(nil, a.call)
	defer e.kafka.SetHooks(nil, nil)
	name, host := whoAmI()
	if err := e.store.SetRate(ctx, state.RateOverride{Rate: rate, User: name, Host: host, Time: time.Now().UTC(), Command: "throttle set"}); err != nil {
		a.end("ok", err)
		return res, fmt.Errorf("recording the rate in the cluster's state store: %w", err)
	}
	value := rateString(rate)
	var ops []kafkaapi.ConfigOp
	for _, rec := range recs {
		for b := range rec.Brokers {
			if !slices.Contains(res.Brokers, b) {
				res.Brokers = append(res.Brokers, b)
			}
		}
	}
	slices.Sort(res.Brokers)
	for _, b := range res.Brokers {
		for _, key := range rateKeys {
			ops = append(ops, setOp(kafkaapi.BrokerResource(b), key, value))
		}
	}
	err = e.kafka.AlterConfigs(ctx, ops)
	if err == nil {
		err = e.verifyConfigs(ctx, ops)
	}
	a.end("ok", err)
	return res, err
}

// ClearThrottles removes what kshift set (the open throttle records in the
// cluster's state store, whoever set them on whatever host), restoring
// prior values, and ends the operator's rate override. With all, it also
// deletes every other throttle config on the cluster's topics and brokers,
// the cluster-default rates included.
func (e *Executor) ClearThrottles(ctx context.Context, ref PlanRef, all bool) (res *ThrottleResult, err error) {
	v, err := e.readView(ctx, nil)
	if err != nil {
		return nil, err
	}
	res = &ThrottleResult{ClusterID: v.ClusterID, InFlight: len(v.InFlight)}
	r, err := e.begin(ctx, ref, v.ClusterID, 0, 0)
	if err != nil {
		return res, err
	}
	defer func() {
		if uerr := r.unlock(); uerr != nil && err == nil {
			err = uerr
		}
		res.Notes = append(res.Notes, r.notes...)
		res.Warnings = append(res.Warnings, r.warnings...)
		r.audit.end("ok", err)
	}()
	if err := r.lock(ctx); err != nil {
		return res, err
	}
	rr := &stepRun{run: r}
	note, err := rr.adoptLegacyRecords(ctx)
	if err != nil {
		return res, err
	}
	if note != "" {
		r.notes = append(r.notes, note)
	}
	recs, err := e.store.ThrottleRecords(ctx)
	if err != nil {
		return res, err
	}
	override, err := e.store.Rate(ctx)
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
	warnings, err := r.finishRecords(recs, nil, kshiftRates(recs, override))
	res.Warnings = warnings
	var partial error
	if errors.Is(err, ErrPartial) {
		// Everything but what the error names is restored.
		partial, err = err, nil
		res.Partial = partial.Error()
	}
	if err != nil {
		return res, r.leftBehind(err)
	}
	if override != nil {
		if err := r.lease.ClearRate(ctx); err != nil {
			return res, err
		}
	}
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
	slices.Sort(res.Brokers)
	if res.Partial != "" {
		// Not cleared: what the record still holds.
		left, _ := e.store.ThrottleRecords(ctx)
		res.Brokers = slices.DeleteFunc(res.Brokers, func(b int32) bool {
			return slices.ContainsFunc(left, func(rec *state.ThrottleRecord) bool { return rec.Brokers[b] != nil })
		})
		return res, partial
	}
	return res, nil
}

// clearAll deletes every throttle config of every topic and broker, and the
// cluster-default rates: Kafka 2.4 does not enforce those
// (docs/kafka-behaviour.md 12) but a later version would, so they are
// throttles too. It returns the topics and brokers it changed and whether
// the defaults were set.
func (e *Executor) clearAll(ctx context.Context) (topics []string, brokers []int32, clusterDefault bool, err error) {
	md, err := e.kafka.Metadata(ctx, kafkaapi.AllTopics)
	if err != nil {
		return nil, nil, false, fmt.Errorf("listing topics: %w", err)
	}
	var all []string
	for key := range md.Partitions {
		if !slices.Contains(all, key.Topic) {
			all = append(all, key.Topic)
		}
	}
	sort.Strings(all)
	var ids []int32
	for id := range md.Brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var ops []kafkaapi.ConfigOp
	if len(all) > 0 {
		tc, err := e.topicLists(ctx, all)
		if err != nil {
			return nil, nil, false, err
		}
		for _, t := range all {
			for i, key := range listKeys {
				if tc[t][i].Present {
					ops = append(ops, deleteOp(kafkaapi.TopicResource(t), key))
					if !slices.Contains(topics, t) {
						topics = append(topics, t)
					}
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
			for i, key := range rateKeys {
				if bc[b][i].Present {
					ops = append(ops, deleteOp(kafkaapi.BrokerResource(b), key))
					if !slices.Contains(brokers, b) {
						brokers = append(brokers, b)
					}
				}
			}
		}
	}
	dc, err := e.clusterDefaultRates(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	for i, key := range rateKeys {
		if dc[i].Present {
			ops = append(ops, deleteOp(kafkaapi.ClusterDefault, key))
			clusterDefault = true
		}
	}
	if err := e.kafka.AlterConfigs(ctx, ops); err != nil {
		return nil, nil, false, err
	}
	return topics, brokers, clusterDefault, e.verifyConfigs(ctx, ops)
}
