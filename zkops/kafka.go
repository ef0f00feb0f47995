package zkops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"

	"github.com/go-zookeeper/zk"
)

// KafkaCluster is what a Kafka cluster keeps under its chroot.
type KafkaCluster struct {
	Chroot    string `json:"chroot" yaml:"chroot"`
	ClusterID string `json:"cluster_id" yaml:"cluster_id"`
	// Brokers are the live broker registrations (/brokers/ids), sorted.
	Brokers []int32 `json:"brokers" yaml:"brokers,flow"`
	// Controller is the active controller's broker id, -1 when none.
	Controller int32 `json:"controller" yaml:"controller"`
	// Reassignment is a legacy (/admin/reassign_partitions) reassignment in flight.
	Reassignment []LegacyReassignment `json:"reassignment,omitempty" yaml:"reassignment,omitempty"`
}

// LegacyReassignment is one partition of /admin/reassign_partitions.
type LegacyReassignment struct {
	Topic     string  `json:"topic" yaml:"topic"`
	Partition int32   `json:"partition" yaml:"partition"`
	Replicas  []int32 `json:"replicas" yaml:"replicas,flow"`
}

// znode returns chroot joined with p.
func znode(chroot, p string) string { return path.Join("/", chroot, p) }

func getData(ctx context.Context, conn ZKConn, p string) ([]byte, bool, error) {
	b, err := call(ctx, func() ([]byte, error) {
		b, _, err := conn.Get(p)
		return b, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	return b, true, nil
}

func children(ctx context.Context, conn ZKConn, p string) ([]string, bool, error) {
	c, err := call(ctx, func() ([]string, error) {
		c, _, err := conn.Children(p)
		return c, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("listing %s: %w", p, err)
	}
	sort.Strings(c)
	return c, true, nil
}

// IsKafkaChroot reports whether chroot holds a Kafka cluster (a
// /brokers/ids or /cluster/id znode under it).
func IsKafkaChroot(ctx context.Context, conn ZKConn, chroot string) (bool, error) {
	for _, p := range []string{"brokers/ids", "cluster/id"} {
		ok, err := call(ctx, func() (bool, error) {
			ok, _, err := conn.Exists(znode(chroot, p))
			return ok, err
		})
		if err != nil {
			return false, fmt.Errorf("checking %s: %w", znode(chroot, p), err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// ReadKafkaCluster reads the cluster id, live brokers, controller and any
// legacy reassignment in flight under chroot.
func ReadKafkaCluster(ctx context.Context, conn ZKConn, chroot string) (*KafkaCluster, error) {
	kc := &KafkaCluster{Chroot: path.Join("/", chroot), Controller: -1}
	ok, err := IsKafkaChroot(ctx, conn, chroot)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no Kafka cluster under chroot %s (no brokers/ids or cluster/id znode): check the chroot in the connect string", kc.Chroot)
	}
	if b, ok, err := getData(ctx, conn, znode(chroot, "cluster/id")); err != nil {
		return nil, err
	} else if ok {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", znode(chroot, "cluster/id"), err)
		}
		kc.ClusterID = v.ID
	}
	ids, _, err := children(ctx, conn, znode(chroot, "brokers/ids"))
	if err != nil {
		return nil, err
	}
	for _, s := range ids {
		id, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: broker id %q is not a number", znode(chroot, "brokers/ids"), s)
		}
		kc.Brokers = append(kc.Brokers, int32(id))
	}
	sort.Slice(kc.Brokers, func(i, j int) bool { return kc.Brokers[i] < kc.Brokers[j] })
	if b, ok, err := getData(ctx, conn, znode(chroot, "controller")); err != nil {
		return nil, err
	} else if ok {
		var v struct {
			BrokerID int32 `json:"brokerid"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", znode(chroot, "controller"), err)
		}
		kc.Controller = v.BrokerID
	}
	if kc.Reassignment, err = ReadLegacyReassignment(ctx, conn, chroot); err != nil {
		return nil, err
	}
	return kc, nil
}

// ReadLegacyReassignment returns the partitions of a reassignment started
// through /admin/reassign_partitions (kafka-reassign-partitions --zookeeper,
// or any tool before KIP-455) that is still in flight, or nil.
func ReadLegacyReassignment(ctx context.Context, conn ZKConn, chroot string) ([]LegacyReassignment, error) {
	p := znode(chroot, "admin/reassign_partitions")
	b, ok, err := getData(ctx, conn, p)
	if err != nil || !ok {
		return nil, err
	}
	var v struct {
		Partitions []LegacyReassignment `json:"partitions"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return v.Partitions, nil
}

// BrokerConfigs returns broker id's dynamic configs as Kafka stores them in
// /config/brokers/ID ({"version":1,"config":{...}}), nil when there are none.
// Kafka 2.4 hides throttle rates from DescribeConfigs; this is where to read them.
func BrokerConfigs(ctx context.Context, conn ZKConn, chroot string, id int32) (map[string]string, error) {
	p := znode(chroot, fmt.Sprintf("config/brokers/%d", id))
	b, ok, err := getData(ctx, conn, p)
	if err != nil || !ok {
		return nil, err
	}
	var v struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return v.Config, nil
}

// Layout is what an ensemble holds: Kafka clusters under chroots and other data.
type Layout struct {
	Clusters []KafkaCluster `json:"kafka_clusters" yaml:"kafka_clusters"`
	// Other are the top-most znodes that belong to no Kafka cluster
	// (other applications' data), with their znode counts.
	Other []Subtree `json:"other" yaml:"other"`
}

// Subtree is a znode and how many znodes it holds, itself included (-1
// when the ACLs keep this session from counting them).
type Subtree struct {
	Path   string `json:"path" yaml:"path"`
	ZNodes int    `json:"znodes" yaml:"znodes"`
}

// maxChrootDepth bounds the search for chroots ("/a/b/c" is depth 3).
const maxChrootDepth = 3

// ReadLayout finds the Kafka clusters on the ensemble (chroots up to three
// levels deep, or the root itself) and the top-most subtrees that hold no
// Kafka cluster.
func ReadLayout(ctx context.Context, conn ZKConn) (*Layout, error) {
	l := &Layout{Clusters: []KafkaCluster{}, Other: []Subtree{}}
	if _, err := l.walk(ctx, conn, "/", 0); err != nil {
		return nil, err
	}
	return l, nil
}

// walk records the Kafka clusters under p and reports whether it found any;
// subtrees without one are recorded whole, at the highest level possible.
func (l *Layout) walk(ctx context.Context, conn ZKConn, p string, depth int) (bool, error) {
	if ok, err := IsKafkaChroot(ctx, conn, p); err != nil {
		return false, err
	} else if ok {
		kc, err := ReadKafkaCluster(ctx, conn, p)
		if err != nil {
			return false, err
		}
		l.Clusters = append(l.Clusters, *kc)
		return true, nil
	}
	if depth == maxChrootDepth {
		return false, nil
	}
	kids, _, err := children(ctx, conn, p)
	if err != nil {
		return false, err
	}
	found := false
	var plain []string
	for _, k := range kids {
		if p == "/" && k == "zookeeper" {
			continue
		}
		kp := path.Join(p, k)
		ok, err := l.walk(ctx, conn, kp, depth+1)
		if errors.Is(err, zk.ErrNoAuth) {
			// Another application's data this session may not read.
			l.Other = append(l.Other, Subtree{Path: kp, ZNodes: -1})
			continue
		}
		if err != nil {
			return false, err
		}
		if ok {
			found = true
		} else {
			plain = append(plain, kp)
		}
	}
	if !found && p != "/" {
		return false, nil
	}
	for _, kp := range plain {
		n, err := CountZNodes(ctx, conn, kp)
		if errors.Is(err, zk.ErrNoAuth) {
			n = -1
		} else if err != nil {
			return false, err
		}
		l.Other = append(l.Other, Subtree{Path: kp, ZNodes: n})
	}
	return found, nil
}

// CountZNodes counts the znodes of the subtree at p, p included.
func CountZNodes(ctx context.Context, conn ZKConn, p string) (int, error) {
	n := 0
	err := walkTree(ctx, conn, p, func(string) error { n++; return nil })
	return n, err
}

// walkTree calls fn for every znode under p, children before their parent
// (the order a recursive delete needs).
func walkTree(ctx context.Context, conn ZKConn, p string, fn func(string) error) error {
	kids, ok, err := children(ctx, conn, p)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	for _, k := range kids {
		if err := walkTree(ctx, conn, path.Join(p, k), fn); err != nil {
			return err
		}
	}
	return fn(p)
}
