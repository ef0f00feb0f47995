package zkops

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
)

// statTree is a ZooKeeper tree of stats and data, enough for the
// comparison of a fork with its frozen copy, whose zxids a test must set
// exactly (two real ensembles cannot be made to share a history).
type statTree struct {
	nodes   map[string]*zk.Stat
	data    map[string][]byte
	nextTxn int64 // zxid of the tree's next write
}

func newStatTree(nextTxn int64) *statTree {
	return &statTree{nodes: map[string]*zk.Stat{"/": {}}, data: map[string][]byte{}, nextTxn: nextTxn}
}

// put writes p (its parents must exist) as a write at zxid.
func (s *statTree) put(p string, zxid int64) {
	st, ok := s.nodes[p]
	if !ok {
		st = &zk.Stat{Czxid: zxid, Version: -1}
		s.nodes[p] = st
	}
	st.Mzxid = zxid
	st.Version++
}

func (s *statTree) Get(p string) ([]byte, *zk.Stat, error) {
	st, ok := s.nodes[p]
	if !ok {
		return nil, nil, zk.ErrNoNode
	}
	c := *st
	return s.data[p], &c, nil
}

func (s *statTree) Children(p string) ([]string, *zk.Stat, error) {
	st, ok := s.nodes[p]
	if !ok {
		return nil, nil, zk.ErrNoNode
	}
	var kids []string
	for q := range s.nodes {
		if q != "/" && path.Dir(q) == p {
			kids = append(kids, path.Base(q))
		}
	}
	slices.Sort(kids)
	c := *st
	return kids, &c, nil
}

func (s *statTree) Exists(p string) (bool, *zk.Stat, error) {
	_, st, err := s.Get(p)
	return err == nil, st, nil
}

func (s *statTree) Create(p string, data []byte, _ int32, _ []zk.ACL) (string, error) {
	if _, ok := s.nodes[p]; ok {
		return "", zk.ErrNodeExists
	}
	s.put(p, s.nextTxn)
	s.nextTxn++
	s.data[p] = data
	return p, nil
}

func (s *statTree) Set(p string, data []byte, _ int32) (*zk.Stat, error) {
	if _, ok := s.nodes[p]; !ok {
		return nil, zk.ErrNoNode
	}
	s.put(p, s.nextTxn)
	s.nextTxn++
	s.data[p] = data
	return s.nodes[p], nil
}

func (s *statTree) Delete(string, int32) error    { return errors.New("statTree: delete not needed") }
func (s *statTree) Sync(p string) (string, error) { return p, nil }
func (s *statTree) IncrementalReconfig([]string, []string, int64) (*zk.Stat, error) {
	return nil, errors.New("statTree: reconfig not needed")
}

// A fork verified once stays verified while the migrated cluster writes on
// the new ensemble: the first check sees the counter the source ensemble
// wrote last before the fork (zxid 0x...769, after the newest mark the new
// ensemble holds, 0x...768) on the new ensemble, so it holds that history;
// once the cluster writes the counter again there, that evidence is gone,
// and without the record of the first check the same fork read as having
// lost the write (seen in CI: a verified fork "not done" when applied again).
func TestCompareFrozenCopyKeepsAVerifiedFork(t *testing.T) {
	ctx := context.Background()
	const chroot = "/kafka/a"
	// The source ensemble's frozen copy, and the forked ensemble, which
	// took it over up to 0x100000769 and then went on in epoch 2.
	src, dst := newStatTree(0), newStatTree(0x200000001)
	for _, tr := range []*statTree{src, dst} {
		tr.put("/kafka", 0x100000001)
		tr.put(chroot, 0x100000002)
		tr.put(chroot+"/counter", 0x100000003)
		tr.put(chroot+"/"+forkMarks, 0x100000700)
		tr.put(chroot+"/"+forkMarks+"/mark-0000000001", 0x100000768)
		tr.put(chroot+"/counter", 0x100000769)
	}
	cfg := &Config{Version: 0x200000000}

	lost, _, _, held, err := compareFrozenCopy(ctx, src, dst, cfg, chroot)
	if err != nil || len(lost) > 0 || held != 0x100000769 {
		t.Fatalf("first check: lost %v, held 0x%x, %v; want nothing lost, held through 0x100000769", lost, held, err)
	}
	if err := recordVerifiedFork(ctx, dst, chroot, held); err != nil {
		t.Fatal(err)
	}
	dst.put(chroot+"/counter", 0x20000008c) // the cluster writes on the new ensemble

	lost, pre, _, held, err := compareFrozenCopy(ctx, src, dst, cfg, chroot)
	if err != nil || len(lost) > 0 {
		t.Fatalf("checked again after the cluster wrote on the new ensemble: lost %v (taken over through 0x%x), %v; want nothing lost", lost, pre, err)
	}
	if held != 0x100000769 {
		t.Errorf("held 0x%x, want 0x100000769", held)
	}

	// A write of the copy after what was verified is still lost.
	src.put(chroot+"/counter", 0x10000076a)
	lost, _, _, _, err = compareFrozenCopy(ctx, src, dst, cfg, chroot)
	if err != nil || len(lost) != 1 || !strings.Contains(lost[0], chroot+"/counter") {
		t.Fatalf("a write of the copy after the verified point: lost %v, %v; want the counter", lost, err)
	}
}
