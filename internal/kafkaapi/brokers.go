package kafkaapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// The reads below go to one named broker (Requester.Broker): what they
// answer is that broker's own view, and a broker that does not answer is
// the finding.

// sendTo sends one request to broker id with its own timeout.
func sendTo[R kmsg.Response](ctx context.Context, c *Client, id int32, req kmsg.Request) (R, error) {
	var zero R
	cctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	c.calls.Add(1)
	resp, err := c.k.Broker(int(id)).Request(cctx, req)
	if err != nil {
		return zero, fmt.Errorf("%s to broker %d: %w", kmsg.NameForKey(req.Key()), id, err)
	}
	r, ok := resp.(R)
	if !ok {
		return zero, fmt.Errorf("%s to broker %d: unexpected response type %T", kmsg.NameForKey(req.Key()), id, resp)
	}
	return r, nil
}

// BrokerAPIs are the request versions one broker supports.
type BrokerAPIs struct{ v *kversion.Versions }

// Has reports whether the broker supports request key k at all.
func (a BrokerAPIs) Has(k kmsg.Key) bool { return a.v != nil && a.v.HasKey(int16(k)) }

// VersionGuess names the Kafka release whose request versions match the
// broker's exactly ("2.4"), or says how they differ ("between v2.4 and
// v2.5"). Brokers before 3.x do not report their release; their request
// versions are the best evidence.
func (a BrokerAPIs) VersionGuess() string {
	if a.v == nil {
		return ""
	}
	g := a.v.VersionGuess()
	if strings.HasPrefix(g, "v") && !strings.Contains(g, " ") {
		return g[1:]
	}
	return g
}

// APIVersions asks broker id which requests it supports. An error means
// the broker is registered but does not answer kshift.
func (c *Client) APIVersions(ctx context.Context, id int32) (BrokerAPIs, error) {
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "kshift", "1"
	resp, err := sendTo[*kmsg.ApiVersionsResponse](ctx, c, id, req)
	if err == nil {
		err = CodeError(resp.ErrorCode, nil)
	}
	if err != nil {
		return BrokerAPIs{}, fmt.Errorf("asking broker %d for its API versions: %w", id, err)
	}
	return BrokerAPIs{kversion.FromApiVersionsResponse(resp)}, nil
}

// ClusterIDOf asks broker id, with DescribeCluster (Kafka 2.8 and later:
// check BrokerAPIs.Has first), which cluster it belongs to. Metadata gives
// one cluster id for all brokers; this is each broker's own.
func (c *Client) ClusterIDOf(ctx context.Context, id int32) (string, error) {
	req := kmsg.NewPtrDescribeClusterRequest()
	resp, err := sendTo[*kmsg.DescribeClusterResponse](ctx, c, id, req)
	if err == nil {
		err = CodeError(resp.ErrorCode, resp.ErrorMessage)
	}
	if err != nil {
		return "", fmt.Errorf("asking broker %d for its cluster id: %w", id, err)
	}
	return resp.ClusterID, nil
}

// LogDir is one log directory of a broker.
type LogDir struct {
	Dir string
	// Err is the directory's error (KAFKA_STORAGE_ERROR: offline).
	Err error
	// TotalBytes and UsableBytes are the disk's size and free space, -1
	// when the broker does not report them (before Kafka 3.3).
	TotalBytes, UsableBytes int64
	// Replicas are the replicas in the directory with their sizes, in the
	// broker's order; a future replica of an intra-broker move is left out.
	// A list, not a map: a 200,000-partition cluster reports 600,000 of
	// them, and `kshift snapshot` only walks them once.
	Replicas []ReplicaSize
}

// ReplicaSize is one replica's size in bytes.
type ReplicaSize struct {
	TP
	Size int64
}

// LogDirs reads broker id's log directories with the sizes of its replicas
// of parts, or of every replica it holds when parts is nil.
func (c *Client) LogDirs(ctx context.Context, id int32, parts []TP) ([]LogDir, error) {
	req := kmsg.NewPtrDescribeLogDirsRequest()
	if parts != nil {
		req.Topics = logDirsTopics(parts)
	}
	resp, err := sendTo[*kmsg.DescribeLogDirsResponse](ctx, c, id, req)
	if err == nil {
		err = CodeError(resp.ErrorCode, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the log dirs of broker %d: %w", id, err)
	}
	out := make([]LogDir, 0, len(resp.Dirs))
	for _, d := range resp.Dirs {
		ld := LogDir{Dir: d.Dir, Err: CodeError(d.ErrorCode, nil), TotalBytes: d.TotalBytes, UsableBytes: d.UsableBytes}
		n := 0
		for _, t := range d.Topics {
			n += len(t.Partitions)
		}
		ld.Replicas = make([]ReplicaSize, 0, n)
		for _, t := range d.Topics {
			for _, p := range t.Partitions {
				if !p.IsFuture {
					ld.Replicas = append(ld.Replicas, ReplicaSize{TP{t.Topic, p.Partition}, p.Size})
				}
			}
		}
		out = append(out, ld)
	}
	return out, nil
}

// logDirsTopics lists parts as DescribeLogDirs asks for them (never nil:
// nil asks for every replica).
func logDirsTopics(parts []TP) []kmsg.DescribeLogDirsRequestTopic {
	out := []kmsg.DescribeLogDirsRequestTopic{}
	topics, byTopic := GroupByTopic(parts, func(p TP) string { return p.Topic })
	for _, name := range topics {
		t := kmsg.NewDescribeLogDirsRequestTopic()
		t.Topic = name
		for _, p := range byTopic[name] {
			t.Partitions = append(t.Partitions, p.Partition)
		}
		out = append(out, t)
	}
	return out
}
