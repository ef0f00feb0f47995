package kafkasim

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteTopics (key 20), added for the executor's operator lock, which is a
// topic created and deleted by kshift. Kafka 2.4 answers up to v4, 3.6 up to
// v6. The topic is gone at once for every request but CreateTopics: Kafka
// deletes asynchronously, and its name stays taken for a while
// (Config.TopicDeletionTime, item 25).
func (c *Cluster) deleteTopics(id int32, r *kmsg.DeleteTopicsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	names := r.TopicNames
	if r.Version >= 6 {
		names = nil
		for _, t := range r.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			} else {
				names = append(names, c.topicByID(t.TopicID))
			}
		}
	}
	for _, name := range names {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic = kmsg.StringPtr(name)
		switch _, ok := c.topics[name]; {
		case id != c.controller:
			rt.ErrorCode = errNotController
		case !ok:
			rt.ErrorCode = errUnknownTopicOrPartition
		default:
			c.topics[name].deleted = true
			delete(c.topics, name)
			c.topicNames, c.onBroker = nil, nil
			if d := c.deletionTimeLocked(name); d > 0 {
				c.deletedNames[name] = c.now.Add(d)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// deletionTimeLocked draws how long topic name's deletion takes: between a
// tenth of Config.TopicDeletionTime and all of it (item 25 saw 48-518 ms),
// from the seed, the name and the time.
func (c *Cluster) deletionTimeLocked(name string) time.Duration {
	most := c.cfg.TopicDeletionTime
	if most <= 0 {
		return 0
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "delete/%d/%s/%d", c.cfg.Seed, name, c.now.UnixNano())
	return most/10 + time.Duration(h.Sum64()%uint64(most-most/10+1))
}

// beingDeletedLocked reports whether a deleted topic's name is still taken.
func (c *Cluster) beingDeletedLocked(name string) bool {
	until, ok := c.deletedNames[name]
	if ok && !until.After(c.now) {
		delete(c.deletedNames, name)
		return false
	}
	return ok
}
