package plans

import (
	"strings"
	"testing"
)

// replication_factor.default: 0 is no replication factor: an error, not
// "keep each topic's RF" (which is leaving it out).
func TestMappingReplicationFactorDefaultZero(t *testing.T) {
	const base = "version: 1\nsource_brokers: [1, 2]\ntarget_brokers: [3, 4]\n"
	for _, tc := range []struct {
		body, want string
		rf         int // t's target RF when its current RF is 3
	}{
		{"replication_factor:\n  default: 0\n", "replication_factor.default: is 0", 0},
		{"replication_factor: {default: 0, topics: {t: 2}}\n", "replication_factor.default: is 0", 0},
		{"replication_factor:\n  default: 0\n  topics: {t: 0}\n", "replication_factor.topics.t: must be at least 1", 0},
		{"replication_factor:\n  topics: {t: 2}\n", "", 2},
		{"replication_factor:\n  default: 2\n", "", 2},
		{"", "", 3},
	} {
		m, err := Decode[Mapping]([]byte(base+tc.body), "m.yaml")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.body, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want %q", tc.body, err, tc.want)
		case tc.want == "" && m.ReplicationFactor.For("t", 3) != tc.rf:
			t.Errorf("%q: RF of t is %d, want %d", tc.body, m.ReplicationFactor.For("t", 3), tc.rf)
		}
	}
}

// Two targets on one host need their own ports: listeners.broker_ports.
func TestListenersSharedHost(t *testing.T) {
	const base = `version: 1
source_brokers: [1]
target_brokers: [101, 102]
listeners:
  ports: {PLAINTEXT: 9092, SSL: 9093}
  advertised_hosts: {101: host-a, 102: host-a}
`
	for extra, want := range map[string]string{
		"": "listeners: target brokers 101 and 102 both listen on host-a port 9092 (PLAINTEXT): give one its own ports in listeners.broker_ports",
		"  broker_ports: {102: {PLAINTEXT: 9192}}\n":                         "listeners: target brokers 101 and 102 both listen on host-a port 9093 (SSL)",
		"  broker_ports: {102: {PLAINTEXT: 9192, SSL: 9193}}\n":              "",
		"  broker_ports: {102: {PLAINTEXT: 9193, SSL: 9193}}\n":              "listeners.broker_ports[102]: listeners PLAINTEXT and SSL both use port 9193",
		"  broker_ports: {103: {PLAINTEXT: 9192}}\n":                         "listeners.broker_ports[103]: broker 103 is not in target_brokers",
		"  broker_ports: {102: {SASL: 9192, PLAINTEXT: 70000, SSL: 9193}}\n": "listeners.broker_ports[102].PLAINTEXT: port 70000 is not between 1 and 65535\nm.yaml: listeners.broker_ports[102].SASL: SASL is not a listener of listeners.ports",
	} {
		_, err := Decode[Mapping]([]byte(base+extra), "m.yaml")
		switch {
		case want == "" && err != nil:
			t.Errorf("%q refused: %v", extra, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want %q", extra, err, want)
		}
	}
}
