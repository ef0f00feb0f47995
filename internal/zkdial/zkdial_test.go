package zkdial

import (
	"net"
	"strings"
	"testing"
	"time"
)

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestAllRefused(t *testing.T) {
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	a, b := refusedAddr(t), refusedAddr(t)

	var w Watch
	for _, addr := range []string{a, b} {
		if _, err := w.Dial("tcp", addr, time.Second); err == nil {
			t.Fatalf("%s accepted", addr)
		}
	}
	if err := w.AllRefused(); err != nil {
		t.Errorf("before the client came round again: %v", err)
	}
	w.Dial("tcp", a, time.Second)
	err = w.AllRefused()
	if err == nil || !strings.Contains(err.Error(), "connection refused by ") || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Errorf("every server refused: %v", err)
	}

	// One server that answers is enough to keep waiting for a session.
	var some Watch
	for _, addr := range []string{a, open.Addr().String(), a} {
		if c, err := some.Dial("tcp", addr, time.Second); err == nil {
			c.Close()
		}
	}
	if err := some.AllRefused(); err != nil {
		t.Errorf("one server listens: %v", err)
	}
}
