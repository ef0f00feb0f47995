package plans

import (
	"fmt"
	"regexp"
	"slices"
)

// Listeners is the listener/port map of the target brokers in a mapping:
// `kshift join config` turns it into each target broker's listeners and
// advertised.listeners. The listener names must be the source brokers' (one
// cluster shares one set of names); the ports and hosts are the targets' own.
type Listeners struct {
	// Ports maps each listener name to the port every target broker uses
	// for it, e.g. {PLAINTEXT: 9092, SSL: 9093}.
	Ports map[string]int `yaml:"ports"`
	// BrokerPorts gives a target broker its own port for some listeners,
	// over Ports: targets that share a host need one each, e.g.
	// {1002: {PLAINTEXT: 9093}} with 1001 and 1002 on one machine.
	BrokerPorts map[int32]map[string]int `yaml:"broker_ports,omitempty"`
	// BindHost is the address target brokers listen on; empty means every
	// interface.
	BindHost string `yaml:"bind_host,omitempty"`
	// AdvertisedHosts maps each target broker id to the host name clients
	// and other brokers reach it at.
	AdvertisedHosts map[int32]string `yaml:"advertised_hosts"`
	// Racks maps target broker ids to their broker.rack, for targets the
	// snapshot does not list yet (not started when it was taken).
	Racks map[int32]string `yaml:"racks,omitempty"`
}

// listenerName is what Kafka accepts as a listener name.
var listenerName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (l *Listeners) validate(p *problems, targets []int32) {
	if len(l.Ports) == 0 {
		p.add("listeners.ports", "empty: map each listener name to a port, e.g. PLAINTEXT: 9092")
	}
	seen := map[int]string{}
	for _, name := range sortedKeys(l.Ports) {
		port := l.Ports[name]
		loc := "listeners.ports." + name
		if !listenerName.MatchString(name) {
			p.add(loc, "%q is not a listener name (letters, digits, _ and -)", name)
		}
		if port < 1 || port > 65535 {
			p.add(loc, "port %d is not between 1 and 65535", port)
		}
		if other, ok := seen[port]; ok {
			p.add(loc, "port %d is also used by listener %s", port, other)
		}
		seen[port] = name
	}
	for _, id := range targets {
		if l.AdvertisedHosts[id] == "" {
			p.add("listeners.advertised_hosts", "target broker %d has no host", id)
		}
	}
	for _, id := range sortedKeys(l.Racks) {
		if !slices.Contains(targets, id) {
			p.add(fmt.Sprintf("listeners.racks[%d]", id), "broker %d is not in target_brokers", id)
		}
	}
	for _, id := range sortedKeys(l.AdvertisedHosts) {
		if !slices.Contains(targets, id) {
			p.add(fmt.Sprintf("listeners.advertised_hosts[%d]", id), "broker %d is not in target_brokers", id)
		}
	}
	for _, id := range sortedKeys(l.BrokerPorts) {
		loc := fmt.Sprintf("listeners.broker_ports[%d]", id)
		if !slices.Contains(targets, id) {
			p.add(loc, "broker %d is not in target_brokers", id)
		}
		for _, name := range sortedKeys(l.BrokerPorts[id]) {
			if port := l.BrokerPorts[id][name]; port < 1 || port > 65535 {
				p.add(loc+"."+name, "port %d is not between 1 and 65535", port)
			}
			if _, ok := l.Ports[name]; !ok {
				p.add(loc+"."+name, "%s is not a listener of listeners.ports", name)
			}
		}
		seen := map[int]string{}
		for _, name := range sortedKeys(l.Ports) {
			port := l.Port(id, name)
			if other, ok := seen[port]; ok {
				p.add(loc, "listeners %s and %s both use port %d", other, name, port)
			}
			seen[port] = name
		}
	}
	// Two targets on one host cannot listen on one port.
	type endpoint struct {
		host string
		port int
	}
	used := map[endpoint]int32{}
	for _, id := range targets {
		host := l.AdvertisedHosts[id]
		if host == "" {
			continue
		}
		for _, name := range sortedKeys(l.Ports) {
			e := endpoint{host, l.Port(id, name)}
			if other, ok := used[e]; ok && other != id {
				p.add("listeners", "target brokers %d and %d both listen on %s port %d (%s): give one its own ports in listeners.broker_ports", other, id, host, e.port, name)
				continue
			}
			used[e] = id
		}
	}
}

// Port is the port target broker id listens on for listener name: its own
// (BrokerPorts) or every target's (Ports).
func (l *Listeners) Port(id int32, name string) int {
	if port, ok := l.BrokerPorts[id][name]; ok {
		return port
	}
	return l.Ports[name]
}
