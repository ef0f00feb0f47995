// Package zkdial dials ZooKeeper servers for the go-zookeeper client and
// notices when every server refuses the connection. The client retries
// refused servers forever, so a caller waiting for a session would wait out
// its whole timeout on a wrong port; with a Watch it fails at once, saying
// "connection refused".
//
// It must not read or change anything in ZooKeeper, and must not print.
package zkdial

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Watch records the outcome of every dial the client makes through Dial.
// The zero value is ready to use.
type Watch struct {
	mu      sync.Mutex
	last    map[string]error // the last dial's error per address, nil after a success
	wrapped bool             // an address was dialled again: every one was tried
}

// Dial is a go-zookeeper Dialer (zk.WithDialer(w.Dial)).
func (w *Watch) Dial(network, address string, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout(network, address, timeout)
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
func (w *Watch) AllRefused() error {
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
