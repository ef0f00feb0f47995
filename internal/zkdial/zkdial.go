// Package zkdial is kshift's one way to reach a ZooKeeper ensemble: it
// parses connect strings (host:port,...[/chroot], as Kafka's
// zookeeper.connect writes them) and opens sessions. Every command that
// talks to ZooKeeper (the cluster's state store, throttle rates Kafka 2.4
// hides, the snapshot's ZooKeeper reads, the zk commands and zk-* steps)
// dials through Dial.
//
// Dial fails at once, saying "connection refused", when every server
// refuses the connection (the client would retry them forever, and a
// caller waiting for a session would wait out its whole timeout on a wrong
// port), and otherwise waits for the session until its timeout or its
// context ends.
//
// It must not read or change anything in ZooKeeper beyond adding the
// session's credentials, and must not print.
package zkdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/poll"
)

// Connect is a parsed connect string.
type Connect struct {
	// Servers are the host[:port] entries, trimmed, in the order given (the
	// client adds Kafka's and ZooKeeper's default port 2181 to a host given
	// without one).
	Servers []string
	// Chroot is the chroot, "/" when there is none, without a trailing "/".
	Chroot string
}

// String is the connect string: the servers and the chroot ("" for "/").
func (c Connect) String() string {
	s := strings.Join(c.Servers, ",")
	if c.Chroot != "/" {
		s += c.Chroot
	}
	return s
}

// Parse splits a connect string host[:port],...[/chroot] into its servers
// and chroot, and checks it: a port must be a number from 1 to 65535, a
// host must not be empty, the chroot must have no empty or blank part. A
// connect string holding credentials (user:password@host) is refused
// without being printed. It returns what it could split even with an
// error.
func Parse(connect string) (Connect, error) {
	hosts, chroot := connect, "/"
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		hosts, chroot = connect[:i], strings.TrimRight(connect[i:], "/")
		if chroot == "" {
			chroot = "/"
		}
	}
	c := Connect{Chroot: chroot}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.Servers = append(c.Servers, h)
		}
	}
	if strings.Contains(connect, "@") {
		return c, errors.New("the zookeeper connect string holds credentials (user:password@host): it is not shown; put user:password in an environment variable named by --zookeeper-digest-env")
	}
	bad := func(why string) error {
		return fmt.Errorf("zookeeper connect string %q is not host:port,host:port[/chroot]: %s", connect, why)
	}
	for _, h := range c.Servers {
		host, port := h, ""
		if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
			var err error
			if host, port, err = net.SplitHostPort(h); err != nil {
				return c, bad(fmt.Sprintf("%q: %v", h, err))
			}
		} else if strings.Contains(h, ":") {
			return c, bad(fmt.Sprintf("%q has more than one port", h))
		}
		if host == "" || strings.ContainsAny(host, " \t") {
			return c, bad(fmt.Sprintf("%q has no host", h))
		}
		if port != "" {
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				return c, bad(fmt.Sprintf("%q: port %q is not a number from 1 to 65535", h, port))
			}
		}
	}
	if len(c.Servers) == 0 {
		return c, bad("it names no server")
	}
	if chroot != "/" {
		for _, seg := range strings.Split(chroot[1:], "/") {
			if strings.TrimSpace(seg) == "" || strings.ContainsAny(seg, " \t") {
				return c, bad(fmt.Sprintf("the chroot %q has an empty or blank part", chroot))
			}
		}
	}
	return c, nil
}

// DefaultSessionTimeout is the session timeout Dial asks for when Options
// give none.
const DefaultSessionTimeout = 10 * time.Second

// ErrAuthFailed marks a session whose credentials ZooKeeper refused.
var ErrAuthFailed = errors.New("zookeeper refused the credentials")

// Options tune Dial.
type Options struct {
	// SessionTimeout is the session timeout to ask for (the lease of
	// kshift's operator lock); DefaultSessionTimeout when 0.
	SessionTimeout time.Duration
	// Timeout bounds the wait for a session; 0 waits until ctx ends.
	Timeout time.Duration
	// Digest is "user:password" for digest authentication, "" for none.
	Digest string
}

// sessionPoll is how often the client's state is read while it connects:
// its event channel drops events when full, so the state is polled.
const sessionPoll = 20 * time.Millisecond

// Dial opens a session with the servers of c (its chroot is the caller's:
// paths on the connection are absolute), adds the digest credentials when
// given, and returns once the session is established. It fails at once
// when every server refuses the connection or ZooKeeper refuses the
// credentials, and when Options.Timeout passes or ctx ends first. The
// caller closes the connection.
func Dial(ctx context.Context, c Connect, o Options) (*zk.Conn, error) {
	if len(c.Servers) == 0 {
		return nil, fmt.Errorf("zookeeper connect string %q names no server: give host:port,host:port[/chroot]", c.String())
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = DefaultSessionTimeout
	}
	// go-zookeeper logs every reconnect attempt; kshift reports failures
	// itself.
	var dials watch
	conn, _, err := zk.Connect(c.Servers, o.SessionTimeout, zk.WithLogInfo(false), zk.WithLogger(discard{}), zk.WithDialer(dials.Dial))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to zookeeper %s: %w", c, err)
	}
	err = poll.Until(ctx, poll.Options{Timeout: o.Timeout, Interval: sessionPoll}, func(context.Context) (bool, error) {
		switch conn.State() {
		case zk.StateHasSession:
			return true, nil
		case zk.StateAuthFailed:
			return false, fmt.Errorf("zookeeper %s: %w", c, ErrAuthFailed)
		}
		// The client retries refused servers forever: fail at once.
		if err := dials.AllRefused(); err != nil {
			return false, fmt.Errorf("cannot connect to zookeeper %s: %w", c, err)
		}
		return false, nil
	})
	switch {
	case errors.Is(err, poll.ErrTimeout):
		err = fmt.Errorf("cannot connect to zookeeper %s: no session within %s: check the addresses and that the ensemble is up", c, o.Timeout)
	case err != nil && ctx.Err() != nil:
		err = fmt.Errorf("cannot connect to zookeeper %s: no session before %w: check the addresses and that the ensemble is up", c, ctx.Err())
	}
	if err == nil && o.Digest != "" {
		err = addAuth(ctx, conn, o.Digest)
		if errors.Is(err, zk.ErrAuthFailed) {
			err = fmt.Errorf("%w: %w", ErrAuthFailed, err)
		}
		if err != nil {
			user, _, _ := strings.Cut(o.Digest, ":")
			err = fmt.Errorf("authenticating to zookeeper %s as %q: %w", c, user, err)
		}
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// addAuth adds digest credentials, bounded by ctx (the client takes none).
func addAuth(ctx context.Context, conn *zk.Conn, digest string) error {
	done := make(chan error, 1)
	go func() { done <- conn.AddAuth("digest", []byte(digest)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type discard struct{}

func (discard) Printf(string, ...any) {}

// watch records the outcome of every dial the client makes through Dial.
// The zero value is ready to use.
type watch struct {
	mu      sync.Mutex
	last    map[string]error // the last dial's error per address, nil after a success
	wrapped bool             // an address was dialled again: every one was tried
}

// ProbeTimeout bounds the check that a server answers before a session is
// opened with it.
const ProbeTimeout = 2 * time.Second

// probe checks that the server at address answers at all: a frozen
// (SIGSTOPped) server accepts connections in the kernel but answers
// nothing, and the client would wait for its handshake up to ten times
// the session's receive timeout (over a minute) before trying the next
// server. Any answer to srvr counts, a refusal text or a close included.
func probe(network, address string) error {
	c, err := net.DialTimeout(network, address, ProbeTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ProbeTimeout))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return err
	}
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s accepts connections but answers nothing within %s (a frozen or overloaded server): %w", address, ProbeTimeout, err)
	}
	return nil
}

// Dial is a go-zookeeper Dialer (zk.WithDialer(w.Dial)). It skips a server
// that does not answer (probe).
func (w *watch) Dial(network, address string, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout(network, address, timeout)
	if err == nil {
		if err = probe(network, address); err != nil {
			conn.Close()
			conn = nil
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[string]error{}
	}
	if _, seen := w.last[address]; seen {
		w.wrapped = true
	}
	w.last[address] = err
	return conn, err
}

// AllRefused returns an error naming the addresses once the client has
// tried every server (it dials them in turn and has come round again) and
// each refused its last connection; nil otherwise.
func (w *watch) AllRefused() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.wrapped || len(w.last) == 0 {
		return nil
	}
	addrs := make([]string, 0, len(w.last))
	for addr, err := range w.last {
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	return fmt.Errorf("connection refused by %s: nothing listens there; check the host and client port, and that ZooKeeper runs", strings.Join(addrs, ", "))
}

// Call runs one blocking ZooKeeper request under ctx and timeout: the
// go-zookeeper client takes no context, so a request that outlives them is
// abandoned (the client ends it by itself with the session's timeout) and
// Call returns ctx's error, saying that ZooKeeper did not answer.
func Call[T any](ctx context.Context, timeout time.Duration, f func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
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
		return zero, fmt.Errorf("no answer from zookeeper: %w", ctx.Err())
	}
}
