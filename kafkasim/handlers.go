package kafkasim

import (
	"encoding/binary"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka error codes the double returns.
const (
	errUnknownServer           int16 = -1
	errUnknownTopicOrPartition int16 = 3
	errLeaderNotAvailable      int16 = 5
	errNotLeader               int16 = 6
	errNotEnoughReplicas       int16 = 19
	errTopicExists             int16 = 36
	errInvalidPartitions       int16 = 37
	errInvalidReplicationFac   int16 = 38
	errInvalidReplicaAssign    int16 = 39
	errInvalidConfig           int16 = 40
	errNotController           int16 = 41
	errInvalidRequest          int16 = 42
	errSASLAuthFailed          int16 = 58
	errPreferredNotAvailable   int16 = 80
	errElectionNotNeeded       int16 = 84
	errNoReassignment          int16 = 85
	errUnknownTopicID          int16 = 100
	errUnsupportedSASL         int16 = 33
	errIllegalSASLState        int16 = 34
)

func strp(s string) *string { return &s }

// handle runs one request against the model, under the cluster lock.
func (c *Cluster) handle(s *session, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest:
		return c.apiVersionsResponse(r.Version), nil
	case *kmsg.SASLHandshakeRequest:
		return c.saslHandshake(s, r), nil
	case *kmsg.SASLAuthenticateRequest:
		return c.saslAuthenticate(s, r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.broker.alive {
		return nil, errClose
	}
	c.advanceLocked()
	id := s.broker.cfg.ID
	switch r := req.(type) {
	case *kmsg.MetadataRequest:
		return c.metadata(id, r), nil
	case *kmsg.DescribeClusterRequest:
		return c.describeCluster(r), nil
	case *kmsg.AlterPartitionAssignmentsRequest:
		if c.completesInsideCall(id, r) {
			// Item 32: the controller's work takes time; the moves are
			// applied at its end (ListPartitionReassignments is empty
			// right after the call, item 2).
			if !c.spendLocked(c.cfg.NoCopyCallTime) || !s.broker.alive {
				return nil, errClose
			}
		}
		return c.alterReassignments(id, r), nil
	case *kmsg.ListPartitionReassignmentsRequest:
		return c.listReassignments(id, r), nil
	case *kmsg.ElectLeadersRequest:
		resp, elected := c.electLeaders(id, r)
		// Item 32: the call returns once the new leaders are known, ~0.5 s
		// after the election.
		if elected && (!c.spendLocked(c.cfg.ElectionCallTime) || !s.broker.alive) {
			return nil, errClose
		}
		return resp, nil
	case *kmsg.DescribeConfigsRequest:
		return c.describeConfigs(id, r), nil
	case *kmsg.IncrementalAlterConfigsRequest:
		return c.incrementalAlterConfigs(id, r), nil
	case *kmsg.DescribeLogDirsRequest:
		return c.describeLogDirs(id, r), nil
	case *kmsg.ProduceRequest:
		return c.produce(id, r), nil
	case *kmsg.ListOffsetsRequest:
		return c.listOffsets(id, r), nil
	case *kmsg.InitProducerIDRequest:
		c.producerID++
		resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID = c.producerID
		return resp, nil
	case *kmsg.CreateTopicsRequest:
		return c.createTopics(id, r), nil
	case *kmsg.DeleteTopicsRequest:
		return c.deleteTopics(id, r), nil
	}
	return nil, errClose
}

// metadata answers Metadata with what broker id has learnt of each
// partition (item 24: it may lag the controller, Config.MetadataLag).
func (c *Cluster) metadata(id int32, r *kmsg.MetadataRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	for _, bid := range c.brokerIDsLocked() {
		b := c.brokers[bid]
		if !b.registered() {
			continue
		}
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port = bid, "127.0.0.1", int32(b.port)
		if b.cfg.Rack != "" {
			mb.Rack = strp(b.cfg.Rack)
		}
		resp.Brokers = append(resp.Brokers, mb)
	}
	resp.ClusterID = strp(c.cfg.ClusterID)
	resp.ControllerID = c.controller
	unregistered := map[int32]bool{}
	for id, b := range c.brokers {
		if !b.registered() {
			unregistered[id] = true
		}
	}
	var names []string
	all := r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
	if all {
		names = c.sortedTopicsLocked()
	}
	for _, rt := range r.Topics {
		if rt.Topic == nil {
			if name := c.topicByID(rt.TopicID); name != "" {
				names = append(names, name)
				continue
			}
			// Asked by an id no topic has (Metadata v10+).
			mt := kmsg.NewMetadataResponseTopic()
			mt.TopicID, mt.ErrorCode = rt.TopicID, errUnknownTopicID
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		names = append(names, *rt.Topic)
	}
	resp.Topics = slices.Grow(resp.Topics, len(names))
	for _, name := range names {
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic = strp(name)
		t, ok := c.topics[name]
		if !ok {
			mt.ErrorCode = errUnknownTopicOrPartition
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		mt.TopicID = t.id
		mt.IsInternal = name == "__consumer_offsets" || name == "__transaction_state"
		mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, len(t.partitions))
		for _, p := range t.partitions {
			v := c.viewOf(p, id)
			mp := kmsg.NewMetadataResponseTopicPartition()
			mp.Partition, mp.Leader, mp.LeaderEpoch = p.id, v.leader, v.epoch
			// Replica lists are replaced, never changed in place: the
			// answer can share them.
			mp.Replicas = v.replicas
			mp.ISR = v.isr
			if !subset(v.isr, v.replicas) {
				mp.ISR = intersect(v.isr, v.replicas)
			}
			if mp.ISR == nil {
				mp.ISR = []int32{}
			}
			mp.OfflineReplicas = []int32{}
			for _, rep := range v.replicas {
				if unregistered[rep] {
					mp.OfflineReplicas = append(mp.OfflineReplicas, rep)
				}
			}
			if v.leader == -1 {
				mp.ErrorCode = errLeaderNotAvailable
			}
			mt.Partitions = append(mt.Partitions, mp)
		}
		resp.Topics = append(resp.Topics, mt)
	}
	return resp
}

func (c *Cluster) topicByID(id [16]byte) string {
	for name, t := range c.topics {
		if t.id == id {
			return name
		}
	}
	return ""
}

// describeCluster exists on V3_x only (added in Kafka 2.8).
func (c *Cluster) describeCluster(r *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = c.cfg.ClusterID
	resp.ControllerID = c.controller
	for _, id := range c.brokerIDsLocked() {
		b := c.brokers[id]
		if !b.registered() {
			continue
		}
		db := kmsg.NewDescribeClusterResponseBroker()
		db.NodeID, db.Host, db.Port = id, "127.0.0.1", int32(b.port)
		if b.cfg.Rack != "" {
			db.Rack = strp(b.cfg.Rack)
		}
		resp.Brokers = append(resp.Brokers, db)
	}
	return resp
}

// alterReassignments implements AlterPartitionReassignments (KIP-455) as
// items 1-8 observed.
func (c *Cluster) alterReassignments(id int32, r *kmsg.AlterPartitionAssignmentsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	// Item 8: the top-level message is "", not null.
	resp.ErrorMessage = strp("")
	if id != c.controller {
		resp.ErrorCode = errNotController
		resp.ErrorMessage = strp("This is not the correct controller for this cluster.")
		return resp
	}
	// Item 8: the same partition twice in one request: the last wins, with
	// one result; results come grouped by topic.
	type tp struct {
		topic string
		p     int32
	}
	last := make(map[tp]*[]int32)
	var order []tp
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			k := tp{t.Topic, p.Partition}
			if _, ok := last[k]; !ok {
				order = append(order, k)
			}
			rs := p.Replicas
			last[k] = &rs
		}
	}
	byTopic := make(map[string]*kmsg.AlterPartitionAssignmentsResponseTopic)
	var topics []string
	for _, k := range order {
		code := c.reassignOne(k.topic, k.p, *last[k])
		rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
		rp.Partition, rp.ErrorCode = k.p, code
		switch code {
		case 0:
		case errUnknownTopicOrPartition:
			rp.ErrorMessage = strp(msgNoSuchPartition) // item 30
		default:
			rp.ErrorMessage = strp(errorMessage(code))
		}
		rt, ok := byTopic[k.topic]
		if !ok {
			nt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			nt.Topic = k.topic
			rt = &nt
			byTopic[k.topic] = rt
			topics = append(topics, k.topic)
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	for _, t := range topics {
		resp.Topics = append(resp.Topics, *byTopic[t])
	}
	return resp
}

// reassignOne validates and applies one partition's reassignment (replicas
// nil: cancel) and returns its error code.
func (c *Cluster) reassignOne(topic string, pid int32, replicas []int32) int16 {
	p, err := c.partitionLocked(topic, pid)
	if replicas == nil {
		// Item 7: cancel with nothing in flight, or of an unknown topic, is 85.
		if err != nil || !p.moving() {
			return errNoReassignment
		}
		c.cancelLocked(p)
		return 0
	}
	// Item 8: a bad replica list is 39, winning over an unknown partition.
	if c.validReplicaList(replicas) != nil {
		return errInvalidReplicaAssign
	}
	if err != nil {
		return errUnknownTopicOrPartition
	}
	origin := p.replicas
	if p.moving() {
		origin = p.origin
	}
	// Only the adding replicas must be alive.
	for _, a := range minus(replicas, origin) {
		if !c.alive(a) {
			return errInvalidReplicaAssign
		}
	}
	c.reassignLocked(p, replicas)
	return 0
}

// listReassignments implements ListPartitionReassignments: every partition in
// flight for null topics, and silently nothing for unknown or non-moving
// partitions (item 9).
func (c *Cluster) listReassignments(id int32, r *kmsg.ListPartitionReassignmentsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	// Item 29: the top-level message on success is "", not null, as for
	// AlterPartitionReassignments (item 8).
	resp.ErrorMessage = strp("")
	if id != c.controller {
		resp.ErrorCode = errNotController
		resp.ErrorMessage = strp("This is not the correct controller for this cluster.")
		return resp
	}
	add := func(p *partition, rt *kmsg.ListPartitionReassignmentsResponseTopic) {
		lp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
		lp.Partition = p.id
		lp.Replicas = clone(p.replicas)
		lp.AddingReplicas = nonNil(p.adding())
		lp.RemovingReplicas = nonNil(p.removing())
		rt.Partitions = append(rt.Partitions, lp)
	}
	if r.Topics == nil {
		for _, name := range c.sortedTopicsLocked() {
			rt := kmsg.NewListPartitionReassignmentsResponseTopic()
			rt.Topic = name
			for _, p := range c.topics[name].partitions {
				if p.moving() {
					add(p, &rt)
				}
			}
			if len(rt.Partitions) > 0 {
				resp.Topics = append(resp.Topics, rt)
			}
		}
		return resp
	}
	for _, t := range r.Topics {
		rt := kmsg.NewListPartitionReassignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, pid := range t.Partitions {
			if p, err := c.partitionLocked(t.Topic, pid); err == nil && p.moving() {
				add(p, &rt)
			}
		}
		if len(rt.Partitions) > 0 {
			resp.Topics = append(resp.Topics, rt)
		}
	}
	return resp
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// electLeaders implements preferred (and unclean) leader election, item 18,
// and reports whether it moved a leader.
func (c *Cluster) electLeaders(id int32, r *kmsg.ElectLeadersRequest) (kmsg.Response, bool) {
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	type result struct {
		p    int32
		code int16
	}
	results := make(map[string][]result)
	var order []string
	addResult := func(topic string, p int32, code int16) {
		if _, ok := results[topic]; !ok {
			order = append(order, topic)
		}
		results[topic] = append(results[topic], result{p, code})
	}
	if r.Topics == nil {
		// Null topics: every partition not led by its preferred replica.
		for _, name := range c.sortedTopicsLocked() {
			for _, p := range c.topics[name].partitions {
				if p.leader != p.replicas[0] {
					addResult(name, p.id, c.electOne(id, r.ElectionType, name, p.id))
				}
			}
		}
	}
	for _, t := range r.Topics {
		for _, pid := range t.Partitions {
			addResult(t.Topic, pid, c.electOne(id, r.ElectionType, t.Topic, pid))
		}
	}
	elected := false
	for _, name := range order {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = name
		for _, res := range results[name] {
			rp := kmsg.NewElectLeadersResponseTopicPartition()
			rp.Partition, rp.ErrorCode = res.p, res.code
			switch res.code {
			case 0:
				elected = true
			case errPreferredNotAvailable:
				// Item 30.
				rp.ErrorMessage = strp("Failed to elect leader for partition " + name + "-" + itoa(int64(res.p)) +
					" under strategy PreferredReplicaPartitionLeaderElectionStrategy")
			case errUnknownTopicOrPartition:
				rp.ErrorMessage = strp(msgNoSuchPartition) // item 30
			default:
				rp.ErrorMessage = strp(errorMessage(res.code))
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, elected
}

// electOne elects one partition's leader: a non-controller answers 41 per
// partition; preferred already leading is 84; preferred down or out of the
// ISR is 80 (item 18). Unclean (type 1) elects the first live replica of an
// offline partition.
func (c *Cluster) electOne(id int32, typ int8, topic string, pid int32) int16 {
	if id != c.controller {
		return errNotController
	}
	p, err := c.partitionLocked(topic, pid)
	if err != nil {
		return errUnknownTopicOrPartition
	}
	if typ == 1 {
		if p.leader != -1 {
			return errElectionNotNeeded
		}
		for _, rep := range p.replicas {
			if c.alive(rep) {
				p.leader = rep
				p.epoch++
				delete(p.have, rep)
				c.setISR(p, []int32{rep}, true)
				c.touch(p)
				return 0
			}
		}
		return errLeaderNotAvailable
	}
	pref := p.replicas[0]
	if p.leader == pref {
		return errElectionNotNeeded
	}
	if !c.alive(pref) || !p.inISR(pref) {
		return errPreferredNotAvailable
	}
	p.leader = pref
	p.epoch++
	c.touch(p)
	return 0
}

// msgNoSuchPartition is the controller's message for code 3 in
// AlterPartitionReassignments and ElectLeaders (item 30).
const msgNoSuchPartition = "The partition does not exist."

func errorMessage(code int16) string {
	switch code {
	case errUnknownTopicOrPartition:
		return "This server does not host this topic-partition."
	case errInvalidReplicaAssign:
		return "Replica assignment is invalid."
	case errNoReassignment:
		return "No partition reassignment is in progress."
	case errNotController:
		return "This is not the correct controller for this cluster."
	case errPreferredNotAvailable:
		return "The preferred leader was not available."
	case errElectionNotNeeded:
		return "Leader election not needed for topic partition" // item 30: no full stop
	case errLeaderNotAvailable:
		return "There is no leader for this topic-partition as we are in the middle of a leadership election."
	}
	return "error " + itoa(int64(code))
}

// describeLogDirs reports the replicas on the receiving broker (item 20): a
// copying replica with its size in fetch-sized steps and offsetLag 0; logs
// left by a replica removed while the broker was down with size 0 and
// offsetLag -1 (item 11). V3_x adds total and usable bytes (v4).
func (c *Cluster) describeLogDirs(id int32, r *kmsg.DescribeLogDirsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	b := c.brokers[id]
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = "/var/lib/kafka/data"
	wanted := make(map[string]map[int32]bool)
	for _, t := range r.Topics {
		if wanted[t.Topic] == nil {
			wanted[t.Topic] = make(map[int32]bool)
		}
		for _, q := range t.Partitions {
			wanted[t.Topic][q] = true
		}
	}
	want := func(topic string, p int32) bool { return r.Topics == nil || wanted[topic][p] }
	var used int64
	logOf := func(p *partition) (size, lag int64, ok bool) {
		name := p.topic.name
		switch {
		case slices.Contains(p.replicas, id):
			size = int64(p.replicaSize(id))
			if !p.inISR(id) {
				size -= size % fetchStep
			}
		default:
			if stray, isStray := b.stray[name][p.id]; isStray {
				return stray, -1, true
			}
			d := b.deleting[name][p.id]
			if !d.until.After(c.now) {
				return 0, 0, false
			}
			size = d.size
		}
		return size, 0, true
	}
	// Every partition in topic and partition order, or only those with a
	// replica here when the broker keeps no other logs: a 200,000-partition
	// cluster is asked this by every broker.
	var candidates []*partition
	if len(b.stray) == 0 && len(b.deleting) == 0 {
		candidates = c.replicasOnLocked(id)
	} else {
		for _, name := range c.sortedTopicsLocked() {
			candidates = append(candidates, c.topics[name].partitions...)
		}
	}
	var dt *kmsg.DescribeLogDirsResponseDirTopic
	for _, p := range candidates {
		size, lag, ok := logOf(p)
		if !ok {
			continue
		}
		used += size
		name := p.topic.name
		if !want(name, p.id) {
			continue
		}
		if dt == nil || dt.Topic != name {
			dir.Topics = append(dir.Topics, kmsg.NewDescribeLogDirsResponseDirTopic())
			dt = &dir.Topics[len(dir.Topics)-1]
			dt.Topic = name
		}
		dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		dp.Partition, dp.Size, dp.OffsetLag = p.id, size, lag
		dt.Partitions = append(dt.Partitions, dp)
	}
	dir.TotalBytes, dir.UsableBytes = -1, -1
	if b.cfg.DiskCapacity > 0 {
		dir.TotalBytes = b.cfg.DiskCapacity
		dir.UsableBytes = max(b.cfg.DiskCapacity-used, 0)
	}
	resp.Dirs = append(resp.Dirs, dir)
	return resp
}

// produce appends record batches on the leader: sizes and offsets grow, and
// in-sync followers with them. acks=-1 needs min.insync.replicas in the ISR.
func (c *Cluster) produce(id int32, r *kmsg.ProduceRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		for _, rp := range t.Partitions {
			pp := kmsg.NewProduceResponseTopicPartition()
			pp.Partition = rp.Partition
			pp.LogAppendTime = -1
			p, err := c.partitionLocked(t.Topic, rp.Partition)
			switch {
			case err != nil:
				pp.ErrorCode = errUnknownTopicOrPartition
			case p.leader != id:
				pp.ErrorCode = errNotLeader
			case r.Acks == -1 && len(p.isr) < p.topic.minISR(c):
				pp.ErrorCode = errNotEnoughReplicas
			default:
				pp.BaseOffset = int64(p.offset)
				p.offset += float64(countRecords(rp.Records))
				p.size += float64(len(rp.Records))
			}
			rt.Partitions = append(rt.Partitions, pp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if r.Acks == 0 {
		return nil
	}
	return resp
}

// countRecords counts the records of the record batches in b.
func countRecords(b []byte) int64 {
	var n int64
	for len(b) >= 61 {
		length := int(int32(binary.BigEndian.Uint32(b[8:12])))
		n += int64(int32(binary.BigEndian.Uint32(b[57:61])))
		if length <= 0 || 12+length > len(b) {
			break
		}
		b = b[12+length:]
	}
	return n
}

func (t *topic) minISR(c *Cluster) int {
	v, ok := t.configs[MinInsyncReplicasKey]
	if !ok {
		v = "1"
	}
	n, err := parseInt(v)
	if err != nil || n < 1 {
		return 1
	}
	return int(n)
}

// listOffsets answers earliest (-2) with the log start offset and every
// other timestamp with the log end offset, on the leader only.
func (c *Cluster) listOffsets(id int32, r *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for _, rp := range t.Partitions {
			lp := kmsg.NewListOffsetsResponseTopicPartition()
			lp.Partition = rp.Partition
			lp.Timestamp = -1
			p, err := c.partitionLocked(t.Topic, rp.Partition)
			switch {
			case err != nil:
				lp.ErrorCode = errUnknownTopicOrPartition
			case p.leader != id:
				lp.ErrorCode = errNotLeader
			case p.listOffsetsErr != 0:
				lp.ErrorCode = p.listOffsetsErr
			default:
				lp.LeaderEpoch = p.epoch
				lp.Offset = p.start
				if rp.Timestamp != -2 {
					lp.Offset = int64(p.offset)
				}
				lp.OldStyleOffsets = []int64{lp.Offset}
			}
			rt.Partitions = append(rt.Partitions, lp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// createTopics creates topics on the controller from an explicit assignment
// or a partition count and replication factor (replicas placed round-robin
// over the live brokers by id).
func (c *Cluster) createTopics(id int32, r *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		code, msg := c.createOne(id, t, r.ValidateOnly)
		rt.ErrorCode = code
		if code != 0 {
			rt.ErrorMessage = strp(msg)
		} else if tt, ok := c.topics[t.Topic]; ok {
			rt.TopicID = tt.id
			rt.NumPartitions = int32(len(tt.partitions))
			rt.ReplicationFactor = int16(len(tt.partitions[0].replicas))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (c *Cluster) createOne(id int32, t kmsg.CreateTopicsRequestTopic, validateOnly bool) (int16, string) {
	if id != c.controller {
		return errNotController, errorMessage(errNotController)
	}
	if _, ok := c.topics[t.Topic]; ok || c.beingDeletedLocked(t.Topic) {
		// Item 25: a topic being deleted still exists for CreateTopics.
		return errTopicExists, "Topic '" + t.Topic + "' already exists."
	}
	var assign [][]int32
	if len(t.ReplicaAssignment) > 0 {
		assign = make([][]int32, len(t.ReplicaAssignment))
		for _, a := range t.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(assign) {
				return errInvalidReplicaAssign, "Partitions should be a consecutive 0-based integer sequence"
			}
			assign[a.Partition] = a.Replicas
		}
	} else {
		var live []int32
		for _, b := range c.brokerIDsLocked() {
			if c.brokers[b].alive {
				live = append(live, b)
			}
		}
		n, rf := t.NumPartitions, int(t.ReplicationFactor)
		if n == -1 {
			n = 1
		}
		if rf == -1 {
			rf = 1
		}
		if n <= 0 {
			return errInvalidPartitions, "Number of partitions must be larger than 0."
		}
		if rf <= 0 || rf > len(live) {
			return errInvalidReplicationFac, "Replication factor: " + itoa(int64(rf)) + " larger than available brokers: " + itoa(int64(len(live))) + "."
		}
		for i := 0; i < int(n); i++ {
			var rs []int32
			for j := 0; j < rf; j++ {
				rs = append(rs, live[(i+j)%len(live)])
			}
			assign = append(assign, rs)
		}
	}
	for _, rs := range assign {
		if len(rs) != len(assign[0]) {
			return errInvalidReplicaAssign, "All partitions should have the same number of replicas"
		}
	}
	for _, rs := range assign {
		if c.validReplicaList(rs) != nil {
			return errInvalidReplicaAssign, errorMessage(errInvalidReplicaAssign)
		}
	}
	configs := make(map[string]string)
	for _, cfg := range t.Configs {
		if !knownTopicConfig(cfg.Name) {
			return errInvalidConfig, unknownTopicConfig(cfg.Name) // item 33
		}
		if cfg.Value != nil {
			configs[cfg.Name] = *cfg.Value
		}
	}
	if validateOnly {
		return 0, ""
	}
	if err := c.createTopicLocked(t.Topic, assign, configs); err != nil {
		return errInvalidRequest, err.Error()
	}
	return 0, ""
}
