package kafkasim

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// maxFrame bounds one request; Kafka's socket.request.max.bytes default.
const maxFrame = 100 << 20

// emulated returns the API versions the emulated release advertises, taken
// whole from franz-go's record of each release (kversion), so that
// ApiVersions reads exactly as a real broker's (and version guesses name the
// release). Kafka 2.4.0 (docs/kafka-behaviour.md, "API versions in 2.4.0"):
// Metadata v9, DescribeConfigs v2, IncrementalAlterConfigs v1,
// AlterPartitionReassignments and ListPartitionReassignments v0,
// ElectLeaders v2, DescribeLogDirs v1, CreateTopics v5, no DescribeCluster.
// V3_x is 3.6.0 in ZooKeeper mode: DescribeCluster v0, DescribeLogDirs v4.
func emulated(v Version) map[int16]int16 {
	vs := kversion.V2_4_0()
	if v == V3_x {
		vs = kversion.V3_6_0()
	}
	out := make(map[int16]int16)
	vs.EachMaxKeyVersion(func(k, max int16) { out[k] = max })
	return out
}

// implemented are the APIs the model answers. The others a real broker
// advertises (Fetch, groups, transactions, inter-broker) close the
// connection, as a broker does with a request it cannot parse.
var implemented = map[int16]bool{
	0:  true, // Produce
	2:  true, // ListOffsets
	3:  true, // Metadata
	17: true, // SaslHandshake
	18: true, // ApiVersions
	19: true, // CreateTopics
	20: true, // DeleteTopics
	22: true, // InitProducerID
	32: true, // DescribeConfigs
	35: true, // DescribeLogDirs
	36: true, // SaslAuthenticate
	43: true, // ElectLeaders
	44: true, // IncrementalAlterConfigs
	45: true, // AlterPartitionReassignments
	46: true, // ListPartitionReassignments
	60: true, // DescribeCluster (advertised on V3_x only)
}

// openLocked starts broker b's listener (on its old port after a restart).
func (c *Cluster) openLocked(b *broker) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)))
	if err != nil {
		return fmt.Errorf("listen for broker %d on 127.0.0.1:%d: %w", b.cfg.ID, b.port, err)
	}
	b.port = ln.Addr().(*net.TCPAddr).Port
	if c.cfg.TLS != nil {
		ln = tls.NewListener(ln, c.cfg.TLS)
	}
	b.ln = ln
	b.alive = true
	c.wg.Add(1)
	go c.accept(b, ln)
	return nil
}

// shutLocked closes broker b's listener and connections.
func (c *Cluster) shutLocked(b *broker) {
	b.alive = false
	if b.ln != nil {
		b.ln.Close()
		b.ln = nil
	}
	for conn := range b.conns {
		conn.Close()
	}
	b.conns = make(map[net.Conn]struct{})
}

func (c *Cluster) accept(b *broker, ln net.Listener) {
	defer c.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		if b.ln != ln {
			c.mu.Unlock()
			conn.Close()
			return
		}
		b.conns[conn] = struct{}{}
		c.wg.Add(1)
		c.mu.Unlock()
		go c.serve(b, conn)
	}
}

// session is one connection's state.
type session struct {
	broker *broker
	// authenticated is true once SASL succeeded (or when no SASL is configured).
	authenticated bool
	mechanism     string
	scram         scramConversation
	// closeAfter closes the connection once the response is written (after
	// a failed authentication).
	closeAfter bool
}

// serve reads size-prefixed requests from conn and answers them in order.
func (c *Cluster) serve(b *broker, conn net.Conn) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(b.conns, conn)
		c.mu.Unlock()
		conn.Close()
	}()
	r := bufio.NewReader(conn)
	s := &session{broker: b, authenticated: c.sasl == nil}
	for {
		var size [4]byte
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if n < 8 || n > maxFrame {
			return
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			return
		}
		out, err := c.handleFrame(s, frame)
		if err != nil {
			return
		}
		if out == nil {
			continue
		}
		if _, err := conn.Write(out); err != nil || s.closeAfter {
			return
		}
	}
}

var errClose = errors.New("close the connection")

// handleFrame parses one request (header v1, or v2 with tagged fields for
// flexible versions), runs it and returns the framed response, nil for none
// (Produce with acks 0). An error closes the connection, as Kafka does for
// unsupported versions and unparsable requests.
func (c *Cluster) handleFrame(s *session, frame []byte) ([]byte, error) {
	key := int16(binary.BigEndian.Uint16(frame[0:]))
	version := int16(binary.BigEndian.Uint16(frame[2:]))
	corr := binary.BigEndian.Uint32(frame[4:])
	rest := frame[8:]
	if len(rest) < 2 {
		return nil, errClose
	}
	idLen := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if idLen > 0 {
		if int(idLen) > len(rest) {
			return nil, errClose
		}
		rest = rest[idLen:]
	}
	req := kmsg.RequestForKey(key)
	if req == nil {
		return nil, errClose
	}
	maxVersion, ok := c.versions[key]
	if key == 18 && (version > maxVersion || version > req.MaxVersion()) {
		// An ApiVersions request newer than the broker knows gets
		// UNSUPPORTED_VERSION with a v0 body listing what it supports.
		resp := c.apiVersionsResponse(0)
		resp.ErrorCode = 35
		return frameResponse(corr, resp, false), nil
	}
	if !ok || !implemented[key] || version < 0 || version > maxVersion {
		return nil, errClose
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return nil, errClose
		}
	}
	if err := req.ReadFrom(rest); err != nil {
		return nil, errClose
	}
	if !s.authenticated && key != 17 && key != 36 && key != 18 {
		return nil, errClose
	}
	resp, err := c.handle(s, req)
	if err != nil {
		return nil, err
	}
	c.syncBeforeAnswer(req)
	if resp == nil {
		return nil, nil
	}
	resp.SetVersion(version)
	return frameResponse(corr, resp, resp.IsFlexible() && key != 18), nil
}

// frameResponse builds size + response header (v0, or v1 with an empty tag
// buffer for flexible versions; ApiVersions always v0) + body.
func frameResponse(corr uint32, resp kmsg.Response, flexibleHeader bool) []byte {
	out := make([]byte, 8, 64)
	binary.BigEndian.PutUint32(out[4:], corr)
	if flexibleHeader {
		out = append(out, 0)
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

// skipTags skips a tagged-field section (KIP-482) of a request header.
func skipTags(b []byte) ([]byte, error) {
	n, used := binary.Uvarint(b)
	if used <= 0 {
		return nil, errors.New("bad tag count")
	}
	b = b[used:]
	for i := uint64(0); i < n; i++ {
		if _, used = binary.Uvarint(b); used <= 0 {
			return nil, errors.New("bad tag")
		}
		b = b[used:]
		size, used := binary.Uvarint(b)
		if used <= 0 || uint64(len(b)-used) < size {
			return nil, errors.New("bad tag size")
		}
		b = b[used+int(size):]
	}
	return b, nil
}

func (c *Cluster) apiVersionsResponse(version int16) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(version)
	for k, v := range c.versions {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MaxVersion = k, v
		resp.ApiKeys = append(resp.ApiKeys, ak)
	}
	sort.Slice(resp.ApiKeys, func(i, j int) bool { return resp.ApiKeys[i].ApiKey < resp.ApiKeys[j].ApiKey })
	return resp
}
