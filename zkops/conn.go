package zkops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/poll"
	"github.com/kshift/kshift/internal/zkdial"
)

// ZKConn is the part of a ZooKeeper client zkops uses. *zk.Conn satisfies
// it; tests may pass anything else that does.
type ZKConn interface {
	Get(path string) ([]byte, *zk.Stat, error)
	Children(path string) ([]string, *zk.Stat, error)
	Exists(path string) (bool, *zk.Stat, error)
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Delete(path string, version int32) error
	Sync(path string) (string, error)
	IncrementalReconfig(joining, leaving []string, version int64) (*zk.Stat, error)
}

var _ ZKConn = (*zk.Conn)(nil)

// CallTimeout bounds every single ZooKeeper request zkops makes when the
// caller's context has no earlier deadline.
const CallTimeout = 15 * time.Second

// call runs one blocking client request under ctx: the go-zookeeper client
// takes no context, so a request that outlives ctx is abandoned (it ends on
// its own with the session's timeout).
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Auth is a digest identity for AddAuth ("super" and its password for reconfig).
type Auth struct {
	User, Password string
}

// ParseConnect splits a Kafka-style connect string "h1:2181,h2:2181/chroot"
// into its servers and chroot ("/" when none).
func ParseConnect(connect string) (servers []string, chroot string, err error) {
	hosts, chroot := connect, "/"
	if i := strings.Index(connect, "/"); i >= 0 {
		hosts, chroot = connect[:i], connect[i:]
		if len(chroot) > 1 {
			chroot = strings.TrimRight(chroot, "/")
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			h += ":2181"
		}
		servers = append(servers, h)
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("connect string %q lists no server: want host:port,host:port[/chroot]", connect)
	}
	return servers, chroot, nil
}

// Dial connects to the servers of connect (its chroot is ignored: zkops
// works with absolute paths), adds the digest auth when given and waits for
// a session until ctx ends. The caller closes the connection.
func Dial(ctx context.Context, connect string, auth *Auth) (*zk.Conn, error) {
	servers, _, err := ParseConnect(connect)
	if err != nil {
		return nil, err
	}
	var dials zkdial.Watch
	conn, _, err := zk.Connect(servers, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(discard{}), zk.WithDialer(dials.Dial))
	if err != nil {
		return nil, fmt.Errorf("connecting to zookeeper %s: %w", connect, err)
	}
	// The event channel drops events when full: poll the state instead.
	err = poll.Until(ctx, poll.Options{Interval: 20 * time.Millisecond}, func(context.Context) (bool, error) {
		if conn.State() == zk.StateHasSession {
			return true, nil
		}
		// The client retries refused servers forever: fail at once.
		if err := dials.AllRefused(); err != nil {
			return false, fmt.Errorf("connecting to zookeeper %s: %w", connect, err)
		}
		return false, nil
	})
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connecting to zookeeper %s: no session before %w: check the addresses and that the servers run", connect, ctx.Err())
		}
		return nil, err
	}
	if auth != nil {
		if _, err := call(ctx, func() (struct{}, error) {
			return struct{}{}, conn.AddAuth("digest", []byte(auth.User+":"+auth.Password))
		}); err != nil {
			conn.Close()
			return nil, fmt.Errorf("authenticating to zookeeper %s as %q: %w", connect, auth.User, err)
		}
	}
	return conn, nil
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// isConnectionLoss reports errors after which a request may or may not have
// been applied: the caller must read the state again.
func isConnectionLoss(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrClosing) ||
		errors.Is(err, context.DeadlineExceeded)
}
