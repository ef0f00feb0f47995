package zkops

import (
	"context"
	"errors"
	"time"

	"github.com/kshift/kshift/internal/zkdial"

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

// call runs one blocking client request under ctx and CallTimeout
// (zkdial.Call).
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	return zkdial.Call(ctx, CallTimeout, f)
}

// isConnectionLoss reports errors after which a request may or may not have
// been applied: the caller must read the state again.
func isConnectionLoss(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrClosing) ||
		errors.Is(err, context.DeadlineExceeded)
}
