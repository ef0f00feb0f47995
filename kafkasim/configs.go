package kafkasim

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config sources of DescribeConfigs v1+.
const (
	sourceDynamicTopic         = kmsg.ConfigSourceDynamicTopicConfig
	sourceDynamicBroker        = kmsg.ConfigSourceDynamicBrokerConfig
	sourceDynamicDefaultBroker = kmsg.ConfigSourceDynamicDefaultBrokerConfig
	sourceStaticBroker         = kmsg.ConfigSourceStaticBrokerConfig
	sourceDefault              = kmsg.ConfigSourceDefaultConfig
)

// defaultBrokerConfigs are the broker configs the double reports, with the
// defaults of the emulated version; BrokerConfig.Configs overrides them.
func defaultBrokerConfigs(bc BrokerConfig, v Version) map[string]string {
	ibp, lmf, zkTimeout := "2.4-IV1", "2.4-IV1", "6000"
	if v == V3_x {
		ibp, lmf, zkTimeout = "3.6-IV2", "3.0-IV1", "18000"
	}
	m := map[string]string{
		"broker.id":                               itoa(int64(bc.ID)),
		AutoLeaderRebalanceKey:                    "true",
		ImbalancePercentageKey:                    "10",
		"leader.imbalance.check.interval.seconds": "300",
		"inter.broker.protocol.version":           ibp,
		"log.message.format.version":              lmf,
		"message.max.bytes":                       "1048588",
		"replica.fetch.max.bytes":                 "1048576",
		"num.replica.fetchers":                    "1",
		MinInsyncReplicasKey:                      "1",
		"unclean.leader.election.enable":          "false",
		"default.replication.factor":              "1",
		"zookeeper.session.timeout.ms":            zkTimeout,
		"log.dirs":                                "/var/lib/kafka/data",
	}
	if bc.Rack != "" {
		m["broker.rack"] = bc.Rack
	}
	return m
}

// topicDefaults are the topic configs reported with source DEFAULT_CONFIG
// when the topic does not set them.
var topicDefaults = map[string]string{
	"cleanup.policy":                 "delete",
	"retention.ms":                   "604800000",
	"max.message.bytes":              "1048588",
	MinInsyncReplicasKey:             "1",
	"unclean.leader.election.enable": "false",
	LeaderThrottledKey:               "",
	FollowerThrottledKey:             "",
}

// listKeys are the LIST-typed configs APPEND and SUBTRACT work on.
var listKeys = map[string]bool{
	"cleanup.policy":     true,
	LeaderThrottledKey:   true,
	FollowerThrottledKey: true,
}

func (c *Cluster) describeConfigs(id int32, r *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []configEntry
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t, ok := c.topics[rr.ResourceName]
			if !ok {
				res.ErrorCode = errUnknownTopicOrPartition
				res.ErrorMessage = strp(errorMessage(errUnknownTopicOrPartition))
				break
			}
			entries = c.topicEntries(t)
		case kmsg.ConfigResourceTypeBroker:
			if rr.ResourceName == "" {
				entries = c.defaultEntries()
				break
			}
			if rr.ResourceName != itoa(int64(id)) {
				res.ErrorCode = errInvalidRequest
				res.ErrorMessage = strp("Unexpected broker id, expected " + itoa(int64(id)) + " or empty string, but received " + rr.ResourceName)
				break
			}
			entries = c.brokerEntries(c.brokers[id])
		default:
			res.ErrorCode = errInvalidRequest
			res.ErrorMessage = strp("Unsupported resource type " + itoa(int64(rr.ResourceType)))
		}
		for _, e := range entries {
			if rr.ConfigNames != nil && !slices.Contains(rr.ConfigNames, e.name) {
				continue
			}
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name, rc.Source, rc.IsSensitive, rc.ReadOnly = e.name, e.source, e.sensitive, e.readOnly
			rc.IsDefault = e.source == sourceDefault
			if !e.sensitive {
				rc.Value = strp(e.value)
			}
			res.Configs = append(res.Configs, rc)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp
}

type configEntry struct {
	name, value         string
	source              kmsg.ConfigSource
	sensitive, readOnly bool
}

func sortedEntries(m map[string]configEntry) []configEntry {
	out := make([]configEntry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (c *Cluster) topicEntries(t *topic) []configEntry {
	m := make(map[string]configEntry)
	for k, v := range topicDefaults {
		m[k] = configEntry{name: k, value: v, source: sourceDefault}
	}
	for k, v := range t.configs {
		m[k] = configEntry{name: k, value: v, source: sourceDynamicTopic}
	}
	return sortedEntries(m)
}

// hiddenOn24 reports whether Kafka 2.4 hides a dynamic broker config from
// DescribeConfigs: the throttle rates (and any key it does not know) come back
// with value null, sensitive and read-only (item 13).
func (c *Cluster) hiddenOn24(key string) bool {
	if c.cfg.Version != V2_4 {
		return false
	}
	_, known := defaultBrokerConfigs(BrokerConfig{}, c.cfg.Version)[key]
	return !known
}

func (c *Cluster) brokerEntries(b *broker) []configEntry {
	defaults := defaultBrokerConfigs(b.cfg, c.cfg.Version)
	m := make(map[string]configEntry)
	for k, v := range b.static {
		src := sourceStaticBroker
		if dv, ok := defaults[k]; ok && dv == v && k != "broker.id" && k != "broker.rack" {
			src = sourceDefault
		}
		m[k] = configEntry{name: k, value: v, source: src}
	}
	m["listeners"] = configEntry{name: "listeners", value: c.listenerName() + "://127.0.0.1:" + itoa(int64(b.port)), source: sourceStaticBroker}
	for k, v := range c.defaults {
		m[k] = configEntry{name: k, value: v, source: sourceDynamicDefaultBroker, sensitive: c.hiddenOn24(k), readOnly: c.hiddenOn24(k)}
	}
	for k, v := range b.dynamic {
		m[k] = configEntry{name: k, value: v, source: sourceDynamicBroker, sensitive: c.hiddenOn24(k), readOnly: c.hiddenOn24(k)}
	}
	return sortedEntries(m)
}

func (c *Cluster) defaultEntries() []configEntry {
	m := make(map[string]configEntry)
	for k, v := range c.defaults {
		m[k] = configEntry{name: k, value: v, source: sourceDynamicDefaultBroker, sensitive: c.hiddenOn24(k), readOnly: c.hiddenOn24(k)}
	}
	return sortedEntries(m)
}

func (c *Cluster) listenerName() string {
	switch {
	case c.cfg.TLS != nil && c.sasl != nil:
		return "SASL_SSL"
	case c.cfg.TLS != nil:
		return "SSL"
	case c.sasl != nil:
		return "SASL_PLAINTEXT"
	}
	return "PLAINTEXT"
}

// incrementalAlterConfigs applies SET/DELETE/APPEND/SUBTRACT to topics and
// brokers with the validation and quirks of items 12-15.
func (c *Cluster) incrementalAlterConfigs(id int32, r *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		code, msg := c.alterResource(id, rr, r.ValidateOnly)
		res.ErrorCode = code
		if code != 0 {
			res.ErrorMessage = msg
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp
}

func (c *Cluster) alterResource(id int32, rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) (int16, *string) {
	var current map[string]string
	var t *topic
	var b *broker
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		var ok bool
		if t, ok = c.topics[rr.ResourceName]; !ok {
			// Item 14: -1, not 3.
			return errUnknownServer, strp("Topic " + rr.ResourceName + " does not exist.")
		}
		current = t.configs
	case kmsg.ConfigResourceTypeBroker:
		switch rr.ResourceName {
		case "":
			current = c.defaults
		case itoa(int64(id)):
			b = c.brokers[id]
			current = b.dynamic
		default:
			// A BROKER "N" resource must go to broker N.
			return errInvalidRequest, strp("Unexpected broker id, expected " + itoa(int64(id)) + " or empty string, but received " + rr.ResourceName)
		}
	default:
		return errInvalidRequest, strp("Unsupported resource type " + itoa(int64(rr.ResourceType)))
	}
	seen := make(map[string]bool)
	for _, op := range rr.Configs {
		if seen[op.Name] {
			// Item 12: a key twice in one request is 42.
			return errInvalidRequest, strp("Error due to duplicate config keys")
		}
		seen[op.Name] = true
	}
	next := make(map[string]string, len(current))
	for k, v := range current {
		next[k] = v
	}
	for _, op := range rr.Configs {
		value := ""
		if op.Value != nil {
			value = *op.Value
		}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			next[op.Name] = value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(next, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if code, msg := c.checkListOp(t != nil, op.Name); code != 0 {
				return code, msg
			}
			old, ok := next[op.Name]
			if !ok {
				// Item 15: APPEND/SUBTRACT on a never-set key is -1.
				return errUnknownServer, nil
			}
			if op.Op == kmsg.IncrementalAlterConfigOpAppend {
				next[op.Name] = c.appendList(old, value)
			} else {
				next[op.Name] = subtractList(old, value)
			}
		default:
			return errInvalidRequest, strp("Unknown operation " + itoa(int64(op.Op)))
		}
		if v, ok := next[op.Name]; ok {
			if msg, bad := validateConfig(op.Name, v); bad {
				// Kafka 2.4 answers a bad value with 42, not 40 (item 12).
				return errInvalidRequest, strp(msg)
			}
		}
	}
	if validateOnly {
		return 0, nil
	}
	for k := range current {
		delete(current, k)
	}
	for k, v := range next {
		current[k] = v
	}
	if t != nil {
		t.applyTopicThrottles()
	}
	return 0, nil
}

// checkListOp rejects APPEND/SUBTRACT on keys that are not lists: a key the
// broker's config definition does not know fails with -1 "key not found"
// (the throttle rates are such keys, item 12), a known non-list key with 42.
func (c *Cluster) checkListOp(isTopic bool, key string) (int16, *string) {
	if listKeys[key] {
		return 0, nil
	}
	known := false
	if isTopic {
		_, known = topicDefaults[key]
	} else {
		_, known = defaultBrokerConfigs(BrokerConfig{}, c.cfg.Version)[key]
	}
	if !known {
		return errUnknownServer, strp("key not found: " + key)
	}
	return errInvalidRequest, strp("Config value append is not allowed for config key: " + key)
}

// appendList appends value's elements to a list. Kafka 2.4 neither drops
// empty elements nor dedupes, so APPEND onto "" gives ",0:4" (item 15); 3.x
// does both.
func (c *Cluster) appendList(old, value string) string {
	if c.cfg.Version == V2_4 {
		return old + "," + value
	}
	var out []string
	for _, e := range append(strings.Split(old, ","), strings.Split(value, ",")...) {
		e = strings.TrimSpace(e)
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

// subtractList removes value's elements from a list; an absent value changes
// nothing and removing the last element leaves "" (item 15).
func subtractList(old, value string) string {
	drop := strings.Split(value, ",")
	var out []string
	for _, e := range strings.Split(old, ",") {
		if !slices.Contains(drop, strings.TrimSpace(e)) {
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

var throttledReplicaElem = regexp.MustCompile(`^([0-9]+:[0-9]+)?$`)

// validateConfig checks a value as the broker's config definitions do
// (items 12 and 14); unknown keys are accepted.
func validateConfig(key, value string) (string, bool) {
	invalid := func(why string) (string, bool) {
		return "Invalid value " + value + " for configuration " + key + ": " + why, true
	}
	switch key {
	case LeaderRateKey, FollowerRateKey:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return invalid("Not a number of type LONG")
		}
		if n < 0 {
			return invalid("Value must be at least 0")
		}
	case LeaderThrottledKey, FollowerThrottledKey:
		if strings.TrimSpace(value) == "*" {
			return "", false
		}
		for _, e := range strings.Split(value, ",") {
			if !throttledReplicaElem.MatchString(strings.TrimSpace(e)) {
				return invalid(key + " must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...")
			}
		}
	case MinInsyncReplicasKey:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 32)
		if err != nil {
			return invalid("Not a number of type INT")
		}
		if n < 1 {
			return invalid("Value must be at least 1")
		}
	}
	return "", false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func parseInt(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) }
