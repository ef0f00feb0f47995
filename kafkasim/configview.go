package kafkasim

import (
	"maps"
	"time"
)

// configView is what one broker's DescribeConfigs answers from: the
// dynamic configs as the broker last processed them, and the config it
// built from them. A real broker learns a change of its dynamic configs
// (its own resource or the cluster default) from ZooKeeper a moment after
// the AlterConfigs call returns (Config.ConfigChangeLag, item 26).
//
// Kafka 2.4 rebuilds a broker's config only when a processed change adds a
// key or changes a value, never when it only deletes one. DescribeConfigs
// lists the keys its config definitions do not know (the throttle rates,
// unknown keys: item 33) from the config as last built, so a deleted rate
// stays listed, with source DEFAULT_CONFIG, until the next change that adds
// or changes something; and a key set only before that change is no longer
// listed.
type configView struct {
	dynamic, defaults map[string]string
	// built are the configs the broker's config was last built from:
	// static, then cluster defaults, then its own dynamic configs.
	built map[string]string
	// pending are the changes the broker has not processed yet, in the
	// order they were made.
	pending []configChange
}

// configChange is a change of a broker's dynamic configs (own nil: of the
// cluster default), with the configs after it, processed at at.
type configChange struct {
	at            time.Time
	own, defaults map[string]string
}

// newConfigView is the view of a broker that starts now: it reads every
// dynamic config from ZooKeeper and builds its config from them.
func (c *Cluster) newConfigView(b *broker) configView {
	v := configView{dynamic: maps.Clone(b.dynamic), defaults: maps.Clone(c.defaults)}
	v.built = v.props(b)
	return v
}

// props are the configs a broker builds its config from.
func (v *configView) props(b *broker) map[string]string {
	m := maps.Clone(b.static)
	maps.Copy(m, v.defaults)
	maps.Copy(m, v.dynamic)
	return m
}

// process applies a processed change and rebuilds the config when the
// change added a key or changed a value.
func (v *configView) process(b *broker, ch configChange) {
	if ch.own != nil {
		v.dynamic = ch.own
	} else {
		v.defaults = ch.defaults
	}
	next := v.props(b)
	for k, val := range next {
		if old, ok := v.built[k]; !ok || old != val {
			v.built = next
			return
		}
	}
}

// configChangedLocked queues a change of broker b's dynamic configs (b
// nil: of the cluster default, which every broker processes).
func (c *Cluster) configChangedLocked(b *broker) {
	at := c.now.Add(max(c.cfg.ConfigChangeLag, 0))
	if b != nil {
		b.view.pending = append(b.view.pending, configChange{at: at, own: maps.Clone(b.dynamic)})
		return
	}
	for _, ob := range c.brokers {
		ob.view.pending = append(ob.view.pending, configChange{at: at, defaults: maps.Clone(c.defaults)})
	}
}

// processedLocked is broker b's view with every change due by now processed.
func (c *Cluster) processedLocked(b *broker) *configView {
	v := &b.view
	n := 0
	for _, ch := range v.pending {
		if ch.at.After(c.now) {
			break
		}
		v.process(b, ch)
		n++
	}
	v.pending = v.pending[n:]
	return v
}
