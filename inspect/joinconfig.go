package inspect

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/kshift/kshift/internal/zkdial"
	"github.com/kshift/kshift/plans"
)

// JoinConfig is the server.properties fragment that joins one target broker
// to the cluster.
type JoinConfig struct {
	BrokerID int32
	// Properties in the order they are written.
	Properties []Property
}

// Property is one key=value line.
type Property struct{ Key, Value string }

// Text renders the fragment as server.properties lines with a header.
func (j JoinConfig) Text(clusterID string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kshift join config: target broker %d of cluster %s\n", j.BrokerID, clusterID)
	b.WriteString("# Merge into the broker's server.properties (log.dirs, security settings\n# and JVM options are yours to set).\n")
	for _, p := range j.Properties {
		fmt.Fprintf(&b, "%s=%s\n", p.Key, p.Value)
	}
	return b.String()
}

// JoinOptions fill what neither the snapshot nor the mapping says.
type JoinOptions struct {
	// ZooKeeperHosts are host:port of the ZooKeeper nodes the targets
	// connect to, when the mapping has no zookeeper section.
	ZooKeeperHosts []string
	// Chroot overrides the chroot found in the snapshot.
	Chroot string
}

// BuildJoinConfigs derives each target broker's join fragment: broker.id,
// broker.rack, zookeeper.connect (the target ZooKeeper nodes with the
// cluster's chroot), listeners and advertised.listeners from the mapping's
// listener map, and the settings that must equal the source brokers'
// (inter.broker.protocol.version, log.message.format.version, the listener
// security map and inter-broker listener).
func BuildJoinConfigs(s *plans.Snapshot, m *plans.Mapping, o JoinOptions) ([]JoinConfig, error) {
	var errs []error
	if m.Listeners == nil {
		return nil, errors.New("the mapping has no listeners section: add listeners.ports and listeners.advertised_hosts")
	}
	zkConnect, err := joinZooKeeperConnect(s, m, o)
	if err != nil {
		errs = append(errs, err)
	}
	sources := sourceBrokers(s, m)
	if len(sources) == 0 {
		errs = append(errs, errors.New("the snapshot lists none of the mapping's source brokers: is it this cluster's?"))
	}
	copied := []Property{}
	for _, k := range []string{KeyIBP, KeyLogMessageFormat, KeyListenerProtocolMap, KeyInterBrokerListener} {
		v, err := agreedValue(sources, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v == "" {
			if k == KeyIBP || k == KeyLogMessageFormat {
				errs = append(errs, fmt.Errorf("the snapshot has no %s for the source brokers: take it with kshift snapshot from a live cluster", k))
			}
			continue
		}
		copied = append(copied, Property{k, v})
	}
	names := make([]string, 0, len(m.Listeners.Ports))
	for n := range m.Listeners.Ports {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(sources) > 0 {
		if want := listenerNames(sources[0].Configs[KeyListeners]); len(want) > 0 && strings.Join(want, ",") != strings.Join(names, ",") {
			errs = append(errs, fmt.Errorf("the mapping's listeners %v are not the source brokers' %v: one cluster shares one set of listener names", names, want))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []JoinConfig
	for _, id := range m.TargetBrokers {
		rack := m.Listeners.Racks[id]
		if b := s.Broker(id); rack == "" && b != nil {
			rack = b.Rack
		}
		if rack == "" && sources[0].Rack != "" {
			errs = append(errs, fmt.Errorf("target broker %d has no rack but the source brokers have racks: set listeners.racks[%d] in the mapping", id, id))
			continue
		}
		var listeners, advertised []string
		for _, n := range names {
			port := strconv.Itoa(m.Listeners.Port(id, n))
			listeners = append(listeners, n+"://"+net.JoinHostPort(m.Listeners.BindHost, port))
			advertised = append(advertised, n+"://"+net.JoinHostPort(m.Listeners.AdvertisedHosts[id], port))
		}
		j := JoinConfig{BrokerID: id, Properties: []Property{{"broker.id", strconv.Itoa(int(id))}}}
		if rack != "" {
			j.Properties = append(j.Properties, Property{KeyBrokerRack, rack})
		}
		j.Properties = append(j.Properties,
			Property{KeyZooKeeperConnect, zkConnect},
			Property{KeyListeners, strings.Join(listeners, ",")},
			Property{KeyAdvertisedListeners, strings.Join(advertised, ",")})
		j.Properties = append(j.Properties, copied...)
		out = append(out, j)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func sourceBrokers(s *plans.Snapshot, m *plans.Mapping) []*plans.Broker {
	var out []*plans.Broker
	for _, id := range m.SourceBrokers {
		if b := s.Broker(id); b != nil && b.Configs != nil {
			out = append(out, b)
		}
	}
	return out
}

// agreedValue is the value every source broker has for key, "" when none
// records it; an error when they differ (a cluster mid-upgrade: finish it).
func agreedValue(sources []*plans.Broker, key string) (string, error) {
	if d := disagreement(sources, func(b *plans.Broker) string { return b.Configs[key] }); d != "" {
		return "", fmt.Errorf("the source brokers disagree on %s (%s): finish the rolling change before adding brokers", key, d)
	}
	if len(sources) == 0 {
		return "", nil
	}
	return sources[0].Configs[key], nil
}

// joinZooKeeperConnect is the given hosts, else the target nodes (mapping),
// else the cluster's own ensemble (snapshot, or the sources'
// zookeeper.connect: without a ZooKeeper migration the targets join the
// ensemble the sources use), with the cluster's chroot (flag, snapshot's
// ensemble, or the sources' zookeeper.connect).
func joinZooKeeperConnect(s *plans.Snapshot, m *plans.Mapping, o JoinOptions) (string, error) {
	hosts := o.ZooKeeperHosts
	if len(hosts) == 0 && m.ZooKeeper != nil {
		for _, n := range m.ZooKeeper.Targets {
			srv := n.Server("observer")
			hosts = append(hosts, net.JoinHostPort(srv.Host, strconv.Itoa(srv.ClientPort)))
		}
	}
	if len(hosts) == 0 {
		var err error
		if hosts, err = clusterZooKeeperHosts(s, m); err != nil {
			return "", err
		}
	}
	if len(hosts) == 0 {
		return "", errors.New("no ZooKeeper nodes for the targets: the snapshot does not record the cluster's ZooKeeper (take it with --zookeeper) and the mapping has no zookeeper section: give --zookeeper-hosts")
	}
	chroot := o.Chroot
	if chroot == "" && s.ZooKeeper != nil {
		chroot = s.ZooKeeper.Chroot
	}
	if chroot == "" {
		for _, b := range sourceBrokers(s, m) {
			if c := b.Configs[KeyZooKeeperConnect]; c != "" {
				parsed, _ := zkdial.Parse(c)
				chroot = parsed.Chroot
				break
			}
		}
	}
	if chroot == "" {
		return "", errors.New("the cluster's ZooKeeper chroot is unknown: take the snapshot with --zookeeper, or give --chroot (/ for none)")
	}
	if chroot == "/" {
		chroot = ""
	}
	return strings.Join(hosts, ",") + chroot, nil
}

// clusterZooKeeperHosts is the host:port list of the ensemble the cluster
// uses: the snapshot's, else the sources' zookeeper.connect (an error when
// they disagree), else none.
func clusterZooKeeperHosts(s *plans.Snapshot, m *plans.Mapping) ([]string, error) {
	connect := ""
	if s.ZooKeeper != nil {
		connect = s.ZooKeeper.Connect
	}
	if connect == "" {
		v, err := agreedValue(sourceBrokers(s, m), KeyZooKeeperConnect)
		if err != nil {
			return nil, err
		}
		connect = v
	}
	parsed, _ := zkdial.Parse(connect)
	return parsed.Servers, nil
}
