package zkops_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/plans"
	"github.com/kshift/kshift/zkops"
)

// testCtx bounds a test's ZooKeeper work.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// server is a harness node as a plans member with the given role.
func server(n *zktest.Node, role string) plans.ZKServer {
	return plans.ZKServer{ID: n.ID, Host: "127.0.0.1", QuorumPort: n.QuorumPort, ElectionPort: n.ElectionPort, ClientPort: n.ClientPort, Role: role}
}

// membership renders a config as "1:participant 4:observer ...".
func membership(t *testing.T, ctx context.Context, conn zkops.ZKConn) string {
	t.Helper()
	cfg, err := zkops.ReadConfig(ctx, conn)
	if err != nil {
		t.Fatalf("reading config: %v", err)
	}
	return render(cfg.Members)
}

func render(ms []plans.ZKServer) string {
	out := ""
	for _, m := range ms {
		if out != "" {
			out += " "
		}
		out += fmt.Sprintf("%d:%s", m.ID, m.Role)
	}
	return out
}

// writer writes numbered znodes continuously through its own session and
// remembers which writes were acknowledged.
type writer struct {
	conn *zk.Conn
	// session is the id of the session the writer started with; the client
	// gets a new one only after ZooKeeper expired the first.
	session int64
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	acked   []string
	failed  int
	longest time.Duration
}

func startWriter(t *testing.T, connect string) *writer {
	conn := zktest.Dial(t, connect, false)
	if _, err := conn.Create("/writes", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("creating /writes: %v", err)
	}
	w := &writer{conn: conn, session: conn.SessionID(), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	t.Cleanup(w.halt)
	return w
}

func (w *writer) run() {
	defer close(w.done)
	last := time.Now()
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		path := fmt.Sprintf("/writes/w%08d", i)
		_, err := w.conn.Create(path, []byte("x"), 0, zk.WorldACL(zk.PermAll))
		w.mu.Lock()
		if err == nil || err == zk.ErrNodeExists {
			// ErrNodeExists: an earlier attempt of this write committed
			// before its answer was lost; it counts as acknowledged now.
			w.acked = append(w.acked, path)
			if gap := time.Since(last); gap > w.longest {
				w.longest = gap
			}
			last = time.Now()
		} else {
			w.failed++
			i-- // retry the same write
		}
		w.mu.Unlock()
		if err != nil {
			time.Sleep(50 * time.Millisecond)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// count is the number of writes acknowledged so far.
func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// busy fails the test unless writes were acknowledged since count was since.
func (w *writer) busy(t *testing.T, since int, phase string) {
	t.Helper()
	if n := w.count(); n <= since {
		t.Errorf("no write acknowledged during %s: the writer did not write through it", phase)
	}
}

func (w *writer) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// check stops the writer and fails the test if an acknowledged write is
// missing or the writer's session expired on the way, as a broker's
// registration would have. How long writes paused is logged, not judged: it
// follows the machine's load.
func (w *writer) check(t *testing.T, reader *zk.Conn) {
	t.Helper()
	w.halt()
	children, _, err := reader.Children("/writes")
	if err != nil {
		t.Fatalf("listing /writes: %v", err)
	}
	have := map[string]bool{}
	for _, c := range children {
		have["/writes/"+c] = true
	}
	var lost []string
	for _, p := range w.acked {
		if !have[p] {
			lost = append(lost, p)
		}
	}
	sort.Strings(lost)
	t.Logf("writer: %d writes acknowledged, %d failed attempts retried, longest gap between writes %s", len(w.acked), w.failed, w.longest.Round(time.Millisecond))
	if len(lost) > 0 {
		t.Errorf("%d acknowledged writes lost: %v", len(lost), lost)
	}
	if id := w.conn.SessionID(); id != w.session {
		t.Errorf("the writer's session %#x expired (it now has %#x): a broker would have lost its registration", w.session, id)
	}
}
