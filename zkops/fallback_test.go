package zkops_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/zkops"
)

// noQuorumOnce answers the first reconfig that makes a server a participant
// the way ZooKeeper answers NewConfigNoQuorum, and records every reconfig.
type noQuorumOnce struct {
	*zk.Conn
	mu     sync.Mutex
	failed bool
	calls  []string
}

func (c *noQuorumOnce) IncrementalReconfig(joining, leaving []string, version int64) (*zk.Stat, error) {
	c.mu.Lock()
	c.calls = append(c.calls, "join "+strings.Join(joining, ",")+" leave "+strings.Join(leaving, ","))
	inject := !c.failed && len(joining) == 1 && strings.Contains(joining[0], ":participant;")
	if inject {
		c.failed = true
	}
	c.mu.Unlock()
	if inject {
		return nil, errors.New("unknown error: -13")
	}
	return c.Conn.IncrementalReconfig(joining, leaving, version)
}

func TestPromoteFallsBackToRemoveAndReAdd(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 3, Observers: 1})
	// Through every server, the promoted one included, as a zk-handover step connects.
	conn := &noQuorumOnce{Conn: e.Client()}
	var log bytes.Buffer
	if err := zkops.Promote(ctx, conn, 4, zkops.Options{Out: &log}); err != nil {
		t.Fatalf("promote: %v\n%s", err, log.String())
	}
	if got, want := membership(t, ctx, conn), "1:participant 2:participant 3:participant 4:participant"; got != want {
		t.Fatalf("after promotion: %s, want %s", got, want)
	}
	// The re-add may be repeated while server 4 is not yet back in touch
	// with the leader after its removal.
	spec := e.Node(4).ServerLine(zktest.Participant)
	want := []string{"join " + spec + " leave ", "join  leave 4", "join " + spec + " leave "}
	calls := conn.calls
	for len(calls) > len(want) && calls[len(calls)-1] == calls[len(calls)-2] {
		calls = calls[:len(calls)-1]
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("reconfigs:\n%s\nwant\n%s (the last repeated or not)", strings.Join(conn.calls, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(log.String(), "NewConfigNoQuorum") {
		t.Errorf("progress does not say why it removed and re-added: %s", log.String())
	}
}

// TestHandoverOfOneVoterEnsemble: a single-server source ensemble handed to
// one target. On ZooKeeper 3.8 promoting the observer there answers
// NewConfigNoQuorum, and the server removed by the fallback needs about a
// second to be back in touch with the leader, so its re-add is retried
// (before, the handover stopped with the target removed from the ensemble).
func TestHandoverOfOneVoterEnsemble(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1, Observers: 1})
	conn := e.Client()
	var log bytes.Buffer
	if err := zkops.Handover(ctx, conn, []int{2}, []int{1}, zkops.Options{Out: &log}); err != nil {
		t.Fatalf("handover: %v\n%s", err, log.String())
	}
	if got, want := membership(t, ctx, conn), "2:participant"; got != want {
		t.Fatalf("after the handover: %s, want %s\n%s", got, want, log.String())
	}
	if err := zkops.WriteCheck(ctx, conn); err != nil {
		t.Fatalf("the handed-over ensemble does not commit writes: %v", err)
	}
}
