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

// topicConfigNames are the topic configs Kafka 2.4 knows (LogConfig); any
// other key is refused with 40 INVALID_CONFIG (item 33).
var topicConfigNames = map[string]bool{
	"cleanup.policy": true, "compression.type": true, "delete.retention.ms": true,
	"file.delete.delay.ms": true, "flush.messages": true, "flush.ms": true,
	FollowerThrottledKey: true, "index.interval.bytes": true, LeaderThrottledKey: true,
	"max.compaction.lag.ms": true, "max.message.bytes": true, "message.downconversion.enable": true,
	"message.format.version": true, "message.timestamp.difference.max.ms": true,
	"message.timestamp.type": true, "min.cleanable.dirty.ratio": true, "min.compaction.lag.ms": true,
	MinInsyncReplicasKey: true, "preallocate": true, "retention.bytes": true, "retention.ms": true,
	"segment.bytes": true, "segment.index.bytes": true, "segment.jitter.ms": true, "segment.ms": true,
	"unclean.leader.election.enable": true,
}

func knownTopicConfig(key string) bool { return topicConfigNames[key] }

func unknownTopicConfig(key string) string { return "Unknown topic config name: " + key }

// rateKeys are the throttle rates, broker configs that Kafka 2.4 keeps apart
// from the others (items 13 and 26).
var rateKeys = []string{LeaderRateKey, FollowerRateKey}

func isRate(key string) bool { return key == LeaderRateKey || key == FollowerRateKey }

// definedBrokerConfig reports whether broker config key is one the
// broker's config definitions know, which DescribeConfigs lists with its
// value: the configs the simulator reports, and on 3.x the throttle rates.
// Kafka 2.4 keeps the rates apart from its definitions, as it does keys it
// does not know: it lists them hidden (items 13, 26 and 33).
func (c *Cluster) definedBrokerConfig(key string) bool {
	_, known := defaultBrokerConfigs(BrokerConfig{}, c.cfg.Version)[key]
	return known || key == "listeners" || key == "broker.rack" || isRate(key) && c.cfg.Version == V3_x
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
				entries = c.defaultEntries(c.brokers[id])
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
		for _, e := range selectEntries(entries, rr.ConfigNames) {
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name, rc.Source, rc.IsSensitive, rc.ReadOnly = e.name, e.source, e.sensitive, e.readOnly
			rc.IsDefault = e.source == sourceDefault
			if !e.sensitive {
				rc.Value = strp(e.value)
			}
			if r.IncludeSynonyms {
				for _, src := range e.synonyms {
					syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
					syn.Name, syn.Source = e.name, src
					if !e.sensitive {
						syn.Value = rc.Value
					}
					rc.ConfigSynonyms = append(rc.ConfigSynonyms, syn)
				}
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
	// synonyms are the sources of the entry's synonyms, listed with the
	// entry's own name (only kept for the throttle rates, item 26).
	synonyms []kmsg.ConfigSource
}

// selectEntries returns the entries named in names, or all of them when
// names is nil, in the answer's own order whatever the order asked for
// (item 26; a real broker's order is that of a hash map).
func selectEntries(entries []configEntry, names []string) []configEntry {
	if names == nil {
		return entries
	}
	var out []configEntry
	for _, e := range entries {
		if slices.Contains(names, e.name) {
			out = append(out, e)
		}
	}
	return out
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
		if listKeys[k] {
			v = strings.Join(parseList(v), ",")
		}
		m[k] = configEntry{name: k, value: v, source: sourceDynamicTopic}
	}
	return sortedEntries(m)
}

// parseList parses a list config as Kafka's config definitions do: trimmed,
// split at commas with the spaces around them, empty elements kept ("" is
// no element). DescribeConfigs shows a list so parsed, joined with commas
// ("0:1, 1:2" reads back as "0:1,1:2"; item 14).
func parseList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return listSeparator.Split(s, -1)
}

var listSeparator = regexp.MustCompile(`\s*,\s*`)

// brokerEntries is DescribeConfigs of BROKER "N" on broker b, from the
// configs as b last processed them (Config.ConfigChangeLag). On 2.4 the
// keys its definitions do not know (the rates, unknown keys) are listed
// from the config b last built (configView), hidden: value null,
// sensitive, read-only, with source DYNAMIC_BROKER_CONFIG or
// DYNAMIC_DEFAULT_BROKER_CONFIG while set and DEFAULT_CONFIG once deleted
// (items 13, 26 and 33).
func (c *Cluster) brokerEntries(b *broker) []configEntry {
	v := c.processedLocked(b)
	defaults := defaultBrokerConfigs(b.cfg, c.cfg.Version)
	m := make(map[string]configEntry)
	for k, val := range b.static {
		src := sourceStaticBroker
		if dv, ok := defaults[k]; ok && dv == val && k != "broker.id" && k != "broker.rack" {
			src = sourceDefault
		}
		m[k] = configEntry{name: k, value: val, source: src}
	}
	m["listeners"] = configEntry{name: "listeners", value: c.listenerName() + "://127.0.0.1:" + itoa(int64(b.port)), source: sourceStaticBroker}
	for k, val := range v.defaults {
		if c.definedBrokerConfig(k) {
			m[k] = configEntry{name: k, value: val, source: sourceDynamicDefaultBroker}
		}
	}
	for k, val := range v.dynamic {
		if c.definedBrokerConfig(k) {
			m[k] = configEntry{name: k, value: val, source: sourceDynamicBroker}
		}
	}
	if c.cfg.Version == V2_4 {
		for k := range v.built {
			if _, static := b.static[k]; !static && !c.definedBrokerConfig(k) {
				m[k] = v.hiddenEntry(k)
			}
		}
	}
	for _, k := range rateKeys {
		// Item 26: the synonyms of a rate list the entry, per-broker first.
		if e, ok := m[k]; ok {
			e.synonyms = v.synonyms(k)
			m[k] = e
		}
	}
	return sortedEntries(m)
}

// synonyms are the sources a processed dynamic config key is set in, the
// broker's own first.
func (v *configView) synonyms(k string) []kmsg.ConfigSource {
	var out []kmsg.ConfigSource
	if _, ok := v.dynamic[k]; ok {
		out = append(out, sourceDynamicBroker)
	}
	if _, ok := v.defaults[k]; ok {
		out = append(out, sourceDynamicDefaultBroker)
	}
	return out
}

// hiddenEntry is how Kafka 2.4 lists a broker config key its definitions
// do not know: value null, sensitive and read-only, its source the first
// synonym's, DEFAULT_CONFIG when it is not set.
func (v *configView) hiddenEntry(k string) configEntry {
	e := configEntry{name: k, source: sourceDefault, sensitive: true, readOnly: true, synonyms: v.synonyms(k)}
	if len(e.synonyms) > 0 {
		e.source = e.synonyms[0]
	}
	return e
}

// defaultEntries is DescribeConfigs of the cluster default (resource "")
// on broker b, from the defaults as b last processed them; 2.4 hides the
// keys its definitions do not know (item 13).
func (c *Cluster) defaultEntries(b *broker) []configEntry {
	v := c.processedLocked(b)
	m := make(map[string]configEntry)
	for k, val := range v.defaults {
		switch {
		case c.definedBrokerConfig(k):
			m[k] = configEntry{name: k, value: val, source: sourceDynamicDefaultBroker}
		case c.cfg.Version == V2_4:
			m[k] = configEntry{name: k, source: sourceDynamicDefaultBroker, sensitive: true, readOnly: true}
		default:
			continue
		}
		if isRate(k) || c.cfg.Version == V2_4 && !c.definedBrokerConfig(k) {
			e := m[k]
			e.synonyms = []kmsg.ConfigSource{sourceDynamicDefaultBroker}
			m[k] = e
		}
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
	// Item 12: a key twice in one request is 42, checked before anything
	// else, naming the keys.
	seen := make(map[string]bool)
	var dups []string
	for _, op := range rr.Configs {
		if seen[op.Name] && !slices.Contains(dups, op.Name) {
			dups = append(dups, op.Name)
		}
		seen[op.Name] = true
	}
	if len(dups) > 0 {
		return errInvalidRequest, strp("Error due to duplicate config keys : " + strings.Join(dups, ","))
	}
	var current map[string]string
	var t *topic
	var b *broker
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		var ok bool
		if t, ok = c.topics[rr.ResourceName]; !ok {
			// Item 14: -1, not 3.
			return errUnknownServer, strp(`Topic "` + rr.ResourceName + `" does not exist.`)
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
			// A BROKER "N" resource must go to broker N (unlike
			// DescribeConfigs', this message names no empty string).
			return errInvalidRequest, strp("Unexpected broker id, expected " + itoa(int64(id)) + ", but received " + rr.ResourceName)
		}
	default:
		return errInvalidRequest, strp("Unsupported resource type " + itoa(int64(rr.ResourceType)))
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
				// Item 15: APPEND/SUBTRACT on a never-set key is -1, the
				// broker's NullPointerException.
				return errUnknownServer, strp(npeListNotSet)
			}
			if op.Op == kmsg.IncrementalAlterConfigOpAppend {
				next[op.Name] = c.appendList(old, value)
			} else {
				next[op.Name] = subtractList(old, value)
			}
		default:
			return errInvalidRequest, strp("Unknown operation " + itoa(int64(op.Op)))
		}
	}
	if t != nil {
		// Item 33: an unknown topic config key is refused (a broker's
		// is accepted).
		for _, op := range rr.Configs {
			if _, ok := next[op.Name]; ok && !knownTopicConfig(op.Name) {
				return errInvalidConfig, strp(unknownTopicConfig(op.Name))
			}
		}
	}
	for _, op := range rr.Configs {
		if v, ok := next[op.Name]; ok {
			if msg, bad := validateConfig(op.Name, v); bad {
				// Kafka 2.4 answers a bad value with 42, not 40, naming
				// the resource (item 12).
				typ := "BROKER"
				if t != nil {
					typ = "TOPIC"
				}
				return errInvalidRequest, strp("Invalid config value for resource ConfigResource(type=" + typ + ", name='" + rr.ResourceName + "'): " + msg)
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
	if t == nil {
		c.configChangedLocked(b)
		if b != nil {
			b.configWritten = true
		} else {
			c.defaultsWritten = true
		}
	}
	if t != nil {
		t.applyTopicThrottles()
	}
	return 0, nil
}

// npeListNotSet is what a 2.4 broker on Java 17 answers APPEND or SUBTRACT
// on a list key that was never set with (item 15): the message of the
// NullPointerException it hits. Another Java words it otherwise.
const npeListNotSet = `Cannot invoke "String.split(String)" because the return value of "java.util.Properties.getProperty(String)" is null`

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

// splitList splits a list config the way Kafka 2.4 does (Java's
// String.split(",")): no trimming, trailing empty elements dropped, and ""
// a list of one empty element.
func splitList(s string) []string {
	if !strings.Contains(s, ",") {
		return []string{s}
	}
	out := strings.Split(s, ",")
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// appendList appends value's elements to a list. Kafka 2.4 neither drops
// empty elements nor dedupes, so APPEND onto "" gives ",0:4" (item 15); 3.x
// does both.
func (c *Cluster) appendList(old, value string) string {
	if c.cfg.Version == V2_4 {
		return strings.Join(append(splitList(old), splitList(value)...), ",")
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

// subtractList removes value's elements from a list as a multiset
// difference: each element of value removes one occurrence, the first
// (item 27: ",0:1,0:1" minus "0:1" leaves ",0:1"); an absent value changes
// nothing and removing the last element leaves "" (item 15).
func subtractList(old, value string) string {
	out := splitList(old)
	for _, d := range splitList(value) {
		if i := slices.Index(out, d); i >= 0 {
			out = slices.Delete(out, i, i+1)
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
				// The message shows the value as the parsed list.
				value = "[" + strings.Join(parseList(value), ", ") + "]"
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
