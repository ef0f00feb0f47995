package kafkasim

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// completesInsideCall reports whether an AlterPartitionReassignments request
// holds a move that completes inside the call (a reorder, an RF decrease, a
// no-op, a cancel: item 2), which makes the call take Config.NoCopyCallTime
// (item 32).
func (c *Cluster) completesInsideCall(id int32, r *kmsg.AlterPartitionAssignmentsRequest) bool {
	if id != c.controller {
		return false
	}
	for _, t := range r.Topics {
		for _, rp := range t.Partitions {
			p, err := c.partitionLocked(t.Topic, rp.Partition)
			if err != nil {
				continue
			}
			if rp.Replicas == nil {
				if p.moving() {
					return true
				}
				continue
			}
			if c.validReplicaList(rp.Replicas) == nil && subset(rp.Replicas, p.isr) {
				return true
			}
		}
	}
	return false
}

// spendLocked lets d of simulated time pass inside a call (item 32), with
// the cluster unlocked meanwhile so that other requests and the model go on.
// On a running clock it waits the real time d takes at the clock's speed; on
// a manual or stopped clock, which moves by Advance alone, it returns at
// once. It reports false when the cluster closed meanwhile.
func (c *Cluster) spendLocked(d time.Duration) bool {
	f := c.clock.Factor()
	if d <= 0 || f <= 0 {
		return true
	}
	c.mu.Unlock()
	time.Sleep(time.Duration(float64(d) / f))
	c.mu.Lock()
	if c.closed {
		return false
	}
	c.advanceLocked()
	return true
}
