package kafkasim

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"
)

// metaView is what a broker's Metadata shows of one partition: the state the
// controller sent it last (item 24).
type metaView struct {
	replicas      []int32
	leader, epoch int32
	isr           []int32
}

// metaVersion is one controller change of a partition on its way to the
// brokers: each broker shows it from its learn time on; a broker missing
// from learns (one added since) learnt it at once.
type metaVersion struct {
	view   metaView
	learns *learnTimes
}

// learnTimes are the times each broker learns the changes the controller
// sent at one instant (one UpdateMetadata request per broker), and the
// latest of them.
type learnTimes struct {
	at   map[int32]time.Time
	last time.Time
}

// controllerView is the partition's state as the controller sees it now.
func (p *partition) controllerView() metaView {
	return metaView{replicas: clone(p.replicas), leader: p.leader, epoch: p.epoch, isr: clone(p.shownISR)}
}

func (v metaView) equal(o metaView) bool {
	return v.leader == o.leader && v.epoch == o.epoch && slices.Equal(v.replicas, o.replicas) && slices.Equal(v.isr, o.isr)
}

// touch records that the controller changed p; the change reaches the
// brokers' Metadata with Config.MetadataLag when the model next publishes.
func (c *Cluster) touch(p *partition) {
	if c.cfg.MetadataLag > 0 {
		c.dirty[p] = struct{}{}
	}
}

// resetView makes a partition's current state known to every broker at once
// (a topic created or loaded: no lag is modelled for creation).
func (c *Cluster) resetView(p *partition) {
	p.view, p.versions = p.controllerView(), nil
	delete(c.dirty, p)
}

// sendMetadataLocked sends the changes touched since the last call to the
// brokers as of c.now, as one UpdateMetadata request per broker: each
// registered broker learns them all after one delay of its own, in the later
// half of MetadataLag when it holds one of the changed partitions (item 24:
// the targets learnt last) and in the earlier half otherwise, and never
// before what was sent to it earlier.
func (c *Cluster) sendMetadataLocked() {
	if len(c.dirty) == 0 {
		return
	}
	var changed []*partition
	holding := make(map[int32]bool)
	for p := range c.dirty {
		delete(c.dirty, p)
		if p.topic.deleted {
			continue
		}
		c.learntLocked(p)
		v := p.controllerView()
		latest := p.view
		if n := len(p.versions); n > 0 {
			latest = p.versions[n-1].view
		}
		if v.equal(latest) {
			continue
		}
		p.versions = append(p.versions, metaVersion{view: v})
		changed = append(changed, p)
		for _, r := range v.replicas {
			holding[r] = true
		}
	}
	if len(changed) == 0 {
		return
	}
	lag := c.cfg.MetadataLag
	half := lag / 2
	lt := &learnTimes{at: make(map[int32]time.Time, len(c.brokers))}
	for id, b := range c.brokers {
		if !b.registered() {
			continue
		}
		// The draw depends on the seed, the broker and the time only, not
		// on the order partitions or brokers are visited in.
		d := time.Duration(c.lagDraw(id) % uint64(half+1))
		if holding[id] {
			d = half + time.Duration(c.lagDraw(id)%uint64(lag-half+1))
		}
		t := later(c.now.Add(d), c.learnt[id])
		lt.at[id], c.learnt[id] = t, t
		lt.last = later(lt.last, t)
	}
	for _, p := range changed {
		p.versions[len(p.versions)-1].learns = lt
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (c *Cluster) lagDraw(broker int32) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "metadata/%d/%d/%d", c.cfg.Seed, broker, c.now.UnixNano())
	return h.Sum64()
}

// viewOf returns what broker shows of p in Metadata now, dropping the
// versions every broker has learnt.
func (c *Cluster) viewOf(p *partition, broker int32) metaView {
	if c.cfg.MetadataLag <= 0 {
		return metaView{replicas: p.replicas, leader: p.leader, epoch: p.epoch, isr: p.shownISR}
	}
	c.learntLocked(p)
	for i := len(p.versions) - 1; i >= 0; i-- {
		t, ok := p.versions[i].learns.at[broker]
		if !ok || !t.After(c.now) {
			return p.versions[i].view
		}
	}
	return p.view
}

// learntLocked drops p's versions every broker has learnt by now.
func (c *Cluster) learntLocked(p *partition) {
	for len(p.versions) > 0 && !p.versions[0].learns.last.After(c.now) {
		p.view, p.versions = p.versions[0].view, p.versions[1:]
	}
}
