package plans

import (
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"gopkg.in/yaml.v3"
)

// ByteSize is a size in bytes. Files may write it as a plain integer or in a
// human form ("200GiB", "1.5TB"); kshift always writes the plain integer so
// that diffs and scripts see exact numbers.
type ByteSize int64

// ParseByteSize parses "200GiB", "500 MB" or "1048576" into bytes.
func ParseByteSize(s string) (ByteSize, error) {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: want bytes or a size like 200GiB", s)
	}
	if n > 1<<62 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return ByteSize(n), nil
}

// String prints the size in binary units, e.g. "1.5 GiB".
func (b ByteSize) String() string {
	if b < 0 {
		return "-" + humanize.IBytes(uint64(-b))
	}
	return humanize.IBytes(uint64(b))
}

// UnmarshalYAML accepts an integer or a human-readable size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	var i int64
	if err := n.Decode(&i); err == nil {
		*b = ByteSize(i)
		return nil
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// Rate is a transfer rate in bytes per second. Files may write it as an
// integer or as "50MiB/s"; kshift writes the integer.
type Rate int64

// MaxRate is the highest rate kshift accepts, 1 PiB/s: far above any link a
// broker has, so that a larger one is a typing mistake (a size for a rate,
// digits too many), never a throttle.
const MaxRate Rate = 1 << 50

// ParseRate parses a rate per second: "50MiB/s", "50MB/s", "50MiB",
// "50MBps" or "52428800" are bytes per second. A unit ending in a lower-case
// b, or in bit or bits, counts bits, as network rates are written:
// "800Mbps", "800Mb/s" and "800Mbit/s" are 100 MB/s (100,000,000 bytes/s,
// rounded down to whole bytes). Rates above MaxRate are refused.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "ps")
	bits := false
	for _, unit := range []string{"bits", "bit", "b"} {
		if u, ok := strings.CutSuffix(t, unit); ok {
			t, bits = u+"B", true // "400Mb" counts what "400MB" would, in bits
			break
		}
	}
	n, err := ParseByteSize(t)
	if err != nil {
		return 0, fmt.Errorf("invalid rate %q: want bytes per second or a rate like 50MiB/s (a lower-case b means bits: 400Mbps)", s)
	}
	r := Rate(n)
	if bits {
		r /= 8
	}
	if r > MaxRate {
		return 0, fmt.Errorf("invalid rate %q: above %s, the most kshift accepts (bytes per second, or bits with a lower-case b)", s, MaxRate)
	}
	return r, nil
}

// String prints the rate in binary units, e.g. "50 MiB/s".
func (r Rate) String() string { return ByteSize(r).String() + "/s" }

// UnmarshalYAML accepts an integer or a human-readable rate (ParseRate).
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	var i int64
	if err := n.Decode(&i); err == nil {
		if Rate(i) > MaxRate {
			return fmt.Errorf("line %d: rate %d bytes/s is above %s, the most kshift accepts", n.Line, i, MaxRate)
		}
		*r = Rate(i)
		return nil
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*r = v
	return nil
}

// TimeFor returns how long moving size bytes takes at this rate.
// A rate of zero or less means unthrottled and returns zero.
func (r Rate) TimeFor(size ByteSize) time.Duration {
	if r <= 0 || size <= 0 {
		return 0
	}
	return time.Duration(float64(size) / float64(r) * float64(time.Second))
}

// Duration is a time.Duration written in Go's form ("1h30m0s"), rounded to
// whole seconds when kshift writes it.
type Duration time.Duration

// String prints the duration rounded to seconds.
func (d Duration) String() string { return time.Duration(d).Round(time.Second).String() }

// MarshalYAML writes the Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a Go duration string such as "90s" or "1h30m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q: want a Go duration like 90s or 1h30m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}
