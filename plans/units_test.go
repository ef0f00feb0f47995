package plans

import (
	"strings"
	"testing"
)

// Rates are bytes per second; a lower-case b means bits, as network rates
// are written (issue 12: "Mbps" was read as megabytes). Above 1 PiB/s is a
// mistake, refused.
func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"52428800":  52428800,
		"50MiB/s":   50 << 20,
		"50MiB":     50 << 20,
		"50MB/s":    50_000_000,
		"50MBps":    50_000_000,
		"800Mbps":   100_000_000,
		"800Mb/s":   100_000_000,
		"800 Mb/s":  100_000_000,
		"800Mbit/s": 100_000_000,
		"8Mibit/s":  1 << 20,
		"8Mib/s":    1 << 20,
		"10Gbps":    1_250_000_000,
		"1PiB/s":    MaxRate,
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"1.5PiB/s":         "above 1.0 PiB/s",
		"1125899906842625": "above 1.0 PiB/s",
		"2EB/s":            "above 1.0 PiB/s",
		"fast":             "a lower-case b means bits",
	} {
		if _, err := ParseRate(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRate(%q): %v, want %q", in, err, want)
		}
	}
}

// A rate in a file obeys the same bound, written as an integer or not.
func TestRateInFileBounded(t *testing.T) {
	for _, throttle := range []string{"1125899906842625", "2PiB/s"} {
		_, err := Decode[Mapping]([]byte("version: 1\nsource_brokers: [1]\ntarget_brokers: [2]\nthrottle: "+throttle+"\n"), "m.yaml")
		if err == nil || !strings.Contains(err.Error(), "above 1.0 PiB/s") {
			t.Errorf("throttle %s: %v", throttle, err)
		}
	}
	m, err := Decode[Mapping]([]byte("version: 1\nsource_brokers: [1]\ntarget_brokers: [2]\nthrottle: 400Mbps\n"), "m.yaml")
	if err != nil || m.Throttle != 50_000_000 {
		t.Errorf("throttle 400Mbps: %v %v, want 50000000 bytes/s", m, err)
	}
}
