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
