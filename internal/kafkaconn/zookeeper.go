package kafkaconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/poll"
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

// ConnectZooKeeper opens a session with the ensemble named by o.Connect and
// adds digest auth when o.Digest is set. It waits for the session at most
// timeout (and ctx), failing with a message naming the servers instead of
// letting the client retry forever.
func ConnectZooKeeper(ctx context.Context, o ZooKeeperOptions, timeout time.Duration) (*ZooKeeper, error) {
	o = Options{ZooKeeper: o}.WithDefaults().ZooKeeper
	servers := o.Servers()
	if len(servers) == 0 {
		return nil, fmt.Errorf("zookeeper connect string %q names no servers", o.Connect)
	}
	// go-zookeeper logs every reconnect attempt to the standard logger;
	// kshift reports failures itself.
	var dials zkdial.Watch
	conn, _, err := zk.Connect(servers, o.SessionTimeout, zk.WithLogger(log.New(io.Discard, "", 0)), zk.WithDialer(dials.Dial))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to zookeeper %s: %w", o.Connect, err)
	}
	// The event channel drops events when full, so poll the state instead.
	err = poll.Until(ctx, poll.Options{Timeout: timeout, Interval: 20 * time.Millisecond}, func(context.Context) (bool, error) {
		switch conn.State() {
		case zk.StateHasSession:
			return true, nil
		case zk.StateAuthFailed:
			return false, fmt.Errorf("zookeeper %s refused authentication", o.Connect)
		}
		// The client retries refused servers forever: fail at once.
		if err := dials.AllRefused(); err != nil {
			return false, fmt.Errorf("cannot connect to zookeeper %s (--zookeeper): %w", o.Connect, err)
		}
		return false, nil
	})
	if err != nil {
		conn.Close()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, poll.ErrTimeout):
			return nil, fmt.Errorf("cannot connect to zookeeper %v: no session within %s: check --zookeeper and that the ensemble is up", servers, timeout)
		}
		return nil, err
	}
	if o.Digest != "" {
		if err := conn.AddAuth("digest", []byte(o.Digest)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("zookeeper %s: digest authentication (from %s) failed: %w", o.Connect, ShowEnvName(o.DigestEnv, "--zookeeper-digest-env"), err)
		}
	}
	return &ZooKeeper{Conn: conn, Chroot: o.Chroot()}, nil
}
