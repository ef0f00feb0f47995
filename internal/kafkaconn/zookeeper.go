package kafkaconn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zkdial"
)

// ZooKeeper is a session with the cluster's ensemble. Paths given to callers'
// code are relative to Chroot; Path joins them.
type ZooKeeper struct {
	Conn *zk.Conn
	// Chroot is the cluster's chroot, "/" when none.
	Chroot string
}

// Path returns p (e.g. "/brokers/ids") under the chroot.
func (z *ZooKeeper) Path(p string) string {
	if z.Chroot == "/" {
		return p
	}
	if p == "/" {
		return z.Chroot
	}
	return z.Chroot + p
}

// Close ends the session.
func (z *ZooKeeper) Close() { z.Conn.Close() }

// ConnectZooKeeper opens a session with the ensemble named by o.Connect
// (zkdial.Dial) and adds digest auth when o.Digest is set. It waits for the
// session at most timeout (and ctx), failing with a message naming the
// servers instead of letting the client retry forever.
func ConnectZooKeeper(ctx context.Context, o ZooKeeperOptions, timeout time.Duration) (*ZooKeeper, error) {
	o = Options{ZooKeeper: o}.WithDefaults().ZooKeeper
	c, err := zkdial.Parse(o.Connect)
	if err != nil {
		return nil, err
	}
	conn, err := zkdial.Dial(ctx, c, zkdial.Options{SessionTimeout: o.SessionTimeout, Timeout: timeout, Digest: o.Digest})
	switch {
	case err == nil:
		return &ZooKeeper{Conn: conn, Chroot: c.Chroot}, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, zkdial.ErrAuthFailed) && o.Digest != "":
		return nil, fmt.Errorf("%w (the credentials come from %s)", err, ShowEnvName(o.DigestEnv, "--zookeeper-digest-env"))
	}
	return nil, err
}
