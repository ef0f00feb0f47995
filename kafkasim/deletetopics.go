package kafkasim

import "github.com/twmb/franz-go/pkg/kmsg"

// DeleteTopics (key 20), added for the executor's operator lock, which is a
// topic created and deleted by kshift. Kafka 2.4 answers up to v4, 3.6 up to
// v6. Deletion is immediate here (Kafka deletes asynchronously; a client that
// recreates the topic at once may see TOPIC_ALREADY_EXISTS there and retries).
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
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
