package kafkasim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ZooKeeperConn is the part of a ZooKeeper client the registration uses;
// *zk.Conn satisfies it.
type ZooKeeperConn interface {
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Get(path string) ([]byte, *zk.Stat, error)
	Exists(path string) (bool, *zk.Stat, error)
	Children(path string) ([]string, *zk.Stat, error)
	Delete(path string, version int32) error
}

var _ ZooKeeperConn = (*zk.Conn)(nil)

// zkSyncInterval is how often (real time) the registration follows the
// model while nothing asks it to.
const zkSyncInterval = 100 * time.Millisecond

type zkRegistration struct {
	conn   ZooKeeperConn
	chroot string
	// mu serialises syncs; written is what the last sync wrote, so a sync
	// only writes what changed.
	mu        sync.Mutex
	written   map[string]string
	ephemeral map[string]bool
	stop      chan struct{}
}

// unregister deletes the ephemeral znodes (broker registrations and the
// controller), as the brokers' sessions ending would.
func (r *zkRegistration) unregister() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.ephemeral {
		// Best effort at Close: ZooKeeper may already be gone.
		_ = r.conn.Delete(r.full(p), -1)
	}
	r.ephemeral = nil
}

// RegisterZooKeeper makes the cluster keep Kafka's znode layout under chroot
// in a real ZooKeeper, as a ZooKeeper-mode cluster does: /cluster/id,
// /controller, /brokers/ids/N (ephemeral, gone while N is stopped),
// /brokers/topics/T with adding_replicas and removing_replicas during moves
// (item 23), /brokers/topics/T/partitions/P/state, /config/topics/T and
// /config/brokers/N and /config/brokers/<default> where Kafka 2.4 keeps the
// throttle rates it hides (item 13). Moves written to
// /admin/reassign_partitions start like API moves and the znode is cleared as
// they complete (item 10).
//
// It writes the layout once before returning, then follows the model every
// 100 ms until Close, and before it answers each request that changes what
// ZooKeeper holds, as a real controller does; SyncZooKeeper forces a sync.
// conn stays the caller's.
func (c *Cluster) RegisterZooKeeper(ctx context.Context, conn ZooKeeperConn, chroot string) error {
	c.mu.Lock()
	if c.zk != nil || c.closed {
		c.mu.Unlock()
		return errors.New("register in zookeeper: already registered, or the cluster is closed")
	}
	reg := &zkRegistration{
		conn: conn, chroot: path.Join("/", chroot),
		written: make(map[string]string), ephemeral: make(map[string]bool), stop: make(chan struct{}),
	}
	c.zk = reg
	c.mu.Unlock()
	if err := c.SyncZooKeeper(ctx); err != nil {
		return err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(zkSyncInterval)
		defer t.Stop()
		for {
			select {
			case <-reg.stop:
				return
			case <-t.C:
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				// A failed background sync is retried at the next tick;
				// SyncZooKeeper reports errors to callers that need them.
				_ = c.SyncZooKeeper(sctx)
				cancel()
			}
		}
	}()
	return nil
}

// syncBeforeAnswer writes what a request changed to ZooKeeper, when the
// cluster is registered there, before it is answered: a real controller
// writes ZooKeeper before it answers (items 10, 13 and 23), so a client
// that reads ZooKeeper right after the call sees the change. A failed sync
// is retried by the background one.
func (c *Cluster) syncBeforeAnswer(req kmsg.Request) {
	switch req.(type) {
	case *kmsg.AlterPartitionAssignmentsRequest, *kmsg.ElectLeadersRequest,
		*kmsg.IncrementalAlterConfigsRequest, *kmsg.CreateTopicsRequest, *kmsg.DeleteTopicsRequest:
	default:
		return
	}
	c.mu.Lock()
	registered := c.zk != nil
	c.mu.Unlock()
	if !registered {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.SyncZooKeeper(ctx)
}

// SyncZooKeeper brings the ZooKeeper registration up to date with the model
// now: it picks up moves written to /admin/reassign_partitions, then writes
// every znode that changed and deletes those that went away.
func (c *Cluster) SyncZooKeeper(ctx context.Context) error {
	c.mu.Lock()
	reg := c.zk
	c.mu.Unlock()
	if reg == nil {
		return errors.New("sync zookeeper: the cluster is not registered in zookeeper: call RegisterZooKeeper first")
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	legacyVersion, err := c.pickUpLegacyReassignment(ctx, reg)
	if err != nil {
		return err
	}
	if err := c.followControllerZNode(reg); err != nil {
		return err
	}
	c.mu.Lock()
	c.advanceLocked()
	want, ephemeral := c.zkLayoutLocked()
	legacy := c.legacyLocked()
	c.mu.Unlock()
	if err := reg.writeLegacy(ctx, legacy, legacyVersion); err != nil {
		return err
	}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents before children
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sync zookeeper: %w", err)
		}
		if old, ok := reg.written[p]; ok && old == want[p] {
			continue
		}
		if err := reg.put(p, want[p], ephemeral[p]); err != nil {
			return fmt.Errorf("sync zookeeper: write %s: %w", reg.full(p), err)
		}
		reg.written[p] = want[p]
		if ephemeral[p] {
			reg.ephemeral[p] = true
		}
	}
	var gone []string
	for p := range reg.written {
		if _, ok := want[p]; !ok {
			gone = append(gone, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(gone))) // children before parents
	for _, p := range gone {
		if err := reg.deleteTree(reg.full(p)); err != nil {
			return fmt.Errorf("sync zookeeper: delete %s: %w", reg.full(p), err)
		}
		delete(reg.written, p)
		delete(reg.ephemeral, p)
	}
	return nil
}

// followControllerZNode re-elects the controller when someone deleted the
// /controller znode the registration wrote, as the brokers' watches on it
// make them do (docs/kafka-behaviour.md 35): the next sync writes the
// winner.
func (c *Cluster) followControllerZNode(reg *zkRegistration) error {
	if _, wrote := reg.written["/controller"]; !wrote {
		return nil
	}
	ok, _, err := reg.conn.Exists(reg.full("/controller"))
	if err != nil {
		return fmt.Errorf("sync zookeeper: read %s: %w", reg.full("/controller"), err)
	}
	if ok {
		return nil
	}
	c.mu.Lock()
	c.reelectLocked()
	c.mu.Unlock()
	delete(reg.written, "/controller")
	delete(reg.ephemeral, "/controller")
	return nil
}

func (r *zkRegistration) full(p string) string { return path.Join(r.chroot, p) }

// deleteTree deletes full and the parents put created under it (a deleted
// topic's /partitions/P znodes), as Kafka deletes a topic's whole tree.
func (r *zkRegistration) deleteTree(full string) error {
	err := r.conn.Delete(full, -1)
	if !errors.Is(err, zk.ErrNotEmpty) {
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		return err
	}
	children, _, cerr := r.conn.Children(full)
	if cerr != nil {
		return cerr
	}
	for _, c := range children {
		if err := r.deleteTree(full + "/" + c); err != nil {
			return err
		}
	}
	return r.deleteTree(full)
}

// put writes data at p, creating missing parents as empty persistent znodes.
func (r *zkRegistration) put(p, data string, ephemeral bool) error {
	full := r.full(p)
	ok, _, err := r.conn.Exists(full)
	if err != nil {
		return err
	}
	if ok {
		if ephemeral {
			// An ephemeral znode is recreated, so that a broker restart shows
			// as a new registration.
			if err := r.conn.Delete(full, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		} else {
			_, err := r.conn.Set(full, []byte(data), -1)
			return err
		}
	}
	if err := r.parents(full); err != nil {
		return err
	}
	var flags int32
	if ephemeral {
		flags = zk.FlagEphemeral
	}
	_, err = r.conn.Create(full, []byte(data), flags, zk.WorldACL(zk.PermAll))
	return err
}

func (r *zkRegistration) parents(full string) error {
	dir := path.Dir(full)
	if dir == "/" {
		return nil
	}
	ok, _, err := r.conn.Exists(dir)
	if err != nil || ok {
		return err
	}
	if err := r.parents(dir); err != nil {
		return err
	}
	if _, err := r.conn.Create(dir, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps, slices, strings and numbers are marshalled here.
		return "{}"
	}
	return string(b)
}

// zkLayoutLocked returns every znode the cluster keeps (path under the
// chroot → data) and which of them are ephemeral.
func (c *Cluster) zkLayoutLocked() (map[string]string, map[string]bool) {
	want := make(map[string]string)
	eph := make(map[string]bool)
	want["/cluster/id"] = mustJSON(map[string]string{"version": "1", "id": c.cfg.ClusterID})
	want["/controller_epoch"] = "1"
	if c.controller != -1 {
		want["/controller"] = mustJSON(map[string]any{"version": 1, "brokerid": c.controller, "timestamp": "0"})
		eph["/controller"] = true
	}
	want["/brokers/ids"] = ""
	want["/brokers/topics"] = ""
	want["/admin"] = ""
	want["/admin/delete_topics"] = ""
	want["/config/topics"] = ""
	want["/config/brokers"] = ""
	for id, b := range c.brokers {
		name := strconv.Itoa(int(id))
		if b.registered() {
			reg := map[string]any{
				"version": 4, "host": "127.0.0.1", "port": b.port, "jmx_port": -1, "timestamp": "0",
				"endpoints":                      []string{c.listenerName() + "://127.0.0.1:" + strconv.Itoa(b.port)},
				"listener_security_protocol_map": map[string]string{c.listenerName(): c.listenerName()},
			}
			if b.cfg.Rack != "" {
				reg["rack"] = b.cfg.Rack
			}
			want["/brokers/ids/"+name] = mustJSON(reg)
			eph["/brokers/ids/"+name] = true
		}
		// A broker's config znode stays once written, empty when every
		// key was deleted, as Kafka leaves it.
		if b.configWritten {
			want["/config/brokers/"+name] = mustJSON(map[string]any{"version": 1, "config": b.dynamic})
		}
	}
	if c.defaultsWritten {
		want["/config/brokers/<default>"] = mustJSON(map[string]any{"version": 1, "config": c.defaults})
	}
	for name, t := range c.topics {
		parts := make(map[string][]int32)
		adding := make(map[string][]int32)
		removing := make(map[string][]int32)
		for _, p := range t.partitions {
			k := strconv.Itoa(int(p.id))
			parts[k] = p.replicas
			if p.moving() {
				if a := p.adding(); len(a) > 0 {
					adding[k] = a
				}
				if r := p.removing(); len(r) > 0 {
					removing[k] = r
				}
			}
			want["/brokers/topics/"+name+"/partitions/"+k+"/state"] = mustJSON(map[string]any{
				"controller_epoch": 1, "leader": p.leader, "version": 1, "leader_epoch": p.epoch, "isr": nonNil(p.shownISR),
			})
		}
		want["/brokers/topics/"+name] = mustJSON(map[string]any{
			"version": 2, "partitions": parts, "adding_replicas": adding, "removing_replicas": removing,
		})
		want["/config/topics/"+name] = mustJSON(map[string]any{"version": 1, "config": t.configs})
	}
	return want, eph
}

// legacyMove is one partition of /admin/reassign_partitions.
type legacyMove struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
}

const legacyZNode = "/admin/reassign_partitions"

// noLegacyZNode is the version pickUpLegacyReassignment reports when
// /admin/reassign_partitions did not exist.
const noLegacyZNode int32 = -1

// pickUpLegacyReassignment starts the moves written to
// /admin/reassign_partitions that are new (item 10). It returns the version
// of the znode it read, or noLegacyZNode when there was none, so that
// writeLegacy rewrites only what this sync read.
func (c *Cluster) pickUpLegacyReassignment(ctx context.Context, reg *zkRegistration) (int32, error) {
	if err := ctx.Err(); err != nil {
		return noLegacyZNode, fmt.Errorf("sync zookeeper: %w", err)
	}
	data, stat, err := reg.conn.Get(reg.full(legacyZNode))
	if errors.Is(err, zk.ErrNoNode) {
		c.mu.Lock()
		c.legacy = nil
		c.mu.Unlock()
		return noLegacyZNode, nil
	}
	if err != nil {
		return noLegacyZNode, fmt.Errorf("sync zookeeper: read %s: %w", reg.full(legacyZNode), err)
	}
	var v struct {
		Partitions []legacyMove `json:"partitions"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return noLegacyZNode, fmt.Errorf("sync zookeeper: %s is not reassignment JSON: %w", reg.full(legacyZNode), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked()
	known := make(map[string]bool)
	for _, m := range c.legacy {
		known[fmt.Sprintf("%s-%d", m.Topic, m.Partition)] = true
	}
	var keep []legacyMove
	for _, m := range v.Partitions {
		k := fmt.Sprintf("%s-%d", m.Topic, m.Partition)
		if known[k] {
			keep = append(keep, m)
			continue
		}
		if c.reassignOne(m.Topic, m.Partition, m.Replicas) == 0 {
			keep = append(keep, m)
		}
	}
	c.legacy = keep
	return stat.Version, nil
}

// legacyLocked drops the legacy moves that completed, or that an API call
// on the same partition took over, and returns the rest.
func (c *Cluster) legacyLocked() []legacyMove {
	var keep []legacyMove
	for _, m := range c.legacy {
		p, err := c.partitionLocked(m.Topic, m.Partition)
		if err == nil && p.moving() && slices.Equal(p.target, m.Replicas) {
			keep = append(keep, m)
		}
	}
	c.legacy = keep
	return keep
}

// writeLegacy rewrites /admin/reassign_partitions with the moves still in
// flight, deleting it when none are. It writes only over the version the
// sync read: a znode created or rewritten since (a tool writing new moves)
// is left for the next sync to pick up, never deleted unread.
func (r *zkRegistration) writeLegacy(ctx context.Context, moves []legacyMove, readVersion int32) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sync zookeeper: %w", err)
	}
	if readVersion == noLegacyZNode {
		return nil
	}
	full := r.full(legacyZNode)
	if len(moves) == 0 {
		err := r.conn.Delete(full, readVersion)
		if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
			return fmt.Errorf("sync zookeeper: delete %s: %w", full, err)
		}
		return nil
	}
	data := mustJSON(map[string]any{"version": 1, "partitions": moves})
	_, err := r.conn.Set(full, []byte(data), readVersion)
	if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
		return fmt.Errorf("sync zookeeper: write %s: %w", full, err)
	}
	return nil
}
