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

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/state"
)

// Throttle config keys (docs/design.md "Throttles").
const (
	LeaderRateKey         = "leader.replication.throttled.rate"
	FollowerRateKey       = "follower.replication.throttled.rate"
	LeaderReplicasKey     = "leader.replication.throttled.replicas"
	FollowerReplicasKey   = "follower.replication.throttled.replicas"
	throttleWildcardValue = "*"
)

var (
	rateKeys = []string{LeaderRateKey, FollowerRateKey}
	listKeys = []string{LeaderReplicasKey, FollowerReplicasKey}
)

// ErrUnknownRate refuses to overwrite a throttle rate whose current value
// cannot be read (Kafka 2.4 hides rates, docs/kafka-behaviour.md 13).
var ErrUnknownRate = errors.New("existing throttle rate cannot be read")

// ZooKeeper is what the executor reads from ZooKeeper: the broker configs at
// /config/brokers/N, where Kafka 2.4 keeps throttle rates it hides from
// DescribeConfigs. *zk.Conn satisfies it.
type ZooKeeper interface {
	Get(path string) ([]byte, *zk.Stat, error)
}

var _ ZooKeeper = (*zk.Conn)(nil)

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

func isWildcard(pv state.PriorValue) bool {
	return pv.Present && strings.TrimSpace(pv.Value) == throttleWildcardValue
}

// priorOf turns a config entry into the value kshift records: set or not
// (an unset rate may be listed with source DEFAULT_CONFIG,
// docs/kafka-behaviour.md 26), and its value where the broker shows it.
func priorOf(res kafkaapi.ConfigResource, e kafkaapi.ConfigEntry, listed bool) state.PriorValue {
	if !listed || !e.SetOn(res) {
		return state.PriorValue{}
	}
	pv := state.PriorValue{Present: true, Known: e.Value != nil}
	if e.Value != nil {
		pv.Value = *e.Value
	}
	return pv
}

// topicLists reads the throttled-replica lists of topics: [leader, follower].
func (e *Executor) topicLists(ctx context.Context, topics []string) (map[string][2]state.PriorValue, error) {
	res := make([]kafkaapi.ConfigResource, len(topics))
	for i, t := range topics {
		res[i] = kafkaapi.TopicResource(t)
	}
	pv, err := e.throttleConfigs(ctx, res, listKeys)
	if err != nil {
		return nil, fmt.Errorf("reading topic throttle configs: %w", err)
	}
	out := map[string][2]state.PriorValue{}
	for i, t := range topics {
		out[t] = pv[res[i]]
	}
	return out, nil
}

// brokerRates reads the per-broker throttle rates: [leader, follower].
// Without ZooKeeper, a rate Kafka 2.4 hides from DescribeConfigs
// (docs/kafka-behaviour.md 13) is set but unknown.
func (e *Executor) brokerRates(ctx context.Context, brokers []int32) (map[int32][2]state.PriorValue, error) {
	res := make([]kafkaapi.ConfigResource, len(brokers))
	for i, b := range brokers {
		res[i] = kafkaapi.BrokerResource(b)
	}
	pv, err := e.throttleConfigs(ctx, res, rateKeys)
	if err != nil {
		return nil, fmt.Errorf("reading broker throttle rates: %w", err)
	}
	out := map[int32][2]state.PriorValue{}
	for i, b := range brokers {
		out[b] = pv[res[i]]
	}
	return out, nil
}

// throttleConfigs reads two throttle keys of each resource. With
// ZooKeeper (and not in a dry run, whose writes live in the Kafka client's
// overlay) it reads /config/topics/T and /config/brokers/N, which the
// broker writes before it answers a config change, and where Kafka 2.4
// keeps the rates it hides: a broker's DescribeConfigs answers from its
// cache, which learns the change a moment later, so a read-back through it
// would wait for nothing.
func (e *Executor) throttleConfigs(ctx context.Context, res []kafkaapi.ConfigResource, keys []string) (map[kafkaapi.ConfigResource][2]state.PriorValue, error) {
	out := map[kafkaapi.ConfigResource][2]state.PriorValue{}
	if e.zkConfigs() {
		for _, r := range res {
			kind := "brokers"
			if r.Type != kafkaapi.ClusterDefault.Type {
				kind = "topics"
			}
			cfg, err := e.zkConfig(kind, r.Name)
			if err != nil {
				return nil, err
			}
			out[r] = [2]state.PriorValue{zkValue(cfg, keys[0]), zkValue(cfg, keys[1])}
		}
		return out, nil
	}
	cfg, err := e.kafka.DescribeConfigs(ctx, res, keys)
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		var pv [2]state.PriorValue
		for i, key := range keys {
			entry, listed := cfg[r][key]
			pv[i] = priorOf(r, entry, listed)
		}
		out[r] = pv
	}
	return out, nil
}

// zkConfigs reports whether throttle configs are read from ZooKeeper.
func (e *Executor) zkConfigs() bool { return e.opts.ZooKeeper != nil && !e.opts.DryRun }

// zkConfig reads the dynamic configs ZooKeeper holds for a topic or a
// broker (kind "topics" or "brokers"): none when the znode does not exist.
func (e *Executor) zkConfig(kind, name string) (map[string]string, error) {
	p := path.Join("/", e.opts.ZooKeeperChroot, "config", kind, name)
	data, _, err := e.opts.ZooKeeper.Get(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the configs of %s %s from ZooKeeper %s: %w", strings.TrimSuffix(kind, "s"), name, p, err)
	}
	var doc struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("ZooKeeper %s is not a Kafka config: %w", p, err)
	}
	return doc.Config, nil
}

func zkValue(cfg map[string]string, key string) state.PriorValue {
	v, ok := cfg[key]
	if !ok {
		return state.PriorValue{}
	}
	return state.PriorValue{Present: true, Known: true, Value: v}
}

// clusterDefaultRates reads the cluster-default throttle rates (the broker
// resource "", docs/kafka-behaviour.md 12). Kafka 2.4 hides their values, so
// only whether each is set is certain there.
func (e *Executor) clusterDefaultRates(ctx context.Context) ([2]state.PriorValue, error) {
	var pv [2]state.PriorValue
	cfg, err := e.kafka.DescribeConfigs(ctx, []kafkaapi.ConfigResource{kafkaapi.ClusterDefault}, rateKeys)
	if err != nil {
		return pv, fmt.Errorf("reading the cluster-default throttle rates: %w", err)
	}
	for i, key := range rateKeys {
		entry, listed := cfg[kafkaapi.ClusterDefault][key]
		pv[i] = priorOf(kafkaapi.ClusterDefault, entry, listed)
	}
	return pv, nil
}

func setOp(res kafkaapi.ConfigResource, key, value string) kafkaapi.ConfigOp {
	return kafkaapi.ConfigOp{Resource: res, Key: key, Value: &value}
}

func deleteOp(res kafkaapi.ConfigResource, key string) kafkaapi.ConfigOp {
	return kafkaapi.ConfigOp{Resource: res, Key: key}
}

// rateString is a rate as a config value.
func rateString(r plans.Rate) string { return strconv.FormatInt(int64(r), 10) }

// setThrottles adds the throttles moves need to rec (read–merge–set–verify)
// and sets rate on every broker involved. rec may already hold entries from
// an earlier, unfinished run: its prior values stay the reference. A rate
// kshift had set that someone else has changed since (not to a value
// ours reports as kshift's) is left as it is, with a warning.
func (r *stepRun) setThrottles(ctx context.Context, rec *state.ThrottleRecord, moves []plans.Move, rate plans.Rate, ours func(string) bool) ([]string, error) {
	e := r.e
	tpl := throttlesFor(moves)
	if len(tpl.brokers) == 0 {
		return nil, nil
	}
	e.doing("setting throttles on %d broker(s)", len(tpl.brokers))
	topics := make([]string, 0, len(tpl.leader))
	for t := range tpl.leader {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	cur, err := e.topicLists(ctx, topics)
	if err != nil {
		return nil, err
	}
	rates, err := e.brokerRates(ctx, tpl.brokers)
	if err != nil {
		return nil, err
	}
	var unknown, warnings []string
	for _, b := range tpl.brokers {
		if _, ours := rec.Brokers[b]; ours {
			continue
		}
		for i, key := range rateKeys {
			if pv := rates[b][i]; pv.Present && !pv.Known {
				unknown = append(unknown, fmt.Sprintf("broker %d %s", b, key))
			}
		}
	}
	if len(unknown) > 0 && !e.opts.AcceptUnknownRates {
		return nil, fmt.Errorf("%w: %s (the broker hides it; give --zookeeper to read it from /config/brokers/N, or --accept-unknown-rates to overwrite it and delete it at the end)", ErrUnknownRate, strings.Join(unknown, ", "))
	}
	// Merge into the record first and write it ahead of any change.
	var ops []kafkaapi.ConfigOp
	for _, t := range topics {
		tt := rec.Topics[t]
		if tt == nil {
			tt = &state.TopicThrottle{PriorLeader: cur[t][0], PriorFollower: cur[t][1]}
			rec.Topics[t] = tt
		}
		for i, want := range [][]string{tpl.leader[t], tpl.follower[t]} {
			prior, added := &tt.PriorLeader, &tt.Leader
			if i == 1 {
				prior, added = &tt.PriorFollower, &tt.Follower
			}
			if isWildcard(*prior) {
				continue // every replica is throttled already
			}
			priorEntries := parseList(prior.Value)
			for _, en := range want {
				if !slices.Contains(priorEntries, en) && !slices.Contains(*added, en) {
					*added = append(*added, en)
				}
			}
			now := cur[t][i]
			if isWildcard(now) {
				continue
			}
			have := parseList(now.Value)
			if merged := withEntries(have, *added); len(merged) != len(have) {
				ops = append(ops, setOp(kafkaapi.TopicResource(t), listKeys[i], strings.Join(merged, ",")))
			}
		}
	}
	value := rateString(rate)
	for _, b := range tpl.brokers {
		_, already := rec.Brokers[b]
		if !already {
			rec.Brokers[b] = &state.BrokerThrottle{PriorLeaderRate: rates[b][0], PriorFollowerRate: rates[b][1]}
		}
		for i, key := range rateKeys {
			pv := rates[b][i]
			switch {
			case pv.Known && pv.Value == value:
			case !already || !pv.Known || (pv.Present && ours(pv.Value)):
				ops = append(ops, setOp(kafkaapi.BrokerResource(b), key, value))
			default:
				warnings = append(warnings, fmt.Sprintf("broker %d %s is %s, changed by someone else during the step (kshift had set it): left as it is", b, key, describeRate(pv)))
			}
		}
	}
	rec.Rate = rate
	if err := r.saveRecord(ctx, rec); err != nil {
		return warnings, err
	}
	if err := e.kafka.AlterConfigs(ctx, ops); err != nil {
		return warnings, fmt.Errorf("setting throttles: %w", err)
	}
	return warnings, e.verifyConfigs(ctx, ops)
}

// describeRate says what a rate config holds now, for a message.
func describeRate(pv state.PriorValue) string {
	switch {
	case !pv.Present:
		return "not set"
	case !pv.Known:
		return "set to a value the broker hides"
	}
	if n, err := strconv.ParseInt(pv.Value, 10, 64); err == nil {
		return fmt.Sprintf("%s (%s)", pv.Value, plans.Rate(n))
	}
	return strconv.Quote(pv.Value)
}

// saveRecord writes rec to the store under the lock's fence (deleting it
// when it holds nothing any more) and records it in the audit trail.
func (r *stepRun) saveRecord(ctx context.Context, rec *state.ThrottleRecord) error {
	return r.run.saveRecord(ctx, rec)
}

func (r *run) saveRecord(ctx context.Context, rec *state.ThrottleRecord) error {
	var err error
	if rec.Empty() {
		err = r.lease.DeleteThrottleRecord(ctx, rec.ID)
	} else {
		err = r.lease.PutThrottleRecord(ctx, rec)
	}
	if err != nil {
		return fmt.Errorf("recording the throttles kshift sets (before changing them): %w", err)
	}
	r.audit.throttles(rec)
	return nil
}

// verifyConfigs reads back what was set, polling for a while: a dynamic
// config reaches the brokers (and a reader of ZooKeeper) shortly after the
// call returns. Rates a broker hides are checked in ZooKeeper when
// configured.
func (e *Executor) verifyConfigs(ctx context.Context, ops []kafkaapi.ConfigOp) error {
	if len(ops) == 0 {
		return nil
	}
	var last error
	err := poll.Until(ctx, poll.Options{Timeout: e.opts.SettleTimeout, First: 20 * settlePause / 100, Interval: settlePause}, func(ctx context.Context) (bool, error) {
		last = e.checkConfigs(ctx, ops)
		return last == nil, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return last
	}
	return err
}

func (e *Executor) checkConfigs(ctx context.Context, ops []kafkaapi.ConfigOp) error {
	var topics []string
	var brokers []int32
	clusterDefault := false
	for _, op := range ops {
		switch {
		case op.Resource.Type != kafkaapi.ClusterDefault.Type:
			if !slices.Contains(topics, op.Resource.Name) {
				topics = append(topics, op.Resource.Name)
			}
		case op.Resource == kafkaapi.ClusterDefault:
			clusterDefault = true
		default:
			id, _ := strconv.Atoi(op.Resource.Name)
			if !slices.Contains(brokers, int32(id)) {
				brokers = append(brokers, int32(id))
			}
		}
	}
	var tc map[string][2]state.PriorValue
	var bc map[int32][2]state.PriorValue
	var dc [2]state.PriorValue
	var err error
	if len(topics) > 0 {
		if tc, err = e.topicLists(ctx, topics); err != nil {
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
		var pv state.PriorValue
		switch {
		case op.Resource.Type != kafkaapi.ClusterDefault.Type:
			pv = tc[op.Resource.Name][keyIndex(op.Key)]
		case op.Resource == kafkaapi.ClusterDefault:
			pv = dc[keyIndex(op.Key)]
		default:
			id, _ := strconv.Atoi(op.Resource.Name)
			pv = bc[int32(id)][keyIndex(op.Key)]
		}
		switch {
		case op.Value == nil && pv.Present:
			bad = append(bad, fmt.Sprintf("%s %s still set", op.Resource, op.Key))
		case op.Value != nil && !pv.Present:
			bad = append(bad, fmt.Sprintf("%s %s not set", op.Resource, op.Key))
		case op.Value != nil && pv.Known && pv.Value != *op.Value:
			bad = append(bad, fmt.Sprintf("%s %s reads back %q, set %q", op.Resource, op.Key, pv.Value, *op.Value))
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
// the rates. Values nobody else changed are restored byte for byte; a list
// changed by someone else meanwhile loses only kshift's entries; a rate
// someone else changed (to a value ours does not claim) is left as it is,
// with a warning. It returns warnings the operator must read.
func (r *run) clearThrottles(ctx context.Context, rec *state.ThrottleRecord, keep map[tp]bool, ours func(string) bool) ([]string, error) {
	e := r.e
	var topics []string
	for t := range rec.Topics {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	var cur map[string][2]state.PriorValue
	if len(topics) > 0 {
		var err error
		if cur, err = e.topicLists(ctx, topics); err != nil {
			return nil, err
		}
	}
	var ops []kafkaapi.ConfigOp
	var warnings []string
	for _, t := range topics {
		tt := rec.Topics[t]
		for i := range 2 {
			prior, added := tt.PriorLeader, &tt.Leader
			if i == 1 {
				prior, added = tt.PriorFollower, &tt.Follower
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
			*added = kept
			if len(remove) == 0 || isWildcard(now) {
				continue
			}
			var left []string
			for _, en := range parseList(now.Value) {
				if !slices.Contains(remove, en) {
					left = append(left, en)
				}
			}
			res := kafkaapi.TopicResource(t)
			switch {
			case plans.SameMembers(left, parseList(prior.Value)) && prior.Present:
				if now.Value != prior.Value {
					ops = append(ops, setOp(res, listKeys[i], prior.Value))
				}
			case len(left) == 0 && !prior.Present:
				if now.Present {
					ops = append(ops, deleteOp(res, listKeys[i]))
				}
			default:
				ops = append(ops, setOp(res, listKeys[i], strings.Join(left, ",")))
			}
		}
	}
	// A broker's configs change through the broker itself: the rates on a
	// broker that is down stay in the record until it is back.
	var down []int32
	if len(keep) == 0 && len(rec.Brokers) > 0 {
		md, err := e.kafka.Metadata(ctx, []string{})
		if err != nil {
			return nil, err
		}
		brokers := make([]int32, 0, len(rec.Brokers))
		for b := range rec.Brokers {
			if _, alive := md.Brokers[b]; !alive {
				down = append(down, b)
				continue
			}
			brokers = append(brokers, b)
		}
		slices.Sort(brokers)
		slices.Sort(down)
		now, err := e.brokerRates(ctx, brokers)
		if err != nil {
			return nil, err
		}
		for _, b := range brokers {
			bt := rec.Brokers[b]
			res := kafkaapi.BrokerResource(b)
			for i, prior := range []state.PriorValue{bt.PriorLeaderRate, bt.PriorFollowerRate} {
				key, cur := rateKeys[i], now[b][i]
				switch {
				case prior.Present && prior.Known && cur.Known && cur.Value == prior.Value:
					// Back as it was before kshift: restored by a run
					// stopped before it could record that.
				case cur.Known && !ours(cur.Value):
					warnings = append(warnings, fmt.Sprintf("broker %d %s was changed by someone else during the step to %s: left as it is (before kshift it was %s)", b, key, describeRate(cur), describeRate(prior)))
				case !cur.Present && prior.Present:
					warnings = append(warnings, fmt.Sprintf("broker %d %s was deleted by someone else during the step: left as it is, not set (before kshift it was %s)", b, key, describeRate(prior)))
				case prior.Present && prior.Known:
					if !(cur.Known && cur.Value == prior.Value) {
						ops = append(ops, setOp(res, key, prior.Value))
					}
				case prior.Present:
					warnings = append(warnings, fmt.Sprintf("broker %d %s had a value kshift could not read; it is now deleted, set it again if it is still wanted", b, key))
					ops = append(ops, deleteOp(res, key))
				case cur.Present:
					ops = append(ops, deleteOp(res, key))
				}
			}
		}
	}
	if len(ops) > 0 {
		e.doing("restoring throttle configs (%d change(s))", len(ops))
	}
	if err := e.kafka.AlterConfigs(ctx, ops); err != nil {
		return warnings, fmt.Errorf("restoring throttles: %w", err)
	}
	if err := e.verifyConfigs(ctx, ops); err != nil {
		return warnings, err
	}
	if len(keep) == 0 {
		for b := range rec.Brokers {
			if !slices.Contains(down, b) {
				delete(rec.Brokers, b)
			}
		}
	}
	for t, tt := range rec.Topics {
		if len(tt.Leader) == 0 && len(tt.Follower) == 0 {
			delete(rec.Topics, t)
		}
	}
	if err := r.saveRecord(ctx, rec); err != nil {
		return warnings, err
	}
	if len(down) > 0 {
		return warnings, fmt.Errorf("%w: the throttle rates kshift set on broker(s) %v are left in place (record %s): they are down, and a broker's configs change only through the broker itself; everything else is restored. Run kshift throttle clear again once they are back (a broker that is down throttles nothing meanwhile)", ErrPartial, down, rec.ID)
	}
	return warnings, nil
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
	return err == nil && keep[tp{Topic: topic, Partition: int32(n)}]
}

// kshiftRates returns the test of whether a rate value is one kshift set:
// a record's rate, the operator's override, or the rate of this run.
func kshiftRates(recs []*state.ThrottleRecord, override *state.RateOverride, extra ...plans.Rate) func(string) bool {
	values := map[string]bool{}
	for _, rec := range recs {
		values[rateString(rec.Rate)] = true
	}
	if override != nil {
		values[rateString(override.Rate)] = true
	}
	for _, r := range extra {
		values[rateString(r)] = true
	}
	return func(v string) bool { return values[v] }
}

// finishRecords clears what the throttle records added, keeping the
// entries of partitions still moving, and returns the warnings.
func (r *run) finishRecords(recs []*state.ThrottleRecord, keep map[tp]bool, ours func(string) bool) ([]string, error) {
	ctx, cancel := r.e.cleanupContext()
	defer cancel()
	var errs []error
	var warnings []string
	for _, rec := range recs {
		if rec.Empty() {
			continue
		}
		r.e.doing("restoring the throttle configs kshift set (record %s)", rec.ID)
		w, err := r.clearThrottles(ctx, rec, keep, ours)
		warnings = append(warnings, w...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return warnings, fmt.Errorf("restoring throttles (run `kshift throttle clear` to finish): %w", err)
	}
	return warnings, nil
}

// anyLeftover reports whether recs hold throttles an earlier run set and
// did not clear.
func anyLeftover(recs []*state.ThrottleRecord) bool {
	return slices.ContainsFunc(recs, func(r *state.ThrottleRecord) bool { return !r.Empty() })
}
