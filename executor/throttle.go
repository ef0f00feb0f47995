package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kshift/kshift/plans"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Throttle config keys (docs/design.md "Throttles").
const (
	LeaderRateKey         = "leader.replication.throttled.rate"
	FollowerRateKey       = "follower.replication.throttled.rate"
	LeaderReplicasKey     = "leader.replication.throttled.replicas"
	FollowerReplicasKey   = "follower.replication.throttled.replicas"
	throttleWildcardValue = "*"
	// clusterDefaultResource names the cluster-default broker config
	// resource (ZooKeeper /config/brokers/<default>): its rates are stored
	// but not enforced on Kafka 2.4 (docs/kafka-behaviour.md 12).
	clusterDefaultResource = ""
)

// ErrUnknownRate refuses to overwrite a throttle rate whose current value
// cannot be read (Kafka 2.4 hides rates, docs/kafka-behaviour.md 13).
var ErrUnknownRate = errors.New("existing throttle rate cannot be read")

// PriorValue is a config value as it was before kshift touched it.
type PriorValue struct {
	// Present is false when the key was not set at all.
	Present bool `json:"present"`
	// Known is false when the key was set but its value could not be read.
	Known bool   `json:"known"`
	Value string `json:"value"`
}

// TopicThrottle is what kshift did to one topic's throttled-replica lists.
type TopicThrottle struct {
	PriorLeader   PriorValue `json:"prior_leader"`
	PriorFollower PriorValue `json:"prior_follower"`
	// Leader and Follower are the "partition:broker" entries kshift added
	// (entries that were already listed are not kshift's).
	Leader   []string `json:"leader,omitempty"`
	Follower []string `json:"follower,omitempty"`
}

// BrokerThrottle is what kshift did to one broker's throttle rates.
type BrokerThrottle struct {
	PriorLeaderRate   PriorValue `json:"prior_leader_rate"`
	PriorFollowerRate PriorValue `json:"prior_follower_rate"`
}

// ThrottleRecord is everything kshift changed in throttle configs for a run,
// with the values from before, so that it can be undone exactly.
type ThrottleRecord struct {
	ID      string                    `json:"id"`
	Rate    plans.Rate                `json:"rate"`
	Topics  map[string]*TopicThrottle `json:"topics"`
	Brokers map[int32]*BrokerThrottle `json:"brokers"`
}

func newThrottleRecord(id string, rate plans.Rate) *ThrottleRecord {
	return &ThrottleRecord{ID: id, Rate: rate, Topics: map[string]*TopicThrottle{}, Brokers: map[int32]*BrokerThrottle{}}
}

// empty reports whether the record holds nothing kshift still owns.
func (r *ThrottleRecord) empty() bool {
	for _, t := range r.Topics {
		if len(t.Leader) > 0 || len(t.Follower) > 0 {
			return false
		}
	}
	return len(r.Brokers) == 0
}

// throttlePlan is what a set of moves needs throttled: per topic the
// leader entries (existing replicas) and follower entries (adding replicas),
// and the brokers that need rates.
type throttlePlan struct {
	leader, follower map[string][]string
	brokers          []int32
}

func entry(p int32, b int32) string { return fmt.Sprintf("%d:%d", p, b) }

// throttlesFor computes the throttles of moves that copy data: the replicas a
// move starts from send (leader-throttled), the replicas it adds receive
// (follower-throttled).
func throttlesFor(moves []plans.Move) throttlePlan {
	tpl := throttlePlan{leader: map[string][]string{}, follower: map[string][]string{}}
	brokers := map[int32]bool{}
	for i := range moves {
		m := &moves[i]
		adding := m.Adding()
		if len(adding) == 0 {
			continue
		}
		for _, b := range m.From {
			tpl.leader[m.Topic] = append(tpl.leader[m.Topic], entry(m.Partition, b))
			brokers[b] = true
		}
		for _, b := range adding {
			tpl.follower[m.Topic] = append(tpl.follower[m.Topic], entry(m.Partition, b))
			brokers[b] = true
		}
	}
	for b := range brokers {
		tpl.brokers = append(tpl.brokers, b)
	}
	slices.Sort(tpl.brokers)
	return tpl
}

// withEntries returns list with the entries of add it lacks appended.
func withEntries(list, add []string) []string {
	out := slices.Clone(list)
	for _, en := range add {
		if !slices.Contains(out, en) {
			out = append(out, en)
		}
	}
	return out
}

// parseList splits a throttled-replicas value into entries; "*" is kept as is.
func parseList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// topicConfigs reads the throttled-replica lists of topics.
func (e *Executor) topicConfigs(ctx context.Context, topics []string) (map[string][2]PriorValue, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, t := range topics {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType = kmsg.ConfigResourceTypeTopic
		r.ResourceName = t
		r.ConfigNames = []string{LeaderReplicasKey, FollowerReplicasKey}
		req.Resources = append(req.Resources, r)
	}
	resp, err := request[*kmsg.DescribeConfigsResponse](ctx, e, req)
	if err != nil {
		return nil, fmt.Errorf("reading topic throttle configs: %w", err)
	}
	out := map[string][2]PriorValue{}
	for _, r := range resp.Resources {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return nil, fmt.Errorf("reading throttle configs of topic %s: %w", r.ResourceName, err)
		}
		var pv [2]PriorValue
		for _, c := range r.Configs {
			i := 0
			switch c.Name {
			case LeaderReplicasKey:
			case FollowerReplicasKey:
				i = 1
			default:
				continue
			}
			if c.Source == kmsg.ConfigSourceDynamicTopicConfig || (c.Source == kmsg.ConfigSourceUnknown && !c.IsDefault) {
				pv[i] = PriorValue{Present: true, Known: c.Value != nil}
				if c.Value != nil {
					pv[i].Value = *c.Value
				}
			}
		}
		out[r.ResourceName] = pv
	}
	return out, nil
}

// brokerRates reads the dynamic per-broker throttle rates. A rate hidden by
// the broker (2.4) is read from ZooKeeper when configured, else unknown.
func (e *Executor) brokerRates(ctx context.Context, brokers []int32) (map[int32][2]PriorValue, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, b := range brokers {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType = kmsg.ConfigResourceTypeBroker
		r.ResourceName = strconv.Itoa(int(b))
		r.ConfigNames = []string{LeaderRateKey, FollowerRateKey}
		req.Resources = append(req.Resources, r)
	}
	resp, err := request[*kmsg.DescribeConfigsResponse](ctx, e, req)
	if err != nil {
		return nil, fmt.Errorf("reading broker throttle rates: %w", err)
	}
	out := map[int32][2]PriorValue{}
	for _, r := range resp.Resources {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return nil, fmt.Errorf("reading throttle rates of broker %s: %w", r.ResourceName, err)
		}
		id, err := strconv.Atoi(r.ResourceName)
		if err != nil {
			return nil, fmt.Errorf("reading throttle rates: unexpected broker resource %q", r.ResourceName)
		}
		var pv [2]PriorValue
		hidden := false
		for _, c := range r.Configs {
			i := 0
			switch c.Name {
			case LeaderRateKey:
			case FollowerRateKey:
				i = 1
			default:
				continue
			}
			if c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
				continue
			}
			pv[i] = PriorValue{Present: true, Known: c.Value != nil}
			if c.Value != nil {
				pv[i].Value = *c.Value
			} else {
				hidden = true
			}
		}
		if hidden && e.opts.ZooKeeper != nil {
			if pv, err = e.zkRates(int32(id), pv); err != nil {
				return nil, err
			}
		}
		out[int32(id)] = pv
	}
	return out, nil
}

// clusterDefaultRates reads the cluster-default throttle rates (the broker
// resource "", docs/kafka-behaviour.md 12). Kafka 2.4 hides their values, so only
// whether each is set is certain there.
func (e *Executor) clusterDefaultRates(ctx context.Context) ([2]PriorValue, error) {
	var pv [2]PriorValue
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType = kmsg.ConfigResourceTypeBroker
	r.ResourceName = clusterDefaultResource
	r.ConfigNames = []string{LeaderRateKey, FollowerRateKey}
	req.Resources = append(req.Resources, r)
	resp, err := request[*kmsg.DescribeConfigsResponse](ctx, e, req)
	if err != nil {
		return pv, fmt.Errorf("reading the cluster-default throttle rates: %w", err)
	}
	for _, r := range resp.Resources {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return pv, fmt.Errorf("reading the cluster-default throttle rates: %w", err)
		}
		for _, c := range r.Configs {
			if c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig || (c.Name != LeaderRateKey && c.Name != FollowerRateKey) {
				continue
			}
			i := keyIndex(c.Name)
			pv[i] = PriorValue{Present: true, Known: c.Value != nil}
			if c.Value != nil {
				pv[i].Value = *c.Value
			}
		}
	}
	return pv, nil
}

// zkRates fills hidden rates from /config/brokers/N (docs/kafka-behaviour.md 13).
func (e *Executor) zkRates(id int32, pv [2]PriorValue) ([2]PriorValue, error) {
	p := path.Join("/", e.opts.ZooKeeperChroot, "config/brokers", strconv.Itoa(int(id)))
	data, _, err := e.opts.ZooKeeper.Get(p)
	if err != nil {
		return pv, fmt.Errorf("reading throttle rates of broker %d from ZooKeeper %s: %w", id, p, err)
	}
	var doc struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return pv, fmt.Errorf("reading throttle rates of broker %d: ZooKeeper %s is not a broker config: %w", id, p, err)
	}
	for i, key := range []string{LeaderRateKey, FollowerRateKey} {
		if v, ok := doc.Config[key]; ok {
			pv[i] = PriorValue{Present: true, Known: true, Value: v}
		}
	}
	return pv, nil
}

type configOp struct {
	resourceType kmsg.ConfigResourceType
	name, key    string
	value        *string // nil deletes
}

// alterConfigs sends IncrementalAlterConfigs SET/DELETE (never APPEND,
// docs/kafka-behaviour.md 15), one request per resource kind, and records the call.
func (e *Executor) alterConfigs(ctx context.Context, ops []configOp) error {
	if len(ops) == 0 {
		return nil
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	index := map[string]int{}
	for _, op := range ops {
		k := fmt.Sprintf("%d/%s", op.resourceType, op.name)
		i, ok := index[k]
		if !ok {
			r := kmsg.NewIncrementalAlterConfigsRequestResource()
			r.ResourceType, r.ResourceName = op.resourceType, op.name
			req.Resources = append(req.Resources, r)
			i = len(req.Resources) - 1
			index[k] = i
		}
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name = op.key
		if op.value == nil {
			c.Op = kmsg.IncrementalAlterConfigOpDelete
		} else {
			c.Op = kmsg.IncrementalAlterConfigOpSet
			c.Value = op.value
		}
		req.Resources[i].Configs = append(req.Resources[i].Configs, c)
	}
	if e.dryRun("IncrementalAlterConfigs", describeOps(ops)) {
		return nil
	}
	resp, err := request[*kmsg.IncrementalAlterConfigsResponse](ctx, e, req)
	var errs []error
	if err == nil {
		for _, r := range resp.Resources {
			if rerr := codeErr(r.ErrorCode, r.ErrorMessage); rerr != nil {
				errs = append(errs, fmt.Errorf("%s: %w", resourceLabel(r.ResourceType, r.ResourceName), rerr))
			}
		}
		err = errors.Join(errs...)
	}
	e.auditCall("IncrementalAlterConfigs", describeOps(ops), err)
	if err != nil {
		return fmt.Errorf("changing throttle configs: %w", err)
	}
	return nil
}

// resourceLabel names a config resource for messages: "topic orders",
// "broker 3", "broker <default>".
func resourceLabel(t kmsg.ConfigResourceType, name string) string {
	if t != kmsg.ConfigResourceTypeBroker {
		return "topic " + name
	}
	if name == clusterDefaultResource {
		return "broker <default>"
	}
	return "broker " + name
}

func describeOps(ops []configOp) []string {
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		if op.value == nil {
			out = append(out, fmt.Sprintf("DELETE %s %s", resourceLabel(op.resourceType, op.name), op.key))
		} else {
			out = append(out, fmt.Sprintf("SET %s %s=%q", resourceLabel(op.resourceType, op.name), op.key, *op.value))
		}
	}
	return out
}

// setThrottles adds the throttles moves need to rec (read–merge–set–verify)
// and sets the rate on every broker involved. rec may already hold entries
// from an earlier, unfinished run: its prior values stay the reference.
func (e *Executor) setThrottles(ctx context.Context, rec *ThrottleRecord, moves []plans.Move) error {
	tpl := throttlesFor(moves)
	if len(tpl.brokers) == 0 {
		return nil
	}
	topics := make([]string, 0, len(tpl.leader))
	for t := range tpl.leader {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	cur, err := e.topicConfigs(ctx, topics)
	if err != nil {
		return err
	}
	rates, err := e.brokerRates(ctx, tpl.brokers)
	if err != nil {
		return err
	}
	var unknown []string
	for _, b := range tpl.brokers {
		if _, ours := rec.Brokers[b]; ours {
			continue
		}
		for i, key := range []string{LeaderRateKey, FollowerRateKey} {
			if pv := rates[b][i]; pv.Present && !pv.Known {
				unknown = append(unknown, fmt.Sprintf("broker %d %s", b, key))
			}
		}
	}
	if len(unknown) > 0 && !e.opts.AcceptUnknownRates {
		return fmt.Errorf("%w: %s (the broker hides it; give --zookeeper to read it from /config/brokers/N, or --accept-unknown-rates to overwrite it and delete it at the end)", ErrUnknownRate, strings.Join(unknown, ", "))
	}
	// Merge into the record first and write it ahead of any change.
	var ops []configOp
	for _, t := range topics {
		tt := rec.Topics[t]
		if tt == nil {
			tt = &TopicThrottle{PriorLeader: cur[t][0], PriorFollower: cur[t][1]}
			rec.Topics[t] = tt
		}
		for i, want := range [][]string{tpl.leader[t], tpl.follower[t]} {
			prior, added, key := &tt.PriorLeader, &tt.Leader, LeaderReplicasKey
			if i == 1 {
				prior, added, key = &tt.PriorFollower, &tt.Follower, FollowerReplicasKey
			}
			if prior.Present && strings.TrimSpace(prior.Value) == throttleWildcardValue {
				continue // every replica is throttled already
			}
			priorEntries := parseList(prior.Value)
			for _, en := range want {
				if !slices.Contains(priorEntries, en) && !slices.Contains(*added, en) {
					*added = append(*added, en)
				}
			}
			now := cur[t][i]
			if now.Present && strings.TrimSpace(now.Value) == throttleWildcardValue {
				continue
			}
			have := parseList(now.Value)
			if merged := withEntries(have, *added); len(merged) != len(have) {
				v := strings.Join(merged, ",")
				ops = append(ops, configOp{kmsg.ConfigResourceTypeTopic, t, key, &v})
			}
		}
	}
	rate := strconv.FormatInt(int64(rec.Rate), 10)
	for _, b := range tpl.brokers {
		if _, ok := rec.Brokers[b]; !ok {
			rec.Brokers[b] = &BrokerThrottle{PriorLeaderRate: rates[b][0], PriorFollowerRate: rates[b][1]}
		}
		for i, key := range []string{LeaderRateKey, FollowerRateKey} {
			if pv := rates[b][i]; !(pv.Known && pv.Value == rate) {
				ops = append(ops, configOp{kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(b)), key, &rate})
			}
		}
	}
	if err := e.recordThrottles(rec); err != nil {
		return err
	}
	if err := e.alterConfigs(ctx, ops); err != nil {
		return err
	}
	return e.verifyConfigs(ctx, ops)
}

// verifyConfigs reads back what alterConfigs set, polling for a while: a
// dynamic config reaches the brokers (and a reader of ZooKeeper) shortly
// after the call returns. Rates a broker hides are checked in ZooKeeper
// when configured.
func (e *Executor) verifyConfigs(ctx context.Context, ops []configOp) error {
	if e.opts.DryRun || len(ops) == 0 {
		return nil
	}
	deadline := time.Now().Add(e.opts.SettleTimeout)
	for {
		err := e.checkConfigs(ctx, ops)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func (e *Executor) checkConfigs(ctx context.Context, ops []configOp) error {
	var topics []string
	var brokers []int32
	clusterDefault := false
	for _, op := range ops {
		switch {
		case op.resourceType == kmsg.ConfigResourceTypeTopic:
			if !slices.Contains(topics, op.name) {
				topics = append(topics, op.name)
			}
		case op.name == clusterDefaultResource:
			clusterDefault = true
		default:
			id, _ := strconv.Atoi(op.name)
			if !slices.Contains(brokers, int32(id)) {
				brokers = append(brokers, int32(id))
			}
		}
	}
	var tc map[string][2]PriorValue
	var bc map[int32][2]PriorValue
	var dc [2]PriorValue
	var err error
	if len(topics) > 0 {
		if tc, err = e.topicConfigs(ctx, topics); err != nil {
			return err
		}
	}
	if len(brokers) > 0 {
		if bc, err = e.brokerRates(ctx, brokers); err != nil {
			return err
		}
	}
	if clusterDefault {
		if dc, err = e.clusterDefaultRates(ctx); err != nil {
			return err
		}
	}
	var bad []string
	for _, op := range ops {
		var pv PriorValue
		switch {
		case op.resourceType == kmsg.ConfigResourceTypeTopic:
			pv = tc[op.name][keyIndex(op.key)]
		case op.name == clusterDefaultResource:
			pv = dc[keyIndex(op.key)]
		default:
			id, _ := strconv.Atoi(op.name)
			pv = bc[int32(id)][keyIndex(op.key)]
		}
		switch {
		case op.value == nil && pv.Present:
			bad = append(bad, fmt.Sprintf("%s %s still set", resourceLabel(op.resourceType, op.name), op.key))
		case op.value != nil && !pv.Present:
			bad = append(bad, fmt.Sprintf("%s %s not set", resourceLabel(op.resourceType, op.name), op.key))
		case op.value != nil && pv.Known && pv.Value != *op.value:
			bad = append(bad, fmt.Sprintf("%s %s reads back %q, set %q", resourceLabel(op.resourceType, op.name), op.key, pv.Value, *op.value))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("throttle configs did not read back as set (another tool changing them at the same time?): %s", strings.Join(bad, "; "))
	}
	return nil
}

func keyIndex(key string) int {
	if key == FollowerReplicasKey || key == FollowerRateKey {
		return 1
	}
	return 0
}

// clearThrottles removes what rec added, except the entries of the
// partitions in keep (moves still in flight) and, while anything is kept,
// the rates. Values nobody else changed are restored byte for byte; a key
// changed by someone else meanwhile loses only kshift's entries. It returns
// warnings for rates that were unknown before and are now deleted.
func (e *Executor) clearThrottles(ctx context.Context, rec *ThrottleRecord, keep map[tp]bool) ([]string, error) {
	var topics []string
	for t := range rec.Topics {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	var cur map[string][2]PriorValue
	if len(topics) > 0 {
		var err error
		if cur, err = e.topicConfigs(ctx, topics); err != nil {
			return nil, err
		}
	}
	var ops []configOp
	var warnings []string
	for _, t := range topics {
		tt := rec.Topics[t]
		for i := range 2 {
			prior, added, key := tt.PriorLeader, &tt.Leader, LeaderReplicasKey
			if i == 1 {
				prior, added, key = tt.PriorFollower, &tt.Follower, FollowerReplicasKey
			}
			var kept, remove []string
			for _, en := range *added {
				if keepsEntry(keep, t, en) {
					kept = append(kept, en)
				} else {
					remove = append(remove, en)
				}
			}
			now := cur[t][i]
			if e.opts.DryRun && !(now.Present && strings.TrimSpace(now.Value) == throttleWildcardValue) {
				// A dry run set nothing: clear from what setThrottles
				// would have left.
				have := parseList(now.Value)
				if merged := withEntries(have, *added); len(merged) != len(have) {
					now = PriorValue{Present: true, Known: true, Value: strings.Join(merged, ",")}
				}
			}
			if len(remove) == 0 || (now.Present && strings.TrimSpace(now.Value) == throttleWildcardValue) {
				*added = kept
				continue
			}
			var left []string
			for _, en := range parseList(now.Value) {
				if !slices.Contains(remove, en) {
					left = append(left, en)
				}
			}
			switch {
			case sameSet(left, parseList(prior.Value)) && prior.Present:
				if now.Value != prior.Value {
					v := prior.Value
					ops = append(ops, configOp{kmsg.ConfigResourceTypeTopic, t, key, &v})
				}
			case len(left) == 0 && !prior.Present:
				if now.Present {
					ops = append(ops, configOp{kmsg.ConfigResourceTypeTopic, t, key, nil})
				}
			default:
				v := strings.Join(left, ",")
				ops = append(ops, configOp{kmsg.ConfigResourceTypeTopic, t, key, &v})
			}
			*added = kept
		}
	}
	if len(keep) == 0 {
		var brokers []int32
		for b := range rec.Brokers {
			brokers = append(brokers, b)
		}
		slices.Sort(brokers)
		for _, b := range brokers {
			bt := rec.Brokers[b]
			for i, pv := range []PriorValue{bt.PriorLeaderRate, bt.PriorFollowerRate} {
				key := []string{LeaderRateKey, FollowerRateKey}[i]
				switch {
				case pv.Present && pv.Known:
					v := pv.Value
					ops = append(ops, configOp{kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(b)), key, &v})
				case pv.Present:
					warnings = append(warnings, fmt.Sprintf("broker %d %s had a value kshift could not read; it is now deleted, set it again if it is still wanted", b, key))
					ops = append(ops, configOp{kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(b)), key, nil})
				default:
					ops = append(ops, configOp{kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(b)), key, nil})
				}
			}
		}
	}
	if err := e.alterConfigs(ctx, ops); err != nil {
		return warnings, err
	}
	if err := e.verifyConfigs(ctx, ops); err != nil {
		return warnings, err
	}
	if len(keep) == 0 {
		rec.Brokers = map[int32]*BrokerThrottle{}
	}
	for t, tt := range rec.Topics {
		if len(tt.Leader) == 0 && len(tt.Follower) == 0 {
			delete(rec.Topics, t)
		}
	}
	return warnings, e.recordThrottles(rec)
}

func keepsEntry(keep map[tp]bool, topic, en string) bool {
	if len(keep) == 0 {
		return false
	}
	p, _, ok := strings.Cut(en, ":")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && keep[tp{topic, int32(n)}]
}

// setRate changes the rate of every broker in the open throttle records.
func (e *Executor) setRate(ctx context.Context, recs []*ThrottleRecord, rate plans.Rate) error {
	v := strconv.FormatInt(int64(rate), 10)
	var ops []configOp
	seen := map[int32]bool{}
	for _, rec := range recs {
		for b := range rec.Brokers {
			if seen[b] {
				continue
			}
			seen[b] = true
			for _, key := range []string{LeaderRateKey, FollowerRateKey} {
				ops = append(ops, configOp{kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(b)), key, &v})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].name+ops[i].key < ops[j].name+ops[j].key })
	for _, rec := range recs {
		rec.Rate = rate
		if err := e.recordThrottles(rec); err != nil {
			return err
		}
	}
	if err := e.alterConfigs(ctx, ops); err != nil {
		return err
	}
	return e.verifyConfigs(ctx, ops)
}
