package zkops

import (
	"context"
	"errors"
	"time"

	"github.com/go-zookeeper/zk"
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

// isConnectionLoss reports errors after which a request may or may not have
// been applied: the caller must read the state again.
func isConnectionLoss(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrClosing) ||
		errors.Is(err, context.DeadlineExceeded)
}
