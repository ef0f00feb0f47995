package inspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
)

// ZooKeeperSource is the cluster's ZooKeeper, read for what the brokers do not
// reveal. Conn paths are absolute; Chroot is prefixed here.
type ZooKeeperSource struct {
	Conn zkops.ZKConn
	// Connect is the connect string as given, recorded in the snapshot.
	Connect string
	// Chroot is the cluster's chroot, "/" when none.
	Chroot string
}

// ErrNoKafkaInChroot means the ZooKeeper chroot holds no Kafka cluster.
var ErrNoKafkaInChroot = errors.New("no Kafka cluster in this ZooKeeper chroot")

// ErrOtherClusterInChroot means the ZooKeeper chroot holds another cluster.
var ErrOtherClusterInChroot = errors.New("this is another cluster's chroot")

func (z *ZooKeeperSource) path(p string) string {
	if z.Chroot == "" || z.Chroot == "/" {
		return p
	}
	return z.Chroot + p
}

// brokerConfigZNode is Kafka's /config/brokers/N (and /config/brokers/<default>).
type brokerConfigZNode struct {
	Config map[string]string `json:"config"`
}

// readZooKeeper confirms the chroot holds this very cluster, reads the
// throttle rates Kafka 2.4 hides from DescribeConfigs (item 13) and the
// ensemble's members.
func readZooKeeper(ctx context.Context, z *ZooKeeperSource, st *State) error {
	s := st.Snapshot
	if err := checkChroot(z, s.ClusterID, s.Brokers); err != nil {
		return err
	}
	readRates := func(node string, configs map[string]string) (map[string]string, error) {
		data, _, err := z.Conn.Get(z.path("/config/brokers/" + node))
		if errors.Is(err, zk.ErrNoNode) {
			data = nil
		} else if err != nil {
			return configs, fmt.Errorf("read %s: %w", z.path("/config/brokers/"+node), err)
		}
		var n brokerConfigZNode
		if len(data) > 0 {
			if err := json.Unmarshal(data, &n); err != nil {
				return configs, fmt.Errorf("%s is not Kafka's config JSON: %w", z.path("/config/brokers/"+node), err)
			}
		}
		for _, k := range rateKeys {
			v, ok := n.Config[k]
			switch {
			case ok:
				if configs == nil {
					configs = map[string]string{}
				}
				configs[k] = v
			case configs[k] == UnknownValue:
				// ZooKeeper is where rates are stored: not there, not set.
				delete(configs, k)
			}
		}
		return configs, nil
	}
	for i := range s.Brokers {
		b := &s.Brokers[i]
		var err error
		if b.Configs, err = readRates(strconv.Itoa(int(b.ID)), b.Configs); err != nil {
			return err
		}
	}
	var err error
	if s.ClusterConfigs, err = readRates("<default>", s.ClusterConfigs); err != nil {
		return err
	}
	s.ZooKeeper = &plans.Ensemble{Connect: z.Connect, Chroot: z.Chroot}
	// Other Kafka clusters on the same ensemble make the planner fork it
	// rather than hand it over.
	if l, err := zkops.ReadLayout(ctx, z.Conn); err == nil {
		for _, kc := range l.Clusters {
			if path.Clean(kc.Chroot) != path.Clean(z.Chroot) {
				s.ZooKeeper.OtherChroots = append(s.ZooKeeper.OtherChroots, kc.Chroot)
			}
		}
		sort.Strings(s.ZooKeeper.OtherChroots)
	} else {
		st.Notes = append(st.Notes, fmt.Sprintf("other Kafka chroots on the ensemble not recorded: %v", err))
	}
	if cfg, err := zkops.ReadConfig(ctx, z.Conn); err == nil {
		s.ZooKeeper.Members = cfg.Members
		s.ZooKeeper.ConfigVersion = strconv.FormatInt(cfg.Version, 16)
	} else {
		st.Notes = append(st.Notes, fmt.Sprintf("zookeeper members not recorded: %v", err))
	}
	return nil
}

// checkChroot fails unless the chroot holds a Kafka cluster (/brokers/ids)
// whose /cluster/id is clusterID.
func checkChroot(z *ZooKeeperSource, clusterID string, brokers []plans.Broker) error {
	ok, _, err := z.Conn.Exists(z.path("/brokers/ids"))
	if err != nil {
		return fmt.Errorf("zookeeper %s: read %s: %w", z.Connect, z.path("/brokers/ids"), err)
	}
	if !ok {
		hint := ""
		for _, b := range brokers {
			if c := b.Configs[KeyZooKeeperConnect]; c != "" && c != UnknownValue {
				hint = fmt.Sprintf(" (broker %d uses zookeeper.connect=%s)", b.ID, c)
				break
			}
		}
		return fmt.Errorf("zookeeper %s: chroot %q holds no Kafka cluster (%s does not exist): %w; give the chroot the brokers use at the end of --zookeeper%s",
			z.Connect, z.Chroot, z.path("/brokers/ids"), ErrNoKafkaInChroot, hint)
	}
	data, _, err := z.Conn.Get(z.path("/cluster/id"))
	if err != nil {
		return fmt.Errorf("zookeeper %s: read %s: %w", z.Connect, z.path("/cluster/id"), err)
	}
	var id struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &id); err != nil {
		return fmt.Errorf("zookeeper %s: %s is not Kafka's cluster id JSON: %w", z.Connect, z.path("/cluster/id"), err)
	}
	if id.ID != clusterID {
		return fmt.Errorf("zookeeper %s: chroot %q holds Kafka cluster %q, but the brokers belong to cluster %q: %w",
			z.Connect, z.Chroot, id.ID, clusterID, ErrOtherClusterInChroot)
	}
	return nil
}
