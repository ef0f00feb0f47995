package kafkasim

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Item 12: rate validation (42 with Kafka's messages), APPEND/SUBTRACT on a
// rate (-1 "key not found"), unknown broker config keys accepted and stored
// (item 33: not listed by DescribeConfigs; a topic's are refused).
func TestBrokerConfigValidation(t *testing.T) {
	const brokerOne = "Invalid config value for resource ConfigResource(type=BROKER, name='1'): "
	tests := []struct {
		name    string
		op      kadm.IncrementalOp
		key     string
		value   string
		code    int16
		message string
	}{
		{"rate ok", kadm.SetConfig, LeaderRateKey, "1000", 0, ""},
		{"rate zero ok", kadm.SetConfig, FollowerRateKey, "0", 0, ""},
		{"rate not a number", kadm.SetConfig, LeaderRateKey, "abc", 42,
			brokerOne + "Invalid value abc for configuration leader.replication.throttled.rate: Not a number of type LONG"},
		{"rate empty", kadm.SetConfig, LeaderRateKey, "", 42,
			brokerOne + "Invalid value  for configuration leader.replication.throttled.rate: Not a number of type LONG"},
		{"rate negative", kadm.SetConfig, FollowerRateKey, "-1", 42,
			brokerOne + "Invalid value -1 for configuration follower.replication.throttled.rate: Value must be at least 0"},
		{"append to rate", kadm.AppendConfig, LeaderRateKey, "1", -1, "key not found: leader.replication.throttled.rate"},
		{"subtract from rate", kadm.SubtractConfig, FollowerRateKey, "1", -1, "key not found: follower.replication.throttled.rate"},
		{"unknown key accepted", kadm.SetConfig, "no.such.key", "x", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, adm, _ := start(t, Config{})
			r := alterBroker(t, adm, 1, tc.op, tc.key, tc.value)
			if got := errCode(r.Err); got != tc.code {
				t.Fatalf("code %d (%v), want %d", got, r.Err, tc.code)
			}
			if r.ErrMessage != tc.message {
				t.Errorf("message %q, want %q", r.ErrMessage, tc.message)
			}
			_, stored := c.BrokerDynamicConfigs(1)[tc.key]
			if stored != (tc.code == 0) {
				t.Errorf("stored %v after code %d", stored, tc.code)
			}
		})
	}
}

// Item 12: a key twice in one request is 42; validateOnly stores nothing.
func TestDuplicateKeyAndValidateOnly(t *testing.T) {
	c, adm, _ := start(t, Config{})
	v := "100"
	resps, err := adm.AlterBrokerConfigs(ctx(t), []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: LeaderRateKey, Value: &v},
		{Op: kadm.SetConfig, Name: LeaderRateKey, Value: &v},
	}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, msg := errCode(resps[0].Err), resps[0].ErrMessage; got != 42 || msg != "Error due to duplicate config keys : "+LeaderRateKey {
		t.Errorf("duplicate key: code %d %q, want 42 naming the key", got, msg)
	}
	resps, err = adm.ValidateAlterBrokerConfigs(ctx(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: LeaderRateKey, Value: &v}}, 1)
	if err != nil || resps[0].Err != nil {
		t.Fatalf("validate only: %v %v", err, resps)
	}
	if got := c.BrokerRates(1); len(got) != 0 {
		t.Errorf("validateOnly stored %v", got)
	}
}

// A BROKER "N" resource must be sent to broker N (42 "Unexpected broker id");
// the default resource "" goes to any broker.
func TestBrokerResourceSentToWrongBroker(t *testing.T) {
	c, _, cl := start(t, Config{})
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "2"
	cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	cfg.Name, cfg.Value = LeaderRateKey, strp("100")
	res.Configs = append(res.Configs, cfg)
	req.Resources = append(req.Resources, res)
	resp, err := cl.Broker(1).Request(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	rr := resp.(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
	if rr.ErrorCode != 42 || rr.ErrorMessage == nil || *rr.ErrorMessage != "Unexpected broker id, expected 1, but received 2" {
		t.Errorf("code %d message %v, want 42 Unexpected broker id", rr.ErrorCode, rr.ErrorMessage)
	}
	req.Resources[0].ResourceName = ""
	resp, err = cl.Broker(1).Request(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode; code != 0 {
		t.Errorf("default resource via broker 1: code %d", code)
	}
	if got := c.BrokerDynamicConfigs(-1)[LeaderRateKey]; got != "100" {
		t.Errorf("default rate %q, want 100", got)
	}
}

// Item 13: 2.4 returns stored rates with value null, sensitive and read-only;
// 3.x shows them. BrokerRates reads them either way (as ZooKeeper would).
func TestRatesHiddenFromDescribeConfigsOn24(t *testing.T) {
	for _, v := range allVersions {
		t.Run(v.String(), func(t *testing.T) {
			c, adm, _ := start(t, Config{Version: v})
			mustOK(t, alterBroker(t, adm, 2, kadm.SetConfig, LeaderRateKey, "5000"))
			rcs, err := adm.DescribeBrokerConfigs(ctx(t), 2)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rcs.On("2", nil)
			if err != nil || got.Err != nil {
				t.Fatalf("describe broker 2: %v %v", err, got.Err)
			}
			var rate *kadm.Config
			for i := range got.Configs {
				if got.Configs[i].Key == LeaderRateKey {
					rate = &got.Configs[i]
				}
			}
			if rate == nil {
				t.Fatalf("rate not listed: %+v", got.Configs)
			}
			if v == V2_4 && (rate.Value != nil || !rate.Sensitive) {
				t.Errorf("2.4 rate: value %v sensitive %v, want null and sensitive", rate.Value, rate.Sensitive)
			}
			if v == V3_x && (rate.Value == nil || *rate.Value != "5000" || rate.Sensitive) {
				t.Errorf("3.x rate: value %v sensitive %v, want 5000 readable", rate.Value, rate.Sensitive)
			}
			if got := c.BrokerRates(2)[LeaderRateKey]; got != "5000" {
				t.Errorf("BrokerRates: %q, want 5000", got)
			}
		})
	}
}

// Item 14: throttled-replica list validation; unknown topic is -1.
func TestThrottledReplicasValidation(t *testing.T) {
	tests := []struct {
		value string
		code  int16
	}{
		{"*", 0}, {"", 0}, {"0:1,1:2", 0}, {"0:1, 1:2", 0}, {"0:99", 0},
		{"x", 42}, {"0:abc", 42}, {"-1", 42}, {"0-1", 42},
	}
	c, adm, _ := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			r := alterTopic(t, adm, "orders", kadm.SetConfig, LeaderThrottledKey, tc.value)
			if got := errCode(r.Err); got != tc.code {
				t.Errorf("code %d (%s), want %d", got, r.ErrMessage, tc.code)
			}
		})
	}
	r := alterTopic(t, adm, "nope", kadm.SetConfig, LeaderThrottledKey, "*")
	if got := errCode(r.Err); got != -1 || r.ErrMessage != `Topic "nope" does not exist.` {
		t.Errorf("unknown topic: code %d message %q, want -1", got, r.ErrMessage)
	}
}

// Item 15: APPEND does not dedupe on 2.4; APPEND/SUBTRACT on a never-set key is
// -1; SUBTRACT of an absent value changes nothing; removing the last value
// leaves "".
func TestListAppendSubtractQuirks(t *testing.T) {
	c, adm, _ := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	list := func() string {
		cfgs, _ := c.TopicConfigs("orders")
		return cfgs[LeaderThrottledKey]
	}
	if got := errCode(alterTopic(t, adm, "orders", kadm.AppendConfig, LeaderThrottledKey, "0:1").Err); got != -1 {
		t.Errorf("APPEND on never-set key: code %d, want -1", got)
	}
	if got := errCode(alterTopic(t, adm, "orders", kadm.SubtractConfig, LeaderThrottledKey, "0:1").Err); got != -1 {
		t.Errorf("SUBTRACT on never-set key: code %d, want -1", got)
	}
	mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, LeaderThrottledKey, "0:1"))
	mustOK(t, alterTopic(t, adm, "orders", kadm.AppendConfig, LeaderThrottledKey, "0:1"))
	if got := list(); got != "0:1,0:1" {
		t.Errorf("APPEND of a present value: %q, want 0:1,0:1 (no dedupe)", got)
	}
	mustOK(t, alterTopic(t, adm, "orders", kadm.SubtractConfig, LeaderThrottledKey, "0:7"))
	if got := list(); got != "0:1,0:1" {
		t.Errorf("SUBTRACT of an absent value: %q", got)
	}
	// Item 27: SUBTRACT is a multiset difference, one occurrence per
	// element subtracted.
	mustOK(t, alterTopic(t, adm, "orders", kadm.SubtractConfig, LeaderThrottledKey, "0:1"))
	if got := list(); got != "0:1" {
		t.Errorf("SUBTRACT of a value listed twice: %q, want 0:1 (one removed)", got)
	}
	mustOK(t, alterTopic(t, adm, "orders", kadm.SubtractConfig, LeaderThrottledKey, "0:1"))
	cfgs, _ := c.TopicConfigs("orders")
	if got, ok := cfgs[LeaderThrottledKey]; !ok || got != "" {
		t.Errorf("after removing the last value: %q (set %v), want \"\"", got, ok)
	}
	if got := errCode(alterTopic(t, adm, "orders", kadm.AppendConfig, "retention.ms", "1").Err); got != 42 {
		t.Errorf("APPEND on a non-list key: code %d, want 42", got)
	}
}

// Broker DescribeConfigs reports the configs snapshot and check read, with
// static overrides; topic DescribeConfigs reports set and default values.
func TestDescribeConfigsReportsBrokerAndTopicConfigs(t *testing.T) {
	brokers := sixBrokers()
	brokers[4].Configs = map[string]string{"inter.broker.protocol.version": "2.3-IV1"}
	c, adm, _ := start(t, Config{Brokers: brokers})
	if err := c.CreateTopic("orders", [][]int32{{0, 1, 2}}, map[string]string{MinInsyncReplicasKey: "2"}); err != nil {
		t.Fatal(err)
	}
	rcs, err := adm.DescribeBrokerConfigs(ctx(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("4", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"inter.broker.protocol.version": "2.3-IV1", AutoLeaderRebalanceKey: "true", "broker.rack": "r2"}
	for _, cfg := range rc.Configs {
		if w, ok := want[cfg.Key]; ok {
			if cfg.Value == nil || *cfg.Value != w {
				t.Errorf("%s = %v, want %s", cfg.Key, cfg.Value, w)
			}
			delete(want, cfg.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("not reported: %v", want)
	}
	tcs, err := adm.DescribeTopicConfigs(ctx(t), "orders")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tcs.On("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range tc.Configs {
		if cfg.Key == MinInsyncReplicasKey && (cfg.Value == nil || *cfg.Value != "2" || cfg.Source != kmsg.ConfigSourceDynamicTopicConfig) {
			t.Errorf("min.insync.replicas: %+v", cfg)
		}
	}
}

// described is one DescribeConfigs entry as the item tests compare it.
type described struct {
	name     string
	value    *string
	source   kmsg.ConfigSource
	synonyms []kmsg.ConfigSource // each listed with the entry's name
}

func (d described) String() string {
	v := "null"
	if d.value != nil {
		v = *d.value
	}
	return fmt.Sprintf("%s=%s (%v, synonyms %v)", d.name, v, d.source, d.synonyms)
}

// describeBroker sends DescribeConfigs of BROKER "id" with synonyms for keys
// (nil: all) to broker id and returns the entries in the order given.
func describeBroker(t *testing.T, cl *kgo.Client, id int32, keys []string) []described {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeBroker, itoa(int64(id)), keys
	req.Resources = append(req.Resources, r)
	resp, err := cl.Broker(int(id)).Request(ctx(t), req)
	if err != nil {
		t.Fatalf("describe broker %d: %v", id, err)
	}
	res := resp.(*kmsg.DescribeConfigsResponse).Resources[0]
	if res.ErrorCode != 0 {
		t.Fatalf("describe broker %d: code %d", id, res.ErrorCode)
	}
	var out []described
	for _, rc := range res.Configs {
		d := described{name: rc.Name, value: rc.Value, source: rc.Source}
		for _, s := range rc.ConfigSynonyms {
			if s.Name != rc.Name {
				t.Errorf("%s: synonym named %s", rc.Name, s.Name)
			}
			d.synonyms = append(d.synonyms, s.Source)
		}
		out = append(out, d)
	}
	return out
}

// Item 26: DescribeConfigs of the throttle rates on 2.4. A broker lists a
// rate only when the config it last built holds it: it builds one when a
// change it processes adds a key or changes a value, never on a delete. So
// a broker that never saw a rate does not list it; a set rate is listed
// with value null and source DYNAMIC_BROKER_CONFIG (or the default's), its
// synonyms listing the entry; a deleted one with source DEFAULT_CONFIG and
// no synonyms, until another change drops it. A broker processes a change
// Config.ConfigChangeLag after it is made. Keys come in the broker's own
// order, whatever the order asked for.
func TestDescribeUnsetRatesOn24(t *testing.T) {
	const lag = 100 * time.Millisecond
	keys := []string{LeaderRateKey, FollowerRateKey} // not in name order
	unset := func(k string) described { return described{name: k, source: sourceDefault} }
	set := func(k string) described {
		return described{name: k, source: sourceDynamicBroker, synonyms: []kmsg.ConfigSource{sourceDynamicBroker}}
	}
	byDefault := func(k string) described {
		return described{name: k, source: sourceDynamicDefaultBroker, synonyms: []kmsg.ConfigSource{sourceDynamicDefaultBroker}}
	}
	type step struct {
		broker int32  // the resource, resource -1: the cluster default ""
		op     string // "set", "delete" or "" (describe only)
		key    string
		after  time.Duration // advance before describing
		via    int32         // the broker described
		want   []described
	}
	tests := []struct {
		name  string
		lag   time.Duration // Config.ConfigChangeLag
		steps []step
	}{
		{"never changed: not listed", lag, []step{
			{via: 1, want: nil},
		}},
		{"set: listed once processed", lag, []step{
			{broker: 1, op: "set", key: LeaderRateKey, via: 1, want: nil},
			{after: lag, via: 1, want: []described{set(LeaderRateKey)}},
			{via: 2, want: nil},
		}},
		{"deleted: set for a moment, then default", lag, []step{
			{broker: 1, op: "set", key: FollowerRateKey, after: lag, via: 1, want: []described{set(FollowerRateKey)}},
			{broker: 1, op: "delete", key: FollowerRateKey, via: 1, want: []described{set(FollowerRateKey)}},
			{after: lag, via: 1, want: []described{unset(FollowerRateKey)}},
		}},
		{"ConfigChangeLag off: at once", -1, []step{
			{broker: 1, op: "set", key: FollowerRateKey, via: 1, want: []described{set(FollowerRateKey)}},
			{broker: 1, op: "delete", key: FollowerRateKey, via: 1, want: []described{unset(FollowerRateKey)}},
		}},
		{"another change drops a deleted rate", -1, []step{
			{broker: 1, op: "set", key: LeaderRateKey, via: 1, want: []described{set(LeaderRateKey)}},
			{broker: 1, op: "delete", key: LeaderRateKey, via: 1, want: []described{unset(LeaderRateKey)}},
			{broker: 1, op: "set", key: FollowerRateKey, via: 1, want: []described{set(FollowerRateKey)}},
			{broker: 1, op: "set", key: "no.such.key", via: 1, want: []described{set(FollowerRateKey)}},
			{broker: 1, op: "delete", key: FollowerRateKey, via: 1, want: []described{unset(FollowerRateKey)}},
			{broker: 1, op: "set", key: "other.key", via: 1, want: nil},
		}},
		{"cluster default: every broker lists it", lag, []step{
			{broker: -1, op: "set", key: LeaderRateKey, after: lag, via: 2, want: []described{byDefault(LeaderRateKey)}},
			{broker: -1, op: "delete", key: LeaderRateKey, after: lag, via: 3, want: []described{unset(LeaderRateKey)}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, adm, cl := start(t, Config{ConfigChangeLag: tc.lag})
			for i, s := range tc.steps {
				switch s.op {
				case "set":
					mustOK(t, alterBroker(t, adm, s.broker, kadm.SetConfig, s.key, "1048576"))
				case "delete":
					mustOK(t, alterBroker(t, adm, s.broker, kadm.DeleteConfig, s.key, ""))
				}
				c.Clock().Advance(s.after)
				got := describeBroker(t, cl, s.via, keys)
				if fmt.Sprint(got) != fmt.Sprint(s.want) {
					t.Errorf("step %d: broker %d lists %v, want %v", i, s.via, got, s.want)
				}
			}
		})
	}
}

// Item 27: SUBTRACT is a multiset difference: each element subtracted
// removes one occurrence, the first.
func TestSubtractIsMultisetDifference(t *testing.T) {
	tests := []struct{ list, subtract, want string }{
		{",0:1,0:1", "0:1", ",0:1"},
		{"0:1,0:1", "0:1", "0:1"},
		{"0:1,0:1", "0:1,0:1", ""},
		{"0:1,1:2,0:1", "0:1", "1:2,0:1"},
		{"0:1,1:2", "1:2,1:2", "0:1"},
	}
	c, adm, _ := start(t, Config{})
	mustCreate(t, c, "orders", []int32{0, 1, 2})
	for _, tc := range tests {
		t.Run(tc.list+" - "+tc.subtract, func(t *testing.T) {
			mustOK(t, alterTopic(t, adm, "orders", kadm.SetConfig, LeaderThrottledKey, tc.list))
			mustOK(t, alterTopic(t, adm, "orders", kadm.SubtractConfig, LeaderThrottledKey, tc.subtract))
			if got, _ := c.TopicConfigs("orders"); got[LeaderThrottledKey] != tc.want {
				t.Errorf("%q minus %q: %q, want %q", tc.list, tc.subtract, got[LeaderThrottledKey], tc.want)
			}
		})
	}
}

// Item 33: a topic config with an unknown key is refused with 40
// INVALID_CONFIG, in CreateTopics and IncrementalAlterConfigs alike; a
// broker config with an unknown key is accepted (and stored, as ZooKeeper
// would hold it), and DescribeConfigs of that broker lists it hidden, as it
// lists the rates (item 26).
func TestUnknownConfigKeys(t *testing.T) {
	unknown := "Unknown topic config name: no.such.key"
	tests := []struct {
		name     string
		resource string // "topic", "create" (CreateTopics) or "broker"
		key      string
		code     int16
		message  string
	}{
		{"topic: unknown key", "topic", "no.such.key", 40, unknown},
		{"topic: known key", "topic", "retention.ms", 0, ""},
		{"create: unknown key", "create", "no.such.key", 40, unknown},
		{"create: known key", "create", "retention.ms", 0, ""},
		{"broker: unknown key", "broker", "no.such.key", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, adm, cl := start(t, Config{})
			mustCreate(t, c, "orders", []int32{0, 1, 2})
			var code int16
			var msg string
			switch tc.resource {
			case "topic":
				r := alterTopic(t, adm, "orders", kadm.SetConfig, tc.key, "1000")
				code, msg = errCode(r.Err), r.ErrMessage
			case "create":
				req := kmsg.NewPtrCreateTopicsRequest()
				rt := kmsg.NewCreateTopicsRequestTopic()
				rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "events", 1, 1
				cfg := kmsg.NewCreateTopicsRequestTopicConfig()
				cfg.Name, cfg.Value = tc.key, strp("1000")
				rt.Configs = append(rt.Configs, cfg)
				req.Topics = append(req.Topics, rt)
				resp, err := req.RequestWith(ctx(t), cl)
				if err != nil {
					t.Fatal(err)
				}
				code, msg = resp.Topics[0].ErrorCode, deref(resp.Topics[0].ErrorMessage)
			case "broker":
				r := alterBroker(t, adm, 1, kadm.SetConfig, tc.key, "1000")
				code, msg = errCode(r.Err), r.ErrMessage
			}
			if code != tc.code || msg != tc.message {
				t.Fatalf("code %d %q, want %d %q", code, msg, tc.code, tc.message)
			}
			switch tc.resource {
			case "topic":
				got, _ := c.TopicConfigs("orders")
				if _, stored := got[tc.key]; stored != (tc.code == 0) {
					t.Errorf("stored %v after code %d", stored, tc.code)
				}
			case "create":
				if _, ok := c.Partition("events", 0); ok != (tc.code == 0) {
					t.Errorf("topic created %v after code %d", ok, tc.code)
				}
			case "broker":
				// Listed as Kafka 2.4 lists a key it does not know.
				want := described{name: tc.key, source: sourceDynamicBroker, synonyms: []kmsg.ConfigSource{sourceDynamicBroker}}
				if got := describeBroker(t, cl, 1, []string{tc.key}); fmt.Sprint(got) != fmt.Sprint([]described{want}) {
					t.Errorf("DescribeConfigs of broker 1 lists %v, want %v", got, want)
				}
				if got := c.BrokerDynamicConfigs(1)[tc.key]; got != "1000" {
					t.Errorf("stored as %q, want 1000", got)
				}
			}
		})
	}
}
